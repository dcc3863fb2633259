"""The ``linesim`` command line: one module per command, options shared in
:mod:`~linesim.cli.options`, exit codes defined once there."""

from linesim.cli.main import main

__all__ = ["main"]
