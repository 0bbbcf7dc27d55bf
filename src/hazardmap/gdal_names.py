"""GDAL's names for one part of a file: ``NETCDF:"file.nc":variable``.

Layer files, ``zonal_stats`` and ``sample`` accept such a name for one variable of a NetCDF
file; the file part is what is checked, hashed and resolved relative to the layer file.
"""

from __future__ import annotations

import re
from pathlib import Path

_NETCDF_NAME = re.compile(
    r'^NETCDF:(?:"(?P<quoted>[^"]+)"|(?P<plain>[^":]+)):(?P<variable>[^:"/\\]+)$', re.IGNORECASE
)


def netcdf_name(path: Path, variable: str) -> str:
    """GDAL's name for one variable of a NetCDF file."""
    return f'NETCDF:"{path}":{variable}'


def split_netcdf_name(name: str) -> tuple[str, str] | None:
    """(file, variable) of GDAL's ``NETCDF:"file.nc":variable`` form, or None for any
    other name."""
    match = _NETCDF_NAME.match(name)
    if match is None:
        return None
    return match["quoted"] or match["plain"], match["variable"]
