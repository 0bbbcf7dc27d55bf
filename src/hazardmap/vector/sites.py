"""Hazard sites over households and villages: who lies within a site's threat radius (on
the circle counts), whom the register names, and which villages a site reaches.

All coordinates are in one metric CRS (the run's equal-area projection, true to a few
parts in a million across a county). A household threatened by several sites takes the
highest value; ties go to the site listed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from hazardmap.polygons import union

CIRCLE_SEGMENTS = 64
"""Segments per quarter circle when a radius's area is measured (area within 0.01%)."""


@dataclass(frozen=True)
class Exposure:
    """Per household: the site (index, -1 for none) with the highest value threatening
    it, and that value (NaN: none)."""

    site: np.ndarray
    value: np.ndarray

    @property
    def exposed(self) -> np.ndarray:
        return self.site >= 0


def threatened_pairs(
    sx: np.ndarray, sy: np.ndarray, radius: np.ndarray, hx: np.ndarray, hy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(site, household) pairs with the household within the site's radius."""
    located = np.flatnonzero(np.isfinite(hx) & np.isfinite(hy))
    tree = shapely.STRtree(np.asarray(shapely.points(hx[located], hy[located])))
    site, household = tree.query(shapely.points(sx, sy), predicate="dwithin", distance=radius)
    return site, located[household]


def named_pairs(
    named: tuple[tuple[str, ...], ...], household_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(site, household) pairs the register names, and the ids no household has."""
    index = {str(h): i for i, h in enumerate(household_ids)}
    sites, households, unknown = [], [], []
    for s, ids in enumerate(named):
        for household in ids:
            if household in index:
                sites.append(s)
                households.append(index[household])
            else:
                unknown.append(household)
    return np.asarray(sites, np.int64), np.asarray(households, np.int64), unknown


def exposure(
    site: np.ndarray, household: np.ndarray, value: np.ndarray, n_households: int
) -> Exposure:
    """Each household's most dangerous site among the pairs (highest value, then the
    site listed first)."""
    best_site = np.full(n_households, -1, dtype=np.int64)
    best_value = np.full(n_households, np.nan)
    if len(site):
        order = np.lexsort((site, -value[site], household))
        household, site = household[order], site[order]
        first = np.r_[True, household[1:] != household[:-1]]
        best_site[household[first]] = site[first]
        best_value[household[first]] = value[site[first]]
    return Exposure(best_site, best_value)


def sites_reaching(
    villages: np.ndarray, sx: np.ndarray, sy: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(site, village) pairs with the village within the site's radius of the site (the
    site inside it, or its circle reaching into it)."""
    tree = shapely.STRtree(villages)
    site, village = tree.query(shapely.points(sx, sy), predicate="dwithin", distance=radius)
    return site, village


def highest_reaching(
    site: np.ndarray, village: np.ndarray, value: np.ndarray, n_villages: int
) -> np.ndarray:
    """Per village, the highest value among the sites reaching it (NaN: none)."""
    result = np.full(n_villages, -np.inf)
    np.maximum.at(result, village, value[site])
    return np.where(np.isfinite(result), result, np.nan)


def covered_value(
    villages: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    radius: np.ndarray,
    value: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray],
    min_share: float,
) -> np.ndarray:
    """Per village, for households placed by their village: the highest site value whose
    circles (of sites of that value or higher) cover at least ``min_share`` of the
    village's area, as a class layer's rule for such households; NaN where none does."""
    result = np.full(len(villages), np.nan)
    site, village = pairs
    circles = shapely.buffer(shapely.points(sx, sy), radius, quad_segs=CIRCLE_SEGMENTS)
    for v in np.unique(village):
        reaching = site[village == v]
        area = shapely.area(villages[v])
        for level in np.unique(value[reaching])[::-1]:
            cover = union(circles[reaching[value[reaching] >= level]])
            if shapely.area(shapely.intersection(villages[v], cover)) >= min_share * area:
                result[v] = level
                break
    return result


def sites_inside(villages: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Per village, the number of sites inside it (a site on a shared edge counts in
    the first village holding it)."""
    tree = shapely.STRtree(villages)
    site, village = tree.query(shapely.points(sx, sy), predicate="intersects")
    _, first = np.unique(site, return_index=True)
    return np.bincount(village[first], minlength=len(villages))
