"""Discrete-event simulation of a line: the SimPy engine and what it records."""

from linesim.simulation.engine import simulate, simulate_once
from linesim.simulation.records import SimResult, StationRecord

__all__ = ["SimResult", "StationRecord", "simulate", "simulate_once"]
