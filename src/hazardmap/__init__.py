"""hazardmap: disaster-induced return-to-poverty risk for households and villages.

The public API is small on purpose: :func:`run` for the whole pipeline,
:func:`zonal_stats` and :func:`sample` for the raster kernels, and :func:`load_config`.
"""

from __future__ import annotations

from hazardmap import errors
from hazardmap.config import Config, load_config
from hazardmap.errors import HazardmapError
from hazardmap.pipeline import run
from hazardmap.raster import sample, zonal_stats
from hazardmap.results import RunResult

__version__ = "0.1.0"

__all__ = [
    "Config",
    "HazardmapError",
    "RunResult",
    "__version__",
    "errors",
    "load_config",
    "run",
    "sample",
    "zonal_stats",
]
