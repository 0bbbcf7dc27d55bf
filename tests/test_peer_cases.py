"""The test cases of rasterstats and exactextract, re-expressed for hazardmap.

Data: tests/data/peer (see its SOURCES.md). rasterstats' defaults are hazardmap's
``coverage="centre"``, its ``all_touched=True`` is ``"all_touched"``; exactextract's
coverage-weighted statistics are ``"fraction"``. Point and line zones of rasterstats are
out of scope: hazardmap's zones are polygons.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from affine import Affine

from hazardmap import sample, zonal_stats
from hazardmap.errors import CRSError
from tests.helpers import random_polygons

PEER = Path(__file__).parent / "data" / "peer"
RS = PEER / "rasterstats"
EE = PEER / "exactextract"
LOCAL = "EPSG:32648"  # exactextract's grids carry no CRS; any projected CRS will do


def polygons(name: str = "polygons") -> gpd.GeoDataFrame:
    return gpd.read_file(RS / f"{name}.shp")


# ------------------------------------------------------------------------- rasterstats
def test_r1_centre_counts_and_mean() -> None:
    out = zonal_stats(RS / "slope.tif", polygons(), ["count", "mean"], coverage="centre")
    assert out["count"].tolist() == [75, 50]
    assert round(out["mean"][0], 2) == 14.66


def test_r3_all_touched_counts() -> None:
    out = zonal_stats(RS / "slope.tif", polygons(), ["count"], coverage="all_touched")
    assert out["count"].tolist() == [95, 73]


def test_r6_multipolygon() -> None:
    # multipolygons.prj says WGS84 but the coordinates are in slope.tif's Albers metres;
    # rasterstats never looks at a CRS, hazardmap does and says so
    wrong = polygons("multipolygons")
    with pytest.raises(CRSError, match="declared CRS is probably wrong"):
        zonal_stats(RS / "slope.tif", wrong, ["count"], coverage="centre")
    fixed = wrong.set_crs(polygons().crs, allow_override=True)
    out = zonal_stats(RS / "slope.tif", fixed, ["count"], coverage="centre")
    assert out["count"].tolist() == [125]


def test_r11_r13_nodata_holes_and_all_nodata() -> None:
    out = zonal_stats(RS / "slope_nodata.tif", polygons(), ["count"], coverage="centre")
    assert out["count"].tolist() == [39, 31]
    out = zonal_stats(RS / "all_nodata.tif", polygons(), ["count", "mean"], coverage="centre")
    assert out["count"].tolist() == [0, 0] and out["mean"].isna().all()


def test_r14_dataset_mask() -> None:
    out = zonal_stats(RS / "dataset_mask.tif", polygons(), ["count"], coverage="centre")
    assert out["count"].tolist() == [75, 0]


def test_r15_no_and_partial_overlap() -> None:
    for coverage in ("centre", "fraction", "all_touched"):
        none = zonal_stats(
            RS / "slope.tif", polygons("polygons_no_overlap"), ["count"], coverage=coverage
        )
        part = zonal_stats(
            RS / "slope.tif", polygons("polygons_partial_overlap"), ["count"], coverage=coverage
        )
        assert (none["count"] == 0).all() and (part["count"] > 0).all()


def array_raster(
    values: list[list[float]], transform: Affine, nodata: float | None = None
) -> xr.DataArray:
    arr = np.array(values, dtype=float)
    x = transform.c + transform.a * (np.arange(arr.shape[1]) + 0.5)
    y = transform.f + transform.e * (np.arange(arr.shape[0]) + 0.5)
    attrs: dict[str, object] = {"crs": LOCAL}
    if nodata is not None:
        attrs["nodata"] = nodata
    return xr.DataArray(arr, dims=("y", "x"), coords={"y": y, "x": x}, attrs=attrs)


def zone(geom: shapely.Geometry) -> gpd.GeoSeries:
    return gpd.GeoSeries([geom], crs=LOCAL)


def test_r16_nan_and_nodata_are_both_missing() -> None:
    da = array_raster([[np.nan, 12.25], [-999, 12.75]], Affine(1, 0, 0, 0, -1, 2), nodata=-999)
    out = zonal_stats(
        da, zone(shapely.box(0, 0, 2, 2)), ["count", "mean", "min", "max"], coverage="centre"
    )
    assert out.iloc[0].to_dict() == {"count": 2, "mean": 12.5, "min": 12.25, "max": 12.75}


def test_r17_nodata_zero() -> None:
    da = array_raster([[np.nan] * 3, [0, 0, 0], [1, 4, 5]], Affine(1, 0, 1, 0, -1, 3), nodata=0)
    out = zonal_stats(da, zone(shapely.box(1, 0, 4, 3)), ["count"], coverage="centre")
    assert out["count"][0] == 3


def test_r18_concave_polygon_centre_rule() -> None:
    da = array_raster([[100, 1], [100, 1]], Affine(1, 0, 0, 0, -1, 2))
    poly = shapely.Polygon([(0, 0), (0, 0.5), (1, 1.5), (1.5, 2), (2, 2), (2, 0)])
    assert zonal_stats(da, zone(poly), ["mean"], coverage="centre")["mean"][0] == 34


def test_r19_r20_r21_point_queries() -> None:
    def at(path: Path, x: float, y: float, method: str) -> float:
        with __import__("rasterio").open(path) as ds:
            crs = ds.crs
        return float(sample(path, gpd.GeoSeries([shapely.Point(x, y)], crs=crs), method=method)[0])

    assert round(at(RS / "slope.tif", 245309, 1000064, "bilinear")) == 74
    assert np.isnan(
        at(RS / "slope_nodata.tif", 245309, 1000308, "bilinear")
    )  # all neighbours nodata
    assert np.isnan(at(RS / "slope_nodata.tif", 244000, 1000308, "nearest"))  # off the grid
    assert round(at(RS / "slope_nodata.tif", 245905, 1000361, "nearest")) == 43
    # rasterstats falls back to nearest (43) when a neighbour is nodata; hazardmap leaves the
    # missing neighbour out and renormalises the other three weights
    with __import__("rasterio").open(RS / "slope_nodata.tif") as ds:
        values = ds.read(1)
        inv = ~ds.transform
        col = inv.a * 245905 + inv.b * 1000361 + inv.c
        row = inv.d * 245905 + inv.e * 1000361 + inv.f
    fx, fy = col - 0.5, row - 0.5
    c0, r0 = int(np.floor(fx)), int(np.floor(fy))
    wx, wy = fx - c0, fy - r0
    weights = np.array([[(1 - wy) * (1 - wx), (1 - wy) * wx], [wy * (1 - wx), wy * wx]])
    window = values[r0 : r0 + 2, c0 : c0 + 2].astype(float)
    valid = window != -9999
    assert 0 < valid.sum() < 4  # the case is about a nodata neighbour
    expected = (weights * window)[valid].sum() / weights[valid].sum()
    assert at(RS / "slope_nodata.tif", 245905, 1000361, "bilinear") == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # rasterstats' use of affine
def test_random_polygons_equal_rasterstats(raster_file: Callable[..., Path]) -> None:
    rasterstats = pytest.importorskip("rasterstats")
    rng = np.random.default_rng(5)
    values = rng.random((40, 50))
    values[rng.random((40, 50)) < 0.1] = -9999.0
    path = raster_file(values, Affine(1, 0, 0, 0, -1, 40), LOCAL)
    zones = gpd.GeoDataFrame(geometry=random_polygons(rng, 80, 50, 40), crs=LOCAL)
    for coverage, all_touched in (("centre", False), ("all_touched", True)):
        ours = zonal_stats(path, zones, ["count", "mean", "min", "max", "sum"], coverage=coverage)
        theirs = rasterstats.zonal_stats(
            zones, str(path), stats=["count", "mean", "min", "max", "sum"], all_touched=all_touched
        )
        for stat in ("count", "mean", "min", "max", "sum"):
            expected = np.array(
                [row[stat] if row[stat] is not None else np.nan for row in theirs], dtype=float
            )
            if stat == "sum":  # rasterstats sums to 0 (or None) where no cell is counted
                expected = np.where(ours["count"] > 0, expected, np.nan)
            np.testing.assert_allclose(
                ours[stat], expected, rtol=1e-6, equal_nan=True, err_msg=f"{coverage} {stat}"
            )


# ------------------------------------------------------------------------ exactextract
def squares(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(EE / f"{name}.geojson").set_crs(LOCAL, allow_override=True)


def test_e1_e2_coverage_weighted_square() -> None:
    out = zonal_stats(
        EE / "grid3x3_1to9.tif",
        squares("squares_a_b"),
        ["count", "mean", "min", "max", "sum"],
        crs=LOCAL,
    )
    assert out.iloc[1].to_dict() == pytest.approx(
        {"count": 4, "mean": 5, "min": 1, "max": 9, "sum": 20}
    )
    assert out.iloc[0][["count", "mean"]].to_dict() == pytest.approx({"count": 0.25, "mean": 7})


def test_e3_centre_and_fraction_differ() -> None:
    e = squares("squares_c_d_e").iloc[[2]]
    weighted = zonal_stats(EE / "grid3x3_1to9.tif", e, ["mean", "count"], crs=LOCAL)
    assert weighted.iloc[0].to_dict() == pytest.approx({"mean": 4.0, "count": 3.0})


def test_e5_frac_above_on_classes() -> None:
    out = zonal_stats(
        EE / "grid3x3_rows123.tif",
        squares("squares_a_b"),
        ["frac_above(2)", "frac_above(3)"],
        crs=LOCAL,
    )
    assert out.iloc[0].tolist() == pytest.approx([1.0, 1.0])  # a: all 3s
    assert out.iloc[1].tolist() == pytest.approx([0.75, 0.25])  # b: 1 .25, 2 .5, 3 .25


def test_e8_e9_nodata_corner() -> None:
    c, d = squares("squares_c_d_e").iloc[[0]], squares("squares_c_d_e").iloc[[1]]
    corner = zonal_stats(
        EE / "grid10x10_nodata_lowerleft.tif", c, ["sum", "mean", "count"], crs=LOCAL
    )
    # exactextract reports sum 0 here; hazardmap says missing
    assert corner["count"][0] == 0 and np.isnan(corner["mean"][0]) and np.isnan(corner["sum"][0])
    inside = zonal_stats(EE / "grid10x10_nodata_lowerleft.tif", d, ["sum", "mean"], crs=LOCAL)
    assert inside.iloc[0].to_dict() == pytest.approx({"sum": 43.5, "mean": 58})


def test_e10_nodata_cells_not_counted() -> None:
    da = array_raster(
        [[1, 2, 3], [4, -99, -99], [-99, 8, 9]], Affine(1, 0, 0, 0, -1, 3), nodata=-99
    )
    out = zonal_stats(da, zone(shapely.box(0, 0, 3, 3)), ["count", "sum"])
    assert out.iloc[0].to_dict() == pytest.approx({"count": 6, "sum": 27})


def test_e11_regression6_coverage_sums_exactly() -> None:
    wkt = (EE / "regression6.wkt").read_text(encoding="utf-8").strip().strip('"')
    poly = shapely.from_wkt(wkt)
    cell = 0.05
    width, height = round((147.375 - 145.925) / cell), round((-33.475 + 35.525) / cell)
    ones = xr.DataArray(
        np.ones((height, width)),
        dims=("y", "x"),
        coords={
            "y": -33.475 - cell * (np.arange(height) + 0.5),
            "x": 145.925 + cell * (np.arange(width) + 0.5),
        },
        attrs={"crs": LOCAL},
    )
    out = zonal_stats(ones, zone(poly), ["count", "max"])
    assert out["count"][0] == pytest.approx(823.0, abs=1e-9)
    assert out["count"][0] == pytest.approx(poly.area / cell**2, abs=1e-9)


def test_e12_all_nodata() -> None:
    da = array_raster([[-1.0] * 3] * 3, Affine(1, 0, 0, 0, -1, 3), nodata=-1)
    out = zonal_stats(da, squares("squares_a_b").iloc[[1]], ["mean", "count"])
    assert np.isnan(out["mean"].iloc[0]) and out["count"].iloc[0] == 0
