"""Pure data: the line specification and what it is made of.

- :mod:`~linesim.spec.line` – :class:`LineSpec`, stations, equipment options, product;
- :mod:`~linesim.spec.process` – process windows (speed, thin film, press, dry-room exposure):
  a station's defect probability and rate as functions of its settings;
- :mod:`~linesim.spec.cost_inputs` – the cost block (prices, dry room, building, labour);
- :mod:`~linesim.spec.base` – the frozen base model and bounded number types.

Nothing here reads files or computes a KPI: :mod:`linesim.config` turns YAML into these models.
"""

from linesim.spec.cost_inputs import CostInputs
from linesim.spec.line import (
    DEFAULT_OPTION,
    KIND_FIELDS,
    KINDS,
    BufferSlot,
    Equipment,
    EquipmentOption,
    LineSpec,
    Product,
    Station,
)
from linesim.spec.process import WINDOW_KINDS, ExposureWindow, ProcessWindow

__all__ = [
    "BufferSlot",
    "CostInputs",
    "DEFAULT_OPTION",
    "Equipment",
    "EquipmentOption",
    "ExposureWindow",
    "KINDS",
    "KIND_FIELDS",
    "LineSpec",
    "ProcessWindow",
    "Product",
    "Station",
    "WINDOW_KINDS",
]
