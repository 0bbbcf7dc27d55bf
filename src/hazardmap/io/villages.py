"""Village polygons: read, check the fields, codes, CRS and geometries, repair what is safe."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.crs import check_fits, parse_system, same_crs, system_of
from hazardmap.errors import CRSError, InputError, InputFileNotFoundError
from hazardmap.io.text import control_characters
from hazardmap.problems import Problems, names_summary, rows_summary


def read_villages(
    path: Path,
    *,
    id_field: str,
    name_field: str,
    township_field: str | None = None,
    crs: str | None = None,
    problems: Problems | None = None,
) -> gpd.GeoDataFrame:
    """Villages as a GeoDataFrame with columns village_code, name, township, geometry.

    Codes are text (leading zeros matter). Invalid geometries are repaired with
    ``make_valid`` and reported as a warning.
    """
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: villages file not found; check [villages] path")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: not a vector file GDAL can read ({first[:200]}); check the file"
        ) from None
    if len(frame) == 0:
        raise InputError(f"{path}: the villages file holds no features; give the village polygons")
    fields = [id_field, name_field] + ([township_field] if township_field else [])
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: field(s) {missing} not found; "
            f"the file has {names_summary(list(frame.columns.drop('geometry')))}; "
            "set [villages] id_field/name_field/township_field to the right names"
        )
    frame = _in_declared_crs(frame, path, crs)
    lines = np.arange(len(frame)) + 1
    codes = frame[id_field].astype("string").str.strip()
    blank = (codes.isna() | (codes == "")).to_numpy()
    if blank.any():
        raise InputError(
            f"{path}: field '{id_field}' is empty at {rows_summary(lines[blank], unit='feature')}; "
            "give every village a code"
        )
    codes = codes.astype(object)
    controls = control_characters(pd.Series(codes))
    if controls.any():
        raise InputError(
            f"{path}: field '{id_field}' holds control characters at "
            f"{rows_summary(lines[controls], codes[controls].tolist(), unit='feature')}; "
            "codes are printable text: remove those characters"
        )
    duplicated = codes.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise InputError(
            f"{path}: village code repeated at "
            f"{rows_summary(lines[duplicated], codes[duplicated].tolist(), unit='feature')}; "
            "codes must be unique"
        )
    geoms = np.asarray(frame.geometry.values)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"{path}: empty geometry at "
            f"{rows_summary(lines[empty], codes[empty].tolist(), unit='feature')}; "
            "draw those villages or remove them"
        )
    kinds = set(frame.geom_type) - {"Polygon", "MultiPolygon"}
    if kinds:
        raise InputError(f"{path}: villages must be polygons, found {sorted(kinds)}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = polygonal_parts(shapely.make_valid(geoms[invalid]))
        if problems is not None:
            problems.warn(
                f"{path}: repaired {int(invalid.sum())} invalid village geometr"
                f"{'y' if invalid.sum() == 1 else 'ies'} "
                f"({rows_summary(lines[invalid], codes[invalid].tolist(), unit='feature')})"
            )
    township = (
        frame[township_field].astype("string").fillna("").to_numpy(dtype=object)
        if township_field
        else np.full(len(frame), "", dtype=object)
    )
    return gpd.GeoDataFrame(
        {
            "village_code": codes.to_numpy(dtype=object),
            "name": frame[name_field].astype("string").fillna("").to_numpy(dtype=object),
            "township": township,
        },
        geometry=gpd.GeoSeries(geoms, crs=frame.crs),
        crs=frame.crs,
    )


def _in_declared_crs(frame: gpd.GeoDataFrame, path: Path, declared: str | None) -> gpd.GeoDataFrame:
    """The villages in the CRS their coordinates are really in, checked to fit it.

    GCJ-02 and BD-09 override what the file claims (files drawn on AMap or Baidu usually
    say WGS84) and are converted to WGS84; any other declared CRS is for files without one.
    """
    where = f"{path}: [villages] crs"
    system = None if declared is None else parse_system(declared, where=where)
    file_crs = frame.crs
    if file_crs is not None and "undefined" in file_crs.name.lower():
        file_crs = None  # a GeoPackage's "Undefined geographic/cartesian SRS"
    coords = shapely.get_coordinates(np.asarray(frame.geometry.values))
    if system is not None and system.offset is not None:
        check_fits(coords[:, 0], coords[:, 1], system, where=str(path))
        moved = shapely.transform(
            np.asarray(frame.geometry.values),
            lambda xy: np.column_stack(system.convert(xy[:, 0], xy[:, 1])),
        )
        return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index), crs=system.crs)
    if file_crs is None:
        if system is None:
            raise CRSError(
                f'{path}: the villages have no CRS; add crs = "EPSG:...." to [villages] '
                "or save the file with its CRS"
            )
        file_system = system
    else:
        file_system = system_of(file_crs)
        if system is not None and not same_crs(system.crs, file_crs):
            raise CRSError(
                f"{path}: the file's CRS is {file_crs.to_string()} but [villages] crs says "
                f"{declared}; remove crs from [villages] (it is for files without a CRS), or "
                "fix the file's CRS"
            )
    check_fits(coords[:, 0], coords[:, 1], file_system, where=str(path))
    return frame.set_crs(file_system.crs, allow_override=True)


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of repaired geometries (make_valid may add lines)."""
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if geom is not None and geom.geom_type == "GeometryCollection":
            polys = [
                g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")
            ]
            out[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return out
