"""Simulated years: the distribution of households returning to poverty, not only its mean
(MODEL.md, "Simulated years"). Pure functions of aligned arrays.

Each hazard's event strikes household i in year t iff U_iht < Phi^-1(p_ih), with
U = sqrt(rho_c) Z_ht + sqrt(rho_l) W_hkt + sqrt(1 - rho_c - rho_l) E_iht (county, cell and
own standard normals): each household keeps its annual probability exactly, and
households of one county or cell are struck together. Income luck V ~ U(0, 1) decides
who of the struck falls back: q0 <= V < q. Years are simulated in blocks of a fixed size,
each with its own random stream keyed by (seed, block), so the same seed gives the same
years whatever runs the blocks; a block is reduced to its per-year totals and per-village
tallies at once, and the years x households matrix is never held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from hazardmap.model.risk import poverty_probability

BLOCK_YEARS = 50
"""Years per block: each block has its own random stream, whatever computes it."""
RETURN_PERIODS = (2, 5, 10, 20, 50, 100, 200)
Compound = Literal["sum", "separate"]


@dataclass(frozen=True)
class HazardYears:
    """One hazard for the simulation: per household its annual probability and loss, its
    correlation cell; the county and local correlations."""

    name: str
    probability: np.ndarray
    loss: np.ndarray
    cell: np.ndarray
    county: float = 0.0
    local: float = 0.0


@dataclass(frozen=True)
class Population:
    """The households simulated (none with a hazard missing): income per person, q0, the
    line and spread, and each one's village."""

    income: np.ndarray
    q0: np.ndarray
    line: float
    sigma: float
    village: np.ndarray
    n_villages: int


@dataclass(frozen=True)
class Years:
    """Per simulated year: households returning (from at least one hazard), per hazard,
    and per village."""

    returns: np.ndarray
    by_hazard: dict[str, np.ndarray]
    by_village: np.ndarray
    """(years, villages) households returning in each village each year."""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "year": np.arange(1, len(self.returns) + 1),
                "returns": self.returns,
                **{f"{h}_returns": counts for h, counts in self.by_hazard.items()},
            }
        )


def _events(
    rng: np.random.Generator, hazard: HazardYears, years: int
) -> tuple[np.ndarray, np.ndarray]:
    """(year, household) of every event of ``hazard`` in a block of ``years``."""
    n = len(hazard.probability)
    n_cells = int(hazard.cell.max()) + 1 if n else 0
    county = rng.standard_normal(years)
    local = rng.standard_normal((years, max(n_cells, 1)))
    own = rng.standard_normal((years, n), dtype=np.float32)
    rest = np.sqrt(max(0.0, 1.0 - hazard.county - hazard.local))
    shared = (
        np.sqrt(hazard.county) * county[:, None] + np.sqrt(hazard.local) * local[:, hazard.cell]
    )
    threshold = ndtri(np.clip(hazard.probability, 0.0, 1.0))
    struck = shared + rest * own < threshold[None, :]
    year, household = np.nonzero(struck)
    return year, household


def simulate_block(
    population: Population,
    hazards: Sequence[HazardYears],
    *,
    seed: int,
    block: int,
    years: int,
    compound: Compound,
) -> Years:
    """``years`` simulated years of block ``block`` (its own random stream)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    n = len(population.income)
    events = [_events(rng, hazard, years) for hazard in hazards]
    by_hazard: dict[str, np.ndarray] = {}
    if compound == "separate":
        returned = []
        for hazard, (year, household) in zip(hazards, events, strict=True):
            luck = rng.random(len(year))
            q = poverty_probability(
                population.income[household],
                hazard.loss[household],
                population.line,
                population.sigma,
            )
            back = (population.q0[household] <= luck) & (luck < q)
            by_hazard[hazard.name] = np.bincount(year[back], minlength=years)
            returned.append(year[back] * n + household[back])
        flat = np.unique(np.concatenate(returned)) if returned else np.empty(0, np.int64)
    else:
        flat_events = [year * n + household for year, household in events]
        struck = np.unique(np.concatenate(flat_events)) if flat_events else np.empty(0, np.int64)
        loss = np.zeros(len(struck))
        for hazard, cells in zip(hazards, flat_events, strict=True):
            at = np.searchsorted(struck, cells)
            loss[at] += hazard.loss[cells % n]
        household = struck % n
        luck = rng.random(len(struck))
        q = poverty_probability(
            population.income[household], np.minimum(loss, 1.0), population.line, population.sigma
        )
        back = (population.q0[household] <= luck) & (luck < q)
        flat = struck[back]
        for hazard, cells in zip(hazards, flat_events, strict=True):
            hit = np.isin(cells, flat, assume_unique=True)
            by_hazard[hazard.name] = np.bincount(cells[hit] // n, minlength=years)
    year, household = flat // n, flat % n
    village = population.village[household]
    by_village = np.bincount(
        year * population.n_villages + village, minlength=years * population.n_villages
    ).reshape(years, population.n_villages)
    return Years(np.bincount(year, minlength=years), by_hazard, by_village)


def simulate(
    population: Population,
    hazards: Sequence[HazardYears],
    *,
    years: int,
    seed: int,
    compound: Compound = "sum",
) -> Years:
    """``years`` simulated years, block by block."""
    blocks = [
        simulate_block(
            population,
            hazards,
            seed=seed,
            block=b,
            years=min(BLOCK_YEARS, years - b * BLOCK_YEARS),
            compound=compound,
        )
        for b in range((years + BLOCK_YEARS - 1) // BLOCK_YEARS)
    ]
    return Years(
        np.concatenate([b.returns for b in blocks]),
        {h.name: np.concatenate([b.by_hazard[h.name] for b in blocks]) for h in hazards},
        np.concatenate([b.by_village for b in blocks]),
    )


def exceedance(returns: np.ndarray, periods: Sequence[int] = RETURN_PERIODS) -> pd.DataFrame:
    """Per return period T: the (1 - 1/T) quantile of the yearly returns (numpy's
    'higher') and TVaR, the mean of the years at or above it; NaN where years < 2 T."""
    rows = []
    for period in periods:
        if len(returns) < 2 * period:
            rows.append((period, np.nan, np.nan))
            continue
        level = float(np.quantile(returns, 1.0 - 1.0 / period, method="higher"))
        rows.append((period, level, float(returns[returns >= level].mean())))
    return pd.DataFrame(rows, columns=["return_period", "returns", "tvar"])


def village_years(by_village: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per village: the probability of at least one return in a year, and its
    1-in-20-year returns (the 95% quantile, numpy's 'higher'; NaN under 40 years)."""
    p_any = (by_village > 0).mean(axis=0)
    if by_village.shape[0] < 40:
        return p_any, np.full(by_village.shape[1], np.nan)
    return p_any, np.quantile(by_village, 0.95, axis=0, method="higher").astype(np.float64)
