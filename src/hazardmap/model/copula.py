"""Where a hazard strikes in a block of simulated years (MODEL.md, "Simulated years"),
drawn with work in proportion to the strikes rather than to the households.

Given a year's county normal Z and cell normal W_k, household i of cell k is struck with
probability c_i = Phi((t_i - a) / s), t_i = Phi^-1(p_i), a = sqrt(rho_c) Z + sqrt(rho_l)
W_k, s = sqrt(1 - rho_c - rho_l), independently of the other households. The plain way
draws an own normal for every household and year, and spends nearly all of it on
households that are not struck. Here the households of a cell are grouped in strata of
close thresholds. In a stratum hits fall on its households as a Poisson process of rate
lambda_max = -ln(1 - c_max) each (c_max: its highest threshold's c); a hit on i is kept
with probability lambda_i / lambda_max, and i is struck when it keeps at least one, with
probability 1 - exp(-lambda_i) = c_i, independently of the others (the thinning of a
Poisson process). Where c_max is high (a bad year for the stratum) its households draw a
uniform each instead, which costs less than the hits would. Each household keeps its
probability exactly; only the random numbers differ from the plain way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

DENSE_ABOVE = 0.4
"""c_max above which a stratum's households each draw a uniform instead of hits: there
lambda_max = 0.51 hits a household, each costing about two uniform draws."""
BAND_WIDTHS = (np.inf, 1.0, 0.5, 0.25, 0.125)
"""Widths of the threshold bands (in standard normal units) a hazard's strata may use."""
STRATUM_COST = 2.0
"""A stratum-year costs about two hits (its Poisson draw and c_max): the trade-off behind
the band width."""


@dataclass(frozen=True)
class Strata:
    """A hazard's households in the order they are drawn: stratum by stratum (a cell's
    households of one threshold band), thresholds rising within each."""

    household: np.ndarray
    """Household index of each position."""
    threshold: np.ndarray
    """t = Phi^-1(p) of each position."""
    start: np.ndarray
    """Each stratum's first position, and the end: (strata + 1,)."""
    cell: np.ndarray
    """Each stratum's correlation cell."""
    n_cells: int

    @property
    def size(self) -> np.ndarray:
        return np.diff(self.start)

    @property
    def top(self) -> np.ndarray:
        """Each stratum's highest threshold."""
        return self.threshold[self.start[1:] - 1]


def strata(probability: np.ndarray, cell: np.ndarray) -> Strata:
    """The households with p > 0 grouped by cell and threshold band, the band width the
    one of BAND_WIDTHS with the least expected work (stratum-years and hits)."""
    n_cells = int(cell.max()) + 1 if len(cell) else 1
    live = np.flatnonzero(probability > 0)
    threshold = ndtri(np.clip(probability[live], 0.0, 1.0))
    best: tuple[float, np.ndarray] | None = None
    for width in BAND_WIDTHS:
        key = _band_key(threshold, cell[live], width)
        groups, size = np.unique(key, return_counts=True)
        top = np.full(len(groups), -np.inf)
        np.maximum.at(top, np.searchsorted(groups, key), threshold)
        cost = STRATUM_COST * len(groups) + float(np.sum(size * ndtr(top)))
        if best is None or cost < best[0]:
            best = (cost, key)
    assert best is not None
    key = best[1]
    order = np.lexsort((threshold, key))
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.array([], int)
    return Strata(
        household=live[order],
        threshold=threshold[order],
        start=np.r_[first, len(key)].astype(np.int64),
        cell=cell[live][order][first].astype(np.int64),
        n_cells=n_cells,
    )


def _band_key(threshold: np.ndarray, cell: np.ndarray, width: float) -> np.ndarray:
    if not np.isfinite(width) or not len(threshold):
        return cell.astype(np.int64)
    finite = np.clip(threshold, -9.0, 9.0)  # p = 1 is +inf
    band = np.floor((finite - finite.min()) / width).astype(np.int64)
    return cell.astype(np.int64) * (int(band.max()) + 1) + band


def struck(
    rng: np.random.Generator,
    plan: Strata,
    households: int,
    years: int,
    county: float,
    local: float,
) -> np.ndarray:
    """Where the hazard strikes in a block of ``years``: flat indices year * households +
    household (one may repeat: a household hit twice in a year). Draws, in this order:
    the county normal of each year, the cell normals, then the strata's hits and
    uniforms."""
    shared = np.sqrt(county) * rng.standard_normal(years)[:, None]
    shared = shared + np.sqrt(local) * rng.standard_normal((years, plan.n_cells))
    shift = shared[:, plan.cell]  # (years, strata)
    own = np.sqrt(max(0.0, 1.0 - county - local))
    if own == 0.0:  # the shared normals decide alone: struck where t > a
        return _each(rng, plan, plan.top[None, :] > shift, shift, own, households)
    x_top = (plan.top[None, :] - shift) / own
    dense = ndtr(x_top) > DENSE_ABOVE
    rate = np.where(dense, 0.0, -log_ndtr(-x_top))  # lambda_max, per household
    hits = rng.poisson(rate * plan.size[None, :])
    # hits: a uniform household of the stratum each, kept with lambda_i / lambda_max
    pair = np.repeat(np.arange(hits.size), hits.ravel())
    year, stratum = np.divmod(pair, len(plan.size))
    position = plan.start[stratum] + (rng.random(len(pair)) * plan.size[stratum]).astype(np.int64)
    x = (plan.threshold[position] - shift.ravel()[pair]) / own
    kept = rng.random(len(pair)) * rate.ravel()[pair] < -log_ndtr(-x)
    sparse = year[kept] * households + plan.household[position[kept]]
    return np.concatenate([sparse, _each(rng, plan, dense, shift, own, households)])


def _each(
    rng: np.random.Generator,
    plan: Strata,
    chosen: np.ndarray,
    shift: np.ndarray,
    own: float,
    households: int,
) -> np.ndarray:
    """The strikes of the ``chosen`` (years, strata), every household of them drawing its
    own normal E: struck where t - a > s E (none drawn when s = 0)."""
    year, stratum = np.nonzero(chosen)
    size = plan.size[stratum]
    end = np.cumsum(size)
    position = np.repeat(plan.start[stratum] - (end - size), size) + np.arange(
        end[-1] if len(end) else 0
    )
    gap = plan.threshold[position] - np.repeat(shift[year, stratum], size)
    hit = gap > own * rng.standard_normal(len(gap)) if own > 0 else gap > 0
    return np.repeat(year, size)[hit] * households + plan.household[position[hit]]
