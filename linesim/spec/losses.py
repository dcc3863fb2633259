"""The losses of a real line: working calendars, planned maintenance, changeovers, minor stops,
rework and inspection escapes (the blocks a station — or, for the calendar, the line — carries).

Units are in the field names. How the engines use each block (DESIGN.md, "The model"):

- :class:`ShiftPattern` / :class:`Calendar` — when a station works: ``shifts_per_day`` shifts of
  ``hours_per_shift`` from midnight on the first ``days_per_week`` days of each week (t = 0 is
  the start of a Monday). Outside them a station's machines stop: a cell in process stays in
  its machine and its processing resumes at the next shift (the remaining time is not lost);
  cells wait in the buffers. ``calendar: continuous`` at a station (formation, aging, a dry
  room) keeps it running around the clock. ``holidays_per_year`` are whole-plant shutdown days;
  they are not simulated day by day but scale annual figures (``hours_per_year``).
- :class:`PlannedMaintenance` — per machine, a stop of ``duration_h`` (working time) every
  ``every_h`` of calendar time between starts. A due machine does its maintenance before its
  next service (it never abandons a cell). The machines of a station are staggered: machine k
  (0-based) of n first falls due at (k + 1)/n × ``every_h``.
- :class:`Changeover` — a roll, coil, target or magazine change of ``duration_s`` before the
  service that follows every ``every_cells`` cells (or ``every_m`` metres of web, converted to
  whole cells per roll: ⌊every_m × web width ÷ cell area⌋); the first ``scrap_cells`` cells
  after it (``scrap_m`` metres: ⌈scrap_m × web width ÷ cell area⌉ cells) are start-up scrap,
  scrapped at the station. A roll's cells include its start-up scrap.
- :class:`MinorStops` — short stops on an operating-time clock, like breakdowns: exponential
  operating time between stops (mean ``mean_between_s``) and exponential stops (mean
  ``mean_duration_s``).
- :class:`Rework` — at a detection station, ``fraction`` of the defective cells detected there
  are reworked in the machine that found them (``time_s`` more of it), then drawn again at the
  station's defect probability and re-inspected; after ``max_attempts`` the cell is scrapped.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, model_validator

from linesim.spec.base import (
    ClockHours,
    ClockSeconds,
    Frozen,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ServiceSeconds,
    StopSeconds,
)
from linesim.spec.base import problem as _problem

__all__ = [
    "DAY_S",
    "WEEK_S",
    "CONTINUOUS",
    "ShiftPattern",
    "Calendar",
    "PlannedMaintenance",
    "Changeover",
    "MinorStops",
    "Rework",
]

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
HOURS_PER_CALENDAR_YEAR = 8760.0
CONTINUOUS = "continuous"  #: a station's ``calendar:`` value for round-the-clock operation


class ShiftPattern(Frozen):
    """A weekly working pattern: shifts from midnight on the first days of each week."""

    shifts_per_day: Annotated[int, Field(ge=1, le=24)] = 3
    #: [h]; a shift shorter than a quarter of an hour is no shift (nor a break)
    hours_per_shift: Annotated[float, Field(ge=0.25, le=24.0)] = 8.0
    days_per_week: Annotated[int, Field(ge=1, le=7)] = 7

    @model_validator(mode="after")
    def _check_day(self) -> ShiftPattern:
        if self.shifts_per_day * self.hours_per_shift > 24.0 + 1e-9:
            raise _problem(
                "hours_per_shift",
                "the shifts of a day add up to more than 24 h",
                self.hours_per_shift,
                f"at most {24.0 / self.shifts_per_day:g} h with {self.shifts_per_day} shifts",
            )
        return self

    @property
    def working_s_per_day(self) -> float:
        return min(self.shifts_per_day * self.hours_per_shift * 3600.0, DAY_S)

    @property
    def round_the_clock(self) -> bool:
        """Works every second of every day (the machines never stop for the calendar)."""
        return self.working_s_per_day >= DAY_S and self.days_per_week == 7

    @property
    def working_share(self) -> float:
        """Share of the week's hours that are working time."""
        return self.working_s_per_day * self.days_per_week / WEEK_S


class Calendar(ShiftPattern):
    """The line's calendar: its weekly pattern and the whole-plant holidays of a year.

    Either give the pattern (and ``holidays_per_year``), or only ``hours_per_year`` — a line
    that runs round the clock except for (8,760 − hours_per_year) ÷ 24 shutdown days (the
    form of configs before calendars). ``hours_per_year`` is the calendar time a year that the
    simulated pattern stands for: 8,760 h × (1 − holidays ÷ working days a year); annual
    output is the simulated output per calendar hour × ``hours_per_year``.
    """

    holidays_per_year: Annotated[float, Field(ge=0.0, le=300.0)] | None = None
    hours_per_year: Annotated[float, Field(gt=0.0, le=8784.0)] | None = None

    @model_validator(mode="after")
    def _check_year(self) -> Calendar:
        pattern = {"shifts_per_day", "hours_per_shift", "days_per_week"} & self.model_fields_set
        if self.holidays_per_year is not None and self.holidays_per_year >= self.working_days:
            raise _problem(
                "holidays_per_year",
                "the holidays take every working day of the year",
                self.holidays_per_year,
                f"fewer than {self.working_days:g} days",
            )
        if pattern or self.holidays_per_year is not None:
            given, derived = self.model_fields_set, self.derived_hours_per_year
            if "hours_per_year" in given and not math.isclose(
                self.hours_per_year or 0.0, derived, abs_tol=1.0
            ):
                raise _problem(
                    "hours_per_year",
                    "hours_per_year disagrees with the shift pattern and holidays",
                    self.hours_per_year,
                    f"{derived:.1f} (8,760 h × (1 − holidays ÷ working days)), or leave it out",
                )
        return self

    @property
    def working_days(self) -> float:
        """Working days a year in the weekly pattern (before holidays)."""
        return 365.0 * self.days_per_week / 7.0

    @property
    def holidays(self) -> float:
        """Whole-plant shutdown days a year (given, or from ``hours_per_year``)."""
        if self.holidays_per_year is not None:
            return self.holidays_per_year
        if self.hours_per_year is not None and not self._has_pattern:
            return max(HOURS_PER_CALENDAR_YEAR - self.hours_per_year, 0.0) / 24.0
        if self.hours_per_year is None and not self._has_pattern:
            return 35.0  # the default year: 7,920 h
        return 0.0

    @property
    def _has_pattern(self) -> bool:
        return bool({"shifts_per_day", "hours_per_shift", "days_per_week"} & self.model_fields_set)

    @property
    def derived_hours_per_year(self) -> float:
        return HOURS_PER_CALENDAR_YEAR * (1.0 - self.holidays / self.working_days)

    @property
    def year_hours(self) -> float:
        """Calendar hours a year the simulated pattern stands for (see the class)."""
        if self.hours_per_year is not None:
            return self.hours_per_year
        return self.derived_hours_per_year

    def working_hours_per_year(self, pattern: ShiftPattern | None = None) -> float:
        """Working (staffed) hours a year of ``pattern`` (default: the line's) in this year."""
        return self.year_hours * (pattern or self).working_share


class PlannedMaintenance(Frozen):
    """A machine's planned maintenance: ``duration_h`` every ``every_h`` (calendar time)."""

    every_h: ClockHours
    duration_h: ClockHours

    @model_validator(mode="after")
    def _check(self) -> PlannedMaintenance:
        if self.duration_h >= self.every_h:
            raise _problem(
                "duration_h",
                "maintenance would take all the time between its starts",
                self.duration_h,
                f"less than every_h ({self.every_h:g} h)",
            )
        return self


class Changeover(Frozen):
    """Roll, coil, target or magazine changes: a stop and start-up scrap every so many cells."""

    every_cells: PositiveInt | None = None
    every_m: PositiveFloat | None = None
    duration_s: StopSeconds
    scrap_cells: NonNegativeInt | None = None
    scrap_m: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _check(self) -> Changeover:
        if (self.every_cells is None) == (self.every_m is None):
            raise _problem(
                "every_cells",
                "a changeover needs exactly one of every_cells and every_m",
                self.every_cells if self.every_cells is not None else self.every_m,
                "every_cells (cells between changes) or every_m (metres of web per roll)",
            )
        if self.scrap_cells is not None and self.scrap_m is not None:
            raise _problem(
                "scrap_m",
                "start-up scrap is given twice",
                self.scrap_m,
                "scrap_cells or scrap_m, not both",
            )
        if self.every_cells is not None and self.scrap_m is not None:
            raise _problem(
                "scrap_m",
                "scrap in metres goes with changes every_m",
                self.scrap_m,
                "scrap_cells with every_cells",
            )
        if (
            self.every_cells is not None
            and self.scrap_cells is not None
            and self.scrap_cells >= self.every_cells
        ):
            raise _problem(
                "scrap_cells",
                "start-up scrap would take every cell between changes",
                self.scrap_cells,
                f"fewer than every_cells ({self.every_cells})",
            )
        return self

    def cells(self, cells_per_m: float | None) -> tuple[int, int]:
        """(cells between changes, start-up scrap cells), with ``cells_per_m`` of web for the
        metre forms (web width ÷ cell area)."""
        if self.every_cells is not None:
            return self.every_cells, self.scrap_cells or 0
        assert cells_per_m is not None and self.every_m is not None
        every = max(1, math.floor(self.every_m * cells_per_m))
        scrap = math.ceil(self.scrap_m * cells_per_m) if self.scrap_m else (self.scrap_cells or 0)
        return every, min(scrap, every - 1)


class MinorStops(Frozen):
    """Frequent short stops on operating time (exponential between and during)."""

    mean_between_s: ClockSeconds
    mean_duration_s: ServiceSeconds


class Rework(Frozen):
    """Rework of the defects detected at a station, in the machine that detected them."""

    fraction: Annotated[float, Field(ge=0.0, le=1.0)]
    time_s: ServiceSeconds
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 1
