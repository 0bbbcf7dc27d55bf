"""The strip engine: read a raster once, strip by strip, and feed every request.

Zonal requests (zones in the raster's pixel space, a coverage rule, thresholds) and point
requests (cell entries) share the reads. The next strips are read while one is reduced
(a read-ahead of READ_AHEAD strips), so decoding and reduction overlap, and memory holds
READ_AHEAD + 1 strips at most whatever the raster's size. With a ``dask.distributed``
client active, a file raster is split into tasks by strips instead: each task reads its
own window on a worker and returns partial reductions (sums, counts, minima, maxima per
zone), which are combined here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hazardmap.cluster import active_client
from hazardmap.raster import kernels
from hazardmap.raster.geometry import PixelPoints, PixelZones
from hazardmap.raster.kernels import Coverage
from hazardmap.raster.source import FileSource, RasterSource, SourceOptions

STRIP_PIXELS = 4_000_000
"""Cells per strip: 16 MB as float32."""

READ_AHEAD = 2
"""Strips read ahead of the one being reduced. Two keep the decoder busy while the zones
are prepared (single-threaded work that would otherwise leave a core idle); memory holds
READ_AHEAD + 1 strips, whatever the raster's size."""


@dataclass(frozen=True)
class ZoneReduction:
    """What the kernel returns per zone; every statistic is derived from it."""

    weight: np.ndarray
    weighted_sum: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    weight_above: np.ndarray
    thresholds: tuple[float, ...]

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.weighted_sum / self.weight, np.nan)

    def frac_above(self, threshold: float) -> np.ndarray:
        column = self.thresholds.index(threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.weight_above[:, column] / self.weight, np.nan)


@dataclass
class ZonalJob:
    """A running zonal reduction: zones, rule, thresholds, and the accumulators, named as
    in the ZoneReduction they become."""

    zones: PixelZones
    rule: Coverage
    thresholds: tuple[float, ...] = ()
    weight: np.ndarray = field(init=False)
    weighted_sum: np.ndarray = field(init=False)
    minimum: np.ndarray = field(init=False)
    maximum: np.ndarray = field(init=False)
    weight_above: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = self.zones.n_zones
        self.weight = np.zeros(n)
        self.weighted_sum = np.zeros(n)
        self.minimum = np.full(n, np.nan)
        self.maximum = np.full(n, np.nan)
        self.weight_above = np.zeros((n, len(self.thresholds)))

    @property
    def accumulators(self) -> tuple[np.ndarray, ...]:
        return (self.weight, self.weighted_sum, self.minimum, self.maximum, self.weight_above)

    def prepare(self) -> None:
        """Build the labels the rule needs up front (otherwise the first strip does)."""
        if self.rule == Coverage.CENTRE:
            self.zones.centre_spans  # noqa: B018 (a cached property, computed once)

    def add_strip(self, values: np.ndarray, row0: int, zones: np.ndarray | None = None) -> None:
        """Reduce rows [row0, row0 + len(values)) (full raster width) into the accumulators;
        ``zones`` lists the zones with cells in those rows, when the caller knows them."""
        z = self.zones
        thresholds = np.asarray(self.thresholds, dtype=np.float64)
        if self.rule == Coverage.CENTRE:
            kernels.reduce_spans(values, row0, *z.centre_spans, thresholds, *self.accumulators)
            return
        if zones is None:
            zones = z.zones_in_rows(row0, row0 + values.shape[0])
        if zones.size == 0:
            return
        kernels.reduce_coverage_strip(
            values,
            row0,
            z.coords,
            z.ring_offsets,
            z.ring_sign,
            z.zone_ring_offsets,
            z.bounds,
            zones,
            self.rule == Coverage.ALL_TOUCHED,
            thresholds,
            *self.accumulators,
        )

    def partial(self, zones: np.ndarray) -> tuple[np.ndarray, ...]:
        """The accumulators of ``zones`` only (what a worker sends back)."""
        return (zones, *(accumulator[zones] for accumulator in self.accumulators))

    def merge(self, partial: tuple[np.ndarray, ...]) -> None:
        zones, weight, weighted_sum, minimum, maximum, weight_above = partial
        self.weight[zones] += weight
        self.weighted_sum[zones] += weighted_sum
        self.minimum[zones] = np.fmin(self.minimum[zones], minimum)
        self.maximum[zones] = np.fmax(self.maximum[zones], maximum)
        self.weight_above[zones] += weight_above

    def result(self) -> ZoneReduction:
        covered = self.weight > 0
        return ZoneReduction(
            weight=self.weight,
            weighted_sum=self.weighted_sum,
            minimum=np.where(covered, self.minimum, np.nan),
            maximum=np.where(covered, self.maximum, np.nan),
            weight_above=self.weight_above,
            thresholds=self.thresholds,
        )


@dataclass
class PointJob:
    """A running point sampling: cell entries and, per point, weighted value sums."""

    points: PixelPoints
    total: np.ndarray = field(init=False)
    weight_sum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.total = np.zeros(self.points.n_points)
        self.weight_sum = np.zeros(self.points.n_points)

    def extents(self, strip_rows: int, n_strips: int) -> tuple[np.ndarray, np.ndarray]:
        """Per strip, the first and one-past-last column its entries use."""
        first, last = kernels.strip_extents(
            self.points.rows, self.points.cols, strip_rows, n_strips
        )
        return first, last

    def add_strip(self, values: np.ndarray, row0: int, col0: int) -> None:
        p = self.points
        kernels.gather_strip(
            values, row0, col0, p.rows, p.cols, p.weights, p.points, self.total, self.weight_sum
        )

    def partial(self) -> tuple[np.ndarray, ...]:
        touched = np.flatnonzero(self.weight_sum)
        return touched, self.total[touched], self.weight_sum[touched]

    def merge(self, partial: tuple[np.ndarray, ...]) -> None:
        touched, total, weight_sum = partial
        self.total[touched] += total
        self.weight_sum[touched] += weight_sum

    def result(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight_sum > 0, self.total / self.weight_sum, np.nan)


Window = tuple[int, int, int, int]  # row0, row1, col0, col1


def plan_windows(
    source: RasterSource,
    zonal: Sequence[ZonalJob],
    points: Sequence[PointJob],
    strip_rows: int | None = None,
) -> list[Window]:
    """The strips to read: full-width strips where zones need them; where only points do,
    just the columns their entries use. ``strip_rows`` defaults to about STRIP_PIXELS
    cells, aligned with the raster's blocks."""
    height = source.grid.height
    width = source.grid.width
    step = strip_rows or source.strip_rows(STRIP_PIXELS)
    n_strips = -(-height // step)
    first = np.full(n_strips, np.iinfo(np.int64).max)
    last = np.zeros(n_strips, np.int64)
    for job in points:
        job_first, job_last = job.extents(step, n_strips)
        np.minimum(first, job_first, out=first)
        np.maximum(last, job_last, out=last)
    windows: list[Window] = []
    for s, row0 in enumerate(range(0, height, step)):
        row1 = min(height, row0 + step)
        if any(job.zones.zones_in_rows(row0, row1).size for job in zonal):
            windows.append((row0, row1, 0, width))
        elif first[s] < last[s]:
            windows.append((row0, row1, int(first[s]), int(last[s])))
    return windows


class StripReader:
    """Reads a source's windows in a background thread, READ_AHEAD ahead of their use.

    A window can also be asked for early (``prefetch``), so that decoding starts while the
    caller still prepares its zones.
    """

    def __init__(self, source: RasterSource) -> None:
        self.source = source
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: dict[Window, Future[np.ndarray]] = {}

    def prefetch(self, window: Window) -> None:
        if window not in self._pending:
            self._pending[window] = self._pool.submit(self.source.read, *_read_args(window))

    def read_all(self, windows: list[Window]) -> Iterator[tuple[Window, np.ndarray]]:
        """Each window's values, in order, the next READ_AHEAD ones being read meanwhile."""
        for window in windows[:READ_AHEAD]:
            self.prefetch(window)
        for i, window in enumerate(windows):
            if i + READ_AHEAD < len(windows):
                self.prefetch(windows[i + READ_AHEAD])
            values = self._pending.pop(window).result()
            yield window, values

    def close(self) -> None:
        for pending in self._pending.values():
            pending.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> StripReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def leading_windows(source: RasterSource, bounds: np.ndarray) -> list[Window]:
    """The first READ_AHEAD strips a zonal scan will read, for zones with these total
    ``bounds`` (minx, miny, maxx, maxy in the raster's CRS); none when they miss it."""
    if not np.isfinite(bounds).all():
        return []
    inv = ~source.grid.transform
    rows = sorted(inv.e * y + inv.f for y in (bounds[1], bounds[3]))
    height = source.grid.height
    top = int(np.clip(np.floor(rows[0]), 0, height))
    bottom = int(np.clip(np.ceil(rows[1]), 0, height))
    step = source.strip_rows(STRIP_PIXELS)
    starts = range(top // step * step, bottom, step)[:READ_AHEAD]
    return [(row0, min(height, row0 + step), 0, source.grid.width) for row0 in starts]


def _read_args(window: Window) -> tuple[int, int, int, int]:
    row0, row1, col0, col1 = window
    return row0, row1, col0, col1


def scan(
    source: RasterSource,
    zonal: Sequence[ZonalJob] = (),
    points: Sequence[PointJob] = (),
    *,
    strip_rows: int | None = None,
    reader: StripReader | None = None,
) -> None:
    """Read the raster once and feed every job (in place); ``reader`` may already be
    reading the first windows (see ``leading_windows``)."""
    windows = plan_windows(source, zonal, points, strip_rows)
    client = active_client()
    if client is not None and isinstance(source, FileSource):
        _scan_distributed(client, source, windows, zonal, points)
        return
    with reader or StripReader(source) as strips:
        for window, values in strips.read_all(windows):
            row0, _, col0, _ = window
            for zonal_job in zonal:
                zonal_job.add_strip(values, row0)
            for point_job in points:
                point_job.add_strip(values, row0, col0)


WindowParts = tuple[list[tuple[np.ndarray, ...]], list[tuple[np.ndarray, ...]]]
"""A window's partial reductions: one per zonal job, one per point job."""


def _window_task(
    path: str,
    options: SourceOptions,
    window: Window,
    specs: tuple[list[tuple[PixelZones, Coverage, tuple[float, ...]]], list[PixelPoints]],
) -> WindowParts:
    """On a worker: read one window, with the source's options, and return the partial
    reductions it yields."""
    from pathlib import Path

    zonal_specs, point_specs = specs
    row0, row1, col0, _ = window
    with FileSource.from_options(Path(path), options) as source:
        values = source.read(*_read_args(window))
    zonal_parts = []
    for zones, rule, thresholds in zonal_specs:
        job = ZonalJob(zones, rule, thresholds)
        touched = zones.zones_in_rows(row0, row1)
        job.add_strip(values, row0, touched)
        zonal_parts.append(job.partial(touched))
    point_parts = []
    for pixel_points in point_specs:
        point_job = PointJob(pixel_points)
        point_job.add_strip(values, row0, col0)
        point_parts.append(point_job.partial())
    return zonal_parts, point_parts


def _scan_distributed(
    client: Any,
    source: FileSource,
    windows: list[Window],
    zonal: Sequence[ZonalJob],
    points: Sequence[PointJob],
) -> None:
    from distributed import as_completed

    for job in zonal:
        job.prepare()  # here once, not in every task
    # one object holding every job's geometry, sent once to each worker; under a key of its
    # own (hash=False): a content key is shared with the same geometry scattered by an earlier
    # scan, whose release would then remove it while this scan still needs it
    [specs] = client.scatter(
        [
            (
                [(job.zones, job.rule, job.thresholds) for job in zonal],
                [job.points for job in points],
            )
        ],
        broadcast=True,
        hash=False,
    )
    futures = [
        client.submit(_window_task, str(source.path), source.options, window, specs, pure=False)
        for window in windows
    ]
    # Merged in window order, so that float sums do not depend on which task finished
    # first; each result is merged as soon as every earlier one is, and only those that
    # finished ahead of an earlier window wait here.
    position = {future.key: i for i, future in enumerate(futures)}
    waiting: dict[int, WindowParts] = {}
    merged = 0
    for future in as_completed(futures):
        waiting[position[future.key]] = future.result()
        future.release()  # its result is held here now, no longer on a worker
        while merged in waiting:
            _merge_window(waiting.pop(merged), zonal, points)
            merged += 1


def _merge_window(
    parts: WindowParts, zonal: Sequence[ZonalJob], points: Sequence[PointJob]
) -> None:
    zonal_parts, point_parts = parts
    for job, part in zip(zonal, zonal_parts, strict=True):
        job.merge(part)
    for point_job, point_part in zip(points, point_parts, strict=True):
        point_job.merge(point_part)
