"""``python -m linesim``: the same as the ``linesim`` command."""

from linesim.cli import main

raise SystemExit(main())
