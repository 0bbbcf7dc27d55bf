"""Shared test helpers: tiny rasters and a tiny project built in code.

Plain functions, so that any test (and conftest's fixtures) can build what it needs; no
test imports another test module.
"""

from __future__ import annotations

import gc
import hashlib
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner

from hazardmap.cli import main

REPO = Path(__file__).resolve().parents[1]
UTM = "EPSG:32648"
ORIGIN = (500_000.0, 3_930_000.0)  # top-left of the tiny UTM raster, near Jingning
CELL = 100.0
CACHE_FOLDER = ".hazardmap-cache"  # beside a run's output folder (hazardmap.pipeline)


def write_raster(
    path: Path,
    values: np.ndarray,
    transform: Affine,
    crs: str | None,
    nodata: float | None = -9999.0,
) -> Path:
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": "float32",
        "transform": transform,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32), 1)
    return path


def utm_square(col: float, row: float, size: float) -> shapely.Polygon:
    """A square in the tiny raster's CRS, given in cell units from its top-left corner."""
    x0 = ORIGIN[0] + col * CELL
    y0 = ORIGIN[1] - row * CELL
    return shapely.box(x0, y0 - size * CELL, x0 + size * CELL, y0)


def utm_cells(col0: float, row0: float, col1: float, row1: float) -> shapely.Polygon:
    """A box in the tiny raster's CRS, in cell units from its top-left corner."""
    return shapely.box(*utm_square(col0, row1, 0).bounds[:2], *utm_square(col1, row0, 0).bounds[:2])


TINY_PROJECT = """
[project]
name = "Tiny test county"
monitoring_line = 7500
income_sigma = 0.35
insurance_cover = 0.4

[villages]
path = "data/villages.gpkg"
id_field = "code"
name_field = "name"
township_field = "town"

[households]
path = "data/households.csv"

[layers]
dir = "layers"

[outputs]
dir = "outputs/latest"

[planning]
budget_cny = 1000000

[[interventions]]
name = "slope_works"
hazard = "slope"
probability_factor = 0.3
cost_per_household = 20000

[[interventions]]
name = "irrigation"
hazard = "dry"
damage_factor = {{ crop = 0.4 }}
cost_per_household = 5000
{extra}
"""

SLOPE_LAYER = """
name = "slope"
title = "Landslide susceptibility"
title_zh = "滑坡易发性"
path = "../data/slope.tif"
levels = [0.3, 0.5, 0.7]
[frequency]
type = "table"
points = [[0, 0], [0.3, 0.002], [0.5, 0.01], [0.7, 0.03], [0.9, 0.08], [1, 0.12]]
[damage]
crop = 0.1
[housing]
earth = 1.2
"""

DRY_LAYER = """
name = "dry"
title = "Drought"
path = "../data/dry.tif"
levels = [0.1, 0.2, 0.3]
[frequency]
type = "probability"
[damage]
crop = 0.5
orchard = 0.3
"""

HOUSEHOLD_COLUMNS = (
    "household_id,village_code,members,income_pc,category,share_crop,share_orchard,"
    "share_livestock,share_wage,share_transfer,share_other,housing,insured,lon,lat"
)


def tiny_households(lonlat: dict[str, tuple[float, float]]) -> str:
    """Five households: two in village A (one without coordinates), two in B, one in C."""
    rows = [
        f"h1,A,3,9000,none,0.5,0.2,0,0.3,0,0,earth,false,{lonlat['a1'][0]},{lonlat['a1'][1]}",
        "h2,A,2,8000,脱贫不稳定户,0.6,0,0,0.4,0,0,brick_wood,true,,",
        f"h3,B,4,12000,marginal,0.3,0.3,0.1,0.3,0,0,brick_concrete,1,{lonlat['b1'][0]},{lonlat['b1'][1]}",
        f"h4,B,1,20000,none,0.1,0,0,0.9,0,0,frame,0,{lonlat['b2'][0]},{lonlat['b2'][1]}",
        f"h5,C,5,7600,hardship,0.4,0.4,0,0,0.2,0,earth,是,{lonlat['c1'][0]},{lonlat['c1'][1]}",
    ]
    return HOUSEHOLD_COLUMNS + "\n" + "\n".join(rows) + "\n"


def build_tiny_project(root: Path) -> Path:
    """A complete project folder in ``root``: 3 square villages (UTM), 5 households (WGS84
    lon/lat), a 10x10 UTM slope raster with a nodata cell and a coarse WGS84 drought
    raster. Returns the project file."""
    (root / "data").mkdir(parents=True)
    (root / "layers").mkdir()
    slope = np.linspace(0.0, 0.99, 100).reshape(10, 10)
    slope[4, 8] = -9999.0  # inside village B, under household h4
    write_raster(
        root / "data" / "slope.tif", slope, Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]), UTM
    )
    squares = [utm_square(1, 1, 3), utm_square(5, 1, 4), utm_square(2, 5, 4)]
    villages = gpd.GeoDataFrame(
        {
            "code": ["A", "B", "C"],
            "name": ["甲村", "<b>乙村</b>", "丙村"],
            "town": ["X镇", "X镇", "Y镇"],
        },
        geometry=squares,
        crs=UTM,
    )
    villages.to_file(root / "data" / "villages.gpkg", layer="villages", driver="GPKG")
    west, south, east, north = villages.to_crs(4326).total_bounds
    dry = np.array([[0.05, 0.15], [0.25, 0.35]])
    step_x = (east - west + 0.01) / 2
    step_y = (north - south + 0.01) / 2
    write_raster(
        root / "data" / "dry.tif",
        dry,
        Affine(step_x, 0, west - 0.005, 0, -step_y, north + 0.005),
        "EPSG:4326",
    )
    centres = {
        "a1": utm_square(2.5, 2.5, 0).centroid,
        "b1": utm_square(6.5, 2.5, 0).centroid,
        "b2": utm_square(8.5, 4.5, 0).centroid,
        "c1": utm_square(3.5, 7.5, 0).centroid,
    }
    points = gpd.GeoSeries(list(centres.values()), crs=UTM).to_crs(4326)
    lonlat = {k: (p.x, p.y) for k, p in zip(centres, points, strict=True)}
    (root / "data" / "households.csv").write_text(tiny_households(lonlat), encoding="utf-8")
    (root / "hazardmap.toml").write_text(TINY_PROJECT.format(extra=""), encoding="utf-8")
    (root / "layers" / "slope.toml").write_text(SLOPE_LAYER, encoding="utf-8")
    (root / "layers" / "dry.toml").write_text(DRY_LAYER, encoding="utf-8")
    return root / "hazardmap.toml"


def copy_project(folder: Path, dest: Path) -> Path:
    """A copy of a project folder, with the outputs of its runs but without their overlay
    cache, so that a run in the copy computes every overlay again. Returns ``dest``."""
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(CACHE_FOLDER))
    return dest


def read_households_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"household_id": str, "village_code": str}, encoding="utf-8-sig")


# ------------------------------------------------------------ the command line, and edits
def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> SHA-256), folders included as ''."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        digest[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return digest


def set_key(path: Path, section: str, key: str, value: str) -> None:
    """Set ``key = value`` in ``[section]`` of a TOML file ('' for the top level), replacing
    the key where the section has it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if section:
        header = f"[{section}]"
        if header not in lines:
            lines += [header]
        start = lines.index(header) + 1
    else:
        start = 0
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("[")),
        len(lines),
    )
    for i in range(start, end):
        if lines[i].split("=")[0].strip() == key:
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(start, f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def households_table(project: Path) -> pd.DataFrame:
    return pd.read_csv(project.parent / "data" / "households.csv", dtype=str, keep_default_na=False)


def write_households(project: Path, table: pd.DataFrame) -> None:
    table.to_csv(project.parent / "data" / "households.csv", index=False)


def rewrite_villages(project: Path, change: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]) -> None:
    path = project.parent / "data" / "villages.gpkg"
    villages = change(gpd.read_file(path))
    path.unlink()
    villages.to_file(path, layer="villages", driver="GPKG")


def steps(*mutations: Callable[[Path], object]) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        for mutation in mutations:
            mutation(project)

    return mutate


def slope_transform() -> Affine:
    return Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1])


# ------------------------------------------------------------ random zones for oracles
def random_polygons(
    rng: np.random.Generator, n: int, width: int, height: int
) -> list[shapely.Geometry]:
    """``n`` random polygons (some with holes, some multi-part) around a ``width`` x
    ``height`` grid of unit cells, partly outside it."""
    out = []
    for i in range(n):
        cx, cy = rng.uniform(-3, width + 3), rng.uniform(-3, height + 3)
        r = rng.uniform(0.2, 9)
        k = int(rng.integers(3, 25))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = r * rng.uniform(0.3, 1.0, k)
        poly = shapely.make_valid(
            shapely.Polygon(np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
        )
        if i % 4 == 0 and r > 2:
            poly = poly.difference(shapely.Point(cx, cy).buffer(r * 0.3))
        if i % 5 == 0:
            poly = poly.union(shapely.box(cx + r + 1, cy, cx + r + 3.3, cy + 2.1))
        polys = [p for p in shapely.get_parts(poly) if p.geom_type == "Polygon"]
        out.append(shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0])
    return out


EXPORT_HEADERS = {
    "household_id": "户编号",
    "village_code": "村代码",
    "members": "家庭人口数",
    "category": "监测对象类别",
    "housing": "住房结构",
    "insured": "是否参保",
}


def monitoring_export(
    change: Callable[[pd.DataFrame], None] | None = None, **keys: str
) -> Callable[[Path], None]:
    """The tiny households rewritten as the monitoring system exports them (a title row,
    Chinese headers, amounts, one 经纬度 column) and mapped with the new keys; ``change``
    then breaks the table, ``keys`` the [households] settings."""

    def mutate(project: Path) -> None:
        table = households_table(project)
        members = table["members"].astype(float)
        total = table["income_pc"].astype(float) * members
        share = {c: table[f"share_{c}"].astype(float) for c in ("crop", "orchard", "wage")}
        export = pd.DataFrame({EXPORT_HEADERS[k]: table[k] for k in EXPORT_HEADERS})
        export["工资性收入"] = (share["wage"] * total).round()
        export["生产经营性收入"] = ((share["crop"] + share["orchard"]) * total).round()
        export["转移性收入"] = (total - export["工资性收入"] - export["生产经营性收入"]).round()
        export["经纬度"] = [
            f"{x},{y}" if x else "" for x, y in zip(table["lon"], table["lat"], strict=True)
        ]
        if change is not None:
            change(export)
        path = project.parent / "data" / "households.csv"
        path.write_text("静宁县防返贫监测对象信息表\n" + export.to_csv(index=False), "utf-8")
        text = project.read_text(encoding="utf-8").replace(
            '[households]\npath = "data/households.csv"\n',
            '[households]\npath = "data/households.csv"\nheader_row = 2\nlonlat_field = "经纬度"\n'
            + "".join(f"{k} = {v}\n" for k, v in keys.items())
            + "[households.fields]\n"
            + "".join(f'{k} = "{v}"\n' for k, v in EXPORT_HEADERS.items())
            + "[households.income]\n"
            + 'wage = "工资性收入"\nbusiness = "生产经营性收入"\ntransfer = "转移性收入"\n'
            + "business_split = { crop = 0.6, orchard = 0.4 }\n",
        )
        project.write_text(text, encoding="utf-8")

    return mutate


def run_command(*args: str) -> tuple[int, str, str]:
    """``invoke``, with a crash inside the command failing this test: the files the crash
    left open are closed here (quietly), not in the teardown of a later test."""
    try:
        return invoke(*args)
    except AssertionError as crash:
        message = str(crash)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    pytest.fail(f"the command crashed: {message}")


def assert_one_error_line(
    code: int, out: str, err: str, expected: str, command: str, forbidden: str | None = None
) -> str:
    """Exit 1 and one error line (``validate`` also lists the warnings it found) matching
    ``expected`` and not ``forbidden``; the line is returned."""
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert command == "validate" or lines == errors, err
    assert re.search(expected, errors[0]), (expected, errors[0])
    assert forbidden is None or not re.search(forbidden, errors[0]), (forbidden, errors[0])
    assert len(errors[0]) < 1000, len(errors[0])
    return errors[0]


SITES_LAYER = """
name = "slope"
title = "Landslide hazard sites"
source = "sites"
path = "../data/sites.csv"
field = "规模"
classes = { "大型" = 0.9, "中型" = 0.6, "小型" = 0.3 }
radius_m = 300
id_field = "编号"
households_field = "威胁户"
lon_field = "经度"
lat_field = "纬度"
outside = 0.0
levels = [0.3, 0.5, 0.7]
[frequency]
type = "table"
points = [[0, 0], [0.3, 0.002], [0.5, 0.01], [0.7, 0.03], [0.9, 0.08], [1, 0.12]]
[damage]
crop = 0.1
"""
"""The tiny project's slope layer as hazard sites of its own, read from the sites.csv a
test writes."""
