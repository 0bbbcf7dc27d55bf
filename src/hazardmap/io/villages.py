"""Village polygons: read, check the fields, codes and geometries, repair what is safe."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from hazardmap.errors import CRSError, InputError, InputFileNotFoundError
from hazardmap.io.chinese_crs import offset_system, to_wgs84
from hazardmap.io.problems import rows_summary
from hazardmap.raster.source import parse_crs


def read_villages(
    path: Path,
    *,
    id_field: str,
    name_field: str,
    township_field: str | None = None,
    crs: str | None = None,
    warnings: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Villages as a GeoDataFrame with columns village_code, name, township, geometry.

    Codes are text (leading zeros matter). Invalid geometries are repaired with
    ``make_valid`` and reported in ``warnings``.
    """
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: villages file not found; check [villages] path")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise InputError(
            f"{path}: not a vector file GDAL can read ({exc}); check the file"
        ) from None
    fields = [id_field, name_field] + ([township_field] if township_field else [])
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: field(s) {missing} not found; "
            f"the file has {list(frame.columns.drop('geometry'))}; "
            "set [villages] id_field/name_field/township_field to the right names"
        )
    system = offset_system(crs)
    if system is not None:
        # files cannot declare GCJ-02 or BD-09 (they often claim WGS84): the project file decides
        moved = shapely.transform(
            np.asarray(frame.geometry.values),
            lambda xy: np.column_stack(to_wgs84(system, xy[:, 0], xy[:, 1])),
        )
        frame = frame.set_geometry(gpd.GeoSeries(moved, index=frame.index), crs=4326)
    elif frame.crs is None:
        if crs is None:
            raise CRSError(
                f'{path}: the villages have no CRS; add crs = "EPSG:...." to [villages] '
                "or save the file with its CRS"
            )
        frame = frame.set_crs(parse_crs(crs, where=f"{path}: [villages] crs"))
    lines = np.arange(len(frame)) + 1
    codes = frame[id_field].astype("string").str.strip()
    blank = codes.isna() | (codes == "")
    if blank.any():
        raise InputError(
            f"{path}: field '{id_field}' is empty at "
            f"{rows_summary(lines[blank.to_numpy()], unit='feature')}; "
            "give every village a code"
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
        repaired = shapely.make_valid(geoms[invalid])
        geoms = geoms.copy()
        geoms[invalid] = _polygonal(repaired)
        if warnings is not None:
            warnings.append(
                f"{path}: repaired {int(invalid.sum())} invalid village geometr"
                f"{'y' if invalid.sum() == 1 else 'ies'} "
                f"({rows_summary(lines[invalid], codes[invalid].tolist(), unit='feature')})"
            )
    township = frame[township_field].astype("string").fillna("") if township_field else ""
    return gpd.GeoDataFrame(
        {
            "village_code": codes.to_numpy(dtype=object),
            "name": frame[name_field].astype("string").fillna("").to_numpy(dtype=object),
            "township": np.asarray(township, dtype=object)
            if township_field
            else np.full(len(frame), "", dtype=object),
        },
        geometry=gpd.GeoSeries(geoms, crs=frame.crs),
        crs=frame.crs,
    )


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of repaired geometries (make_valid may add lines)."""
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if geom.geom_type == "GeometryCollection":
            polys = [
                g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")
            ]
            out[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return out
