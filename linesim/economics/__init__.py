"""Money and what-ifs on a line: output basis, cost per good kWh, ramp-up, sensitivity, and the
analysis that puts them side by side.

- :mod:`~linesim.economics.basis` – the output a cost is divided by (static or simulated);
- :mod:`~linesim.economics.cost` – capex, annual cost, cost per good kWh (BatPaC-style);
- :mod:`~linesim.economics.rampup` – yield and OEE ramp-up, learning curve;
- :mod:`~linesim.economics.sensitivity` – one-at-a-time tornado of cost per kWh;
- :mod:`~linesim.economics.analysis` – one line's whole picture, and lines compared.
"""
