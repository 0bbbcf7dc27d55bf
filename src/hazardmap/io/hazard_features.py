"""Hazard zones and hazard sites as a county receives them: read, checked, each given its x.

Zones are polygons (GeoPackage, Shapefile, GeoJSON, any CRS) with a class or value field;
sites are points (地质灾害隐患点) from a CSV or workbook with longitude and latitude (WGS84,
GCJ-02 or BD-09) or from a vector file, each with a grade or value and a threat radius. A
``classes`` table maps labels, compared as text after Unicode folding, to x; without one
the field must hold numbers. Every problem is one line naming the file, the field, the
features and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hazardmap.config import LayerConfig
from hazardmap.config.layers import ClassTable, SitesSection
from hazardmap.crs import WGS84, check_fits, lonlat_fit, parse_system
from hazardmap.errors import InputError
from hazardmap.io.labels import fold
from hazardmap.io.tables import EXCEL_SUFFIXES, TableLayout, one_column_separator, read_table
from hazardmap.io.text import control_characters
from hazardmap.io.vectors import (
    PolygonWords,
    VectorRole,
    in_declared_crs,
    read_vector,
    repaired_polygons,
)
from hazardmap.problems import Problems, names_summary, rows_summary
from hazardmap.results import HazardSites, HazardZones

TABLE_SUFFIXES = (".csv", ".txt", *EXCEL_SUFFIXES)
"""Sites in a table (longitude and latitude columns) rather than a vector file."""

ID_SEPARATORS = re.compile(r"[;；,，、\s]+")
"""Between the household ids a site's register names: ';' as CONTRACT.md says, and the
separators a register typed by hand ends up with."""


def label_text(values: pd.Series) -> pd.Series:
    """A field's values as text: whole numbers without a decimal point (a grade stored
    as 3.0 is '3'), trimmed; missing values as NA."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna() % 1 == 0
        if whole.all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    return text


def folded_classes(classes: ClassTable, layer_file: Path, key: str = "classes") -> dict[str, float]:
    """The ``classes`` table by folded label; two labels that fold to the same text
    ('极高易发' and '极高易发 ') are an error, never a silent last-one-wins."""
    table: dict[str, float] = {}
    given: dict[str, str] = {}
    for label, x in classes.items():
        folded = fold(label)
        if folded in table:
            raise InputError(
                f"{layer_file}: {key} names the label {given[folded]!r} twice (also as "
                f"{label!r}), which compare as the same text; keep one"
            )
        table[folded], given[folded] = float(x), label
    return table


@dataclass(frozen=True)
class FieldSource:
    """Where a field's values come from, for the messages: the file, the field, the
    layer file (and table) whose keys fix a problem, each feature's line (or number) and
    what to call it."""

    path: Path
    field: str
    where: str
    layer_file: Path
    lines: np.ndarray
    unit: str
    """What a row is called in the file: 'line' (a table), 'zone', 'feature'."""
    noun: str
    """What a row is: 'zone' or 'site'."""
    classes_key: str = "classes"


def class_values(
    values: pd.Series, classes: ClassTable | None, source: FieldSource
) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's x and its label: through ``classes`` when given (every label must
    be mapped), else the field's numbers. A missing value is an error: a zone or site of
    unknown grade would silently count as no hazard."""
    path, field, unit, lines = source.path, source.field, source.unit, source.lines
    labels = label_text(values)
    missing = labels.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{path}: field '{field}' is empty at {rows_summary(lines[missing], unit=unit)}; "
            f"give every {source.noun} its class or value, or remove it"
        )
    if classes is not None:
        table = folded_classes(classes, source.layer_file, source.classes_key)
        mapped = labels.map(lambda label: table.get(fold(str(label))), na_action="ignore")
        unmapped = mapped.isna().to_numpy()
        if unmapped.any():
            counts = labels[unmapped].value_counts()
            found = ", ".join(
                f"'{label}' ({n} {source.noun}s)" for label, n in counts.head(8).items()
            )
            raise InputError(
                f"{path}: field '{field}' holds label(s) that classes does not map: {found}; "
                f"add them to classes in {source.where} (labels are compared as text)"
                f"{encoding_hint(path)}"
            )
        return mapped.to_numpy(dtype=np.float64), labels.to_numpy(dtype=object)
    numbers = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64)
    text = ~np.isfinite(numbers)
    if text.any():
        raise InputError(
            f"{path}: field '{field}' holds text, not numbers, at "
            f"{rows_summary(lines[text], labels[text].tolist(), unit=unit)}; map each label "
            f'to x with classes = {{ "label" = x, ... }} in {source.where}'
        )
    return numbers, labels.to_numpy(dtype=object)


def encoding_hint(path: Path) -> str:
    """A Shapefile without its .cpg is read in the wrong encoding: the labels look
    garbled and match nothing."""
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        return ""
    return (
        f"; if the labels look garbled, the Shapefile has no {path.with_suffix('.cpg').name} "
        "naming its encoding: add one holding GBK (or UTF-8) beside it"
    )


def _require_fields(frame: pd.DataFrame, fields: list[str], path: Path, where: str) -> None:
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        present = [c for c in frame.columns if c != "geometry"]
        raise InputError(
            f"{path}: field(s) {missing} not found; the file has {names_summary(present)}; "
            f"correct the field names in {where}"
        )


def read_zones(layer: LayerConfig, problems: Problems | None = None) -> HazardZones:
    """A ``source = "zones"`` layer's polygons with their x, in their own CRS. Zones whose
    value is the layer's ``nodata`` have no value (NaN): their area is missing."""
    spec = layer.spec
    assert spec.field is not None  # the layer file checks
    where = layer.file.name
    path = layer.raster_path
    frame = read_vector(path, spec.layer, VectorRole("hazard zones", where, "zones as polygons"))
    _require_fields(frame, [spec.field], path, where)
    frame = in_declared_crs(frame, path, spec.crs, VectorRole("zones", where, ""))
    geoms = _zone_polygons(np.asarray(frame.geometry.values), path, problems)
    lines = np.arange(len(frame)) + 1
    source = FieldSource(path, spec.field, where, layer.file, lines, "zone", "zone")
    value, label = class_values(frame[spec.field], spec.classes, source)
    if spec.nodata is not None:
        value = np.where(value == spec.nodata, np.nan, value)
    outside = np.nan if spec.outside is None else float(spec.outside)
    return HazardZones(geoms, CRS.from_user_input(frame.crs), value, label, outside)


def _zone_polygons(geoms: np.ndarray, path: Path, problems: Problems | None) -> np.ndarray:
    """The zones' polygons; invalid ones repaired (with a warning), others refused."""
    lines = np.arange(len(geoms)) + 1
    words = PolygonWords("zones", "zone", "hazard zones", "keep the zone polygons only")
    geoms, invalid = repaired_polygons(geoms, path, words)
    flat = shapely.is_empty(geoms) | (shapely.area(geoms) <= 0)
    if flat.any():
        raise InputError(
            f"{path}: zone polygon without area at {rows_summary(lines[flat], unit='zone')}; "
            "draw those zones or remove them"
        )
    if invalid.any() and problems is not None:
        problems.warn(
            f"{path}: repaired {int(invalid.sum())} invalid zone geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} "
            f"({rows_summary(lines[invalid], unit='zone')}); check them"
        )
    return geoms


def read_sites(
    keys: SitesSection,
    path: Path,
    where: str,
    layer_file: Path,
    nodata: float | None = None,
) -> HazardSites:
    """Hazard sites (a layer's own, or its ``[sites]`` table) with their x and radius;
    ``where`` names the layer file (and table) whose keys fix a problem. Sites whose
    value is ``nodata`` are left out."""
    tabular = path.suffix.lower() in TABLE_SUFFIXES
    if tabular:
        frame, lines, x, y, crs = _table_sites(keys, path, where)
    else:
        frame, lines, x, y, crs = _vector_sites(keys, path, where)
    unit = "line" if tabular else "feature"
    classes_key = "classes" if where == layer_file.name else "[sites] classes"
    source = FieldSource(path, keys.field, where, layer_file, lines, unit, "site", classes_key)
    value, label = class_values(frame[keys.field], keys.classes, source)
    if keys.id_field is None:
        ids = np.array([str(line) for line in lines], dtype=object)
    else:
        ids = _site_ids(frame[keys.id_field], path, keys.id_field, lines, unit)
    radius = _radii(frame, keys, path, lines)
    named: tuple[tuple[str, ...], ...] = ((),) * len(frame)
    if keys.households_field is not None:
        registers = frame[keys.households_field].astype("string").fillna("")
        named = tuple(tuple(i for i in ID_SEPARATORS.split(str(r).strip()) if i) for r in registers)
    keep = np.ones(len(value), dtype=bool) if nodata is None else value != nodata
    return HazardSites(
        ids[keep],
        x[keep],
        y[keep],
        crs,
        value[keep],
        label[keep],
        radius[keep],
        tuple(n for n, k in zip(named, keep, strict=True) if k),
        path,
    )


def _table_sites(
    keys: SitesSection, path: Path, where: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, CRS]:
    """Sites from a CSV or workbook: longitude and latitude in the declared system."""
    if keys.layer is not None:
        raise InputError(
            f"{path}: layer = '{keys.layer}' in {where} is for vector files with several "
            "layers, and this is a table; remove the layer key"
        )
    table = read_table(
        path, role="hazard sites", layout=TableLayout(section=None), key=f"path in {where}"
    )
    frame, lines = table.frame, table.lines
    wanted = [keys.lon_field, keys.lat_field, keys.field]
    wanted += [k for k in (keys.radius_field, keys.id_field, keys.households_field) if k]
    separator = one_column_separator(list(frame.columns))
    if separator is not None and not set(wanted) <= set(frame.columns):
        raise InputError(
            f"{path}: the header is one column: the table seems separated by {separator!r}, "
            "not commas; save it as comma-separated CSV"
        )
    _require_fields(frame, wanted, path, where)
    if len(frame) == 0:
        raise InputError(f"{path}: the table holds no sites; give the hazard sites or remove it")
    lon = _coordinate(frame[keys.lon_field], path, lines)
    lat = _coordinate(frame[keys.lat_field], path, lines)
    lost = ~(np.isfinite(lon) & np.isfinite(lat))
    if lost.any():
        raise InputError(
            f"{path}: site without coordinates at {rows_summary(lines[lost])} "
            f"('{keys.lon_field}', '{keys.lat_field}'); give every site its longitude and "
            "latitude, or remove it"
        )
    system = parse_system(keys.crs or "EPSG:4326", where=f"{path}: crs in {where}")
    if system.in_degrees:
        swapped = ~lonlat_fit(lon, lat) & lonlat_fit(lat, lon)
        if swapped.any():
            raise InputError(
                f"{path}: longitude and latitude look swapped at {rows_summary(lines[swapped])} "
                f"('{keys.lon_field}' holds latitudes); swap them in those rows"
            )
    check_fits(lon, lat, system, where=str(path))
    x, y = system.convert(lon, lat)
    return frame, lines, x, y, system.crs


def _coordinate(values: pd.Series, path: Path, lines: np.ndarray) -> np.ndarray:
    """A coordinate column as numbers (blank: NaN); text that is no number is an error
    quoting it (105.88°, 105°53', a comma for the decimal point)."""
    text = values.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    given = (text.fillna("") != "").to_numpy()
    wrong = given & ~np.isfinite(numbers)
    if wrong.any():
        raise InputError(
            f"{path}: field '{values.name}' is not a number of degrees (or metres) at "
            f"{rows_summary(lines[wrong], text[wrong].tolist())}; write decimal numbers "
            "such as 105.88, without units"
        )
    return numbers


def _vector_sites(
    keys: SitesSection, path: Path, where: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, CRS]:
    """Sites from a vector file of points, in the file's CRS (or the declared one)."""
    frame = read_vector(path, keys.layer, VectorRole("hazard sites", where, "sites as points"))
    wanted = [keys.field] + [
        k for k in (keys.radius_field, keys.id_field, keys.households_field) if k
    ]
    _require_fields(frame, wanted, path, where)
    frame = in_declared_crs(frame, path, keys.crs, VectorRole("sites", where, ""))
    geoms = np.asarray(frame.geometry.values)
    lines = np.arange(len(frame)) + 1
    lost = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if lost.any():
        raise InputError(
            f"{path}: site without coordinates at {rows_summary(lines[lost], unit='feature')}; "
            "give every site its point, or remove it"
        )
    single = (shapely.get_type_id(geoms) == int(shapely.GeometryType.MULTIPOINT)) & (
        shapely.get_num_geometries(geoms) == 1
    )
    if single.any():  # a MultiPoint of one point, as some tools save every point layer
        geoms = geoms.copy()
        geoms[single] = shapely.get_geometry(geoms[single], 0)
    points = shapely.get_type_id(geoms) == int(shapely.GeometryType.POINT)
    if not points.all():
        found = sorted({g.geom_type for g in geoms[~points]})
        raise InputError(
            f"{path}: hazard sites must be points, found {found} at "
            f"{rows_summary(lines[~points], unit='feature')}; give each site as one point"
        )
    crs = CRS.from_user_input(frame.crs) if frame.crs is not None else WGS84
    return frame, lines, shapely.get_x(geoms), shapely.get_y(geoms), crs


def _site_ids(
    values: pd.Series, path: Path, field: str, lines: np.ndarray, unit: str
) -> np.ndarray:
    ids = label_text(values)
    blank = ids.isna().to_numpy()
    if blank.any():
        raise InputError(
            f"{path}: field '{field}' is empty at {rows_summary(lines[blank], unit=unit)}; "
            "give every site an id"
        )
    controls = control_characters(ids.astype(object))
    if controls.any():
        raise InputError(
            f"{path}: field '{field}' holds control characters at "
            f"{rows_summary(lines[controls], ids[controls].tolist(), unit=unit)}; ids are "
            "printable text: remove those characters"
        )
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        shown = rows_summary(lines[repeated], ids[repeated].tolist(), unit=unit)
        raise InputError(f"{path}: site id repeated at {shown}; ids must be unique")
    return ids.to_numpy(dtype=object)


def _radii(frame: pd.DataFrame, keys: SitesSection, path: Path, lines: np.ndarray) -> np.ndarray:
    """Each site's threat radius in metres: positive, given for every site."""
    if keys.radius_field is None:
        assert keys.radius_m is not None  # the layer file checks
        return np.full(len(frame), float(keys.radius_m))
    raw = frame[keys.radius_field]
    radius = pd.to_numeric(
        raw.str.strip() if pd.api.types.is_string_dtype(raw) else raw, errors="coerce"
    ).to_numpy(np.float64)
    bad = ~(np.isfinite(radius) & (radius > 0))
    if bad.any():
        raise InputError(
            f"{path}: field '{keys.radius_field}' is no positive number of metres at "
            f"{rows_summary(lines[bad], raw[bad].tolist())}; give every site its threat "
            "radius in metres"
        )
    return radius
