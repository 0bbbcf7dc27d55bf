"""The whole pipeline on the tiny project: values worked out by hand, every output."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import hazardmap
from tests.helpers import build_tiny_project, read_households_csv

VILLAGE_COLUMNS = [
    "village_code",
    "name",
    "township",
    "n_households",
    "population",
    "risk_mean",
    "risk_class",
    "expected_returns",
    "n_high_risk",
    "dominant_hazard",
]
HOUSEHOLD_COLUMNS = ["household_id", "village_code", "location_source", "q0", "risk", "risk_class"]
PRIORITY_COLUMNS = [
    "rank",
    "village_code",
    "name",
    "intervention",
    "households",
    "returns_avoided",
    "cost_cny",
    "effectiveness",
    "chosen",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> hazardmap.RunResult:
    """The tiny project run once, in a fresh folder (no cache), for this module's checks of
    what one run computes and writes; they only read it."""
    return hazardmap.run(build_tiny_project(tmp_path_factory.mktemp("tiny-run") / "project"))


def test_outputs_have_every_contract_column(tiny_run: hazardmap.RunResult) -> None:
    out = tiny_run.out_dir
    assert out is not None
    contract = {"map.html", "villages.gpkg", "villages.csv", "households.csv", "priorities.csv"}
    assert contract | {"manifest.json", "report.html"} <= {p.name for p in out.iterdir()}
    villages = gpd.read_file(out / "villages.gpkg", layer="villages")
    assert villages.crs.to_epsg() == 4326
    per_hazard = [
        f"{h}_{s}" for h in ("dry", "slope") for s in ("mean", "max", "level", "expected_returns")
    ]
    assert set(VILLAGE_COLUMNS + per_hazard) <= set(villages.columns)
    table = pd.read_csv(out / "villages.csv", encoding="utf-8-sig")
    assert set(VILLAGE_COLUMNS + per_hazard) <= set(table.columns)
    assert (out / "villages.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    households = read_households_csv(out / "households.csv")
    per_hazard = [f"{h}_{s}" for h in ("dry", "slope") for s in ("value", "p", "loss", "risk")]
    assert set(HOUSEHOLD_COLUMNS + per_hazard) <= set(households.columns)
    assert not {"name", "phone", "id_number"} & set(households.columns)
    priorities = pd.read_csv(out / "priorities.csv", encoding="utf-8-sig")
    assert [c for c in priorities.columns if c in PRIORITY_COLUMNS] == PRIORITY_COLUMNS


def test_values_by_hand(tiny_run: hazardmap.RunResult) -> None:
    villages = tiny_run.villages.set_index("village_code")
    households = tiny_run.households.set_index("household_id")
    # village A covers slope cells rows 1-3 x cols 1-3, values (10 r + c) / 100
    assert villages.loc["A", "slope_mean"] == pytest.approx(0.22, abs=1e-6)
    assert villages.loc["A", "slope_max"] == pytest.approx(0.33, abs=1e-6)
    assert villages.loc["A", "slope_level"] == 2  # 3 of 9 cells >= 0.3, none >= 0.5
    assert villages.loc["C", "slope_level"] == 4  # 8 of 16 cells >= 0.7
    # B holds the nodata cell (row 4, col 8): 15 valid cells
    assert villages.loc["B", "slope_mean"] == pytest.approx((5.04 - 0.48) / 15, abs=1e-6)
    assert households.loc["h1", "slope_value"] == pytest.approx(0.22)
    assert households.loc["h1", "location_source"] == "gps"
    # h2 has no coordinates: it takes village A's coverage-weighted mean
    assert households.loc["h2", "location_source"] == "village"
    assert households.loc["h2", "slope_value"] == pytest.approx(villages.loc["A", "slope_mean"])
    # h4 stands on the nodata cell: slope missing, combined risk missing, class 0
    assert np.isnan(households.loc["h4", "slope_value"]) and np.isnan(households.loc["h4", "risk"])
    assert households.loc["h4", "risk_class"] == 0
    assert villages.loc["B", "n_no_data"] == 1
    assert villages.loc["B", "expected_returns"] == pytest.approx(households.loc["h3", "risk"])
    assert villages.loc["A", "n_households"] == 2 and villages.loc["A", "population"] == 5
    r = households.loc["h1", ["dry_risk", "slope_risk"]].to_numpy(dtype=float)
    assert households.loc["h1", "risk"] == pytest.approx(1 - (1 - r[0]) * (1 - r[1]))


def test_priorities_rank_by_effectiveness_within_budget(tiny_run: hazardmap.RunResult) -> None:
    p = tiny_run.priorities
    assert len(p) > 0 and (p["returns_avoided"] > 0).all()
    assert p["effectiveness"].is_monotonic_decreasing
    assert p["rank"].tolist() == list(range(1, len(p) + 1))
    assert p.loc[p["chosen"], "cost_cny"].sum() <= 1_000_000
    row = p.iloc[0]
    assert row["effectiveness"] == pytest.approx(row["returns_avoided"] / (row["cost_cny"] / 1e6))


def test_manifest_records_every_input_with_its_sha256(
    tiny_run: hazardmap.RunResult, tmp_path: Path
) -> None:
    assert tiny_run.out_dir is not None
    manifest = json.loads((tiny_run.out_dir / "manifest.json").read_text(encoding="utf-8"))
    roles = {entry["role"] for entry in manifest["inputs"]}
    assert {"project file", "villages", "households", "raster slope", "raster dry"} <= roles
    root = tiny_run.config.root
    for entry in manifest["inputs"]:
        assert not Path(entry["path"]).is_absolute()  # it would name the user's folders
        path = root / entry["path"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(root) not in json.dumps(manifest["configuration"])
    assert manifest["counts"]["households"] == 5
    assert manifest["versions"]["hazardmap"] == hazardmap.__version__
    assert "overlay layers" in manifest["timings_seconds"]
    # an unbounded valid range (JSON has no infinity) is recorded as null
    import dataclasses
    import math

    from hazardmap.config import LayerConfig
    from hazardmap.outputs.manifest import build_manifest, write_manifest

    unbounded = tuple(
        LayerConfig(
            layer.file, layer.spec.model_copy(update={"valid_range": (-math.inf, math.inf)})
        )
        for layer in tiny_run.config.layers
    )
    config = dataclasses.replace(tiny_run.config, layers=unbounded)
    parts = ("grids", "villages", "households", "priorities", "timings", "warnings", "versions")
    manifest = build_manifest(
        config=config,
        total_seconds=1.0,
        reused_layers=tiny_run.reused_layers,
        changes=tiny_run.changes,
        **{part: getattr(tiny_run, part) for part in parts},
    )
    write_manifest(manifest, tmp_path)
    recorded = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert recorded["configuration"]["layers"]["slope"]["valid_range"] == [None, None]


def test_rerun_replaces_outputs_without_leftovers(tiny_project: Path) -> None:
    first = hazardmap.run(tiny_project)
    second = hazardmap.run(tiny_project)
    assert first.out_dir == second.out_dir and second.out_dir is not None
    leftovers = {p.name for p in second.out_dir.parent.iterdir() if p.name.startswith(".")}
    assert leftovers == {".hazardmap-cache", ".latest.lock"}  # the cache and the lock file


def test_run_accepts_a_loaded_config_and_another_folder(tiny_project: Path, tmp_path: Path) -> None:
    config = hazardmap.load_config(tiny_project)
    result = hazardmap.run(config, out=tmp_path / "elsewhere")
    assert result.out_dir == (tmp_path / "elsewhere").resolve()
    assert (tmp_path / "elsewhere" / "map.html").is_file()


def test_report_and_its_figures_are_written(tiny_run: hazardmap.RunResult) -> None:
    assert tiny_run.out_dir is not None
    names = {p.name for p in tiny_run.out_dir.iterdir()}
    assert {"report.html", "map_combined.png", "map_slope.png", "map_dry.png"} <= names
    assert {"chart_classes.png", "chart_townships.png"} <= names
    page = (tiny_run.out_dir / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert page.count("data:image/png;base64,") == 5


@pytest.mark.slow  # two end-to-end runs; compare_runs: tests/test_model_units.py
def test_changes_against_the_previous_run(tiny_project: Path) -> None:
    from affine import Affine

    from tests.helpers import CELL, ORIGIN, UTM, write_raster

    first = hazardmap.run(tiny_project)
    assert first.out_dir is not None and first.changes is None
    header = (first.out_dir / "changes.csv").read_text(encoding="utf-8-sig").strip()
    assert header.startswith("village_code,name,status,old_risk_class,new_risk_class")
    # a new landslide raster arrives: steeper everywhere
    steeper = np.full((10, 10), 0.95)
    transform = Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1])
    write_raster(tiny_project.parent / "data" / "slope.tif", steeper, transform, UTM)
    second = hazardmap.run(tiny_project)
    assert second.changes is not None and second.out_dir is not None
    changes = pd.read_csv(
        second.out_dir / "changes.csv", dtype={"village_code": str}, encoding="utf-8-sig"
    )
    assert set(changes["status"]) == {"changed"}
    row = changes.set_index("village_code").loc["A"]
    assert (row["old_slope_level"], row["new_slope_level"]) == (2, 4)
    assert row["change_expected_returns"] == pytest.approx(
        row["new_expected_returns"] - row["old_expected_returns"]
    )
    assert row["change_expected_returns"] > 0
    manifest = json.loads((second.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["comparison"]["villages"]["changed"] == len(changes)
    assert manifest["comparison"]["baseline_is_previous_run"] is True
    report = (second.out_dir / "report.html").read_text(encoding="utf-8")
    assert "Changes since an earlier run" in report and "2 → 4" in report


@pytest.mark.slow  # two end-to-end runs; compare_runs: tests/test_model_units.py
def test_changes_show_on_the_map(tiny_project: Path) -> None:
    from affine import Affine

    from tests.helpers import CELL, ORIGIN, UTM, write_raster

    hazardmap.run(tiny_project)
    write_raster(
        tiny_project.parent / "data" / "slope.tif",
        np.full((10, 10), 0.95),
        Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]),
        UTM,
    )
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page = (result.out_dir / "map.html").read_text(encoding="utf-8")
    assert "Changed since the compared run" in page and "slope_level: 2 \\u2192 4" in page


def test_all_nodata_raster_is_an_error(tiny_project: Path) -> None:
    from affine import Affine

    from tests.helpers import CELL, ORIGIN, UTM, write_raster

    write_raster(
        tiny_project.parent / "data" / "slope.tif",
        np.full((10, 10), -9999.0),
        Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]),
        UTM,
    )
    with pytest.raises(
        hazardmap.errors.InputError, match=r"slope\.tif: no valid cell under any village"
    ):
        hazardmap.run(tiny_project)
