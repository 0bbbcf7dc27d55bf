"""The demo county end to end: what `make demo` promises."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

import hazardmap
from hazardmap.demo import export
from hazardmap.demo.county import divisions
from hazardmap.io import read_households
from hazardmap.io.income import read_business_split
from tests.helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> hazardmap.RunResult:
    """The demo county run once for this module, into a folder (and a cache) of its own."""
    return hazardmap.run(demo_project, tmp_path_factory.mktemp("demo-run") / "latest")


def test_demo_rasters_have_their_own_crs_and_grid(demo_project: Path) -> None:
    raw = demo_project.parent / "data" / "raw"
    expected = {
        "hail": ("EPSG:4326", (0.05, 0.05), (0.0, 30.0)),
        "dem": ("EPSG:32648", (30.0, 30.0), (1340.0, 2245.0)),
    }
    for name, (crs, res, (low, high)) in expected.items():
        with rasterio.open(raw / f"{name}.tif") as ds:
            values = ds.read(1, masked=True)
            assert ds.crs.to_string() == crs and ds.res == pytest.approx(res)
            assert low <= values.min() and values.max() <= high
    with rasterio.open(raw / "dem.tif") as ds:
        dem = ds.read(1)
    assert dem.min() == pytest.approx(1340.0) and dem.max() == pytest.approx(2245.0)


def test_demo_landslide_is_a_surveys_zoning_and_register(demo_project: Path) -> None:
    """Four grades of zoning polygons in CGCS2000 / Gauss-Krüger, the highest the rarest;
    a register of hazard sites beside the households, naming some of them."""
    raw = demo_project.parent / "data" / "raw"
    zones = gpd.read_file(raw / "landslide_zones.gpkg", layer="zones")
    assert zones.crs.to_epsg() == 4544 and zones.geometry.is_valid.all()
    area = zones.groupby("易发程度").geometry.apply(lambda g: g.area.sum())
    assert set(area.index) == {"低易发", "中易发", "高易发", "极高易发"}
    assert area["极高易发"] < area["高易发"] < area["中易发"] < area["低易发"]
    assert 100 < len(zones) < 5000
    sites = pd.read_csv(raw / "hazard_sites.csv", encoding="utf-8-sig", dtype=str)
    assert 20 <= len(sites) <= 60 and sites["编号"].is_unique
    assert set(sites["规模等级"]) <= {"小型", "中型", "大型"}
    assert (sites["威胁半径_m"].astype(float) > 0).all()
    named = {i for ids in sites["威胁户编号"].dropna() for i in ids.split(";")}
    households = _demo_households(demo_project)
    assert named and named <= set(households["household_id"])


def test_demo_drought_is_a_monthly_cube_of_three_decades(demo_project: Path) -> None:
    """Each cell's share of severe growing seasons is its probability, to a 30th."""
    with xr.open_dataset(demo_project.parent / "data" / "raw" / "spei_monthly.nc") as cube:
        spei = cube["spei"].load()
    assert spei.sizes["time"] == 360 and str(spei["time"].values[0])[:7] == "1991-01"
    assert float(spei["lat"].diff("lat").mean()) == pytest.approx(-0.1)
    season = spei.sel(time=spei["time"].dt.month.isin([4, 5, 6, 7, 8, 9]))
    share = (season.groupby("time.year").min("time") <= -1.5).mean("year")
    assert float(share.min()) > 0.0 and float(share.max()) < 0.7
    assert np.allclose(share * 30, np.round(share * 30))


def test_demo_villages_tile_the_county_with_official_codes(demo_project: Path) -> None:
    villages = gpd.read_file(demo_project.parent / "data" / "raw" / "villages.gpkg")
    official = {d.code: d.name for d in divisions() if d.level == "village"}
    assert villages.crs.to_epsg() == 4544
    assert (
        len(villages) == 340
        and dict(zip(villages["village_code"], villages["name"], strict=True)) == official
    )
    assert villages["township"].nunique() == 25
    assert villages.geometry.is_valid.all()
    union = villages.geometry.union_all()
    assert union.area == pytest.approx(villages.geometry.area.sum(), rel=1e-9)  # no overlaps
    assert union.area / 1e6 == pytest.approx(2188, rel=0.01)  # Jingning is ~2,190 km²


def _demo_households(demo_project: Path) -> pd.DataFrame:
    """The demo's household table read as the demo project maps it."""
    config = hazardmap.load_config(demo_project)
    income = config.settings.households.income
    assert income is not None and income.business_split_path is not None
    splits = read_business_split(config.resolve(income.business_split_path))
    return read_households(
        config.households_path, config.settings.households, village_splits=splits
    )


def test_demo_households_are_the_monitoring_systems_export(demo_project: Path) -> None:
    path = demo_project.parent / "data" / "raw" / "households.xlsx"
    with pd.ExcelFile(path, engine="calamine") as book:
        assert book.sheet_names == ["说明", "监测对象"]
        sheet = pd.read_excel(book, "监测对象", header=None, dtype=str, nrows=3)
    assert sheet.iloc[0, 0].startswith("静宁县防返贫监测对象信息表")
    header = set(sheet.iloc[1])
    assert {"户编号", "村代码", "监测对象类别", "住房结构", "经纬度", "工资性收入"} <= header
    assert not {"income_pc", "share_crop", "lon", "lat"} & header


def test_demo_households_look_like_a_monitoring_list(demo_project: Path) -> None:
    households = _demo_households(demo_project)
    assert len(households) == 6000
    assert 0.015 < households["x"].isna().mean() < 0.05
    shares = households[[c for c in households.columns if c.startswith("share_")]]
    assert np.allclose(shares.sum(axis=1), 1.0)  # derived from amounts: all income explained
    dominant = shares.mean().sort_values(ascending=False).index[:3]
    assert set(dominant) == {"share_crop", "share_orchard", "share_wage"}
    categories = households["category"].value_counts(normalize=True)
    assert all(0.005 < categories[c] < 0.08 for c in ("unstable", "marginal", "hardship"))
    general = households["category"] == "none"
    assert (households.loc[general, "income_pc"] > 1.2 * 7500).mean() > 0.95  # else monitored
    assert (households.loc[~general, "income_pc"] < 1.5 * 7500).mean() > 0.8
    assert set(households["housing"]) == {"earth", "brick_wood", "brick_concrete", "frame", "cave"}
    assert 0.2 < households["insured"].mean() < 0.8


def test_demo_run_meets_the_promise(demo_run: hazardmap.RunResult) -> None:
    villages, households = demo_run.villages, demo_run.households
    assert len(villages) == 340
    assert (households["risk_class"].value_counts() > 0).sum() >= 3
    for hazard in ("landslide", "drought", "hail"):
        assert villages[f"{hazard}_level"].nunique() >= 2, hazard
    for hazard in ("drought", "hail"):
        assert villages[f"{hazard}_mean"].notna().all(), hazard
    assert villages["landslide_mean"].isna().all()  # classes: shares, never a mean class
    # plausible: disaster-induced returns well under 1% of households a year, every
    # village class on the map with the highest rare, the ranking separating villages
    assert households["risk"].sum() < 0.007 * len(households)
    counts = villages["risk_class"].value_counts()
    assert set(counts.index) == {1, 2, 3, 4} and counts[4] < min(counts[3], 0.08 * len(villages))
    assert villages["expected_returns"].quantile(0.9) > 2 * villages["expected_returns"].median()
    assert (
        villages["landslide_sites"].sum() > 0 and villages["landslide_exposed_households"].sum() > 0
    )
    assert households["landslide_site"].notna().any()
    assert len(demo_run.priorities) > 0 and demo_run.priorities["chosen"].any()
    located_by_village = households["location_source"] == "village"
    assert 0.015 < located_by_village.mean() < 0.05
    assert households.loc[located_by_village, "landslide_value"].notna().all()
    assert demo_run.out_dir is not None
    manifest = json.loads((demo_run.out_dir / "manifest.json").read_text(encoding="utf-8"))
    roles = {e["role"] for e in manifest["inputs"]}
    assert {"zones landslide", "sites landslide", "raster hail", "cube drought"} <= roles
    assert all(len(e["sha256"]) == 64 for e in manifest["inputs"])


def test_demo_is_deterministic(tmp_path: Path, demo_project: Path) -> None:
    hazardmap.demo.write_demo_data(tmp_path, households=6000, seed=620826)
    raw = demo_project.parent / "data" / "raw"
    for name in ("households.xlsx", "business_split.csv"):
        read = partial(pd.read_excel, sheet_name=1, engine="calamine")
        reader = read if name.endswith(".xlsx") else pd.read_csv
        pd.testing.assert_frame_equal(reader(tmp_path / name), reader(raw / name))
    assert (tmp_path / "hazard_sites.csv").read_bytes() == (raw / "hazard_sites.csv").read_bytes()
    pd.testing.assert_frame_equal(  # a GeoPackage's bytes hold when it was written
        gpd.read_file(tmp_path / "landslide_zones.gpkg"),
        gpd.read_file(raw / "landslide_zones.gpkg"),
    )
    with (
        xr.open_dataset(tmp_path / "spei_monthly.nc") as a,
        xr.open_dataset(demo_project.parent / "data" / "raw" / "spei_monthly.nc") as b,
    ):
        xr.testing.assert_identical(a.load(), b.load())


def test_a_table_longer_than_a_worksheet_is_written_as_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past Excel's 1,048,576 rows the export is CSV with the same title row and header,
    read with the same keys (path aside; sheet is for workbooks)."""
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 50)
    written = hazardmap.demo.write_demo_data(tmp_path, households=60, seed=1)
    assert written["households"] == tmp_path / "households.csv"
    assert not (tmp_path / "households.xlsx").exists()
    lines = written["households"].read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == export.TITLE and lines[1].startswith("序号,户编号,村代码")
    settings = hazardmap.load_config(REPO / "hazardmap.toml").settings.households
    settings = settings.model_copy(update={"sheet": None})
    splits = read_business_split(tmp_path / "business_split.csv")
    table = read_households(written["households"], settings, village_splits=splits)
    assert len(table) == 60 and table["line"].tolist() == list(range(3, 63))


def test_demo_records_how_income_was_derived(demo_run: hazardmap.RunResult) -> None:
    """The amounts' derivation is in the manifest: the settings, and the per-village split
    with its digest among the inputs."""
    manifest = json.loads((demo_run.out_dir / "manifest.json").read_text(encoding="utf-8"))
    roles = {entry["role"]: entry for entry in manifest["inputs"]}
    assert roles["business split"]["path"] == "data/raw/business_split.csv"
    assert len(roles["business split"]["sha256"]) == 64
    income = manifest["configuration"]["project"]["households"]["income"]
    assert income["per"] == "household" and sum(income["business_split"].values()) == 1.0
    assert set(demo_run.households["housing"]) >= {"cave", "earth"}


def test_demo_cave_dwellings_are_the_most_exposed_to_landslides() -> None:
    landslide = hazardmap.load_config(REPO / "hazardmap.toml").layer("landslide").spec
    assert landslide.housing["cave"] >= landslide.housing["earth"]
