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

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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


def _struck(rng: np.random.Generator, hazard: HazardYears, years: int) -> np.ndarray:
    """(years, households): where ``hazard`` strikes in a block of ``years``."""
    n = len(hazard.probability)
    n_cells = int(hazard.cell.max()) + 1 if n else 1
    county = rng.standard_normal(years, dtype=np.float32)
    local = rng.standard_normal((years, n_cells), dtype=np.float32)
    own = rng.standard_normal((years, n), dtype=np.float32)
    u = own  # scaled in place: the block's largest array is made once
    u *= np.float32(np.sqrt(max(0.0, 1.0 - hazard.county - hazard.local)))
    if hazard.local > 0:
        local *= np.float32(np.sqrt(hazard.local))
        u += local[:, hazard.cell]
    if hazard.county > 0:
        u += np.float32(np.sqrt(hazard.county)) * county[:, None]
    threshold = ndtri(np.clip(hazard.probability, 0.0, 1.0)).astype(np.float32)
    return u < threshold[None, :]


def simulate_block(
    population: Population,
    hazards: Sequence[HazardYears],
    *,
    seed: int,
    block: int,
    years: int,
    compound: Compound,
) -> Years:
    """``years`` simulated years of block ``block`` (its own random stream); the block's
    (years x households) arrays are reduced to its tallies before it returns."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    struck = [_struck(rng, hazard, years) for hazard in hazards]
    n = len(population.income)
    by_hazard: dict[str, np.ndarray] = {}
    if compound == "separate":
        back = np.zeros((years, n), dtype=bool)
        for hazard, hit in zip(hazards, struck, strict=True):
            year, household = np.nonzero(hit)
            luck = rng.random(len(year))  # luck matters only where the hazard struck
            q = poverty_probability(
                population.income, hazard.loss, population.line, population.sigma
            )[household]
            fell = (population.q0[household] <= luck) & (luck < q)
            mine = np.zeros((years, n), dtype=bool)
            mine[year[fell], household[fell]] = True
            by_hazard[hazard.name] = mine.sum(axis=1)
            back |= mine
    else:
        loss = np.zeros((years, n), dtype=np.float32)
        for hazard, hit in zip(hazards, struck, strict=True):
            loss += hit * hazard.loss.astype(np.float32)
        year, household = np.nonzero(loss > 0)
        q = poverty_probability(
            population.income[household],
            np.minimum(loss[year, household], 1.0).astype(np.float64),
            population.line,
            population.sigma,
        )
        chance = rng.random(len(year))  # luck matters only where something struck
        fell = (population.q0[household] <= chance) & (chance < q)
        back = np.zeros((years, n), dtype=bool)
        back[year[fell], household[fell]] = True
        for hazard, hit in zip(hazards, struck, strict=True):
            by_hazard[hazard.name] = (back & hit).sum(axis=1)
    year, household = np.nonzero(back)
    by_village = np.bincount(
        year * population.n_villages + population.village[household],
        minlength=years * population.n_villages,
    ).reshape(years, population.n_villages)
    # int32: a province's (years x villages) tallies are gathered from every block
    return Years(back.sum(axis=1), by_hazard, by_village.astype(np.int32))


@dataclass(frozen=True)
class BlockTask:
    """One block of years to simulate: everything it needs, so that it can run in a
    thread, or on a cluster's worker."""

    population: Population
    hazards: tuple[HazardYears, ...]
    seed: int
    compound: Compound
    years: int

    def __call__(self, block: int) -> Years:
        size = min(BLOCK_YEARS, self.years - block * BLOCK_YEARS)
        return simulate_block(
            self.population,
            self.hazards,
            seed=self.seed,
            block=block,
            years=size,
            compound=self.compound,
        )


BlockMap = Callable[[BlockTask, list[int]], list[Years]]
"""How the blocks are run: a map of the task over the block numbers, in their order."""


def on_threads(task: BlockTask, blocks: list[int]) -> list[Years]:
    """The blocks on the machine's cores (numpy releases the GIL in its random fills and
    array arithmetic)."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(blocks), os.cpu_count() or 1))) as pool:
        return list(pool.map(task, blocks))


def simulate(
    population: Population,
    hazards: Sequence[HazardYears],
    *,
    years: int,
    seed: int,
    compound: Compound = "sum",
    run_blocks: BlockMap = on_threads,
) -> Years:
    """``years`` simulated years, block by block (``run_blocks``: on threads by default,
    or a cluster's workers); the years do not depend on what runs the blocks."""
    task = BlockTask(population, tuple(hazards), seed, compound, years)
    blocks = run_blocks(task, list(range((years + BLOCK_YEARS - 1) // BLOCK_YEARS)))
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
