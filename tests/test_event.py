"""hazardmap event: one event's footprint in, the households to check today out.

Hand-computed households on the tiny project (inside at two intensities, placed by their
village, outside; an insured orchard, an earth house), the identity event_risk = q_event
- q0, an event that damages nothing gives no leads, polygons in GCJ-02 or as a raster give
the same households, and every bad event file is one line with nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from openpyxl import load_workbook
from scipy.special import ndtr

from hazardmap.chinese_crs import wgs84_to_gcj02
from hazardmap.vector.zones import zone_value_at
from tests.helpers import (
    CELL,
    ORIGIN,
    UTM,
    invoke,
    tree_digest,
    utm_cells,
    write_raster,
)

EVENT = """
name = "storm-2026-07-12"
hazard = "dry"
date = 2026-07-12
title = "Storm of 12 July"
path = "{path}"
{extra}
[damage]
crop = [[0, 0], [10, 0.2], [20, 0.5]]
orchard = 0.4
[housing]
earth = 0.5
"""


def _footprint(project: Path, name: str = "storm.gpkg", *, gcj: bool = False) -> Path:
    """Village A whole at 20 mm, and B's west strip (cells 5-7, under household b1) at
    10 mm; B's east (b2) and C (c1) are outside."""
    shapes = gpd.GeoDataFrame(
        {"hail_mm": [20.0, 10.0]},
        geometry=[utm_cells(0.5, 0.5, 4.5, 4.5), utm_cells(5.0, 0.5, 7.0, 3.5)],
        crs=UTM,
    )
    path = project.parent / "data" / name
    if gcj:
        wgs84 = shapes.to_crs(4326)

        def to_gcj(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

        moved = shapely.transform(np.asarray(wgs84.geometry.values), to_gcj)
        wgs84.set_geometry(moved).to_file(path, driver="GeoJSON")
    else:
        shapes.to_file(path, layer="storm", driver="GPKG")
    return path


def _event(project: Path, path: str = "../data/storm.gpkg", extra: str | None = None) -> Path:
    folder = project.parent / "events"
    folder.mkdir(exist_ok=True)
    event = folder / "storm.toml"
    text = EVENT.format(path=path, extra='intensity_field = "hail_mm"' if extra is None else extra)
    event.write_text(text, encoding="utf-8")
    return event


def _q(income: float, loss: float) -> float:
    return float(ndtr((np.log(7500.0) - np.log(income * (1.0 - loss))) / 0.35))


EXPECTED = {  # household: (in footprint, intensity, loss, income, members)
    "h1": (True, 20.0, 0.5 * 0.5 + 0.2 * 0.4 + 0.5, 9000.0, 3),  # crop, orchard, earth house
    "h2": (True, 20.0, 0.6 * 0.5 * (1 - 0.4), 8000.0, 2),  # no GPS: A all in; insured
    "h3": (True, 10.0, (0.3 * 0.2 + 0.3 * 0.4) * (1 - 0.4), 12000.0, 4),  # insured orchard
    "h4": (False, np.nan, 0.0, 20000.0, 1),
    "h5": (False, np.nan, 0.0, 7600.0, 5),
}


def _households(out: Path) -> pd.DataFrame:
    return pd.read_csv(
        out / "event_households.csv", encoding="utf-8-sig", dtype={"household_id": str}
    ).set_index("household_id")


def test_hand_computed_households(tiny_project: Path, tmp_path: Path) -> None:
    _footprint(tiny_project)
    event = _event(tiny_project)
    out = tmp_path / "o"
    code, stdout, err = invoke(
        "event", str(event), "--config", str(tiny_project), "--out", str(out)
    )
    assert code == 0, err
    households = _households(out)
    for household, (inside, intensity, loss, income, members) in EXPECTED.items():
        row = households.loc[household]
        assert bool(row["in_footprint"]) is inside, household
        assert row["event_loss"] == pytest.approx(loss, abs=1e-12), household
        if inside:
            assert row["event_intensity"] == pytest.approx(intensity), household
            q0 = _q(income, 0.0)
            assert row["q0"] == pytest.approx(q0, abs=1e-12)
            assert row["q_event"] == pytest.approx(_q(income, loss), abs=1e-12)
            need = (max(0.0, 7500 - income * (1 - loss)) - max(0.0, 7500 - income)) * members
            assert row["need_cny"] == pytest.approx(need, abs=1e-6), household
        else:
            assert np.isnan(row["event_intensity"]) and row["need_cny"] == 0
            assert row["event_risk"] == 0 and not row["lead"]
        assert row["event_risk"] == pytest.approx(row["q_event"] - row["q0"], abs=1e-15)
        assert bool(row["lead"]) == bool(inside and row["event_risk"] >= 0.10)
    leads = pd.read_csv(out / "leads.csv", encoding="utf-8-sig", dtype=str)
    assert list(leads.columns) == [
        "rank", "township", "village_code", "village", "household_id", "category", "hazard",
        "date", "reason", "event_risk", "need_cny",
    ]  # fmt: skip
    assert leads["event_risk"].astype(float).is_monotonic_decreasing
    assert set(leads["household_id"]) == set(households.index[households["lead"]])
    assert (leads["reason"] == "因灾（Drought，2026-07-12）").all()
    villages = pd.read_csv(out / "event_villages.csv", encoding="utf-8-sig").set_index(
        "village_code"
    )
    assert villages["households_in_footprint"].tolist() == [2, 1, 0]
    risk = households.groupby("village_code")["event_risk"].sum()
    assert villages["expected_returns"].tolist() == pytest.approx(
        risk.reindex(["A", "B", "C"]).fillna(0).tolist()
    )
    assert not villages["at_scale"].any()  # 5 expected returns are far off
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    roles = {entry["role"]: entry for entry in manifest["inputs"]}
    assert len(roles["footprint"]["sha256"]) == 64 and "event file" in roles
    assert manifest["event"]["damage_from"] == "event"
    assert "per year" not in (out / "summary.html").read_text(encoding="utf-8")
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "given this event" in page
    assert "leads: " in stdout and "expected returns given this event" in stdout


def test_leads_workbook_for_the_cadres(tiny_project: Path, tmp_path: Path) -> None:
    _footprint(tiny_project)
    out = tmp_path / "o"
    code, _, err = invoke(
        "event", str(_event(tiny_project)), "--config", str(tiny_project), "--out", str(out)
    )
    assert code == 0, err
    book = load_workbook(out / "leads.xlsx")
    leads, villages = book.worksheets
    header = [cell.value for cell in leads[1]]
    assert header[0] == "排序 rank" and header[4] == "户编号 household_id"
    assert all(" " in str(h) for h in header)  # Chinese and English in each cell
    assert leads.freeze_panes == "A2" and leads.auto_filter.ref is not None
    rows = list(leads.iter_rows(min_row=2, values_only=True))
    assert rows and all(isinstance(r[0], int) and isinstance(r[9], float) for r in rows)
    assert {r[5] for r in rows} <= {"一般农户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"}
    for row in leads.iter_rows(min_row=2):
        assert row[4].data_type == "s"  # text as string cells, never formulas
    assert villages["A1"].value == "村代码 village_code"


def test_an_event_that_damages_nothing_gives_no_leads(tiny_project: Path, tmp_path: Path) -> None:
    _footprint(tiny_project)
    event = _event(tiny_project)
    text = event.read_text(encoding="utf-8")
    text = text.replace("crop = [[0, 0], [10, 0.2], [20, 0.5]]\norchard = 0.4", "crop = 0.0")
    event.write_text(text.replace("earth = 0.5", "earth = 0.0"), encoding="utf-8")
    out = tmp_path / "o"
    code, _, err = invoke("event", str(event), "--config", str(tiny_project), "--out", str(out))
    assert code == 0, err
    households = _households(out)
    assert (households["event_risk"] == 0).all() and not households["lead"].any()
    assert len(pd.read_csv(out / "leads.csv", encoding="utf-8-sig")) == 0


def test_gcj02_polygons_and_a_raster_give_the_same_households(
    tiny_project: Path, tmp_path: Path
) -> None:
    _footprint(tiny_project)
    runs = {}
    for name, path, extra in (
        ("gpkg", "../data/storm.gpkg", None),
        ("gcj", "../data/storm.geojson", 'intensity_field = "hail_mm"\ncrs = "GCJ-02"'),
        ("raster", "../data/storm.tif", ""),
    ):
        if name == "gcj":
            _footprint(tiny_project, "storm.geojson", gcj=True)
        if name == "raster":
            grid = np.zeros((10, 10))
            grid[0:5, 0:5] = 20.0  # A, cells 0.5-4.5 rounded out to whole cells
            grid[0:4, 5:7] = 10.0
            transform = Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1])
            write_raster(tiny_project.parent / "data" / "storm.tif", grid, transform, UTM)
        event = _event(tiny_project, path, extra)
        out = tmp_path / name
        code, _, err = invoke("event", str(event), "--config", str(tiny_project), "--out", str(out))
        assert code == 0, (name, err)
        runs[name] = _households(out)
    located = ["h1", "h3", "h4", "h5"]
    for name in ("gcj", "raster"):
        pd.testing.assert_series_equal(
            runs[name].loc[located, "in_footprint"], runs["gpkg"].loc[located, "in_footprint"]
        )
        assert runs[name].loc[located, "event_risk"].tolist() == pytest.approx(
            runs["gpkg"].loc[located, "event_risk"].tolist(), abs=1e-9
        )


def test_on_the_edge_of_a_footprint_is_in() -> None:
    polygon = np.array([shapely.box(0, 0, 10, 10)])
    at = zone_value_at(
        np.array([10.0, 10.0 + 1e-9, 5.0]), np.array([5.0, 5.0, 0.0]), polygon, np.ones(1), np.nan
    )
    assert at[0] == 1 and np.isnan(at[1]) and at[2] == 1


def _replacing(*pairs: tuple[str, str]) -> object:
    def change(event: Path) -> None:
        text = event.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, old
            text = text.replace(old, new, 1)
        event.write_text(text, encoding="utf-8")

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_replacing(('"dry"', '"flood"')), "hazard = 'flood' is no layer of hazardmap.toml"),
        (_replacing(("2026-07-12\n", '"yesterday"\n')), "expected a TOML date"),
        (_replacing(('"hail_mm"', '"size"')), "intensity_field 'size' not found"),
        (_replacing(("storm.gpkg", "far.gpkg")), "the footprint misses the county"),
        (
            _replacing(("storm.gpkg", "nocrs.tif"), ('intensity_field = "hail_mm"', "")),
            "the raster has no CRS",
        ),
        (
            _replacing(("storm.gpkg", "text.gpkg")),
            "intensity_field 'hail_mm' is not a number at feature 1",
        ),
    ],
)
def test_bad_events_are_one_line_and_write_nothing(
    tiny_project: Path, change: object, expected: str
) -> None:
    _footprint(tiny_project)
    data = tiny_project.parent / "data"
    far = gpd.GeoDataFrame({"hail_mm": [5.0]}, geometry=[shapely.box(116, 39, 117, 40)], crs=4326)
    far.to_file(data / "far.gpkg", driver="GPKG")
    text = gpd.GeoDataFrame({"hail_mm": ["big"]}, geometry=[utm_cells(1, 1, 3, 3)], crs=UTM)
    text.to_file(data / "text.gpkg", driver="GPKG")
    write_raster(
        data / "nocrs.tif", np.ones((3, 3)), Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]), None
    )
    event = _event(tiny_project)
    change(event)  # type: ignore[operator]
    before = tree_digest(tiny_project.parent)
    for command in (("validate", "--event", str(event)), ("event", str(event))):
        code, out, err = invoke(*command, "--config", str(tiny_project))
        assert code == 1 and "Traceback" not in out + err, err
        assert err.count("error:") == 1 and expected in err, err
    after = tree_digest(tiny_project.parent)
    assert {k: v for k, v in after.items() if not k.startswith("outputs")} == before
    assert not (tiny_project.parent / "outputs" / "events").exists()


def test_a_layer_damage_curve_needs_the_events_own(tiny_project: Path) -> None:
    _footprint(tiny_project)
    layer = tiny_project.parent / "layers" / "slope.toml"
    layer.write_text(
        layer.read_text("utf-8").replace("crop = 0.1", "crop = [[0, 0], [1, 0.3]]"), "utf-8"
    )
    event = _event(tiny_project)
    text = event.read_text("utf-8").replace('"dry"', '"slope"')
    start = text.index("[damage]")
    event.write_text(text[:start], encoding="utf-8")
    code, _, err = invoke("event", str(event), "--config", str(tiny_project))
    assert code == 1 and "give the event its own [damage] table" in err, err


def test_default_folder_and_output_safety(tiny_project: Path) -> None:
    _footprint(tiny_project)
    event = _event(tiny_project)
    code, _, err = invoke("validate", "--event", str(event), "--config", str(tiny_project))
    assert code == 0, err
    code, out, err = invoke("event", str(event), "--config", str(tiny_project))
    assert code == 0, err
    folder = tiny_project.parent / "outputs" / "events" / "storm-2026-07-12"
    assert (folder / "leads.xlsx").is_file() and str(folder / "map.html") in out
    code, _, err = invoke("event", str(event), "--config", str(tiny_project))  # again: replaced
    assert code == 0, err
    code, _, err = invoke(
        "event",
        str(event),
        "--config",
        str(tiny_project),
        "--out",
        str(tiny_project.parent / "data"),
    )
    assert (code == 1 and "error:" in err and "storm.gpkg" in err) or "data" in err, err


def test_the_most_urgent_leads_are_drawn_last_on_top() -> None:
    from hazardmap.outputs.webmap.event_map import _leads

    leads = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "household_id": ["a", "b", "c"],
            "village": "V",
            "township": "T",
            "event_risk": [0.9, 0.4, 0.15],
            "need_cny": [100.0, 50.0, 10.0],
        }
    )
    households = pd.DataFrame(
        {"household_id": ["a", "b", "c"], "lon": [105.0, 105.1, 105.2], "lat": [35.0] * 3}
    )
    drawn = _leads(leads, households).layer.data["features"]
    assert [f["properties"]["rank"] for f in drawn] == [3, 2, 1]
    assert drawn[-1]["properties"]["colour"] == "#bd0026"
