"""Village polygons: read, check the fields, codes, CRS and geometries, repair what is safe."""

from __future__ import annotations

from itertools import takewhile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.errors import InputError
from hazardmap.io.text import control_characters
from hazardmap.io.vectors import (
    PolygonWords,
    VectorRole,
    in_declared_crs,
    read_vector,
    repaired_polygons,
)
from hazardmap.polygons import polygonal_part, union
from hazardmap.problems import Problems, names_summary, rows_summary

VILLAGES = VectorRole("villages", "[villages]", "the villages as polygons")


def read_villages(
    path: Path,
    *,
    id_field: str,
    name_field: str,
    township_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    code_digits: int | None = None,
    problems: Problems | None = None,
) -> gpd.GeoDataFrame:
    """Villages as a GeoDataFrame with columns village_code, name, township, geometry.

    Codes are text (leading zeros matter). Invalid geometries are repaired with
    ``make_valid`` and reported as a warning.
    """
    frame = read_vector(path, layer, VILLAGES)
    fields = [id_field, name_field] + ([township_field] if township_field else [])
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: field(s) {missing} not found; "
            f"the file has {names_summary(list(frame.columns.drop('geometry')))}; "
            "set [villages] id_field/name_field/township_field to the right names"
        )
    frame = in_declared_crs(frame, path, crs, VILLAGES)
    codes = _codes(frame[id_field], id_field, path)
    geoms = _polygons(np.asarray(frame.geometry.values), codes, path, problems)
    township = (
        frame[township_field].astype("string").fillna("").to_numpy(dtype=object)
        if township_field
        else np.full(len(frame), "", dtype=object)
    )
    villages = gpd.GeoDataFrame(
        {
            "village_code": codes.to_numpy(dtype=object),
            "name": frame[name_field].astype("string").fillna("").to_numpy(dtype=object),
            "township": township,
        },
        geometry=gpd.GeoSeries(geoms, crs=frame.crs),
        crs=frame.crs,
    )
    if code_digits is None:
        return villages
    return _cut_codes(villages, code_digits, path, problems)


VILLAGE_SUFFIXES = ("村", "社区", "村委会", "居委会", "村民委员会", "居民委员会")
"""How a village's (or a neighbourhood's) own name ends: a shared beginning that ends so
is the village's name; one that does not ('红' of 红星村 and 红旗村) is not."""


def _common_name(names: list[str]) -> str:
    """The name of the village that features dissolved into one make: the beginning their
    names share when it is a village's name ('城关村' of '城关村一组' and '城关村二组'),
    else the most common of their names."""
    named = [name for name in names if name.strip()]
    if not named:
        return ""
    first, last = min(named), max(named)  # the sorted extremes differ first
    shared = "".join(
        a for a, _ in takewhile(lambda pair: pair[0] == pair[1], zip(first, last, strict=False))
    )
    prefix = shared.strip(" -_·")
    if prefix in named or prefix.endswith(VILLAGE_SUFFIXES):
        return prefix
    return max(set(named), key=lambda name: (named.count(name), -named.index(name)))


def _cut_codes(
    villages: gpd.GeoDataFrame, digits: int, path: Path, problems: Problems | None
) -> gpd.GeoDataFrame:
    """Codes cut to their first ``digits`` characters ([villages] code_digits); features
    that then share a code are dissolved into one village, with a warning."""
    longest = int(villages["village_code"].str.len().max())
    if longest <= digits and problems is not None:
        problems.warn(
            f"{path}: [villages] code_digits = {digits} cuts nothing: the codes have at most "
            f"{longest} characters; remove the key, or set it to the households' code length"
        )
    codes = villages["village_code"].str.slice(0, digits)
    villages = villages.assign(village_code=codes.to_numpy(dtype=object))
    repeated = codes.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return villages
    towns = villages.groupby("village_code")["township"].nunique()
    straddling = towns[towns > 1].index.tolist()
    if straddling and problems is not None:
        problems.warn(
            f"{path}: with codes cut to {digits} characters, features of different "
            f"townships share the code(s) {names_summary(straddling)} and are dissolved into "
            "one village each; check those features' codes in the villages file"
        )
    groups = villages.groupby("village_code", sort=False)
    merged = gpd.GeoDataFrame(
        {
            "village_code": list(groups.groups),
            "name": [_common_name(list(g)) for _, g in groups["name"]],
            "township": [next((t for t in g if t), "") for _, g in groups["township"]],
        },
        geometry=gpd.GeoSeries(
            [polygonal_part(union(np.asarray(g.values))) for _, g in groups.geometry],
            crs=villages.crs,
        ),
        crs=villages.crs,
    )
    if problems is not None:
        example = str(codes[repeated].iloc[0])
        problems.warn(
            f"{path}: with codes cut to {digits} characters ([villages] code_digits), "
            f"{int(repeated.sum()):,} features share a code and are dissolved into "
            f"{int(codes[repeated].nunique()):,} villages (e.g. {example}: "
            f"{int((codes == example).sum())} features); {len(villages):,} features make "
            f"{len(merged):,} villages"
        )
    return merged


EXACT_FLOAT_LIMIT = 2.0**53
"""Whole numbers up to this are exact in a float; longer codes stored as floats lost digits."""


def _codes(field: pd.Series, id_field: str, path: Path) -> pd.Series:
    """The village codes as text: present, printable and unique (before any cutting)."""
    lines = np.arange(len(field)) + 1
    if pd.api.types.is_float_dtype(field) and (field.dropna() % 1 == 0).all():
        if (field.dropna().abs() >= EXACT_FLOAT_LIMIT).any():
            raise InputError(
                f"{path}: field '{id_field}' stores codes of {len(f'{field.max():.0f}')} digits "
                "as floating-point numbers, which keep only 15-16 digits exactly; store the "
                "field as text in the villages file"
            )
        field = field.astype("Int64")  # codes stored as numbers: 620826001001.0 is 620826001001
    codes = field.astype("string").str.strip()
    blank = (codes.isna() | (codes == "")).to_numpy()
    if blank.any():
        raise InputError(
            f"{path}: field '{id_field}' is empty at {rows_summary(lines[blank], unit='feature')}; "
            "give every village a code"
        )
    codes = codes.astype(object)
    controls = control_characters(codes)
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
    return codes


def _polygons(
    geoms: np.ndarray, codes: pd.Series, path: Path, problems: Problems | None
) -> np.ndarray:
    """The villages' polygons, none empty; invalid ones repaired, with a warning."""
    lines = np.arange(len(geoms)) + 1
    words = PolygonWords("villages", "feature", "villages", "keep the village polygons only")
    geoms, invalid = repaired_polygons(geoms, path, words, codes.tolist())
    if invalid.any() and problems is not None:
        problems.warn(
            f"{path}: repaired {int(invalid.sum())} invalid village geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} "
            f"({rows_summary(lines[invalid], codes[invalid].tolist(), unit='feature')})"
        )
    flat = shapely.area(geoms) <= 0
    if flat.any():
        raise InputError(
            f"{path}: village polygon without area at "
            f"{rows_summary(lines[flat], codes[flat].tolist(), unit='feature')}; "
            "draw those villages or remove them"
        )
    if problems is not None:
        _warn_overlaps(geoms, path, problems)
    return geoms


OVERLAP_TOLERATED = 0.01
"""Villages may overlap on this share of their area (slivers where boundaries were drawn
twice) before it is a warning."""


def _warn_overlaps(geoms: np.ndarray, path: Path, problems: Problems) -> None:
    """Overlapping villages count the overlap's cells and households in each."""
    total = float(shapely.area(geoms).sum())
    covered = float(shapely.area(union(geoms)))
    overlap = 1.0 - covered / total if total > 0 else 0.0
    if overlap > OVERLAP_TOLERATED:
        problems.warn(
            f"{path}: the villages overlap on {overlap:.0%} of their area, so that area's "
            "hazard counts in each village covering it (a county outline or township given "
            "as a village, or boundaries drawn twice); check the polygons"
        )
