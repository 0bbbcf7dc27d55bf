"""Numba kernels: per-zone cell weights and their reduction, one strip of rows at a time.

Three weighting rules, all reducing to the same per-zone accumulators:

* ``fraction``: the exact share of each cell the zone covers. Signed-area accumulation,
  as font rasterizers do it: each edge deposits, in the cells of every row it crosses,
  the signed area between itself and the cell's right side; a running sum along the row
  then gives each cell's covered area. Exact for polygons, one pass over the edges.
* ``centre``: 1 for cells whose centre lies inside (GDAL's rasterize rule: at the row's
  centre line, cell c is filled iff floor(xa + 0.5) <= c < floor(xb + 0.5)). Its cells
  are turned once into runs along rows (``centre_spans``), reduced row by row
  (``reduce_spans``); the other two rules are reduced zone by zone.
* ``all_touched``: 1 for every cell the zone's interior overlaps (coverage > 0).

The reduction accumulates, per zone: sum of weights, weighted sum, min, max (over cells
with weight > 0 and a value), and the weight of cells at or above each threshold. Strips
of rows are reduced independently and their partial results combine by addition (and
min/max), which is what lets a raster be read window by window, or split across workers.
"""

from __future__ import annotations

import math
import os

# The reduction's threads share the cores with GDAL's decoding threads. GNU OpenMP (numba's
# usual threading layer) lets idle workers spin after each parallel region by default,
# which takes those cycles from the decoder: 0.18-0.22 s against 0.13-0.17 s for the
# county raster with 5,000 zones. Sleeping waiters are the default here; an explicit
# setting wins. It must be set before the OpenMP runtime starts, at the first parallel call.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from enum import IntEnum

import numpy as np
from numba import njit, prange


class Coverage(IntEnum):
    """Which cells count for a zone, and how much (see ``zonal_stats``)."""

    FRACTION = 0
    CENTRE = 1
    ALL_TOUCHED = 2


COVERAGE_RULES = {rule.name.lower(): rule for rule in Coverage}

_MIN_WEIGHT = 1e-12  # below this, a cell is an artefact of rounding, not covered


@njit(cache=True, nogil=True)
def _deposit_edge(acc, x0, y0, x1, y1, sign):  # type: ignore[no-untyped-def]
    """Add one edge's signed area (times ``sign``, its ring's orientation) to ``acc``
    (rows x columns+2), in local pixel space.

    Rows outside [0, rows) are skipped; the edge's x is advanced to the first row kept.
    """
    if y0 == y1:
        return
    direction = sign
    if y0 > y1:
        x0, y0, x1, y1 = x1, y1, x0, y0
        direction = -sign
    rows = acc.shape[0]
    row_start = max(0, int(math.floor(y0)))
    row_end = min(rows, int(math.ceil(y1)))
    if row_start >= row_end:
        return
    dxdy = (x1 - x0) / (y1 - y0)
    x = x0 + dxdy * (max(y0, float(row_start)) - y0)
    for r in range(row_start, row_end):
        dy = min(r + 1.0, y1) - max(float(r), y0)
        x_next = x + dxdy * dy
        d = dy * direction
        xa, xb = (x, x_next) if x < x_next else (x_next, x)
        xa_floor = math.floor(xa)
        ia = int(xa_floor)
        xb_ceil = math.ceil(xb)
        ib = int(xb_ceil)
        if ib <= ia + 1:
            mid = 0.5 * (x + x_next) - xa_floor
            acc[r, ia] += d - d * mid
            acc[r, ia + 1] += d * mid
        else:
            inv_width = 1.0 / (xb - xa)
            fa = xa - xa_floor
            area_first = 0.5 * inv_width * (1.0 - fa) * (1.0 - fa)
            fb = xb - xb_ceil + 1.0
            area_last = 0.5 * inv_width * fb * fb
            acc[r, ia] += d * area_first
            if ib == ia + 2:
                acc[r, ia + 1] += d * (1.0 - area_first - area_last)
            else:
                area_second = inv_width * (1.5 - fa)
                acc[r, ia + 1] += d * (area_second - area_first)
                for c in range(ia + 2, ib - 1):
                    acc[r, c] += d * inv_width
                area_before_last = area_second + (ib - ia - 3) * inv_width
                acc[r, ib - 1] += d * (1.0 - area_before_last - area_last)
            acc[r, ib] += d * area_last
        x = x_next


@njit(cache=True, nogil=True)
def _reduce_coverage(  # type: ignore[no-untyped-def]
    values,
    local,
    coords,
    ring_offsets,
    ring_sign,
    ring0,
    ring1,
    top,
    col0,
    rows,
    cols,
    all_touched,
    z,
    thresholds,
    above,
    lo,
    hi,
):
    """Signed-area coverage of the zone's cells in rows [top, top + rows), reduced on the fly
    (``local`` is the strip row of ``top``)."""
    acc = np.zeros((rows, cols + 2))
    for ring in range(ring0, ring1):
        for k in range(ring_offsets[ring], ring_offsets[ring + 1] - 1):
            _deposit_edge(
                acc,
                coords[k, 0] - col0,
                coords[k, 1] - top,
                coords[k + 1, 0] - col0,
                coords[k + 1, 1] - top,
                ring_sign[ring],
            )
    # the accumulation stays inline: as a helper writing its totals to an array, they
    # left registers and the pass ran 2x slower
    w_sum = 0.0
    wv_sum = 0.0
    n_thr = thresholds.size
    for r in range(rows):
        running = 0.0
        row = values[local + r]
        for c in range(cols):
            running += acc[r, c]
            w = abs(running)
            if w <= _MIN_WEIGHT:
                continue
            v = row[col0 + c]
            if v != v:
                continue
            if all_touched or w > 1.0:
                w = 1.0
            w_sum += w
            wv_sum += w * v
            if not v >= lo:
                lo = v
            if not v <= hi:
                hi = v
            for t in range(n_thr):
                if v >= thresholds[t]:
                    above[z, t] += w
    return w_sum, wv_sum, lo, hi


@njit(cache=True, nogil=True)
def _span_bound(coords, ring_offsets, ring0, ring1):  # type: ignore[no-untyped-def]
    """An upper bound on the zone's centre spans: half its edge-row crossings."""
    crossings = 0
    for ring in range(ring0, ring1):
        for k in range(ring_offsets[ring], ring_offsets[ring + 1] - 1):
            ya = coords[k, 1]
            yb = coords[k + 1, 1]
            lo = min(ya, yb)
            hi = max(ya, yb)
            crossings += max(0, int(math.ceil(hi - 0.5)) - int(math.ceil(lo - 0.5)))
    return crossings // 2


@njit(cache=True, nogil=True)
def _zone_centre_spans(  # type: ignore[no-untyped-def]
    coords, ring_offsets, ring0, ring1, row_lo, row_hi, width, scratch, rows, c0, c1, slot
):
    """Write the zone's runs of cells whose centre is inside (even-odd rule over all
    rings), for rows [row_lo, row_hi), to rows/c0/c1 from ``slot`` on; return how many.

    An active-edge table: edges are bucketed by the first row whose centre line they
    cross, and each row keeps the edges crossing its centre line, so the cost is
    edges + rows x active edges. ``scratch`` holds buffers big enough for the zone.
    """
    edges, first_row, by_row, bucket_start, active, crossings = scratch
    n_rows = row_hi - row_lo
    if n_rows <= 0:
        return 0
    bucket_start[: n_rows + 2] = 0
    ne = 0
    for ring in range(ring0, ring1):
        for k in range(ring_offsets[ring], ring_offsets[ring + 1] - 1):
            ya = coords[k, 1]
            yb = coords[k + 1, 1]
            if ya == yb:
                continue
            xa = coords[k, 0]
            xb = coords[k + 1, 0]
            if ya > yb:
                ya, yb = yb, ya
                xa, xb = xb, xa
            edges[ne, 0] = ya
            edges[ne, 1] = yb
            edges[ne, 2] = xa
            edges[ne, 3] = (xb - xa) / (yb - ya)
            first = min(max(int(math.ceil(ya - 0.5)) - row_lo, 0), n_rows)
            first_row[ne] = first
            bucket_start[first + 1] += 1
            ne += 1
    for r in range(n_rows + 1):
        bucket_start[r + 1] += bucket_start[r]
    for e in range(ne):  # a counting sort of the edges by their first row
        by_row[bucket_start[first_row[e]]] = e
        bucket_start[first_row[e]] += 1
    n_active = 0
    next_edge = 0
    n_spans = 0
    for r in range(n_rows):
        yc = row_lo + r + 0.5
        while next_edge < ne and first_row[by_row[next_edge]] <= r:
            active[n_active] = by_row[next_edge]
            n_active += 1
            next_edge += 1
        kept = 0
        n = 0
        for i in range(n_active):
            e = active[i]
            if edges[e, 1] > yc:
                active[kept] = e
                kept += 1
                if edges[e, 0] <= yc:
                    crossings[n] = (yc - edges[e, 0]) * edges[e, 3] + edges[e, 2]
                    n += 1
        n_active = kept
        for i in range(1, n):  # insertion sort: a handful of crossings per row
            v = crossings[i]
            j = i - 1
            while j >= 0 and crossings[j] > v:
                crossings[j + 1] = crossings[j]
                j -= 1
            crossings[j + 1] = v
        for p in range(0, n - 1, 2):
            c_start = max(0, int(math.floor(crossings[p] + 0.5)))
            c_stop = min(width, int(math.floor(crossings[p + 1] + 0.5)))
            if c_stop > c_start:
                rows[slot + n_spans] = row_lo + r
                c0[slot + n_spans] = c_start
                c1[slot + n_spans] = c_stop
                n_spans += 1
    return n_spans


@njit(cache=True, nogil=True, parallel=True)
def centre_spans(  # type: ignore[no-untyped-def]
    coords, ring_offsets, zone_ring_offsets, zone_bounds, order, width, height
):
    """Every zone's cells under the centre rule as runs along rows, in row order; runs in
    one row follow the zones' ``order`` (a spatial order keeps them west to east).

    Returns (row_offsets, c0, c1, zone): the runs of row r are
    [row_offsets[r], row_offsets[r + 1]); run i covers columns [c0[i], c1[i]) of zone[i].
    This is the zones' label raster, run-length encoded: it depends on the geometry and
    the grid only, so every raster on that grid reuses it, and a reduction walks the
    raster in memory order.
    """
    n_zones = zone_ring_offsets.size - 1
    slots = np.zeros(n_zones + 1, np.int64)
    for z in prange(n_zones):
        slots[z + 1] = _span_bound(
            coords, ring_offsets, zone_ring_offsets[z], zone_ring_offsets[z + 1]
        )
    slots = np.cumsum(slots)
    rows = np.empty(slots[-1], np.int32)
    c0 = np.empty(slots[-1], np.int32)
    c1 = np.empty(slots[-1], np.int32)
    counts = np.zeros(n_zones, np.int64)
    n_chunks = min(n_zones, 64)
    chunk_zones = np.linspace(0, n_zones, n_chunks + 1).astype(np.int64)
    for chunk in prange(n_chunks):  # one set of scratch buffers per chunk of zones
        max_edges = 1
        max_rows = 1
        for z in range(chunk_zones[chunk], chunk_zones[chunk + 1]):
            n_coords = ring_offsets[zone_ring_offsets[z + 1]] - ring_offsets[zone_ring_offsets[z]]
            max_edges = max(max_edges, n_coords)
            max_rows = max(max_rows, zone_bounds[z, 3] - zone_bounds[z, 1])
        scratch = (
            np.empty((max_edges, 4)),
            np.empty(max_edges, np.int64),
            np.empty(max_edges, np.int64),
            np.empty(max_rows + 2, np.int64),
            np.empty(max_edges, np.int64),
            np.empty(max_edges),
        )
        for z in range(chunk_zones[chunk], chunk_zones[chunk + 1]):
            counts[z] = _zone_centre_spans(
                coords,
                ring_offsets,
                zone_ring_offsets[z],
                zone_ring_offsets[z + 1],
                zone_bounds[z, 1],
                zone_bounds[z, 3],
                width,
                scratch,
                rows,
                c0,
                c1,
                slots[z],
            )
    # counting sort by row, in parallel over chunks of zones taken in ``order``; within a
    # row, runs end up in ``order`` whatever the chunking
    n_chunks = 8
    bounds = np.linspace(0, n_zones, n_chunks + 1).astype(np.int64)
    per_chunk = np.zeros((n_chunks, height + 1), np.int64)
    for chunk in prange(n_chunks):
        for k in range(bounds[chunk], bounds[chunk + 1]):
            z = order[k]
            for i in range(slots[z], slots[z] + counts[z]):
                per_chunk[chunk, rows[i]] += 1
    row_offsets = np.zeros(height + 1, np.int64)
    position = 0
    for r in range(height):
        row_offsets[r] = position
        for chunk in range(n_chunks):
            runs_here = per_chunk[chunk, r]
            per_chunk[chunk, r] = position  # now where this chunk's runs of row r go
            position += runs_here
    row_offsets[height] = position
    sorted_c0 = np.empty(position, np.int32)
    sorted_c1 = np.empty(position, np.int32)
    zone = np.empty(position, np.int32)
    for chunk in prange(n_chunks):
        fill = per_chunk[chunk]
        for k in range(bounds[chunk], bounds[chunk + 1]):
            z = order[k]
            for i in range(slots[z], slots[z] + counts[z]):
                j = fill[rows[i]]
                fill[rows[i]] += 1
                sorted_c0[j] = c0[i]
                sorted_c1[j] = c1[i]
                zone[j] = z
    return row_offsets, sorted_c0, sorted_c1, zone


@njit(cache=True, nogil=True, parallel=True)
def reduce_spans(  # type: ignore[no-untyped-def]
    values,
    row0,
    row_offsets,
    span_c0,
    span_c1,
    span_zone,
    thresholds,
    weight,
    weighted,
    vmin,
    vmax,
    above,
):
    """Add the runs of rows [row0, row0 + values.shape[0]) (from ``centre_spans``) to the
    zones' running reduction: rows in parallel, in memory order, each run's partial result
    kept apart; then the partials are added to their zones in run order, so the result
    does not depend on the number of threads.
    """
    strip_rows = values.shape[0]
    first = row_offsets[row0]
    n = row_offsets[row0 + strip_rows] - first
    n_thr = thresholds.size
    count = np.empty(n)
    total = np.empty(n)
    lows = np.empty(n)
    highs = np.empty(n)
    run_above = np.zeros((n, n_thr))
    for r in prange(strip_rows):
        row = values[r]
        for i in range(row_offsets[row0 + r], row_offsets[row0 + r + 1]):
            k = i - first
            w_sum = 0.0
            v_sum = 0.0
            lo = np.inf
            hi = -np.inf
            # selects, not branches: twice as fast as skipping missing cells with `continue`
            for c in range(span_c0[i], span_c1[i]):
                v = row[c]
                valid = v == v
                w_sum += 1.0 if valid else 0.0
                v_sum += v if valid else 0.0
                lo = min(lo, v) if valid else lo
                hi = max(hi, v) if valid else hi
            for t in range(n_thr):
                for c in range(span_c0[i], span_c1[i]):
                    if row[c] >= thresholds[t]:
                        run_above[k, t] += 1.0
            count[k] = w_sum
            total[k] = v_sum
            lows[k] = lo
            highs[k] = hi
    for k in range(n):
        if count[k] == 0.0:
            continue
        z = span_zone[first + k]
        weight[z] += count[k]
        weighted[z] += total[k]
        if not lows[k] >= vmin[z]:
            vmin[z] = lows[k]
        if not highs[k] <= vmax[z]:
            vmax[z] = highs[k]
        for t in range(n_thr):
            above[z, t] += run_above[k, t]


@njit(cache=True, nogil=True, parallel=True)
def reduce_coverage_strip(  # type: ignore[no-untyped-def]
    values,
    row0,
    coords,
    ring_offsets,
    ring_sign,
    zone_ring_offsets,
    zone_bounds,
    zones,
    all_touched,
    thresholds,
    weight,
    weighted,
    vmin,
    vmax,
    above,
):
    """Add the cells of rows [row0, row0 + values.shape[0]) to the running reduction of
    each zone listed in ``zones``, weighted by coverage (``fraction``, or 1 for every
    touched cell with ``all_touched``).

    ``values`` holds full raster rows (NaN = missing); ``zone_bounds[z]`` is the zone's
    pixel box (col0, row0, col1, row1), already clipped to the raster. Each zone is
    handled by one thread, so the accumulators need no locks.
    """
    strip_rows = values.shape[0]
    for k in prange(zones.size):
        z = zones[k]
        col0 = zone_bounds[z, 0]
        cols = zone_bounds[z, 2] - col0
        top = max(zone_bounds[z, 1], row0)
        rows = min(zone_bounds[z, 3], row0 + strip_rows) - top
        if rows <= 0 or cols <= 0:
            continue
        w_sum, wv_sum, lo, hi = _reduce_coverage(
            values,
            top - row0,
            coords,
            ring_offsets,
            ring_sign,
            zone_ring_offsets[z],
            zone_ring_offsets[z + 1],
            top,
            col0,
            rows,
            cols,
            all_touched,
            z,
            thresholds,
            above,
            vmin[z],
            vmax[z],
        )
        weight[z] += w_sum
        weighted[z] += wv_sum
        vmin[z] = lo
        vmax[z] = hi


@njit(cache=True, nogil=True)
def gather_strip(values, row0, col0, rows, cols, weights, points, total, weight_sum):  # type: ignore[no-untyped-def]
    """For each entry i whose cell (rows[i], cols[i]) lies in ``values`` (raster rows
    [row0, row0 + h), columns [col0, col0 + w)) and holds a value, add weights[i] times
    that value to total[points[i]] and weights[i] to weight_sum[points[i]].

    Nearest sampling has one entry per point, bilinear four.
    """
    height, width = values.shape
    for i in range(rows.size):
        r = rows[i] - row0
        c = cols[i] - col0
        if r < 0 or r >= height or c < 0 or c >= width:
            continue
        v = values[r, c]
        if v == v and weights[i] > 0.0:
            total[points[i]] += weights[i] * v
            weight_sum[points[i]] += weights[i]


@njit(cache=True, nogil=True)
def strip_extents(rows, cols, strip_rows, n_strips):  # type: ignore[no-untyped-def]
    """Per strip of ``strip_rows`` rows: the first and one-past-last column any entry uses
    (first > last where the strip has no entry)."""
    first = np.full(n_strips, np.iinfo(np.int64).max)
    last = np.zeros(n_strips, np.int64)
    for i in range(rows.size):
        s = rows[i] // strip_rows
        first[s] = min(first[s], cols[i])
        last[s] = max(last[s], cols[i] + 1)
    return first, last


@njit(cache=True, nogil=True)
def fill_missing(values, nodata, extra_nodata):  # type: ignore[no-untyped-def]
    """Set every cell equal to ``nodata`` or ``extra_nodata`` (NaN for "none": it equals
    nothing), and every infinite cell, to NaN, in place: all the missing-value rules in one
    pass over the strip.

    One thread on purpose: it runs in the read-ahead thread, beside the reduction's
    parallel region, and a second thread team there would oversubscribe the cores.
    """
    for r in range(values.shape[0]):
        row = values[r]
        for c in range(row.size):
            v = row[c]
            # v - v is 0 for finite v and NaN for +-inf (and NaN): no branch per rule
            row[c] = np.nan if (v - v != 0.0) | (v == nodata) | (v == extra_nodata) else v


@njit(cache=True, nogil=True, parallel=True)
def to_pixel_coords(coords, a, c, e, f, width, height):  # type: ignore[no-untyped-def]
    """Map coordinates to pixel space (column = a*x + c, row = e*y + f), clamped to the
    grid: zones clipped to the raster land within an ulp of its edge, never beyond."""
    out = np.empty((coords.shape[0], 2))
    for i in prange(coords.shape[0]):
        out[i, 0] = min(max(a * coords[i, 0] + c, 0.0), width)
        out[i, 1] = min(max(e * coords[i, 1] + f, 0.0), height)
    return out


@njit(cache=True, nogil=True)
def ring_signs(coords, ring_offsets, shell):  # type: ignore[no-untyped-def]
    """+1 or -1 per ring, so that every shell times its sign winds one way and every hole
    the other (shoelace area, taken about the ring's first vertex for precision)."""
    n = ring_offsets.size - 1
    signs = np.empty(n)
    for k in range(n):
        first = ring_offsets[k]
        x0 = coords[first, 0] if ring_offsets[k + 1] > first else 0.0
        y0 = coords[first, 1] if ring_offsets[k + 1] > first else 0.0
        area = 0.0
        for i in range(first, ring_offsets[k + 1] - 1):
            area += (coords[i, 0] - x0) * (coords[i + 1, 1] - y0) - (coords[i + 1, 0] - x0) * (
                coords[i, 1] - y0
            )
        orientation = 1.0 if area >= 0.0 else -1.0
        signs[k] = orientation if shell[k] else -orientation
    return signs


@njit(cache=True, nogil=True)
def zone_boxes(coords, ring_offsets, zone_ring_offsets, width, height):  # type: ignore[no-untyped-def]
    """Each zone's cell box (col0, row0, col1, row1) in pixel space; zeros for zones
    without rings."""
    n = zone_ring_offsets.size - 1
    boxes = np.zeros((n, 4), np.int64)
    for z in range(n):
        start = ring_offsets[zone_ring_offsets[z]]
        stop = ring_offsets[zone_ring_offsets[z + 1]]
        if stop <= start:
            continue
        xmin = coords[start, 0]
        xmax = xmin
        ymin = coords[start, 1]
        ymax = ymin
        for i in range(start + 1, stop):
            xmin = min(xmin, coords[i, 0])
            xmax = max(xmax, coords[i, 0])
            ymin = min(ymin, coords[i, 1])
            ymax = max(ymax, coords[i, 1])
        boxes[z, 0] = int(math.floor(xmin))
        boxes[z, 1] = int(math.floor(ymin))
        boxes[z, 2] = min(int(math.ceil(xmax)), width)
        boxes[z, 3] = min(int(math.ceil(ymax)), height)
    return boxes


@njit(cache=True, nogil=True)
def fill_missing_scaled(values, nodata, extra_nodata, scale, offset):  # type: ignore[no-untyped-def]
    """``fill_missing`` for a band with a GDAL scale and offset, in the same pass: the
    missing rules compare the stored values (``values`` holds them as floats), then every
    other cell becomes ``stored * scale + offset``, computed in float64 and rounded once
    to the type of ``values``.
    """
    for r in range(values.shape[0]):
        row = values[r]
        for c in range(row.size):
            v = row[c]
            if (v - v != 0.0) | (v == nodata) | (v == extra_nodata):
                row[c] = np.nan
            else:
                row[c] = np.float64(v) * scale + offset
