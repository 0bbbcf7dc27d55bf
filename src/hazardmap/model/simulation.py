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

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hazardmap.cores import usable_cores
from hazardmap.errors import ConfigError
from hazardmap.model.copula import Strata, strata, struck
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


MAX_HAZARDS = 64
"""Hazards a simulation can take: a household-year's events are the bits of one integer."""
TABLE_ENTRIES = 1 << 25
"""Largest table of q per household and combination of events kept (256 MB); beyond, q is
computed for each struck household-year."""


@dataclass(frozen=True)
class Shocks:
    """What every block shares, made once per simulation: each hazard's strata, and q for
    every household and combination of events when the table is small enough."""

    plans: tuple[Strata, ...]
    q: np.ndarray | None
    """(2^hazards, households): q of the summed loss of each combination (bit h: hazard h
    struck), capped at 1."""

    @classmethod
    def of(
        cls, population: Population, hazards: Sequence[HazardYears], table: bool = True
    ) -> Shocks:
        if len(hazards) > MAX_HAZARDS:
            raise ConfigError(
                f"simulated years take at most {MAX_HAZARDS} hazard layers, the project has "
                f"{len(hazards)}: remove [simulation] or some layers"
            )
        plans = tuple(strata(hazard.probability, hazard.cell) for hazard in hazards)
        combinations = 1 << len(hazards)
        if not table or combinations * len(population.income) > TABLE_ENTRIES:
            return cls(plans, None)
        events = np.arange(combinations)
        q = np.stack(
            [
                poverty_probability(
                    population.income,
                    _loss(hazards, np.full(len(population.income), combination), None),
                    population.line,
                    population.sigma,
                )
                for combination in events
            ]
        )
        return cls(plans, q)

    def poverty(
        self,
        population: Population,
        hazards: Sequence[HazardYears],
        events: np.ndarray,
        household: np.ndarray,
    ) -> np.ndarray:
        """q of each household-year given the bits of its events."""
        if self.q is not None:
            return self.q[events, household]
        return poverty_probability(
            population.income[household],
            _loss(hazards, events, household),
            population.line,
            population.sigma,
        )


def _loss(
    hazards: Sequence[HazardYears], events: np.ndarray, household: np.ndarray | None
) -> np.ndarray:
    """The summed loss of each household-year's events (bits), capped at 1; the same sum,
    in the same order, for the table and for each household-year."""
    total = np.zeros(len(events))
    for bit, hazard in enumerate(hazards):
        loss = hazard.loss if household is None else hazard.loss[household]
        total += np.where((events >> bit) & 1 == 1, loss, 0.0)
    return np.minimum(total, 1.0)


def _bits(hazards: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if hazards <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"{hazards} hazards do not fit one integer's bits")


def simulate_block(
    population: Population,
    hazards: Sequence[HazardYears],
    shocks: Shocks,
    *,
    seed: int,
    block: int,
    years: int,
    compound: Compound,
) -> Years:
    """``years`` simulated years of block ``block`` (its own random stream): every
    hazard's strikes first, then the luck of the struck, reduced to the block's tallies
    before it returns (the block's years x households hold one small integer each)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    n = len(population.income)
    bits = _bits(len(hazards))
    which = np.zeros(years * n, dtype=bits)  # bit h: hazard h struck the household-year
    for bit, (hazard, plan) in enumerate(zip(hazards, shocks.plans, strict=True)):
        which[struck(rng, plan, n, years, hazard.county, hazard.local)] |= bits(1 << bit)
    flat = np.flatnonzero(which != 0)  # luck matters only where something struck
    events = which[flat].astype(np.int64)
    year, household = np.divmod(flat, n)
    q0 = population.q0[household]
    by_hazard: dict[str, np.ndarray] = {}
    if compound == "separate":  # each hazard's own luck against its loss alone
        fell = np.zeros(len(flat), dtype=bool)
        for bit, hazard in enumerate(hazards):
            mine = np.flatnonzero((events >> bit) & 1)
            luck = rng.random(len(mine))
            alone = np.full(len(mine), 1 << bit)
            q = shocks.poverty(population, hazards, alone, household[mine])
            back = mine[(q0[mine] <= luck) & (luck < q)]
            by_hazard[hazard.name] = np.bincount(year[back], minlength=years)
            fell[back] = True
    else:  # one luck against the year's summed loss, credited to every hazard in it
        luck = rng.random(len(flat))
        q = shocks.poverty(population, hazards, events, household)
        fell = (q0 <= luck) & (luck < q)
        for bit, hazard in enumerate(hazards):
            mine = fell & ((events >> bit) & 1 == 1)
            by_hazard[hazard.name] = np.bincount(year[mine], minlength=years)
    year, household = year[fell], household[fell]
    by_village = np.bincount(
        year * population.n_villages + population.village[household],
        minlength=years * population.n_villages,
    ).reshape(years, population.n_villages)
    # int32: a province's (years x villages) tallies are gathered from every block
    return Years(np.bincount(year, minlength=years), by_hazard, by_village.astype(np.int32))


@dataclass(frozen=True)
class BlockTask:
    """One block of years to simulate: everything it needs, so that it can run in a
    thread, or on a cluster's worker."""

    population: Population
    hazards: tuple[HazardYears, ...]
    shocks: Shocks
    seed: int
    compound: Compound
    years: int

    def __call__(self, block: int) -> Years:
        size = min(BLOCK_YEARS, self.years - block * BLOCK_YEARS)
        return simulate_block(
            self.population,
            self.hazards,
            self.shocks,
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
    with ThreadPoolExecutor(max_workers=max(1, min(len(blocks), usable_cores()))) as pool:
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
    task = BlockTask(
        population, tuple(hazards), Shocks.of(population, hazards), seed, compound, years
    )
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
