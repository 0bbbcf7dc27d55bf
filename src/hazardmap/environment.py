"""What a run ran on: the versions of Python, hazardmap, its core libraries and GDAL."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

_VERSIONED = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "numba", "folium")


def versions() -> dict[str, str]:
    """For the manifest: each package's version, or 'not installed'."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("hazardmap", *_VERSIONED):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    import rasterio

    found["gdal"] = rasterio.__gdal_version__
    return found
