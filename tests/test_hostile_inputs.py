"""A corpus of hostile inputs, run through the command line as a user would.

Every bad input ends in exit 1 and one line (``error: ...`` naming the file, the field or
row, and the fix), never a traceback, and the earlier outputs stay byte-identical; inputs
that are possible but suspicious run with a named warning. Each case is a defect an
adversarial pass found (issue 9).
"""

from __future__ import annotations

import os
import re
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from tests.helpers import (
    CELL,
    ORIGIN,
    UTM,
    assert_one_error_line,
    edit,
    households_table,
    invoke,
    monitoring_export,
    rewrite_villages,
    set_key,
    slope_transform,
    steps,
    tree_digest,
    write_households,
    write_raster,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tiny_copy: Path) -> Path:
    """A copy of the tiny project with the outputs of a run."""
    return tiny_copy


# ------------------------------------------------------------ single-line errors, warnings
@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], None]
    expected: str
    """A regular expression the error (or warning) line must match."""
    warning: bool = False


def _raster_crs_missing(project: Path) -> None:
    write_raster(project.parent / "data" / "dem.tif", np.ones((10, 10)), slope_transform(), None)
    set_key(project, "map", "backdrop", '"data/dem.tif"')


def _backdrop(content: bytes | None) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = project.parent / "data" / "dem.tif"
        if content is not None:
            path.write_bytes(content)
        set_key(project, "map", "backdrop", '"data/dem.tif"')

    return mutate


def _truncated_backdrop(project: Path) -> None:
    path = project.parent / "data" / "dem.tif"
    values = np.random.default_rng(1).random((600, 600)) * 1000
    write_raster(path, values, slope_transform(), UTM)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    set_key(project, "map", "backdrop", '"data/dem.tif"')


def _truncated_layer(project: Path) -> None:
    path = project.parent / "data" / "slope.tif"
    values = np.random.default_rng(2).random((600, 600)).astype(np.float32)
    big = Affine(CELL / 60, 0, ORIGIN[0], 0, -CELL / 60, ORIGIN[1])
    write_raster(path, values, big, UTM)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _villages_metres_declared_degrees(project: Path) -> None:
    with warnings.catch_warnings():  # pyogrio warns that the file will have no CRS: on purpose
        warnings.simplefilter("ignore", UserWarning)
        rewrite_villages(project, lambda v: v.set_crs(None, allow_override=True))
    set_key(project, "villages", "crs", '"EPSG:4326"')


def _villages_undefined_srs(project: Path) -> None:
    path = project.parent / "data" / "villages.gpkg"
    with sqlite3.connect(path) as db:
        db.execute("update gpkg_geometry_columns set srs_id = 0")
        db.execute("update gpkg_contents set srs_id = 0")


def _villages_bd09_on_metres(project: Path) -> None:
    set_key(project, "villages", "crs", '"BD-09"')


def _workbook(content: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = project.parent / "data" / "households.xlsx"
        content(path)
        set_key(project, "households", "path", '"data/households.xlsx"')

    return mutate


def _encrypted(path: Path) -> None:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))


def _workbook_from_households(*, truncate: bool) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = project.parent / "data" / "households.xlsx"
        households_table(project).to_excel(path, index=False)
        if truncate:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        set_key(project, "households", "path", '"data/households.xlsx"')

    return mutate


def _netcdf_of_two_variables(project: Path) -> None:
    import xarray as xr

    with rasterio.open(project.parent / "data" / "slope.tif") as src:
        values = src.read(1)
        x = src.transform.c + (np.arange(src.width) + 0.5) * src.transform.a
        y = src.transform.f + (np.arange(src.height) + 0.5) * src.transform.e
    data = xr.Dataset(
        {"spei": (("y", "x"), values), "spi": (("y", "x"), values)}, coords={"x": x, "y": y}
    )
    for axis in ("x", "y"):  # CF attributes, by which GDAL knows the grid
        data[axis].attrs = {"standard_name": f"projection_{axis}_coordinate", "units": "m"}
    data.to_netcdf(project.parent / "data" / "indices.nc")
    set_key(SLOPE(project), "", "path", '"../data/indices.nc"')
    set_key(SLOPE(project), "", "crs", '"EPSG:32648"')


def _second_sheet(project: Path) -> None:
    path = project.parent / "data" / "households.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"说明": ["静宁县防返贫监测对象信息表"]}).to_excel(
            book, sheet_name="说明", index=False
        )
        households_table(project).to_excel(book, sheet_name="监测对象", index=False)
    set_key(project, "households", "path", '"data/households.xlsx"')


def _households_cell(column: str, value: str, row: int = 0) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        table = households_table(project)
        table.loc[row, column] = value
        write_households(project, table)

    return mutate


def _all_coordinates_blank(project: Path) -> None:
    table = households_table(project)
    table["lon"] = ""
    table["lat"] = ""
    write_households(project, table)


def _coordinates_in_gcj02_declared_wgs84(project: Path) -> None:
    from hazardmap.chinese_crs import wgs84_to_gcj02

    table = households_table(project)
    located = table["lon"] != ""
    lon = table.loc[located, "lon"].astype(float).to_numpy()
    lat = table.loc[located, "lat"].astype(float).to_numpy()
    glon, glat = wgs84_to_gcj02(lon, lat)
    table.loc[located, "lon"] = [f"{v:.7f}" for v in glon]
    table.loc[located, "lat"] = [f"{v:.7f}" for v in glat]
    write_households(project, table)


def _shares_all_zero(project: Path) -> None:
    table = households_table(project)
    for column in [c for c in table.columns if c.startswith("share_")]:
        table[column] = "0"
    write_households(project, table)


def _nodata_rows(project: Path) -> None:
    values = np.linspace(0.0, 0.99, 100).reshape(10, 10)
    values[5:9, :] = -9999.0  # every row of village C
    write_raster(project.parent / "data" / "slope.tif", values, slope_transform(), UTM)


def _multiband(project: Path) -> None:
    path = project.parent / "data" / "slope.tif"
    with rasterio.open(path) as src:
        profile = src.profile | {"count": 2}
        band = src.read(1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.stack([band, band]))


def _empty_villages(project: Path) -> None:
    rewrite_villages(project, lambda v: v.iloc[:0])


def _bom(project: Path) -> None:
    project.write_bytes(b"\xef\xbb\xbf" + project.read_bytes())


def _villages_as_a_table(project: Path) -> None:
    set_key(project, "villages", "path", '"data/households.csv"')


def _two_layer_geopackage(project: Path) -> None:
    path = project.parent / "data" / "villages.gpkg"
    gpd.read_file(path).iloc[:1].to_file(path, layer="aaa_subset", driver="GPKG")


def _shapefile_without_dbf(project: Path) -> None:
    shapefile = project.parent / "data" / "villages.shp"
    gpd.read_file(project.parent / "data" / "villages.gpkg").to_file(shapefile)
    shapefile.with_suffix(".dbf").unlink()
    set_key(project, "villages", "path", '"data/villages.shp"')


def _flat_village(project: Path) -> None:
    def flatten(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        x, y = villages.geometry.iloc[0].exterior.coords[0]
        line = shapely.Polygon([(x, y), (x + 10, y + 10), (x + 20, y + 20)])
        return villages.set_geometry([line, *villages.geometry.iloc[1:]], crs=villages.crs)

    rewrite_villages(project, flatten)


def _local_crs_villages(project: Path) -> None:
    local = (
        'LOCAL_CS["site",LOCAL_DATUM["site",32767],UNIT["metre",1],AXIS["E",EAST],AXIS["N",NORTH]]'
    )
    rewrite_villages(project, lambda v: v.set_crs(local, allow_override=True))


def _repeated_header(project: Path) -> None:
    path = project.parent / "data" / "households.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line + ("," + line.split(",")[3]) for line in lines]  # income_pc twice
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _semicolons(project: Path) -> None:
    path = project.parent / "data" / "households.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")


def _households_fifo(project: Path) -> None:
    path = project.parent / "data" / "households.csv"
    path.unlink()
    os.mkfifo(path)


def _income_in_wan(project: Path) -> None:
    table = households_table(project)
    table["income_pc"] = (table["income_pc"].astype(float) / 10_000).map(str)
    write_households(project, table)


def _households_of_one_village(project: Path) -> None:
    table = households_table(project)
    write_households(project, table[table["village_code"] == "A"])


def _overlapping_villages(project: Path) -> None:
    def overlap(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        shapes = list(villages.geometry)
        shapes[2] = shapely.union(shapes[0], shapes[2])  # C also covers A
        return villages.set_geometry(shapes, crs=villages.crs)

    rewrite_villages(project, overlap)


def _drought_above_one(project: Path) -> None:
    path = project.parent / "data" / "dry.tif"
    with rasterio.open(path, "r+") as dst:
        dst.write((dst.read(1) * 5).astype(np.float32), 1)


def _edited_previous_table(project: Path) -> None:
    (project.parent / "outputs" / "latest" / "villages.csv").write_text("garbage\n1,2\n")


def _set_cell(column: str, value: object, row: int = 0) -> Callable[[pd.DataFrame], None]:
    def change(export: pd.DataFrame) -> None:
        export[column] = export[column].astype(object)
        export.loc[row, column] = value

    return change


def _zero_amounts(export: pd.DataFrame) -> None:
    export.loc[1, ["工资性收入", "生产经营性收入", "转移性收入"]] = 0


def _layer(name: str) -> Callable[[Path], Path]:
    return lambda project: project.parent / "layers" / f"{name}.toml"


SLOPE, DRY = _layer("slope"), _layer("dry")
ERRORS = [
    Case(
        "monitoring line inf",
        lambda p: set_key(p, "project", "monitoring_line", "inf"),
        r"project\.monitoring_line: Input should be a finite number, got inf; set a finite",
    ),
    Case(
        "budget inf",
        lambda p: set_key(p, "planning", "budget_cny", "inf"),
        r"planning\.budget_cny: .*finite",
    ),
    Case(
        "cost inf",
        lambda p: edit(p, "cost_per_household = 20000", "cost_per_household = inf"),
        r"interventions\.0\.cost_per_household: .*finite",
    ),
    Case(
        "housing loss inf",
        lambda p: edit(SLOPE(p), "earth = 1.2", "earth = inf"),
        r"slope\.toml: housing\.earth: .*finite",
    ),
    Case(
        "cost zero",
        lambda p: edit(p, "cost_per_household = 20000", "cost_per_household = 0"),
        r"cost_per_household: Input should be greater than 0, got 0; set a number greater than 0",
    ),
    Case(
        "monitoring line negative",
        lambda p: set_key(p, "project", "monitoring_line", "-5"),
        r"monitoring_line: Input should be greater than 0, got -5; set a number greater than 0",
    ),
    Case(
        "levels outside valid_range",
        steps(
            lambda p: set_key(SLOPE(p), "", "valid_range", "[0, 1]"),
            lambda p: set_key(SLOPE(p), "", "levels", "[2, 3, 4]"),
        ),
        r"slope\.toml: levels \[2\.0, 3\.0, 4\.0\] lie entirely outside valid_range",
    ),
    Case("backdrop missing", _backdrop(None), r"dem\.tif: .*not found"),
    Case("backdrop empty", _backdrop(b""), r"dem\.tif: "),
    Case("backdrop not a raster", _backdrop(b"hello, I am text\n"), r"dem\.tif: "),
    Case("backdrop without CRS", _raster_crs_missing, r"dem\.tif: .*no CRS"),
    Case("backdrop truncated", _truncated_backdrop, r"dem\.tif: "),
    Case("layer raster truncated", _truncated_layer, r"slope\.tif: .*(truncated|damaged)"),
    Case(
        "villages in metres declared degrees",
        _villages_metres_declared_degrees,
        r"villages\.gpkg: the coordinates do not fit the declared CRS EPSG:4326",
    ),
    Case(
        "villages with an undefined SRS",
        _villages_undefined_srs,
        r"villages\.gpkg: the villages have no CRS",
    ),
    Case(
        "villages BD-09 on metres",
        _villages_bd09_on_metres,
        r"villages\.gpkg: the coordinates do not fit the declared CRS BD-09",
    ),
    Case(
        "password-protected workbook",
        _workbook(_encrypted),
        r"households\.xlsx: a password-protected workbook",
    ),
    Case(
        "truncated workbook",
        _workbook_from_households(truncate=True),
        r"households\.xlsx: .*(truncated|damaged)",
    ),
    Case(
        "workbook whose table is on its second sheet",
        _second_sheet,
        r"households\.xlsx: .*sheets are \['说明', '监测对象'\]",
    ),
    Case(
        "misspelt lon_field",
        lambda p: set_key(p, "households", "lon_field", '"longitude"'),
        r"households\.csv: coordinate column\(s\) \['longitude'\] not found",
    ),
    Case(
        "households CRS Web Mercator for degrees",
        lambda p: set_key(p, "households", "crs", '"EPSG:3857"'),
        r"outside the county in the declared CRS EPSG:3857; the coordinates fit EPSG:4326",
    ),
    Case(
        "multi-band raster without band",
        _multiband,
        r"slope\.tif: .*2 bands",
    ),
    Case(
        "NetCDF of two variables given as a raster",
        _netcdf_of_two_variables,
        r"indices\.nc: .*spei.*spi.*NETCDF:",
    ),
    Case(
        "declared crs contradicts the file",
        lambda p: set_key(SLOPE(p), "", "crs", '"EPSG:4326"'),
        r"slope\.tif: .*EPSG:4326.*crs_override",
    ),
    Case(
        "NUL byte in a household id",
        _households_cell("household_id", "h\x001"),
        r"column 'household_id': expected printable text",
    ),
    Case(
        "resident ID number as household id",
        _households_cell("household_id", "11010519491231002X"),
        r"column 'household_id' holds a resident ID number at line 2; .*household code",
    ),
    Case(
        "mobile number inside a household id",
        _households_cell("household_id", "王-13812345678"),
        r"column 'household_id' holds a mobile number at line 2",
    ),
    Case(
        "a 100 KB cell",
        _households_cell("category", "x" * 100_000),
        r"column 'category': expected one of .*\(100,000 characters\)",
    ),
    Case(
        "unknown top-level key",
        lambda p: p.write_text("foo = 1\n" + p.read_text(encoding="utf-8"), encoding="utf-8"),
        r"hazardmap\.toml: unknown key 'foo' in the top level",
    ),
    Case(
        "unknown section",
        lambda p: p.write_text(p.read_text(encoding="utf-8") + "[foo]\nx = 1\n"),
        r"hazardmap\.toml: unknown key 'foo' in the top level",
    ),
    Case(
        "villages given as a table", _villages_as_a_table, r"households\.csv: the file has no geo"
    ),
    Case("a GeoPackage of two layers", _two_layer_geopackage, r"holds 2 layers, \["),
    Case("a Shapefile without its .dbf", _shapefile_without_dbf, r"villages\.shp: .*\.dbf"),
    Case("a village without area", _flat_village, r"village polygon without area at feature 1"),
    Case("villages in a local CRS", _local_crs_villages, r"cannot be related to places on Earth"),
    Case(
        "a boolean for a number",
        lambda p: set_key(p, "planning", "budget_cny", "true"),
        r"planning\.budget_cny: Input should be a valid number, got True",
    ),
    Case(
        "a boolean in a table",
        lambda p: edit(SLOPE(p), "[1, 0.12]]", "[1, true]]"),
        r"slope\.toml: frequency\.points: expected numbers",
    ),
    Case(
        "a layer name with capitals",
        lambda p: edit(SLOPE(p), 'name = "slope"', 'name = "Slope"'),
        r"name: .*use lower-case letters, digits and '_', starting with a letter",
    ),
    Case(
        "a header naming a column twice",
        _repeated_header,
        r"households\.csv: the header names column\(s\) \['income_pc'\] more than once",
    ),
    Case("a semicolon-separated table", _semicolons, r"separated by ';', not commas"),
    Case(
        "the project file is a folder",
        steps(lambda p: p.unlink(), lambda p: p.mkdir()),
        r"hazardmap\.toml: the project file is a folder or a device",
    ),
    Case("households file is a FIFO", _households_fifo, r"households\.csv: .*device"),
    Case(
        "layers dir holding only the project file",
        lambda p: set_key(p, "layers", "dir", '"."'),
        r"no layer files",
    ),
    Case(
        "empty villages file",
        _empty_villages,
        r"villages\.gpkg: the villages file holds no features",
    ),
    Case(
        "monitoring export: a label alias outside the vocabulary",
        lambda p: (
            monitoring_export()(p),
            p.write_text(
                p.read_text(encoding="utf-8")
                + '[households.values]\nhousing = { "窑洞房" = "tent" }\n',
                encoding="utf-8",
            ),
        ),
        r"households\.values\.housing\.窑洞房: Input should be 'earth', .*'cave'",
    ),
    Case(
        "monitoring export: a business split that does not sum to 1",
        lambda p: (
            monitoring_export()(p),
            edit(
                p,
                "business_split = { crop = 0.6, orchard = 0.4 }",
                "business_split = { crop = 0.6, orchard = 0.3 }",
            ),
        ),
        r"business_split sums to 0\.9; its shares must sum to 1",
    ),
    Case(
        "monitoring export: a negative wage",
        monitoring_export(_set_cell("工资性收入", -500)),
        r"column '工资性收入': expected an amount in CNY, 0 or more at line 3 \('-500'\)",
    ),
    Case(
        "monitoring export: amounts all zero",
        monitoring_export(_zero_amounts),
        r"add up to 0 or less at line 4 \(0\.0\)",
    ),
    Case(
        "monitoring export: a sheet on a CSV",
        monitoring_export(sheet='"监测对象"'),
        r"households\.csv: \[households\] sheet = '监测对象' is for workbooks",
    ),
    Case(
        "monitoring export: a header row past the end",
        lambda p: (monitoring_export()(p), set_key(p, "households", "header_row", "40")),
        r"households\.csv: header_row = 40, but the file has fewer lines",
    ),
    Case(
        "monitoring export: lon,lat cell that is one number",
        monitoring_export(_set_cell("经纬度", "105.9")),
        r"column '经纬度': expected two numbers 'lon,lat' .* at line 3 \('105\.9'\)",
    ),
    Case(
        "monitoring export: lonlat_field beside lon_field",
        lambda p: (monitoring_export()(p), set_key(p, "households", "lon_field", '"lon"')),
        r"lonlat_field names one 'lon,lat' column, lon_field and lat_field two",
    ),
]

WARNINGS = [
    Case(
        "every household placed by its village",
        _all_coordinates_blank,
        r"5 households \(100%\) are placed by their village \(5 without coordinates",
        warning=True,
    ),
    Case(
        "coordinates in GCJ-02 declared WGS84",
        _coordinates_in_gcj02_declared_wgs84,
        r"the coordinates look like GCJ-02: 100% of the households lie inside",
        warning=True,
    ),
    Case(
        "every income share 0",
        _shares_all_zero,
        r"households\.csv: 5 households have every income share 0",
        warning=True,
    ),
    Case(
        "nodata under a village",
        _nodata_rows,
        r"slope\.tif: 1 households and 1 villages have no slope value",
        warning=True,
    ),
    Case(
        "falling frequency table",
        lambda p: edit(SLOPE(p), "[1, 0.12]]", "[1, 0.01]]"),
        r"slope\.toml: \[frequency\] points: the probability falls as x rises",
        warning=True,
    ),
    Case(
        "falling damage curve",
        lambda p: edit(DRY(p), "crop = 0.5", "crop = [[0, 0.5], [1, 0.1]]"),
        r"dry\.toml: \[damage\] crop: the damage ratio falls as x rises",
        warning=True,
    ),
    Case(
        "an empty insured column",
        _households_cell("insured", ""),
        r"column 'insured' is empty for 1 households \(line 2\)",
        warning=True,
    ),
    Case(
        "income in 万元",
        _income_in_wan,
        r"100% of the households have incomes below the monitoring line",
        warning=True,
    ),
    Case(
        "households of one village only",
        _households_of_one_village,
        r"2 of 3 villages have no households in the file \(e\.g\. B, C\)",
        warning=True,
    ),
    Case("overlapping villages", _overlapping_villages, r"the villages overlap", warning=True),
    Case(
        "probabilities above 1",
        _drought_above_one,
        r"dry\.toml: \d households have dry values outside probabilities from 0 to 1",
        warning=True,
    ),
    Case(
        "an editor's lock file among the layers",
        lambda p: (p.parent / "layers" / ".#slope.toml").write_text("not toml"),
        r"",
        warning=True,
    ),
    Case("UTF-8 BOM in the project file", _bom, r"", warning=True),
    Case(
        "dollar signs in names and titles",
        steps(
            lambda p: rewrite_villages(
                p, lambda v: v.assign(town=["$x^{2$", "$\\frac{1}{0}$", "$"])
            ),
            lambda p: set_key(SLOPE(p), "", "title", '"Slope $\\\\alpha$"'),
        ),
        r"",
        warning=True,
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_input_is_one_line_and_touches_nothing(project: Path, case: Case, command: str) -> None:
    before = tree_digest(project.parent)
    case.mutate(project)
    mutated = tree_digest(project.parent)
    code, out, err = invoke(command, "--config", str(project))
    assert_one_error_line(code, out, err, case.expected, command)
    assert tree_digest(project.parent) == mutated, "the command changed files"
    outputs = {k for k in before if k.startswith("outputs/latest/")}
    assert {k: before[k] for k in outputs} == {k: mutated[k] for k in outputs}


@pytest.mark.parametrize("case", WARNINGS, ids=lambda c: c.name)
def test_suspicious_input_runs_with_a_named_warning(project: Path, case: Case) -> None:
    case.mutate(project)
    code, out, err = invoke("validate", "--config", str(project))
    assert code == 0, err
    assert re.search(case.expected, err), err
    code, out, err = invoke("run", "--config", str(project))
    assert code == 0 and "Traceback" not in out + err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any(re.search(case.expected, w) for w in warnings), err


# ------------------------------------------------------------ validate lists every problem
def test_validate_lists_every_problem_of_every_file(project: Path) -> None:
    set_key(project, "project", "monitoring_line", "-1")
    set_key(SLOPE(project), "", "colour", '"red"')
    set_key(DRY(project), "", "shade", '"blue"')
    (project.parent / "data" / "households.csv").unlink()
    code, out, err = invoke("validate", "--config", str(project))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 4, err
    assert any("monitoring_line" in e for e in errors)
    assert any("slope.toml: unknown key 'colour'" in e for e in errors)
    assert any("dry.toml: unknown key 'shade'" in e for e in errors)
    assert any("households file not found" in e for e in errors)
    assert "4 error(s)" in out
    code, _, err = invoke("run", "--config", str(project))
    assert code == 1 and "(and 3 more problems: hazardmap validate lists all)" in err


def test_validate_sees_a_raster_behind_a_bad_household_cell(project: Path) -> None:
    _households_cell("income_pc", "lots")(project)
    write_raster(
        project.parent / "data" / "slope.tif", np.full((10, 10), -9999.0), slope_transform(), UTM
    )
    code, _, err = invoke("validate", "--config", str(project))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 2, err
    assert "column 'income_pc'" in errors[0]
    assert "slope.tif: no valid cell under any village" in errors[1]


def test_unbounded_valid_range_is_null_in_the_manifest(project: Path) -> None:
    import json

    set_key(SLOPE(project), "", "valid_range", "[-inf, inf]")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    manifest = json.loads(
        (project.parent / "outputs" / "latest" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["configuration"]["layers"]["slope"]["valid_range"] == [None, None]


def test_one_variable_of_a_netcdf_is_a_layer(project: Path) -> None:
    _netcdf_of_two_variables(project)
    set_key(SLOPE(project), "", "path", "'NETCDF:\"../data/indices.nc\":spei'")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    households = pd.read_csv(
        project.parent / "outputs" / "latest" / "households.csv", encoding="utf-8-sig"
    ).set_index("household_id")
    assert households.loc["h1", "slope_value"] == pytest.approx(0.22)


def test_crs_override_replaces_a_wrong_crs_in_the_file(project: Path) -> None:
    path = project.parent / "data" / "slope.tif"
    with rasterio.open(path, "r+") as dst:
        dst.crs = "EPSG:32647"  # the file's CRS is wrong: the values are in zone 48
    code, _, err = invoke("run", "--config", str(project))
    assert code == 1 and "leaves 100% of the villages' area uncovered" in err, err
    set_key(SLOPE(project), "", "crs", '"EPSG:32648"')
    code, _, err = invoke("run", "--config", str(project))
    assert code == 1 and "crs_override" in err, err
    set_key(SLOPE(project), "", "crs_override", "true")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err


def test_an_edited_previous_table_is_named_not_silently_ignored(project: Path) -> None:
    _edited_previous_table(project)
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    assert "the previous run's village table cannot be compared with" in err
    assert "lacks the column(s) ['village_code', 'name', 'risk_class'" in err
