"""A run's simulated years: the model's arrays handed to ``model.simulation``, with each
household's correlation cell per hazard (squares of ``cell_km`` in the county's UTM zone,
origin at the zone's (0, 0); households placed by their village take its centre).

Households with a hazard missing are left out of the simulation, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from hazardmap.cluster import active_client, map_on_cluster
from hazardmap.config import Config
from hazardmap.crs import WGS84, system_of, utm_zone
from hazardmap.model.households import HouseholdArrays
from hazardmap.model.risk import HouseholdRisk
from hazardmap.model.simulation import (
    BlockTask,
    HazardYears,
    Population,
    Years,
    exceedance,
    on_threads,
    simulate,
    village_years,
)
from hazardmap.results import Inputs


@dataclass(frozen=True)
class SimulatedYears:
    """What a run's simulation gives: the years, the exceedance table, per village the
    probability of any return in a year and its 1-in-20-year returns, and how many
    households were left out (a hazard missing)."""

    years: Years
    exceedance: pd.DataFrame
    p_any_return: np.ndarray
    returns_1in20: np.ndarray
    left_out: int
    separate: np.ndarray | None = None
    """With compound = "sum": the yearly returns of the same first years (the same
    events) with each hazard's loss facing the line alone, for the report's comparison."""

    def summary(self, config: Config, risk: HouseholdRisk) -> dict[str, Any]:
        """The simulation's settings and what it gave, beside the expected returns: for
        the manifest and the report."""
        settings = config.settings.simulation
        assert settings is not None
        returns = self.years.returns
        return {
            "years": settings.years,
            "seed": settings.seed,
            "compound": settings.compound,
            "households_left_out": self.left_out,
            "mean_returns": float(returns.mean()),
            "expected_returns": float(np.nansum(risk.risk)),
            "mean_by_hazard": {h: float(c.mean()) for h, c in self.years.by_hazard.items()},
            "compared_with_separate": None
            if self.separate is None
            else _compared_with_separate(returns, self.separate),
            "correlation": {
                layer.name: None
                if layer.spec.correlation is None
                else layer.spec.correlation.model_dump()
                for layer in config.layers
            },
        }


def _cells(x: np.ndarray, y: np.ndarray, cell_km: float) -> np.ndarray:
    size = cell_km * 1000.0
    keys = np.column_stack([np.floor(x / size), np.floor(y / size)])
    return np.unique(keys, axis=0, return_inverse=True)[1].ravel()


def _utm_xy(inputs: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Every household's place in the county's UTM zone; those without coordinates at
    their village's centre."""
    villages = inputs.villages.to_crs(WGS84)
    west, south, east, north = villages.total_bounds
    utm = utm_zone((west + east) / 2.0, (south + north) / 2.0)
    hh = inputs.households
    x, y = system_of(inputs.household_crs).transform(hh["x"].to_numpy(), hh["y"].to_numpy(), utm)
    centres = villages.geometry.to_crs(utm).representative_point()
    placed = ~(np.isfinite(x) & np.isfinite(y))
    x = np.where(placed, centres.x.to_numpy()[inputs.village_index], x)
    y = np.where(placed, centres.y.to_numpy()[inputs.village_index], y)
    return x, y


def on_cluster(client: Any, task: BlockTask, blocks: list[int]) -> list[Years]:
    """The blocks as tasks of a dask.distributed cluster, gathered in block order."""
    return map_on_cluster(client, task, blocks)


def simulate_run(
    inputs: Inputs, arrays: HouseholdArrays, risk: HouseholdRisk, config: Config
) -> SimulatedYears | None:
    """The run's simulated years (None without ``[simulation]``)."""
    settings = config.settings.simulation
    if settings is None:
        return None
    keep = np.isfinite(risk.risk)
    x, y = _utm_xy(inputs)
    hazards = []
    for layer in config.layers:
        outcome = risk.hazards[layer.name]
        correlation = layer.spec.correlation
        cell_km = 10.0 if correlation is None else correlation.cell_km
        hazards.append(
            HazardYears(
                layer.name,
                outcome.probability[keep],
                outcome.loss[keep],
                _cells(x[keep], y[keep], cell_km),
                0.0 if correlation is None else correlation.county,
                0.0 if correlation is None else correlation.local,
            )
        )
    project = config.settings.project
    population = Population(
        income=arrays.income[keep],
        q0=risk.q0[keep],
        line=project.monitoring_line,
        sigma=project.income_sigma,
        village=inputs.village_index[keep],
        n_villages=len(inputs.villages),
    )
    client = active_client()
    years = simulate(
        population,
        hazards,
        years=settings.years,
        seed=settings.seed,
        compound=settings.compound,
        run_blocks=on_threads if client is None else partial(on_cluster, client),
    )
    separate = None
    if settings.compound == "sum":  # the same years' events, each loss alone
        separate = simulate(
            population,
            hazards,
            years=min(settings.years, COMPARED_YEARS),
            seed=settings.seed,
            compound="separate",
            run_blocks=on_threads if client is None else partial(on_cluster, client),
        ).returns
    p_any, in20 = village_years(years.by_village)
    return SimulatedYears(
        years, exceedance(years.returns), p_any, in20, int((~keep).sum()), separate
    )


COMPARED_YEARS = 1000
"""Years simulated again with compound = "separate" for the report: the blocks' events
are the same (their streams are keyed by seed and block), so the difference is the
compounding's, not luck's."""


def _compared_with_separate(returns: np.ndarray, separate: np.ndarray) -> dict[str, Any]:
    """The mean and the 1-in-20-year returns of the first years, with a year's losses
    added (sum) and each alone (separate): the compounding's effect, either sign."""
    first = returns[: len(separate)]

    def in20(values: np.ndarray) -> float | None:
        return None if len(values) < 40 else float(np.quantile(values, 0.95, method="higher"))

    return {
        "years": len(separate),
        "mean_sum": float(first.mean()),
        "mean_separate": float(separate.mean()),
        "in20_sum": in20(first),
        "in20_separate": in20(separate),
    }
