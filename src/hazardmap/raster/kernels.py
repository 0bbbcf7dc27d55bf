"""Numba kernels: per-zone cell weights and their reduction, one strip of rows at a time.

Three weighting rules share one reduction:

* ``fraction``: the exact share of each cell the zone covers. Signed-area accumulation,
  as font rasterizers do it: each edge deposits, in the cells of every row it crosses,
  the signed area between itself and the cell's right side; a running sum along the row
  then gives each cell's covered area. Exact for polygons, one pass over the edges.
* ``centre``: 1 for cells whose centre lies inside (GDAL's rasterize rule: at the row's
  centre line, cell c is filled iff floor(xa + 0.5) <= c < floor(xb + 0.5)).
* ``all_touched``: 1 for every cell the zone's interior overlaps (coverage > 0).

The reduction accumulates, per zone: sum of weights, weighted sum, min, max (over cells
with weight > 0 and a value), and the weight of cells at or above each threshold. Strips
of rows are reduced independently and their partial results combine by addition (and
min/max), which is what lets a raster be read window by window, or split across workers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

FRACTION = 0
CENTRE = 1
ALL_TOUCHED = 2
COVERAGE_RULES = {"fraction": FRACTION, "centre": CENTRE, "all_touched": ALL_TOUCHED}

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
    # the accumulation below is written out again in _reduce_centres on purpose: as a
    # shared helper writing to an array, the totals left registers and the pass ran 2x slower
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


@njit(cache=True, nogil=True, parallel=True)
def edge_tables(coords, ring_offsets, zone_ring_offsets):  # type: ignore[no-untyped-def]
    """Every zone's non-horizontal edges, sorted by their top, for the centre rule.

    Returns (edges, counts): zone z's edges are rows [s, s + counts[z]) of ``edges``, where
    s = ring_offsets[zone_ring_offsets[z]] (its first vertex), and each row holds the edge's
    top y, bottom y, x at the top and dx/dy. Built once per zone set and shared by every
    strip and every raster on the grid, so the reduction never sorts.
    """
    n_zones = zone_ring_offsets.size - 1
    edges = np.empty((coords.shape[0], 4))
    counts = np.zeros(n_zones, np.int64)
    for z in prange(n_zones):
        start = ring_offsets[zone_ring_offsets[z]]
        stop = ring_offsets[zone_ring_offsets[z + 1]]
        unsorted = np.empty((stop - start, 4))
        ne = 0
        for ring in range(zone_ring_offsets[z], zone_ring_offsets[z + 1]):
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
                unsorted[ne, 0] = ya
                unsorted[ne, 1] = yb
                unsorted[ne, 2] = xa
                unsorted[ne, 3] = (xb - xa) / (yb - ya)
                ne += 1
        order = np.argsort(unsorted[:ne, 0])
        for i in range(ne):
            edges[start + i] = unsorted[order[i]]
        counts[z] = ne
    return edges, counts


@njit(cache=True, nogil=True)
def _reduce_centres(  # type: ignore[no-untyped-def]
    values,
    local,
    edges,
    first,
    ne,
    top,
    col0,
    rows,
    cols,
    z,
    thresholds,
    above,
    lo,
    hi,
):
    """Cells whose centre is inside (even-odd rule over all rings), reduced span by span.

    ``edges[first:first + ne]`` are the zone's edges sorted by their top (see
    ``edge_tables``); each row keeps an active list (an active-edge table), so the cost is
    rows x active edges plus the cells, not rows x all edges.
    """
    w_sum = 0.0
    wv_sum = 0.0
    n_thr = thresholds.size
    if ne == 0:
        return w_sum, wv_sum, lo, hi
    active = np.empty(ne, np.int64)
    crossings = np.empty(ne)
    n_active = 0
    next_edge = first
    last_edge = first + ne
    col_end = col0 + cols
    for r in range(rows):
        yc = top + r + 0.5
        while next_edge < last_edge and edges[next_edge, 0] <= yc:
            active[n_active] = next_edge
            n_active += 1
            next_edge += 1
        kept = 0
        n = 0
        for i in range(n_active):
            e = active[i]
            if edges[e, 1] > yc:
                active[kept] = e
                kept += 1
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
        row = values[local + r]
        for p in range(0, n - 1, 2):
            c_start = max(col0, int(math.floor(crossings[p] + 0.5)))
            c_stop = min(col_end, int(math.floor(crossings[p + 1] + 0.5)))
            for c in range(c_start, c_stop):
                v = row[c]
                if v != v:
                    continue
                w_sum += 1.0
                wv_sum += v
                if not v >= lo:
                    lo = v
                if not v <= hi:
                    hi = v
                for t in range(n_thr):
                    if v >= thresholds[t]:
                        above[z, t] += 1.0
    return w_sum, wv_sum, lo, hi


@njit(cache=True, nogil=True, parallel=True)
def reduce_strip(  # type: ignore[no-untyped-def]
    values,
    row0,
    coords,
    ring_offsets,
    ring_sign,
    zone_ring_offsets,
    zone_bounds,
    edges,
    edge_counts,
    zones,
    rule,
    thresholds,
    weight,
    weighted,
    vmin,
    vmax,
    above,
):
    """Add the cells of rows [row0, row0 + values.shape[0]) to the running reduction of
    each zone listed in ``zones``.

    ``values`` holds full raster rows (NaN = missing); ``zone_bounds[z]`` is the zone's
    pixel box (col0, row0, col1, row1), already clipped to the raster; ``edges`` and
    ``edge_counts`` come from ``edge_tables`` (the centre rule reads only them, the other
    rules only the rings). Each zone is handled by one thread, so the accumulators need
    no locks.
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
        ring0 = zone_ring_offsets[z]
        ring1 = zone_ring_offsets[z + 1]
        if rule == CENTRE:
            w_sum, wv_sum, lo, hi = _reduce_centres(
                values,
                top - row0,
                edges,
                ring_offsets[ring0],
                edge_counts[z],
                top,
                col0,
                rows,
                cols,
                z,
                thresholds,
                above,
                vmin[z],
                vmax[z],
            )
        else:
            w_sum, wv_sum, lo, hi = _reduce_coverage(
                values,
                top - row0,
                coords,
                ring_offsets,
                ring_sign,
                ring0,
                ring1,
                top,
                col0,
                rows,
                cols,
                rule == ALL_TOUCHED,
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


@njit(cache=True, nogil=True, parallel=True)
def fill_nodata(values, nodata):  # type: ignore[no-untyped-def]
    """Set every cell equal to ``nodata`` to NaN, in place (one parallel pass)."""
    for r in prange(values.shape[0]):
        row = values[r]
        for c in range(row.size):
            if row[c] == nodata:
                row[c] = np.nan


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
