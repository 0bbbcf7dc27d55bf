"""Numba kernels: per-zone cell weights and their reduction, in one pass over each zone.

Three weighting rules share one reduction:

* ``fraction``: the exact share of each cell the zone covers. Signed-area accumulation,
  as font rasterizers do it: each edge deposits, in the cells of every row it crosses,
  the signed area between itself and the cell's right side; a running sum along the row
  then gives each cell's covered area. Exact for polygons, one pass over the edges.
* ``centre``: 1 for cells whose centre lies inside (GDAL's rasterize rule: at the row's
  centre line, cell c is filled iff floor(xa + 0.5) <= c < floor(xb + 0.5)).
* ``all_touched``: 1 for every cell the zone's interior overlaps (coverage > 0).

The reduction gives, per zone: sum of weights, weighted sum, min, max (over cells with
weight > 0 and a value), and the weight of cells at or above each threshold.
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
def _deposit_edge(acc, x0, y0, x1, y1):  # type: ignore[no-untyped-def]
    """Add one edge's signed area to ``acc`` (rows x columns+2), in local pixel space."""
    if y0 == y1:
        return
    direction = 1.0
    if y0 > y1:
        x0, y0, x1, y1 = x1, y1, x0, y0
        direction = -1.0
    rows = acc.shape[0]
    dxdy = (x1 - x0) / (y1 - y0)
    x = x0
    row_start = max(0, int(math.floor(y0)))
    row_end = min(rows, int(math.ceil(y1)))
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
def _coverage(coords, ring_offsets, ring0, ring1, row0, col0, rows, cols):  # type: ignore[no-untyped-def]
    """Covered share of each cell of the window [row0, row0+rows) x [col0, col0+cols)."""
    acc = np.zeros((rows, cols + 2))
    for ring in range(ring0, ring1):
        for k in range(ring_offsets[ring], ring_offsets[ring + 1] - 1):
            _deposit_edge(
                acc,
                coords[k, 0] - col0,
                coords[k, 1] - row0,
                coords[k + 1, 0] - col0,
                coords[k + 1, 1] - row0,
            )
    cover = np.empty((rows, cols))
    for r in range(rows):
        running = 0.0
        for c in range(cols):
            running += acc[r, c]
            w = abs(running)
            cover[r, c] = 1.0 if w > 1.0 else (w if w > _MIN_WEIGHT else 0.0)
    return cover


@njit(cache=True, nogil=True)
def _centres_inside(coords, ring_offsets, ring0, ring1, row0, col0, rows, cols):  # type: ignore[no-untyped-def]
    """1 for cells of the window whose centre is inside (even-odd rule over all rings)."""
    inside = np.zeros((rows, cols))
    n_edges = ring_offsets[ring1] - ring_offsets[ring0]
    crossings = np.empty(max(n_edges, 1))
    for r in range(rows):
        yc = row0 + r + 0.5
        n = 0
        for ring in range(ring0, ring1):
            for k in range(ring_offsets[ring], ring_offsets[ring + 1] - 1):
                ya = coords[k, 1]
                yb = coords[k + 1, 1]
                xa = coords[k, 0]
                xb = coords[k + 1, 0]
                if ya > yb:
                    ya, yb = yb, ya
                    xa, xb = xb, xa
                if ya <= yc < yb:
                    crossings[n] = (yc - ya) * (xb - xa) / (yb - ya) + xa
                    n += 1
        xs = np.sort(crossings[:n])
        for p in range(0, n - 1, 2):
            c_start = max(0, int(math.floor(xs[p] + 0.5)) - col0)
            c_stop = min(cols, int(math.floor(xs[p + 1] + 0.5)) - col0)
            for c in range(c_start, c_stop):
                inside[r, c] = 1.0
    return inside


@njit(cache=True, nogil=True, parallel=True)
def reduce_zones(values, coords, ring_offsets, zone_ring_offsets, rule, thresholds):  # type: ignore[no-untyped-def]
    """Per zone: weight sum, weighted value sum, min, max, weight at or above each threshold.

    ``values`` is the whole band (NaN = missing); zones are in its pixel space.
    """
    n_zones = zone_ring_offsets.size - 1
    n_thr = thresholds.size
    weight = np.zeros(n_zones)
    weighted = np.zeros(n_zones)
    vmin = np.full(n_zones, np.nan)
    vmax = np.full(n_zones, np.nan)
    above = np.zeros((n_zones, n_thr))
    for z in prange(n_zones):
        ring0 = zone_ring_offsets[z]
        ring1 = zone_ring_offsets[z + 1]
        if ring0 == ring1:
            continue
        first = ring_offsets[ring0]
        last = ring_offsets[ring1]
        xmin = coords[first:last, 0].min()
        xmax = coords[first:last, 0].max()
        ymin = coords[first:last, 1].min()
        ymax = coords[first:last, 1].max()
        col0 = int(math.floor(xmin))
        row0 = int(math.floor(ymin))
        cols = max(0, min(values.shape[1], int(math.ceil(xmax))) - col0)
        rows = max(0, min(values.shape[0], int(math.ceil(ymax))) - row0)
        if rows == 0 or cols == 0:
            continue
        if rule == CENTRE:
            w = _centres_inside(coords, ring_offsets, ring0, ring1, row0, col0, rows, cols)
        else:
            w = _coverage(coords, ring_offsets, ring0, ring1, row0, col0, rows, cols)
        w_sum = 0.0
        wv_sum = 0.0
        lo = np.inf
        hi = -np.inf
        for r in range(rows):
            for c in range(cols):
                wc = w[r, c]
                if wc <= 0.0:
                    continue
                v = values[row0 + r, col0 + c]
                if v != v:
                    continue
                if rule == ALL_TOUCHED:
                    wc = 1.0
                w_sum += wc
                wv_sum += wc * v
                lo = min(lo, v)
                hi = max(hi, v)
                for t in range(n_thr):
                    if v >= thresholds[t]:
                        above[z, t] += wc
        weight[z] = w_sum
        weighted[z] = wv_sum
        if w_sum > 0.0:
            vmin[z] = lo
            vmax[z] = hi
    return weight, weighted, vmin, vmax, above


@njit(cache=True, nogil=True)
def sample_nearest(values, col, row):  # type: ignore[no-untyped-def]
    """Value of the cell holding each point (continuous pixel coordinates); NaN outside."""
    n = col.size
    out = np.full(n, np.nan)
    rows, cols = values.shape
    for i in range(n):
        c = col[i]
        r = row[i]
        if not (0.0 <= c < cols and 0.0 <= r < rows):
            continue
        out[i] = values[int(r), int(c)]
    return out


@njit(cache=True, nogil=True)
def sample_bilinear(values, col, row):  # type: ignore[no-untyped-def]
    """Bilinear interpolation between the four nearest cell centres.

    Missing neighbours (nodata, or beyond the edge) are left out and the remaining weights
    renormalised; points outside the raster, or with no valid neighbour, give NaN.
    """
    n = col.size
    out = np.full(n, np.nan)
    rows, cols = values.shape
    for i in range(n):
        if not (0.0 <= col[i] < cols and 0.0 <= row[i] < rows):
            continue
        x = col[i] - 0.5
        y = row[i] - 0.5
        c0 = int(math.floor(x))
        r0 = int(math.floor(y))
        fx = x - c0
        fy = y - r0
        total = 0.0
        w_total = 0.0
        for dr in range(2):
            for dc in range(2):
                rr = r0 + dr
                cc = c0 + dc
                if rr < 0 or cc < 0 or rr >= rows or cc >= cols:
                    continue
                v = values[rr, cc]
                if v != v:
                    continue
                w = (fx if dc else 1.0 - fx) * (fy if dr else 1.0 - fy)
                total += w * v
                w_total += w
        if w_total > 0.0:
            out[i] = total / w_total
    return out
