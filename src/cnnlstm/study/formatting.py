"""How numbers are shown in the tables and the report."""

from __future__ import annotations

import math


def plus_minus(mean: float, std: float, percent: bool) -> str:
    """`mean ± std`, in % with 2 decimals or as a plain number with 4."""
    scale, digits = (100, 2) if percent else (1, 4)
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def format_p(p: float | None) -> str:
    """A p-value with 3 decimals; tiny ones as `< 0.001`, undefined ones as a dash."""
    if p is None or math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
