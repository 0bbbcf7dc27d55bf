"""hazardmap: disaster-induced return-to-poverty risk for households and villages.

The public API is small on purpose: :func:`run` for the whole pipeline, :func:`validate`,
:func:`run_event` and :func:`validate_event` for one event that has happened,
:func:`run_uncertainty` for how sure the figures and the priorities are,
:func:`zonal_stats` and :func:`sample` for the raster kernels, and :func:`load_config`.
The names are loaded when first used (PEP 562), so ``import hazardmap`` and
``hazardmap --help`` do not load numba, geopandas or rasterio.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import TYPE_CHECKING, Any

from hazardmap import errors
from hazardmap.errors import HazardmapError

if TYPE_CHECKING:
    from hazardmap.config import Config, load_config
    from hazardmap.event.pipeline import run_event, validate_event
    from hazardmap.pipeline import run, validate
    from hazardmap.raster import sample, zonal_stats
    from hazardmap.results import EventResult, RunResult, UncertaintyResult, ValidationReport
    from hazardmap.uncertainty.pipeline import run_uncertainty

__version__ = metadata.version("hazardmap")

_LAZY = {
    "Config": "hazardmap.config",
    "load_config": "hazardmap.config",
    "run": "hazardmap.pipeline",
    "validate": "hazardmap.pipeline",
    "run_event": "hazardmap.event.pipeline",
    "validate_event": "hazardmap.event.pipeline",
    "EventResult": "hazardmap.results",
    "sample": "hazardmap.raster",
    "zonal_stats": "hazardmap.raster",
    "RunResult": "hazardmap.results",
    "ValidationReport": "hazardmap.results",
    "run_uncertainty": "hazardmap.uncertainty.pipeline",
    "UncertaintyResult": "hazardmap.results",
}

__all__ = [
    "Config",
    "EventResult",
    "HazardmapError",
    "RunResult",
    "UncertaintyResult",
    "ValidationReport",
    "__version__",
    "errors",
    "load_config",
    "run",
    "run_event",
    "run_uncertainty",
    "sample",
    "validate",
    "validate_event",
    "zonal_stats",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hazardmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
