"""Hostile inputs for the hazard sources beyond rasters: zones, hazard sites, a layer's
[sites] table and class layers, run through the command line as a user would.

Every bad input ends in exit 1 and one line (``error: ...`` naming the file, the field or
row, and the fix), never a traceback, and the project tree and the earlier outputs stay
byte-identical; inputs that are possible but suspicious run with a named warning. The
cases after "once defects" were found by an adversarial pass and mended since.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hazardmap.chinese_crs import wgs84_to_gcj02
from tests.helpers import (
    SITES_LAYER,
    UTM,
    assert_one_error_line,
    build_tiny_project,
    copy_project,
    edit,
    invoke,
    read_households_csv,
    run_command,
    set_key,
    steps,
    tree_digest,
    utm_cells,
    utm_square,
)

pytestmark = pytest.mark.slow

# ------------------------------------------------------------ the tiny project, as zones
ZONES_LAYER = """
name = "slope"
title = "Landslide susceptibility"
title_zh = "滑坡易发性"
source = "zones"
path = "../data/zones.geojson"
field = "grade"
classes = { "极高易发" = 4, "高易发" = 3, "中易发" = 2, "低易发" = 1 }
outside = 1
levels = [2, 3, 4]
[frequency]
type = "classes"
points = [[1, 0.001], [2, 0.01], [3, 0.03], [4, 0.1]]
[damage]
crop = 0.1
[housing]
earth = 1.2

[sites]
path = "../data/sites.csv"
field = "规模"
classes = { "大型" = 4, "中型" = 3, "小型" = 2 }
radius_field = "威胁半径"
id_field = "编号"
households_field = "威胁户"
lon_field = "经度"
lat_field = "纬度"
"""


CLASSES_LINE = 'classes = { "极高易发" = 4, "高易发" = 3, "中易发" = 2, "低易发" = 1 }\n'

NUMERIC_ZONES_LAYER = """
name = "slope"
title = "Landslide probability"
source = "zones"
path = "../data/zones.geojson"
field = "grade"
outside = 0.0
nodata = -9999
levels = [0.3, 0.5, 0.7]
[frequency]
type = "table"
points = [[0, 0], [0.3, 0.002], [0.5, 0.01], [0.7, 0.03], [0.9, 0.08], [1, 0.12]]
[damage]
crop = 0.1
"""

SITES_HEADER = "编号,规模,威胁半径,威胁户,经度,纬度\n"


def _zones() -> gpd.GeoDataFrame:
    """极高易发 over A's north, 中易发 across A's east and B's west, 低易发 over C (WGS84)."""
    return gpd.GeoDataFrame(
        {"grade": ["极高易发", "中易发", "低易发"]},
        geometry=[utm_cells(1, 1, 4, 2.6), utm_cells(3.5, 1, 6, 3.5), utm_cells(2, 5, 6, 9)],
        crs=UTM,
    ).to_crs(4326)


def _site_lonlat() -> list[tuple[float, float]]:
    """S1 on household h4 (village B), S2 in village C."""
    points = [utm_square(8.5, 4.5, 0).centroid, utm_square(5.5, 8.5, 0).centroid]
    return [(p.x, p.y) for p in gpd.GeoSeries(points, crs=UTM).to_crs(4326)]


def _row(
    site: str = "S1",
    grade: str = "大型",
    radius: str = "60",
    named: str = "",
    lon: object = None,
    lat: object = None,
) -> str:
    """One line of the sites table; by default S1, at its place."""
    at = _site_lonlat()[0 if site == "S1" else 1]
    lon = at[0] if lon is None else lon
    lat = at[1] if lat is None else lat
    return f"{site},{grade},{radius},{named},{lon},{lat}\n"


S2 = _row("S2", "小型", "50", "h1;h9")


def _build(root: Path) -> Path:
    project = build_tiny_project(root)
    _zones().to_file(project.parent / "data" / "zones.geojson", driver="GeoJSON")
    (project.parent / "data" / "sites.csv").write_text(SITES_HEADER + _row() + S2, "utf-8")
    _layer(project).write_text(ZONES_LAYER, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project with its slope layer as zones and a [sites] table, run once."""
    project = _build(tmp_path_factory.mktemp("sources") / "project")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    return project


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the zones project with the outputs of a run."""
    return copy_project(template.parent, tmp_path / "project") / "hazardmap.toml"


def _layer(project: Path) -> Path:
    return project.parent / "layers" / "slope.toml"


def _data(project: Path) -> Path:
    return project.parent / "data"


# ------------------------------------------------------------ mutations
def _zones_file(
    frame: gpd.GeoDataFrame, name: str = "zones.geojson", **options: Any
) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = _data(project) / name
        if path.exists():
            path.unlink()
        driver = {".gpkg": "GPKG", ".shp": "ESRI Shapefile"}.get(path.suffix, "GeoJSON")
        with warnings.catch_warnings():  # pyogrio warns of files written without a CRS
            warnings.simplefilter("ignore", UserWarning)
            frame.to_file(path, driver=driver, **options)
        set_key(_layer(project), "", "path", f'"../data/{name}"')

    return mutate


def _zones_with(**columns: list[Any]) -> gpd.GeoDataFrame:
    return _zones().assign(**columns)


def _sites(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        (_data(project) / "sites.csv").write_bytes(text.encode(encoding))

    return mutate


def _layer_key(key: str, value: str, section: str = "") -> Callable[[Path], None]:
    return lambda project: set_key(_layer(project), section, key, value)


def _prepend(text: str) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        layer = _layer(project)
        layer.write_text(text + "\n" + layer.read_text(encoding="utf-8"), encoding="utf-8")

    return mutate


def _in_sites_table(text: str) -> Callable[[Path], None]:
    return lambda project: edit(_layer(project), "[sites]\n", f"[sites]\n{text}\n")


def _truncated_zones(project: Path) -> None:
    many = gpd.GeoDataFrame(
        {"grade": ["低易发"] * 600},
        geometry=[
            utm_cells(i % 30 / 3, i // 30 / 3, i % 30 / 3 + 0.3, i // 30 / 3 + 0.3)
            for i in range(600)
        ],
        crs=UTM,
    )
    _zones_file(many, "zones.gpkg", layer="zones")(project)
    path = _data(project) / "zones.gpkg"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _zones_without_crs(project: Path) -> None:
    _zones_file(_zones().to_crs(UTM).set_crs(None, allow_override=True), "zones.gpkg")(project)


def _shapefile_without_dbf(project: Path) -> None:
    _zones_file(_zones(), "zones.shp", encoding="utf-8")(project)
    (_data(project) / "zones.dbf").unlink()


def _shapefile_in_gbk_without_cpg(project: Path) -> None:
    _zones_file(_zones(), "zones.shp", encoding="gbk")(project)
    (_data(project) / "zones.cpg").unlink()


def _two_layer_geopackage(project: Path) -> None:
    _zones_file(_zones(), "zones.gpkg", layer="zones")(project)
    _zones().iloc[:1].to_file(_data(project) / "zones.gpkg", layer="older", driver="GPKG")


def _zones_as(geometry: Callable[[gpd.GeoSeries], gpd.GeoSeries]) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        zones = _zones().to_crs(UTM)
        _zones_file(zones.set_geometry(geometry(zones.geometry)).to_crs(4326))(project)

    return mutate


def _zones_in_a_corner_of_the_bounds(project: Path) -> None:
    """Two zones at opposite corners beyond the villages (a neighbour county's zoning):
    their extent spans the villages, but no zone reaches one."""
    zones = gpd.GeoDataFrame(
        {"grade": ["极高易发", "极高易发"]},
        geometry=[utm_cells(-3, -3, 0.9, 0.9), utm_cells(9.1, 9.1, 13, 13)],
        crs=UTM,
    ).to_crs(4326)
    _zones_file(zones)(project)


def _flat_zone(project: Path) -> None:
    zones = _zones().to_crs(UTM)
    x, y = zones.geometry.iloc[0].exterior.coords[0]
    flat = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 200, y + 200)])
    zones = zones.set_geometry([flat, *zones.geometry.iloc[1:]], crs=UTM)
    _zones_file(zones, "zones.gpkg", layer="zones")(project)


def _metres_declared_degrees(project: Path) -> None:
    _zones_without_crs(project)
    set_key(_layer(project), "", "crs", '"EPSG:4326"')


def _sites_gpkg(points: list[shapely.Geometry]) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        frame = gpd.GeoDataFrame(
            {
                "编号": ["S1", "S2"],
                "规模": ["大型", "小型"],
                "威胁半径": [60, 50],
                "威胁户": ["", "h1"],
            },
            geometry=points,
            crs=4326,
        )
        frame.to_file(_data(project) / "sites.gpkg", layer="sites", driver="GPKG")
        edit(_layer(project), 'path = "../data/sites.csv"', 'path = "../data/sites.gpkg"')

    return mutate


def _sites_multipoint(project: Path) -> None:
    (s1, s2) = _site_lonlat()
    _sites_gpkg([shapely.MultiPoint([s1]), shapely.MultiPoint([s2, (s2[0] + 1e-3, s2[1])])])(
        project
    )


def _sites_single_point_multipoints(project: Path) -> None:
    (s1, s2) = _site_lonlat()
    _sites_gpkg([shapely.MultiPoint([s1]), shapely.MultiPoint([s2])])(project)


def _sites_workbook_with_formulas(project: Path) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    (s1, s2) = _site_lonlat()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(SITES_HEADER.strip().split(","))
    sheet.append(["S1", "大型", "=30*2", None, s1[0], s1[1]])
    sheet.append(["S2", "小型", 50, "h1", s2[0], s2[1]])
    book.save(_data(project) / "sites.xlsx")
    edit(_layer(project), 'path = "../data/sites.csv"', 'path = "../data/sites.xlsx"')


def _sites_semicolons(project: Path) -> None:
    text = (SITES_HEADER + _row() + _row("S2", "小型", "50", "h1")).replace(",", ";")
    (_data(project) / "sites.csv").write_text(text, encoding="utf-8")


def _out_holding_the_zones(project: Path) -> None:
    folder = project.parent / "zoning"
    folder.mkdir()
    (_data(project) / "zones.geojson").rename(folder / "zones.geojson")
    set_key(_layer(project), "", "path", '"../zoning/zones.geojson"')


# ------------------------------------------------------------ single-line errors
@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], object]
    expected: str
    """A regular expression the error (or warning) line must match."""
    out: str | None = None
    """``run --out``, relative to the project folder (the case is then for run only)."""

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


(S1_LON, S1_LAT) = _site_lonlat()[0]

ERRORS = [
    # --- zones: the file
    Case(
        "zones: points, not polygons",
        _zones_as(lambda g: g.centroid),
        r"zones\.geojson: hazard zones must be polygons, found \['Point'\] at zone 1",
    ),
    Case(
        "zones: lines, not polygons",
        _zones_as(lambda g: g.boundary),
        r"zones\.geojson: hazard zones must be polygons, found \['LineString'\]",
    ),
    Case(
        "zones: a FeatureCollection without features",
        lambda p: (_data(p) / "zones.geojson").write_text(
            '{"type": "FeatureCollection", "features": []}', encoding="utf-8"
        ),
        r"zones\.geojson: the hazard zones file holds no features",
    ),
    Case(
        "zones: no CRS and no crs key",
        _zones_without_crs,
        r"zones\.gpkg: the zones have no CRS; add crs = .* to slope\.toml",
    ),
    Case(
        "zones: metres declared as degrees",
        _metres_declared_degrees,
        r"zones\.gpkg: the coordinates do not fit the declared CRS EPSG:4326",
    ),
    Case(
        "zones: declared crs contradicts the file's",
        _layer_key("crs", '"EPSG:4490"'),
        r"zones\.geojson: the file's CRS is EPSG:4326 but crs in slope\.toml says EPSG:4490",
    ),
    Case(
        "zones: a Shapefile without its .dbf",
        _shapefile_without_dbf,
        r"zones\.shp: the Shapefile's \.dbf file is missing beside it",
    ),
    Case(
        "zones: a GeoPackage of two layers without layer",
        _two_layer_geopackage,
        r"zones\.gpkg: the file holds 2 layers, \['zones', 'older'\]; choose one with layer",
    ),
    Case(
        "zones: field not in the file",
        _layer_key("field", '"等级"'),
        r"zones\.geojson: field\(s\) \['等级'\] not found; the file has \['grade'\]",
    ),
    Case(
        "zones: a label classes does not map",
        _zones_file(_zones_with(grade=["极高", "中易发", "低易发"])),
        r"zones\.geojson: field 'grade' holds label\(s\) that classes does not map: '极高'",
    ),
    Case(
        "zones: a NULL label",
        _zones_file(_zones_with(grade=[None, "中易发", "低易发"])),
        r"zones\.geojson: field 'grade' is empty at zone 1",
    ),
    Case(
        "zones: a number that is no class, without classes",
        steps(
            _zones_file(_zones_with(grade=[3.0, 2.5, 1.0])),
            lambda p: edit(_layer(p), CLASSES_LINE, ""),
        ),
        r"zones\.geojson: 1 zone\(s\) have values that are no class of \[frequency\] points",
    ),
    Case(
        "zones: in another province",
        _zones_as(lambda g: g.translate(900_000, 500_000)),
        r"zones\.geojson: no zone reaches the villages",
    ),
    Case(
        "zones: an --out folder holding the zones file",
        _out_holding_the_zones,
        r"zoning: this output folder holds the project's inputs \(zones\.geojson\)",
        out="zoning",
    ),
    # --- the layer file
    Case(
        "config: radius_m on a zones layer",
        _prepend("radius_m = 300"),
        r"slope\.toml: radius_m: key\(s\) of source = 'sites', but this layer's source is 'zones'",
    ),
    Case(
        "config: band on a zones layer",
        _prepend("band = 1"),
        r"slope\.toml: band: key\(s\) of source = 'raster'",
    ),
    Case(
        "config: variable on a zones layer",
        _prepend('variable = "spei"'),
        r"slope\.toml: variable: key\(s\) of source = 'cube'",
    ),
    Case(
        "config: source = 'zone'",
        lambda p: edit(_layer(p), 'source = "zones"', 'source = "zone"'),
        r"slope\.toml: source: Input should be 'raster', 'cube', 'zones' or 'sites', got 'zone'",
    ),
    Case(
        "config: a boolean in classes",
        _layer_key("classes", '{ "极高易发" = true, "中易发" = 2, "低易发" = 1 }'),
        r"slope\.toml: classes\.极高易发: Input should be a valid number, got True",
    ),
    Case(
        "config: classes mapping to no class of a class layer",
        _layer_key("classes", '{ "极高易发" = 5, "中易发" = 2, "低易发" = 1 }'),
        r"slope\.toml: classes '极高易发' = 5 is no class of \[frequency\] points",
    ),
    Case(
        "config: outside in a [sites] table",
        _in_sites_table("outside = 0"),
        r"slope\.toml: unknown key 'outside' in \[sites\]",
    ),
    Case(
        "config: both radius_m and radius_field",
        _in_sites_table("radius_m = 100"),
        r"slope\.toml: sites: hazard sites need a threat radius: radius_m .* not both",
    ),
    Case(
        "config: a sites layer without outside",
        lambda p: _layer(p).write_text(SITES_LAYER.replace("outside = 0.0\n", ""), "utf-8"),
        r"slope\.toml: source = 'sites' needs outside",
    ),
    Case(
        "config: a [sites] table inside a sites layer",
        lambda p: _layer(p).write_text(
            SITES_LAYER + '[sites]\npath = "../data/sites.csv"\nfield = "规模"\nradius_m = 9\n',
            encoding="utf-8",
        ),
        r"slope\.toml: a \[sites\] table adds sites to another source",
    ),
    # --- sites
    Case(
        "sites: a blank latitude",
        _sites(SITES_HEADER + _row(lat="") + S2),
        r"sites\.csv: site without coordinates at line 2 \('经度', '纬度'\)",
    ),
    Case(
        "sites: text in the radius column",
        _sites(SITES_HEADER + _row(radius="六十") + S2),
        r"sites\.csv: field '威胁半径' is no positive number of metres at line 2 \('六十'\)",
    ),
    Case(
        "sites: radius 0",
        _sites(SITES_HEADER + _row(radius="0") + S2),
        r"sites\.csv: field '威胁半径' is no positive number of metres at line 2 \('0'\)",
    ),
    Case(
        "sites: radius_field not in the table",
        _layer_key("radius_field", '"半径"', "sites"),
        r"sites\.csv: field\(s\) \['半径'\] not found; the file has \['编号'",
    ),
    Case(
        "sites: a repeated id",
        _sites(SITES_HEADER + _row() + _row("S1", "小型", "50", "h1", *_site_lonlat()[1])),
        r"sites\.csv: site id repeated at line 2 \('S1'\), line 3 \('S1'\)",
    ),
    Case(
        "sites: a grade classes does not map",
        _sites(SITES_HEADER + _row(grade="特大型") + S2),
        r"sites\.csv: field '规模' holds label\(s\) that classes does not map: '特大型'",
    ),
    Case(
        "sites: a workbook with formulas never calculated",
        _sites_workbook_with_formulas,
        r"sites\.xlsx: sheet 'Sheet': cell\(s\) \['C2'\] hold formulas that were never calculated",
    ),
    Case(
        "sites: a MultiPoint of two points",
        _sites_multipoint,
        r"sites\.gpkg: hazard sites must be points, found \['MultiPoint'\]",
    ),
    Case(
        "sites: an unknown crs",
        _layer_key("crs", '"EPSG:99999"', "sites"),
        r"sites\.csv: crs in \[sites\] of slope\.toml: 'EPSG:99999' is not a coordinate reference",
    ),
    # --- once defects
    Case(
        "zones: none reaches a village, though their extent spans the villages",
        _zones_in_a_corner_of_the_bounds,
        r"zones\.geojson: no zone reaches the villages",
    ),
    Case(
        "config: classes naming one label twice (after folding)",
        _layer_key(
            "classes",
            '{ "极高易发" = 4, "极高易发 " = 1, "高易发" = 3, "中易发" = 2, "低易发" = 1 }',
        ),
        r"slope\.toml: classes.*极高易发",
    ),
    Case(
        "config: nodata equal to a class of a zones layer",
        steps(_layer_key("nodata", "1"), _layer_key("outside", "2")),
        r"slope\.toml: .*nodata",
    ),
    Case(
        "zones: a zone without area",
        _flat_zone,
        r"zones\.gpkg: .*without area at zone 1",
    ),
    Case(
        "zones: a GBK Shapefile without its .cpg",
        _shapefile_in_gbk_without_cpg,
        r"zones\.shp: .*(encoding|\.cpg)",
    ),
    Case(
        "zones: a truncated GeoPackage",
        _truncated_zones,
        r"zones\.gpkg: .*(truncated|damaged)",
    ),
    Case(
        "zones: an empty file",
        lambda p: (_data(p) / "zones.geojson").write_bytes(b""),
        r"zones\.geojson: .*empty",
    ),
    Case(
        "sites: longitude and latitude swapped in one row",
        _sites(SITES_HEADER + _row(lon=S1_LAT, lat=S1_LON) + S2),
        r"sites\.csv: .*(line 2.*swapped|swapped.*line 2)",
    ),
    Case(
        "sites: a longitude with a degree sign",
        _sites(SITES_HEADER + _row(lon=f"{S1_LON:.6f}°") + S2),
        r"sites\.csv: .*line 2.*'\d+\.\d+°'",
    ),
    Case(
        "sites: degrees declared as UTM metres",
        _layer_key("crs", '"EPSG:32648"', "sites"),
        r"sites\.csv: .*EPSG:4326",
    ),
    Case(
        "sites: every site in another province",
        _sites(
            SITES_HEADER + _row(lon=116.4, lat=39.9) + _row("S2", "小型", "50", "", 116.5, 39.9)
        ),
        r"sites\.csv: .*(reach|farther)",
    ),
    Case(
        "sites: a NUL byte in a site id",
        _sites(SITES_HEADER + _row(site="S\x001") + S2),
        r"sites\.csv: .*'编号'.*printable",
    ),
    Case(
        "sites: a blank grade, counted by line",
        _sites(SITES_HEADER + _row(grade="") + S2),
        r"sites\.csv: field '规模' is empty at line 2",
    ),
    Case(
        "sites: a semicolon-separated table",
        _sites_semicolons,
        r"sites\.csv: .*separated by ';'",
    ),
    Case(
        "sites: layer on a CSV",
        _in_sites_table('layer = "sites"'),
        r"sites\.csv: .*layer",
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in ERRORS])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_source_is_one_line_and_touches_nothing(
    project: Path, case: Case, command: str
) -> None:
    before = tree_digest(project.parent)
    case.mutate(project)
    mutated = tree_digest(project.parent)
    args = [command, "--config", str(project)]
    if case.out is not None:
        if command == "validate":
            pytest.skip("validate takes no output folder")
        args += ["--out", str(project.parent / case.out)]
    code, out, err = run_command(*args)
    assert_one_error_line(code, out, err, case.expected, command)
    assert tree_digest(project.parent) == mutated, "the command changed files"
    outputs = {k for k in before if k.startswith("outputs/latest/")}
    assert {k: before[k] for k in outputs} == {k: mutated[k] for k in outputs}


# ------------------------------------------------------------ suspicious, but runs
def _numeric_zones_with_nodata(project: Path) -> None:
    """Zones holding probabilities, C's zone -9999 (no data): C has no value, not 0."""
    _zones_file(_zones_with(grade=[0.9, 0.5, -9999.0]))(project)
    _layer(project).write_text(NUMERIC_ZONES_LAYER, encoding="utf-8")


def _self_intersecting_zone(project: Path) -> None:
    zones = _zones().to_crs(UTM)
    west, south, east, north = zones.geometry.iloc[0].bounds
    bowtie = shapely.Polygon([(west, south), (east, north), (east, south), (west, north)])
    zones = zones.set_geometry([bowtie, *zones.geometry.iloc[1:]], crs=UTM)
    _zones_file(zones.to_crs(4326))(project)


WARNINGS = [
    Case(
        "a self-intersecting zone",
        _self_intersecting_zone,
        r"zones\.geojson: repaired 1 invalid zone geometry \(zone 1\)",
    ),
    Case(
        "households outside every zone without outside",
        lambda p: edit(_layer(p), "outside = 1\n", ""),
        r"households lie outside every zone and slope\.toml sets no outside value",
    ),
    Case(
        "a site far from every village",
        _sites(SITES_HEADER + _row(lon=116.4, lat=39.9) + S2),
        r"sites\.csv: 1 of 2 sites lie farther than their radius from every village \(e\.g\. "
        r"site S1",
    ),
    Case(
        "a register naming unknown households",
        _sites(SITES_HEADER + _row(named="x1；x2") + S2),
        r"sites\.csv: the register names 3 household id\(s\) that the household file does not",
    ),
    Case(
        "numeric zones with a nodata value",
        _numeric_zones_with_nodata,
        r"zones\.geojson: .*no slope value",
    ),
    Case(
        "hazard sites as MultiPoints of one point each",
        _sites_single_point_multipoints,
        r"",
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in WARNINGS])
def test_suspicious_source_runs_with_a_named_warning(project: Path, case: Case) -> None:
    case.mutate(project)
    mutated = tree_digest(project.parent)
    for command in ("validate", "run"):
        code, out, err = run_command(command, "--config", str(project))
        assert code == 0 and "Traceback" not in out + err, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert all(line.startswith("warning: ") for line in lines), err
        assert any(re.search(case.expected, line) for line in lines), err
    after = tree_digest(project.parent)
    assert {k: v for k, v in after.items() if not k.startswith("outputs")} == {
        k: v for k, v in mutated.items() if not k.startswith("outputs")
    }


def test_full_width_and_padded_labels_and_separators_count(project: Path) -> None:
    """Labels with spaces and a full-width space, and a register typed with a full-width
    semicolon, reach the classes and households they name."""
    _zones_file(_zones_with(grade=[" 极高易发 ", "中易发\u3000", "低易发"]))(project)
    _sites(SITES_HEADER + _row(named="h3；h5") + S2)(project)
    code, _, err = run_command("run", "--config", str(project))
    assert code == 0, err
    households = read_households_csv(project.parent / "outputs" / "latest" / "households.csv")
    value = households.set_index("household_id")["slope_value"]
    assert value.to_dict() == {"h1": 4.0, "h2": 4.0, "h3": 4.0, "h4": 4.0, "h5": 4.0}


def test_grades_stored_as_whole_floats_match_their_classes(project: Path) -> None:
    _zones_file(_zones_with(grade=[3.0, 2.0, 1.0]))(project)
    set_key(_layer(project), "", "classes", '{ "3" = 4, "2" = 2, "1" = 1 }')
    code, _, err = run_command("run", "--config", str(project))
    assert code == 0, err
    households = read_households_csv(project.parent / "outputs" / "latest" / "households.csv")
    value = households.set_index("household_id")["slope_value"]
    assert value.to_dict() == {"h1": 4.0, "h2": 4.0, "h3": 1.0, "h4": 4.0, "h5": 1.0}


# ------------------------------------------------------------ what GDAL says on its own
def _geopackage_without_application_id(project: Path) -> None:
    _zones_file(_zones(), "zones.gpkg", layer="zones")(project)
    with sqlite3.connect(_data(project) / "zones.gpkg") as db:
        db.execute("PRAGMA application_id = 0")


def test_a_geopackage_written_by_an_older_tool_runs_without_gdal_chatter(project: Path) -> None:
    _geopackage_without_application_id(project)
    for command in ("validate", "run"):
        done = subprocess.run(
            [sys.executable, "-m", "hazardmap", command, "--config", str(project)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert all(line.startswith("warning: ") for line in lines), done.stderr


def test_zones_in_gcj02_declared_are_moved_onto_the_villages(project: Path) -> None:
    zones = _zones()

    def to_gcj02(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    moved = shapely.transform(np.asarray(zones.geometry.values), to_gcj02)
    _zones_file(zones.set_geometry(gpd.GeoSeries(moved, crs=4326)))(project)
    set_key(_layer(project), "", "crs", '"GCJ-02"')
    code, _, err = run_command("run", "--config", str(project))
    assert code == 0, err
    households = read_households_csv(project.parent / "outputs" / "latest" / "households.csv")
    value = households.set_index("household_id")["slope_value"]
    assert value.to_dict() == {"h1": 4.0, "h2": 4.0, "h3": 1.0, "h4": 4.0, "h5": 1.0}
