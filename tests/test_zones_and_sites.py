"""Zones and hazard sites as a layer's source: exact areas, point in polygon, threat radii.

Hand-computed cases (a zone split by a village edge, overlapping zones, a site's radius
reaching into a neighbour village), properties against shapely computed another way, and
the whole pipeline on the tiny project with its slope layer as zones and sites.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hazardmap.vector.sites import (
    covered_value,
    exposure,
    named_pairs,
    sites_inside,
    sites_reaching,
    threatened_pairs,
)
from hazardmap.vector.zones import disjoint_zones, zone_areas, zone_value_at
from tests.helpers import (
    SITES_LAYER,
    UTM,
    invoke,
    random_polygons,
    read_households_csv,
    set_key,
    tree_digest,
    utm_cells,
    utm_square,
)

# --------------------------------------------------------------------- zone kernels


def test_a_zone_split_by_a_village_edge_counts_in_each_village_by_its_area() -> None:
    villages = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    zones = np.array([shapely.box(6, 2, 14, 6), shapely.box(0, 0, 2, 2)])
    value = np.array([3.0, 1.0])
    areas = zone_areas(villages, zones, value).with_outside(0.0)
    assert areas.weight.tolist() == [100.0, 100.0]
    # village 1: 16 m² of the zone (x 6-10), 4 m² of zone 2, 80 m² outside at 0
    assert areas.mean().tolist() == pytest.approx([(16 * 3 + 4 * 1) / 100, 16 * 3 / 100])
    np.testing.assert_allclose(
        areas.share_of(np.array([0.0, 1.0, 3.0])), [[0.80, 0.04, 0.16], [0.84, 0.0, 0.16]]
    )
    np.testing.assert_allclose(
        areas.share_at_or_above(np.array([1.0, 3.0])), [[0.20, 0.16], [0.16, 0.16]]
    )
    assert areas.maximum().tolist() == [3.0, 3.0]


def test_outside_left_missing_leaves_that_area_without_a_value() -> None:
    villages = np.array([shapely.box(0, 0, 10, 10)])
    areas = zone_areas(villages, np.array([shapely.box(0, 0, 5, 10)]), np.array([2.0]))
    areas = areas.with_outside(np.nan)
    assert areas.weight.tolist() == [50.0]
    np.testing.assert_allclose(areas.share_of(np.array([2.0])), [[1.0]])  # of the valued area
    assert areas.mean().tolist() == [2.0]


def test_where_zones_overlap_the_highest_value_takes_the_area_once() -> None:
    villages = np.array([shapely.box(0, 0, 10, 10)])
    zones = np.array([shapely.box(0, 0, 6, 10), shapely.box(4, 0, 10, 10)])
    value = np.array([1.0, 4.0])
    areas = zone_areas(villages, disjoint_zones(zones, value), value).with_outside(np.nan)
    assert areas.weight.tolist() == pytest.approx([100.0])  # the overlap counts once
    np.testing.assert_allclose(areas.share_of(np.array([1.0, 4.0])), [[0.4, 0.6]])
    # households: the overlap and a point on an edge take the highest value
    x, y = np.array([5.0, 6.0, 2.0, 11.0, np.nan]), np.array([5.0, 5.0, 0.0, 5.0, 5.0])
    got = zone_value_at(x, y, zones, value, outside=0.5)
    assert got[:4].tolist() == [4.0, 4.0, 1.0, 0.5] and np.isnan(got[4])


def test_equal_values_overlapping_count_once() -> None:
    zones = np.array([shapely.box(0, 0, 6, 10), shapely.box(4, 0, 10, 10)])
    value = np.array([2.0, 2.0])
    areas = zone_areas(np.array([shapely.box(0, 0, 10, 10)]), disjoint_zones(zones, value), value)
    assert areas.weight.tolist() == pytest.approx([100.0])


@pytest.mark.parametrize("seed", range(4))
def test_zone_areas_match_shapely_to_1e9(seed: int) -> None:
    """Random (multi)polygons with holes, overlapping, against each village's
    intersection with the union of the zones of each value (computed another way)."""
    rng = np.random.default_rng(seed)
    villages = np.array(random_polygons(rng, 12, 30, 30))
    villages = shapely.make_valid(villages)
    zones = np.array(random_polygons(rng, 40, 30, 30))
    value = rng.choice([1.0, 2.0, 3.0, 4.0], size=len(zones))
    classes = np.array([1.0, 2.0, 3.0, 4.0])
    areas = zone_areas(villages, disjoint_zones(zones, value), value).with_outside(np.nan)
    shares = areas.share_of(classes)
    for v, village in enumerate(villages):
        expected = []
        higher = shapely.Polygon()
        for c in classes[::-1]:
            mine = shapely.union_all(zones[value == c])
            expected.append(shapely.area(village.intersection(mine.difference(higher))))
            higher = higher.union(mine)
        covered = shapely.area(village.intersection(shapely.union_all(zones)))
        assert areas.weight[v] == pytest.approx(covered, rel=1e-9, abs=1e-9)
        # the shares sum to 1 over the area with a value: times that area, the covered area
        if covered > 0:
            assert (shares[v] * areas.weight[v]).tolist() == pytest.approx(
                expected[::-1], rel=1e-9, abs=1e-9
            )
            assert shares[v].sum() == pytest.approx(1.0, rel=1e-12)
            assert areas.weight[v] / shapely.area(village) == pytest.approx(
                covered / shapely.area(village), rel=1e-9
            )


@pytest.mark.parametrize("seed", range(3))
def test_a_households_zone_value_is_point_in_polygon(seed: int) -> None:
    rng = np.random.default_rng(seed)
    zones = np.array(random_polygons(rng, 30, 20, 20))
    value = rng.uniform(0, 1, size=len(zones))
    x, y = rng.uniform(-2, 22, 400), rng.uniform(-2, 22, 400)
    corners = shapely.get_coordinates(zones)[::7][:20]  # on an edge: a zone's vertices
    x[: len(corners)], y[: len(corners)] = corners[:, 0], corners[:, 1]
    got = zone_value_at(x, y, zones, value, outside=-1.0)
    for i in range(len(x)):
        inside = [value[j] for j, z in enumerate(zones) if z.covers(shapely.Point(x[i], y[i]))]
        assert got[i] == (max(inside) if inside else -1.0)


# --------------------------------------------------------------------- site kernels


def test_a_site_radius_reaching_into_a_neighbour_village() -> None:
    villages = np.array([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    sx, sy, radius = np.array([90.0]), np.array([50.0]), np.array([30.0])
    site, village = sites_reaching(villages, sx, sy, radius)
    assert sorted(village.tolist()) == [0, 1] and site.tolist() == [0, 0]
    assert sites_inside(villages, sx, sy).tolist() == [1, 0]
    # households: on the circle (120, 50) counts, just beyond it does not
    hx, hy = np.array([120.0, 120.001, 95.0, np.nan]), np.array([50.0, 50.0, 50.0, np.nan])
    pairs = threatened_pairs(sx, sy, radius, hx, hy)
    assert sorted(pairs[1].tolist()) == [0, 2]

    # the circle's segment beyond x = 100 (10 m from its centre) is 900 acos(1/3) - 10
    # sqrt(800) = 825.1 m², 8.25% of village 2; the rest, 2,002 m², 20.0% of village 1
    def covered(share: float) -> list[float]:
        pairs = (site, village)
        return covered_value(villages, sx, sy, radius, np.array([3.0]), pairs, share).tolist()

    assert covered(0.0824) == [3.0, 3.0]
    assert covered(0.0826)[0] == 3.0 and np.isnan(covered(0.0826)[1])
    assert covered(0.1999)[0] == 3.0 and np.isnan(covered(0.2003)).all()


def test_a_household_threatened_by_two_sites_takes_the_higher_and_named_ones_count() -> None:
    value = np.array([2.0, 4.0, 4.0])
    site = np.array([0, 1, 2, 0])
    household = np.array([0, 0, 0, 1])
    got = exposure(site, household, value, 3)
    assert got.site.tolist() == [1, 0, -1]  # the first listed of the two highest
    assert got.value[:2].tolist() == [4.0, 2.0] and np.isnan(got.value[2])
    sites, households, unknown = named_pairs((("h2", "h9"), ()), np.array(["h1", "h2"]))
    assert sites.tolist() == [0] and households.tolist() == [1] and unknown == ["h9"]


# --------------------------------------------------------------------- the pipeline

ZONES_LAYER = """
name = "slope"
title = "Landslide susceptibility"
title_zh = "滑坡易发性"
source = "zones"
path = "../data/zones.geojson"
field = "grade"
classes = {{ "极高易发" = 4, "高易发" = 3, "中易发" = 2, "低易发" = 1 }}
{outside}
levels = [2, 3, 4]
[frequency]
type = "classes"
points = [[1, 0.001], [2, 0.01], [3, 0.03], [4, 0.1]]
[damage]
crop = 0.1
[housing]
earth = 1.2
{sites}
"""

SITES_TABLE = """
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


def _lonlat(points: list[shapely.Point]) -> list[tuple[float, float]]:
    moved = gpd.GeoSeries(points, crs=UTM).to_crs(4326)
    return [(p.x, p.y) for p in moved]


def _zones_project(project: Path, *, outside: str = "outside = 1", sites: bool = True) -> Path:
    """The tiny slope layer as zones (in WGS84, as a survey's GeoJSON might come), over
    villages A (cells 1-4 by 1-4), B (5-9 by 1-5) and C (2-6 by 5-9): A's north 1.6 rows
    极高易发, a 中易发 zone from A's east strip over B's west strip (overlapping the 极高
    one in A), C all 低易发; with a [sites] table: S1 (大型, 60 m) on household h4 in B,
    S2 (小型, 50 m) in C, whose register names h1 (in A) and h9 (no such household)."""
    data = project.parent / "data"
    zones = gpd.GeoDataFrame(
        {"grade": ["极高易发", "中易发", "低易发"]},
        geometry=[utm_cells(1, 1, 4, 2.6), utm_cells(3.5, 1, 6, 3.5), utm_cells(2, 5, 6, 9)],
        crs=UTM,
    ).to_crs(4326)
    zones.to_file(data / "zones.geojson", driver="GeoJSON")
    (site_a, site_c) = _lonlat([utm_square(8.5, 4.5, 0).centroid, utm_square(5.5, 8.5, 0).centroid])
    (data / "sites.csv").write_text(
        "编号,规模,威胁半径,威胁户,经度,纬度\n"
        f"S1,大型,60,,{site_a[0]},{site_a[1]}\n"
        f"S2,小型,50,h1;h9,{site_c[0]},{site_c[1]}\n",
        encoding="utf-8",
    )
    layer = project.parent / "layers" / "slope.toml"
    layer.write_text(
        ZONES_LAYER.format(outside=outside, sites=SITES_TABLE if sites else ""), encoding="utf-8"
    )
    return layer


def _villages(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "villages.csv", encoding="utf-8-sig").set_index("village_code")


def test_zones_with_sites_end_to_end(tiny_project: Path, tmp_path: Path) -> None:
    _zones_project(tiny_project)
    out = tmp_path / "o"
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(out))
    assert code == 0, err
    villages = _villages(out)
    shares = villages[[f"slope_share_{c}" for c in (1, 2, 3, 4)]]
    # A (9 cells): 极高 3 x 1.6 cells; 中 0.5 x 2.5, less the 0.5 x 1.6 under 极高; the
    # rest outside every zone, at outside = 1
    a_high, a_mid = 3 * 1.6, 0.5 * 2.5 - 0.5 * 1.6
    assert shares.loc["A"].tolist() == pytest.approx(
        [(9 - a_high - a_mid) / 9, a_mid / 9, 0, a_high / 9], abs=1e-9
    )
    assert shares.loc["B"].tolist() == pytest.approx([1 - 2.5 / 16, 2.5 / 16, 0, 0], abs=1e-9)
    assert shares.loc["C"].tolist() == pytest.approx([1, 0, 0, 0])
    assert villages["slope_mean"].isna().all()
    assert villages["slope_max"].tolist() == [4, 2, 1]
    assert villages["slope_level"].tolist() == [4, 2, 1]
    assert villages["slope_sites"].tolist() == [0, 1, 1]
    households = read_households_csv(out / "households.csv").set_index("household_id")
    # h4 sits on S1 (大型 = 4); h1 is named by S2's register (小型 = 2) but sits in 极高 (4)
    assert households.loc["h4", "slope_value"] == 4 and households.loc["h4", "slope_site"] == "S1"
    assert households.loc["h1", "slope_value"] == 4 and pd.isna(households.loc["h1", "slope_site"])
    assert villages["slope_exposed_households"].tolist() == [1, 1, 0]
    # h2 has no coordinates: A's highest class covering 10% of it (极高, 50%)
    assert households.loc["h2", "slope_value"] == 4
    assert "the register names 1 household id(s) that the household file does not hold" in err
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert '"role": "zones slope"' in manifest and '"role": "sites slope"' in manifest
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "zones 分区" in page and "hazard sites 隐患点" in page
    assert json.dumps("极高易发") in page  # the zones' labels, in their tooltips
    assert '"radius": 60.0' in page  # S1's circle, in metres on the ground


def test_households_outside_every_zone_without_outside_warn(
    tiny_project: Path, tmp_path: Path
) -> None:
    _zones_project(tiny_project, outside="", sites=False)
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "households lie outside every zone and slope.toml sets no outside value" in err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda layer: layer.write_text(
                layer.read_text(encoding="utf-8").replace('"中易发" = 2, ', ""), encoding="utf-8"
            ),
            "field 'grade' holds label(s) that classes does not map: '中易发' (1 zones)",
        ),
        (lambda layer: set_key(layer, "", "field", '"等级"'), "field(s) ['等级'] not found"),
        (
            lambda layer: set_key(layer, "sites", "radius_field", '"半径"'),
            "field(s) ['半径'] not found",
        ),
        (
            lambda layer: (layer.parent.parent / "data" / "sites.csv").write_text(
                "编号,规模,威胁半径,威胁户,经度,纬度\nS1,大型,60,,,\n", encoding="utf-8"
            ),
            "site without coordinates at line 2",
        ),
        (
            lambda layer: (layer.parent.parent / "data" / "sites.csv").write_text(
                "编号,规模,威胁半径,威胁户,经度,纬度\nS1,大型,-5,,105.7,35.5\n", encoding="utf-8"
            ),
            "field '威胁半径' is no positive number of metres at line 2",
        ),
        (
            lambda layer: set_key(layer, "", "outside", "0"),
            "outside = 0 is no class of [frequency] points",
        ),
    ],
)
def test_bad_zones_and_sites_are_one_line_and_nothing_is_written(
    tiny_project: Path, change: object, expected: str
) -> None:
    layer = _zones_project(tiny_project)
    change(layer)  # type: ignore[operator]
    before = tree_digest(tiny_project.parent)
    for command in ("validate", "run"):
        code, out, err = invoke(command, "--config", str(tiny_project))
        assert code == 1 and "Traceback" not in out + err, err
        assert err.count("error:") == 1 and expected in err, err
    after = tree_digest(tiny_project.parent)
    assert {k: v for k, v in after.items() if not k.startswith("outputs")} == before


def test_sites_as_a_layer_of_their_own(tiny_project: Path, tmp_path: Path) -> None:
    _zones_project(tiny_project)
    (tiny_project.parent / "layers" / "slope.toml").write_text(SITES_LAYER, encoding="utf-8")
    out = tmp_path / "o"
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(out))
    assert code == 0, err
    villages = _villages(out)
    # S1 (大型, 0.9) sits in B; its 300 m reach C (255 m away at C's corner), not A (453
    # m); S2 (小型, 0.3) sits in C and reaches neither A nor B
    assert villages["slope_max"].tolist() == [0.0, 0.9, 0.9]
    assert villages["slope_level"].tolist() == [1, 4, 4]
    assert villages["slope_sites"].tolist() == [0, 1, 1]
    assert villages["slope_exposed_households"].tolist() == [1, 2, 1]
    assert villages["slope_mean"].isna().all()
    households = read_households_csv(out / "households.csv").set_index("household_id")
    assert households.loc["h4", "slope_value"] == 0.9  # on S1
    assert households.loc["h3", "slope_value"] == 0.9  # b1 is 283 m from S1: within 300 m
    assert households.loc["h1", "slope_value"] == 0.3  # named by S2's register
    assert households.loc["h5", "slope_value"] == 0.3  # c1 is 206 m from S2
    assert households.loc["h2", "slope_value"] == 0.0  # no coordinates; nothing covers A


def test_a_label_mapped_to_nodata_leaves_its_zones_without_a_value(
    tiny_project: Path, tmp_path: Path
) -> None:
    """未调查 (not surveyed) mapped to nodata: village C, all such a zone, has no data
    (level 0, no shares), never the outside value; a class nodata takes is refused."""
    layer = _zones_project(tiny_project, sites=False)
    text = layer.read_text(encoding="utf-8").replace(
        '"低易发" = 1 }', '"低易发" = 1, "未调查" = 9 }'
    )
    layer.write_text(text.replace("outside = 1", "outside = 1\nnodata = 9"), encoding="utf-8")
    zones_path = tiny_project.parent / "data" / "zones.geojson"
    zones = gpd.read_file(zones_path)
    zones.loc[2, "grade"] = "未调查"
    zones.to_file(zones_path, driver="GeoJSON")
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    villages = _villages(tmp_path / "o")
    assert villages.loc["C", "slope_level"] == 0 and np.isnan(villages.loc["C", "slope_max"])
    assert villages.loc["A", "slope_level"] == 4  # the others as before
    assert "in a zone of the layer's nodata" in err
    set_key(layer, "", "nodata", "1")
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "nodata = 1 is also outside and the class 1" in err, err
