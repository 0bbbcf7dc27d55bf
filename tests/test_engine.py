"""The strip engine: any strip height, any backend (file, numpy, dask, a dask.distributed
cluster) gives the same answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

from hazardmap import sample, zonal_stats
from hazardmap.raster import (
    FileSource,
    PointJob,
    ZonalJob,
    points_in_grid,
    scan,
    to_pixel_space,
)
from hazardmap.raster.kernels import COVERAGE_RULES
from tests.helpers import random_polygons

CRS_UTM = "EPSG:32648"
WIDTH, HEIGHT = 61, 47
TRANSFORM = Affine(30, 0, 500_000, 0, -30, 3_930_000)


@pytest.fixture
def case(
    raster_file: Callable[..., Path],
) -> tuple[Path, np.ndarray, gpd.GeoDataFrame, gpd.GeoSeries]:
    rng = np.random.default_rng(11)
    values = rng.random((HEIGHT, WIDTH)) * 10
    values[rng.random((HEIGHT, WIDTH)) < 0.08] = -9999.0
    path = raster_file(values, TRANSFORM, CRS_UTM)
    polys = random_polygons(rng, 60, WIDTH, HEIGHT)
    to_map = [
        shapely.transform(
            p, lambda xy: np.c_[500_000 + xy[:, 0] * 30, 3_930_000 - (HEIGHT - xy[:, 1]) * 30]
        )
        for p in polys
    ]
    zones = gpd.GeoDataFrame(geometry=to_map, crs=CRS_UTM)
    x = rng.uniform(500_000 - 100, 500_000 + WIDTH * 30 + 100, 500)
    y = rng.uniform(3_930_000 - HEIGHT * 30 - 100, 3_930_000 + 100, 500)
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=CRS_UTM)
    stored = np.where(values == -9999.0, np.nan, values.astype(np.float32))
    return path, stored, zones, points


@pytest.mark.parametrize("rule", sorted(COVERAGE_RULES))
def test_strip_height_does_not_change_the_answer(case: tuple, rule: str) -> None:  # type: ignore[type-arg]
    path, _, zones, _ = case
    with FileSource(path) as source:
        pixel = to_pixel_space(np.asarray(zones.geometry.values), source.grid)
        results = []
        for strip_rows in (None, 1, 5, 16):
            job = ZonalJob(pixel, COVERAGE_RULES[rule], (2.5, 7.0))
            scan(source, [job], strip_rows=strip_rows)
            red = job.result()
            results.append(
                np.column_stack(
                    [red.weight, red.weighted_sum, red.minimum, red.maximum, red.weight_above]
                )
            )
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
def test_points_across_strips(case: tuple, method: str) -> None:  # type: ignore[type-arg]
    path, _, _, points = case
    with FileSource(path) as source:
        pixel = points_in_grid(
            points.x.to_numpy(),
            points.y.to_numpy(),
            CRS.from_user_input(CRS_UTM),
            source.grid,
            method=method,
        )
        answers = []
        for strip_rows in (None, 1, 3):
            job = PointJob(pixel)
            scan(source, points=[job], strip_rows=strip_rows)
            answers.append(job.result())
    for other in answers[1:]:
        np.testing.assert_allclose(other, answers[0], rtol=1e-12)
    assert np.isnan(answers[0]).any() and np.isfinite(answers[0]).any()


def dataarray(values: np.ndarray, chunks: tuple[int, int] | None = None) -> xr.DataArray:
    x = TRANSFORM.c + TRANSFORM.a * (np.arange(WIDTH) + 0.5)
    y = TRANSFORM.f + TRANSFORM.e * (np.arange(HEIGHT) + 0.5)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, attrs={"crs": CRS_UTM})
    return da.chunk({"y": chunks[0], "x": chunks[1]}) if chunks else da


@pytest.mark.parametrize("chunks", [None, (7, 13)])
def test_numpy_and_dask_dataarrays_equal_the_file(
    case: tuple, chunks: tuple[int, int] | None
) -> None:  # type: ignore[type-arg]
    path, stored, zones, points = case
    da = dataarray(stored, chunks)
    stats = ["mean", "max", "min", "sum", "count", "frac_above(5)"]
    for coverage in sorted(COVERAGE_RULES):
        ours = zonal_stats(da, zones, stats, coverage=coverage)
        theirs = zonal_stats(path, zones, stats, coverage=coverage)
        np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6, equal_nan=True)
    for method in ("nearest", "bilinear"):
        np.testing.assert_allclose(
            sample(da, points, method=method), sample(path, points, method=method), rtol=1e-6
        )


@pytest.mark.slow  # starts a dask.distributed cluster (about 7 s)
def test_dask_distributed_cluster_gives_the_in_memory_answers(case: tuple) -> None:  # type: ignore[type-arg]
    distributed = pytest.importorskip("distributed")
    path, stored, zones, points = case
    expected = zonal_stats(dataarray(stored), zones, ["mean", "max", "count", "frac_above(5)"])
    expected_points = sample(dataarray(stored), points, method="bilinear")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        import hazardmap.raster.engine as engine

        assert engine.active_client() is client
        got = zonal_stats(path, zones, ["mean", "max", "count", "frac_above(5)"])
        got_points = sample(path, points, method="bilinear")
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(got_points, expected_points, rtol=1e-9)


def test_dask_distributed_sums_do_not_depend_on_which_task_finishes_first(
    case: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distributed = pytest.importorskip("distributed")
    import hazardmap.raster.engine as engine

    path, _, zones, points = case
    strip_rows = 5  # ten windows, so ten partial reductions to merge
    window_task = engine._window_task

    def later_windows_first(*args: Any) -> Any:
        """The task, finishing the sooner the lower its window (completion order reversed)."""
        row0 = args[2][0]
        time.sleep(0.02 * (HEIGHT - row0) / strip_rows)
        return window_task(*args)

    def sums(source: FileSource) -> np.ndarray:
        pixel_zones = to_pixel_space(np.asarray(zones.geometry.values), source.grid)
        zonal_job = ZonalJob(pixel_zones, COVERAGE_RULES["fraction"], (2.5, 7.0))
        pixel_points = points_in_grid(
            points.x.to_numpy(),
            points.y.to_numpy(),
            CRS.from_user_input(CRS_UTM),
            source.grid,
            method="bilinear",
        )
        point_job = PointJob(pixel_points)
        scan(source, [zonal_job], [point_job], strip_rows=strip_rows)
        assert len(engine.plan_windows(source, [zonal_job], [point_job], strip_rows)) > 5
        return np.concatenate(
            [
                zonal_job.weight,
                zonal_job.weighted_sum,
                zonal_job.weight_above.ravel(),
                point_job.total,
                point_job.weight_sum,
            ]
        )

    with FileSource(path) as source:
        in_process = sums(source)
        with (
            distributed.LocalCluster(  # ":0": any free port, other clusters may hold 8787
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster),
        ):
            first = sums(source)
            monkeypatch.setattr(engine, "_window_task", later_windows_first)
            second = sums(source)
    assert first.tobytes() == second.tobytes()
    np.testing.assert_allclose(first, in_process, rtol=1e-12, atol=1e-12)
