"""Raster kernels on tiny rasters whose answers are worked out by hand, and against
independent oracles (shapely areas, GDAL rasterize, exactextract)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from rasterio.features import rasterize

from hazardmap import errors, sample, zonal_stats
from hazardmap.crs import Grid
from hazardmap.raster.geometry import _rings, to_pixel_space
from tests.helpers import random_polygons

UNIT = Affine(1, 0, 0, 0, -1, 3)  # 3x3 grid of unit cells, top-left at (0, 3)
ONE_TO_NINE = np.arange(1, 10, dtype=float).reshape(3, 3)
CRS = "EPSG:32648"


def zones(*geoms: shapely.Geometry, crs: str = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": range(len(geoms))}, geometry=list(geoms), crs=crs)


@pytest.fixture
def grid9(raster_file: Callable[..., Path]) -> Path:
    return raster_file(ONE_TO_NINE, UNIT, CRS)


def test_fraction_square_over_four_cells(grid9: Path) -> None:
    # exactextract's own case: square (0.5,0.5)-(2.5,2.5) covers 1/4 of the corner cells,
    # 1/2 of the edge cells and all of the centre: count 4, sum 20, mean 5
    out = zonal_stats(
        grid9, zones(shapely.box(0.5, 0.5, 2.5, 2.5)), ["mean", "sum", "count", "min", "max"]
    )
    assert out.iloc[0].to_dict() == pytest.approx(
        {"mean": 5, "sum": 20, "count": 4, "min": 1, "max": 9}
    )


def test_fraction_zone_smaller_than_a_cell(grid9: Path) -> None:
    out = zonal_stats(grid9, zones(shapely.box(0.5, 0.5, 1.0, 1.0)), ["mean", "count"])
    assert out.iloc[0].to_dict() == pytest.approx({"mean": 7, "count": 0.25})


def test_fraction_zone_partly_off_the_raster(grid9: Path) -> None:
    # half of the zone lies west of the raster; inside it covers the left column fully
    out = zonal_stats(grid9, zones(shapely.box(-1, 0, 1, 3)), ["mean", "count", "frac_above(4)"])
    assert out.iloc[0].to_dict() == pytest.approx({"mean": 4, "count": 3, "frac_above(4)": 2 / 3})


def test_zone_entirely_outside_gets_nan_and_count_zero(grid9: Path) -> None:
    for coverage in ("fraction", "centre", "all_touched"):
        out = zonal_stats(
            grid9, zones(shapely.box(10, 10, 12, 12)), ["mean", "max", "count"], coverage=coverage
        )
        assert np.isnan(out["mean"][0]) and np.isnan(out["max"][0]) and out["count"][0] == 0


def test_nodata_cells_are_ignored(raster_file: Callable[..., Path]) -> None:
    values = ONE_TO_NINE.copy()
    values[1, 1] = -9999.0  # the centre cell (value 5) is nodata
    values[0, 0] = np.nan  # NaN is missing too
    path = raster_file(values, UNIT, CRS)
    out = zonal_stats(path, zones(shapely.box(0, 0, 3, 3)), ["mean", "count", "min", "max"])
    assert out.iloc[0].to_dict() == pytest.approx(
        {"mean": (45 - 5 - 1) / 7, "count": 7, "min": 2, "max": 9}
    )
    allmissing = raster_file(np.full((3, 3), -9999.0), UNIT, CRS)
    out = zonal_stats(allmissing, zones(shapely.box(0, 0, 3, 3)), ["mean", "count"])
    assert np.isnan(out["mean"][0]) and out["count"][0] == 0


def test_zone_in_another_crs_is_moved_to_the_raster(raster_file: Callable[..., Path]) -> None:
    transform = Affine(100, 0, 500_000, 0, -100, 3_930_300)
    path = raster_file(ONE_TO_NINE, transform, CRS)
    square = shapely.box(500_050, 3_930_050, 500_250, 3_930_250)  # same as the unit case
    in_wgs84 = zones(square).to_crs("EPSG:4326")
    out = zonal_stats(path, in_wgs84, ["mean", "count"])
    # the square's edges bend by millimetres in WGS84; coverage stays within 1e-6
    assert out.iloc[0].to_dict() == pytest.approx({"mean": 5, "count": 4}, abs=1e-5)


def test_hole_and_multipolygon(grid9: Path) -> None:
    ring = shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2))  # all but the centre
    multi = shapely.MultiPolygon([shapely.box(0, 2, 1, 3), shapely.box(2, 0, 3, 1)])  # cells 1, 9
    out = zonal_stats(grid9, zones(ring, multi), ["mean", "count"])
    assert out["count"].tolist() == pytest.approx([8, 2])
    assert out["mean"].tolist() == pytest.approx([40 / 8, 5])


def test_centre_and_all_touched_rules(grid9: Path) -> None:
    # covers the centres of cells 4 and 5 only (x 0.4..1.6, y 1.2..1.8), touches 4, 5
    zone = zones(shapely.box(0.4, 1.2, 1.6, 1.8))
    centre = zonal_stats(grid9, zone, ["mean", "count"], coverage="centre")
    touched = zonal_stats(grid9, zone, ["mean", "count"], coverage="all_touched")
    assert centre.iloc[0].to_dict() == pytest.approx({"mean": 4.5, "count": 2})
    assert touched.iloc[0].to_dict() == pytest.approx({"mean": 4.5, "count": 2})
    wide = zones(shapely.box(0.4, 0.9, 1.6, 2.1))  # reaches into rows above and below
    assert zonal_stats(grid9, wide, ["count"], coverage="all_touched")["count"][0] == 6
    assert zonal_stats(grid9, wide, ["count"], coverage="centre")["count"][0] == 2


def test_dataarray_gives_the_same_as_the_file(grid9: Path) -> None:
    da = xr.DataArray(
        ONE_TO_NINE,
        dims=("y", "x"),
        coords={"y": [2.5, 1.5, 0.5], "x": [0.5, 1.5, 2.5]},
        attrs={"crs": CRS},
    )
    z = zones(shapely.box(0.5, 0.5, 2.5, 2.5), shapely.box(-1, 0, 1, 3))
    for coverage in ("fraction", "centre", "all_touched"):
        a = zonal_stats(da, z, ["mean", "count", "max"], coverage=coverage)
        b = zonal_stats(grid9, z, ["mean", "count", "max"], coverage=coverage)
        assert np.allclose(a.to_numpy(), b.to_numpy(), equal_nan=True)


def test_bad_requests_raise_hazardmap_errors(grid9: Path, raster_file: Callable[..., Path]) -> None:
    with pytest.raises(errors.InputError, match="unknown statistic 'median'"):
        zonal_stats(grid9, zones(shapely.box(0, 0, 1, 1)), ["median"])
    with pytest.raises(errors.InputError, match="coverage 'center'"):
        zonal_stats(grid9, zones(shapely.box(0, 0, 1, 1)), coverage="center")
    with pytest.raises(errors.CRSError, match="zones have no CRS"):
        zonal_stats(grid9, gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))
    no_crs = raster_file(ONE_TO_NINE, UNIT, None)
    with pytest.raises(errors.CRSError, match="has no CRS"):
        zonal_stats(no_crs, zones(shapely.box(0, 0, 1, 1)))


# ------------------------------------------------------------------ randomized oracles
@pytest.fixture
def random_case(
    raster_file: Callable[..., Path],
) -> tuple[Path, np.ndarray, list[shapely.Geometry]]:
    rng = np.random.default_rng(7)
    width, height = 30, 20
    values = rng.random((height, width))
    values[rng.random((height, width)) < 0.1] = -9999.0
    path = raster_file(values, Affine(1, 0, 0, 0, -1, height), CRS)
    with rasterio.open(path) as ds:
        stored = ds.read(1).astype(float)
    stored[stored == -9999.0] = np.nan
    return path, stored, random_polygons(rng, 50, width, height)


def test_fraction_equals_shapely_cell_areas(
    random_case: tuple[Path, np.ndarray, list[shapely.Geometry]],
) -> None:
    path, values, polys = random_case
    height, width = values.shape
    out = zonal_stats(path, zones(*polys), ["sum", "count"])
    cells = np.array(
        [
            [shapely.box(c, height - r - 1, c + 1, height - r) for c in range(width)]
            for r in range(height)
        ]
    )
    valid = ~np.isnan(values)
    for i, poly in enumerate(polys):
        covered = shapely.area(shapely.intersection(cells, poly))
        assert out["count"][i] == pytest.approx((covered * valid).sum(), abs=1e-9)
        if (covered * valid).sum() > 0:
            assert out["sum"][i] == pytest.approx(np.nansum(covered * values), abs=1e-9)


def test_centre_and_all_touched_equal_gdal_rasterize(
    random_case: tuple[Path, np.ndarray, list[shapely.Geometry]],
) -> None:
    path, values, polys = random_case
    centre = zonal_stats(path, zones(*polys), ["count", "sum"], coverage="centre")
    touched = zonal_stats(path, zones(*polys), ["count"], coverage="all_touched")
    transform = Affine(1, 0, 0, 0, -1, values.shape[0])
    valid = ~np.isnan(values)
    for i, poly in enumerate(polys):
        for table, all_touched in ((centre, False), (touched, True)):
            mask = rasterize(
                [(poly, 1)], out_shape=values.shape, transform=transform, all_touched=all_touched
            ).astype(bool)
            assert table["count"][i] == (mask & valid).sum(), (i, all_touched)


def test_fraction_agrees_with_exactextract(
    random_case: tuple[Path, np.ndarray, list[shapely.Geometry]],
) -> None:
    exactextract = pytest.importorskip("exactextract")
    path, _, polys = random_case
    ours = zonal_stats(path, zones(*polys), ["mean", "count", "max", "min", "sum"])
    theirs = exactextract.exact_extract(
        str(path), zones(*polys), ["mean", "count", "max", "min", "sum"], output="pandas"
    )
    covered = theirs["count"].to_numpy() > 0
    for stat in ("mean", "count", "max", "min", "sum"):
        # exactextract stores coverage fractions as float32
        assert np.allclose(ours[stat][covered], theirs[stat][covered], rtol=1e-6, atol=1e-6), stat
    # where no valid cell is covered exactextract reports sum 0; hazardmap says NaN (missing)
    assert ours["sum"][~covered].isna().all() and (ours["count"][~covered] == 0).all()


# ------------------------------------------------------------------ point sampling
def points(*xy: tuple[float, float] | None, crs: str = CRS) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(p) if p else None for p in xy], crs=crs)


def test_nearest_sampling_with_nan_off_raster_and_on_nodata(
    raster_file: Callable[..., Path],
) -> None:
    values = ONE_TO_NINE.copy()
    values[2, 2] = -9999.0
    path = raster_file(values, UNIT, CRS)
    got = sample(path, points((0.5, 2.5), (2.9, 0.1), (1.5, 1.5), (3.5, 1.0), (-0.01, 1.0), None))
    assert got[0] == 1 and got[2] == 5
    assert np.isnan(got[1])  # nodata cell
    assert np.isnan(got[3]) and np.isnan(got[4])  # off the raster, never 0
    assert np.isnan(got[5])  # a household without coordinates
    assert got.dtype == np.float64


def test_nearest_matches_rasterio_masked_sample(raster_file: Callable[..., Path]) -> None:
    rng = np.random.default_rng(3)
    values = rng.random((12, 15))
    values[rng.random((12, 15)) < 0.15] = -9999.0
    transform = Affine(30, 0, 500_000, 0, -30, 3_930_000)
    path = raster_file(values, transform, CRS)
    x = rng.uniform(500_000 - 60, 500_000 + 15 * 30 + 60, 400)
    y = rng.uniform(3_930_000 - 12 * 30 - 60, 3_930_000 + 60, 400)
    ours = sample(path, points(*zip(x, y, strict=True)))
    with rasterio.open(path) as ds:
        theirs = np.ma.concatenate(list(ds.sample(zip(x, y, strict=True), masked=True)))
    inside = (x >= 500_000) & (x < 500_450) & (y <= 3_930_000) & (y > 3_929_640)
    filled = np.ma.filled(theirs.astype(float), np.nan)
    expected = np.where(inside & ~np.ma.getmaskarray(theirs), filled, np.nan)
    np.testing.assert_array_equal(ours, expected)


def test_bilinear_between_cell_centres(raster_file: Callable[..., Path]) -> None:
    # rasterstats' case: [[1, 2], [3, 4]]; the centre of the grid is their mean
    path = raster_file(np.array([[1.0, 2.0], [3.0, 4.0]]), Affine(1, 0, 0, 0, -1, 2), CRS)
    got = sample(path, points((1.0, 1.0), (0.5, 1.5), (1.5, 0.5), (0.75, 1.0)), method="bilinear")
    np.testing.assert_allclose(got, [2.5, 1.0, 4.0, 2.25])


def test_bilinear_renormalises_around_nodata(raster_file: Callable[..., Path]) -> None:
    path = raster_file(np.array([[1.0, -9999.0], [3.0, 4.0]]), Affine(1, 0, 0, 0, -1, 2), CRS)
    got = sample(path, points((1.0, 1.0), (1.5, 1.5)), method="bilinear")
    assert got[0] == pytest.approx((1 + 3 + 4) / 3)  # equal weights, the missing one left out
    assert np.isnan(got[1])  # exactly on the nodata cell's centre


def test_points_in_another_crs(raster_file: Callable[..., Path]) -> None:
    transform = Affine(100, 0, 500_000, 0, -100, 3_930_300)
    path = raster_file(ONE_TO_NINE, transform, CRS)
    pts = points((500_150, 3_930_150), (500_250, 3_930_050)).to_crs("EPSG:4326")
    np.testing.assert_array_equal(sample(path, pts), [5.0, 9.0])


def test_ring_orientation_does_not_matter(grid9: Path) -> None:
    """Shells and holes in any winding sense (files do not agree on one) give exact cover."""
    shell_ccw = [(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)]
    hole_ccw = [(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]
    shapes = [
        shapely.Polygon(shell_ccw, [hole_ccw]),
        shapely.Polygon(shell_ccw[::-1], [hole_ccw]),
        shapely.Polygon(shell_ccw, [hole_ccw[::-1]]),
        shapely.Polygon(shell_ccw[::-1], [hole_ccw[::-1]]),
        shapely.MultiPolygon(
            [
                shapely.Polygon([(0, 2), (1, 2), (1, 3), (0, 3)]),
                shapely.Polygon([(2, 0), (2, 1), (3, 1), (3, 0)]),
            ]
        ),
    ]
    out = zonal_stats(grid9, zones(*shapes), ["count", "sum"])
    assert out["count"].tolist() == pytest.approx([8, 8, 8, 8, 2])
    assert out["sum"].tolist() == pytest.approx([40, 40, 40, 40, 10])


def test_centre_labels_equal_gdal_rasterize_cell_for_cell() -> None:
    """The centre rule's run-length label raster, decoded, is GDAL's rasterize mask of each
    zone: parts many rows apart, holes, zones overlapping and reaching past the grid."""
    rng = np.random.default_rng(11)
    width, height = 60, 45
    grid = Grid(Affine(1, 0, 0, 0, -1, height), width, height, pyproj.CRS(CRS))
    polys = random_polygons(rng, 40, width, height)
    polys.append(
        shapely.MultiPolygon([shapely.box(3.3, 2.2, 9.6, 5.5), shapely.box(4, 30, 20, 40.7)])
    )
    pixel = to_pixel_space(np.array(polys, dtype=object), grid)
    row_offsets, c0, c1, zone = pixel.centre_spans
    labels = np.zeros((len(polys), height, width), dtype=int)
    for r in range(height):
        for i in range(row_offsets[r], row_offsets[r + 1]):
            labels[zone[i], r, c0[i] : c1[i]] += 1
    for z, poly in enumerate(polys):
        mask = rasterize([(poly, 1)], out_shape=(height, width), transform=grid.transform)
        assert np.array_equal(labels[z], mask), z


def test_rings_match_shapely_ragged_arrays() -> None:
    """The fast ring split gives shapely's to_ragged_array layout: polygons with and
    without holes, multipolygons, empty zones, in any mix."""
    rng = np.random.default_rng(5)
    polys = random_polygons(rng, 60, 40, 30)
    polys[3] = shapely.Polygon()
    polys[7] = shapely.MultiPolygon(list(shapely.get_parts(polys[7:10])))
    polys[14] = shapely.MultiPolygon(list(shapely.get_parts(polys[14])))  # of one part
    geoms = np.array(polys, dtype=object)
    coords, ring_offsets, zone_ring_offsets, shell = _rings(geoms)
    _, ref_coords, (ref_rings, ref_parts, ref_zones) = shapely.to_ragged_array(
        np.array([shapely.MultiPolygon(list(shapely.get_parts(g))) for g in geoms])
    )
    assert np.array_equal(coords, ref_coords)
    assert np.array_equal(ring_offsets, ref_rings)
    assert np.array_equal(zone_ring_offsets, ref_parts[ref_zones])
    assert np.array_equal(np.flatnonzero(shell), ref_parts[:-1][np.diff(ref_parts) > 0])
