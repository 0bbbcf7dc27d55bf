"""Vector files (GeoPackage, Shapefile, GeoJSON, ...): read, and put in the CRS their
coordinates are really in. Villages, hazard zones and hazard sites share these; each
message names the file and the section whose keys fix it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from hazardmap.crs import check_fits, parse_system, same_crs, system_of
from hazardmap.errors import CRSError, InputError, InputFileNotFoundError
from hazardmap.polygons import POLYGONAL_TYPES, polygonal_part
from hazardmap.problems import names_summary, rows_summary, shorten


@dataclass(frozen=True)
class VectorRole:
    """What a vector file is, for the messages: 'villages' in '[villages]' holding 'the
    villages as polygons'."""

    what: str
    section: str
    expected: str


def read_vector(path: Path, layer: str | None, role: VectorRole) -> gpd.GeoDataFrame:
    """The features of a vector file (or of its ``layer``), or a one-line error: missing,
    an incomplete Shapefile, several layers and none chosen, unreadable, no geometries,
    no features."""
    if not path.exists():
        raise InputFileNotFoundError(
            f"{path}: {role.what} file not found; check path in {role.section}"
        )
    if not path.is_file() and not path.is_dir():  # a folder may be a vector data set
        raise InputError(f"{path}: the {role.what} file is a device, not a file; give a file")
    if path.suffix.lower() == ".shp":
        absent = [s for s in (".dbf", ".shx") if not path.with_suffix(s).exists()]
        if absent:
            raise InputError(
                f"{path}: the Shapefile's {' and '.join(absent)} file is missing beside it; "
                "copy every file of the Shapefile (.shp, .shx, .dbf, .prj, .cpg) together"
            )
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); give {role.expected}")
    try:
        with warnings.catch_warnings():  # GDAL's notes on readable files (an odd header)
            warnings.simplefilter("ignore", RuntimeWarning)
            return _read(path, layer, role)
    except InputError:
        raise
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: not a vector file GDAL can read, or a damaged or truncated one "
            f"({shorten(first, 120)}); give {role.expected} (GeoPackage, Shapefile or GeoJSON)"
        ) from None


def _read(path: Path, layer: str | None, role: VectorRole) -> gpd.GeoDataFrame:
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    if layer is None and len(layers) > 1:
        raise InputError(
            f"{path}: the file holds {len(layers)} layers, {names_summary(layers)}; "
            f'choose one with layer = "..." in {role.section}'
        )
    if layer is not None and layer not in layers:
        raise InputError(
            f"{path}: no layer '{layer}'; the file holds {names_summary(layers)}; "
            f"correct layer in {role.section}"
        )
    frame = gpd.read_file(path, layer=layer)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError(
            f"{path}: the file has no geometries (a table without them); give "
            f"{role.expected} (GeoPackage, Shapefile or GeoJSON)"
        )
    if len(frame) == 0:
        raise InputError(f"{path}: the {role.what} file holds no features; give {role.expected}")
    return frame


def in_declared_crs(
    frame: gpd.GeoDataFrame, path: Path, declared: str | None, role: VectorRole
) -> gpd.GeoDataFrame:
    """The features in the CRS their coordinates are really in, checked to fit it.

    GCJ-02 and BD-09 override what the file claims (files drawn on AMap or Baidu usually
    say WGS84) and are converted to WGS84; any other declared CRS is for files without one.
    """
    where = f"{path}: crs in {role.section}"
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
                f'{path}: the {role.what} have no CRS; add crs = "EPSG:...." to {role.section} '
                "or save the file with its CRS"
            )
        file_system = system
    else:
        file_system = system_of(file_crs)
        if system is not None and not same_crs(system.crs, file_crs):
            raise CRSError(
                f"{path}: the file's CRS is {file_crs.to_string()} but crs in {role.section} says "
                f"{declared}; remove crs from {role.section} (it is for files without a CRS), or "
                "fix the file's CRS"
            )
    check_fits(coords[:, 0], coords[:, 1], file_system, where=str(path))
    return frame.set_crs(file_system.crs, allow_override=True)


@dataclass(frozen=True)
class PolygonWords:
    """How the messages about one file's polygons name them: the features ('villages'),
    what each row is called ('feature', 'zone'), the subject of 'must be polygons' and
    the fix for other geometries."""

    features: str
    unit: str
    subject: str
    fix_other: str


def repaired_polygons(
    geoms: np.ndarray, path: Path, words: PolygonWords, labels: list[object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of a vector file, none empty and none of another type (each a
    one-line error naming the rows, with ``labels`` beside them), invalid ones repaired
    with ``make_valid``; and which were repaired, for the caller's warning."""
    lines = np.arange(len(geoms)) + 1

    def rows(mask: np.ndarray) -> str:
        named = [] if labels is None else [v for v, m in zip(labels, mask, strict=True) if m]
        return rows_summary(lines[mask], named, unit=words.unit)

    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"{path}: empty geometry at {rows(empty)}; draw those {words.features} or remove them"
        )
    other = ~np.isin(shapely.get_type_id(geoms), POLYGONAL_TYPES)
    if other.any():
        found = sorted({g.geom_type for g in geoms[other]})
        raise InputError(
            f"{path}: {words.subject} must be polygons, found {found} at {rows(other)}; "
            f"{words.fix_other}"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = [polygonal_part(g) for g in shapely.make_valid(geoms[invalid])]
    return geoms, invalid
