"""The look of every output in one place: palettes, class labels, number formats.

The map, the report's figures and the report's tables share these, so a risk class has
one colour and one name wherever it appears.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

RISK_CLASS_COLOURS = ("#bdbdbd", "#1a9850", "#fee08b", "#fc8d59", "#d73027")
"""Combined and per-hazard risk classes 0 (no data) to 4 (very high)."""
RISK_CLASS_LABELS = ("no data 无数据", "low 低", "moderate 中", "high 高", "very high 很高")

LEVEL_COLOURS = ("#bdbdbd", "#ffffb2", "#fecc5c", "#fd8d3c", "#bd0026")
"""Hazard levels 0 (no data) to 4 (very high), and the raster classes between the
levels' breaks (colours 1 to 4)."""
LEVEL_LABELS = ("no data 无数据", "low 低", "medium 中", "high 高", "very high 很高")

RETURNS_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
"""Expected returns per year, five quantile classes."""

CHANGED_COLOUR = "#2166ac"
"""The outline of a village whose risk class or a hazard level changed since the previous run."""

HAZARD_COLOURS = ("#8c510a", "#d8b365", "#5ab4ac", "#01665e", "#762a83", "#e7298a")
"""One colour per hazard in charts, in layer order (repeated past six)."""

DESCENDING = (4, 3, 2, 1, 0)
"""Classes as legends list them: the worst first, no data last."""

STACKED = (1, 2, 3, 4, 0)
"""Classes as stacked bars pile them: low first, very high next to last, no data last."""

RASTER_OPACITY = 0.75


def english(label: str) -> str:
    """The English half of a bilingual label ('low 低' -> 'low')."""
    return label.split()[0]


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def number(value: Any, digits: int = 1) -> str:
    """A figure for a table: thousands separated, ``digits`` decimals; '–' when missing."""
    if missing(value):
        return "–"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{float(value):,.{digits}f}"


def significant(value: Any, digits: int = 3) -> str:
    """A figure for a tooltip: ``digits`` significant digits; '–' when missing."""
    if missing(value):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}g}"
    return str(value)
