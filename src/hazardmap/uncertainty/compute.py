"""Each sample re-runs the model on the stored overlays; the samples' outcomes become the
villages' percentiles and p_top_k, the pairs' p_chosen, and the indices. Pure functions of
arrays: nothing here reads or writes a file."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from hazardmap.config.distributions import MORRIS_LEVELS
from hazardmap.config.uncertainty import ParameterPath
from hazardmap.errors import ConfigError
from hazardmap.model.hazard import HazardParams
from hazardmap.model.interventions import Intervention
from hazardmap.model.scenarios import Evaluation, Exposure, Parameters, evaluate
from hazardmap.uncertainty.sampling import Design

PERCENTILES = (5, 50, 95)
CONFIDENCE = 0.95
"""The confidence level of the indices' intervals (SALib's bootstrap)."""
OUTPUTS = ("expected_returns", "returns_avoided")
"""The outputs the indices are computed for: the county's expected returns, and the
returns avoided by the portfolio chosen in the point estimate, valued in each sample."""


def with_values(base: Parameters, values: Iterable[tuple[ParameterPath, float]]) -> Parameters:
    """``base`` with each path set: factors multiply the configured value, absolute values
    replace it. A factor on something the configuration leaves out (a component the layer
    does not damage, a housing type it names no loss for, an intervention's factor it does
    not set) changes nothing."""
    hazards = {hazard.name: hazard for hazard in base.hazards}
    items = {item.name: item for item in base.interventions}
    sigma, cover = base.sigma, base.cover
    for path, value in values:
        if path.target == "project":
            if path.field == "income_sigma":
                sigma = value
            else:
                cover = value
        elif path.target == "layer":
            hazards[path.name] = _layer_with(hazards[path.name], path, value)
        else:
            items[path.name] = _intervention_with(items[path.name], path, value)
    return replace(
        base,
        hazards=tuple(hazards[h.name] for h in base.hazards),
        interventions=tuple(items[i.name] for i in base.interventions),
        sigma=sigma,
        cover=cover,
    )


def _layer_with(hazard: HazardParams, path: ParameterPath, value: float) -> HazardParams:
    if path.field == "frequency_factor":
        return replace(hazard, probability_factor=hazard.probability_factor * value)
    assert path.item is not None
    if path.field == "damage":
        factors = dict(hazard.damage_factor)
        factors[path.item] = factors.get(path.item, 1.0) * value
        return replace(hazard, damage_factor=factors)
    if path.item not in hazard.housing:
        return hazard
    return replace(hazard, housing={**hazard.housing, path.item: hazard.housing[path.item] * value})


def _intervention_with(item: Intervention, path: ParameterPath, value: float) -> Intervention:
    if path.field == "cost_per_household":
        return replace(item, cost_per_household=value)
    if path.field == "probability_factor":
        if item.probability_factor is None:
            return item
        return replace(item, probability_factor=item.probability_factor * value)
    if item.damage_factor is None or path.item not in item.damage_factor:
        return item
    assert path.item is not None
    return replace(
        item,
        damage_factor={**item.damage_factor, path.item: item.damage_factor[path.item] * value},
    )


@dataclass(frozen=True)
class Outcomes:
    """What a set of model runs gave: per run the villages' expected returns and the
    portfolio's returns avoided; over the runs, how often each pair was chosen."""

    village_returns: np.ndarray
    """(runs, villages)."""
    portfolio: np.ndarray
    """(runs,) returns avoided by the pairs chosen in the point estimate."""
    chosen: np.ndarray
    """(villages, interventions) runs in which the greedy choice took the pair."""

    @property
    def expected_returns(self) -> np.ndarray:
        """(runs,) the county's expected returns."""
        return self.village_returns.sum(axis=1)

    @staticmethod
    def joined(parts: Sequence[Outcomes]) -> Outcomes:
        return Outcomes(
            np.concatenate([p.village_returns for p in parts]),
            np.concatenate([p.portfolio for p in parts]),
            np.sum([p.chosen for p in parts], axis=0),
        )


class SampleError(ConfigError):
    """A sample's parameter values the model cannot compute with: numbers that overflow
    into no number (0 x inf), or a cost too large to count."""


def _largest(values: Sequence[tuple[ParameterPath, float]], shown: int = 3) -> str:
    ordered = sorted(values, key=lambda item: -abs(item[1]))
    return ", ".join(f'"{path.key}" = {value:.3g}' for path, value in ordered[:shown])


@dataclass(frozen=True)
class SampleTask:
    """Model runs for rows of parameter values: everything a run needs, so that a chunk of
    rows can run in another process, or on a cluster's worker."""

    exposure: Exposure
    base: Parameters
    held: tuple[tuple[ParameterPath, float], ...]
    varied: tuple[ParameterPath, ...]
    portfolio: np.ndarray
    """(villages, interventions) the pairs chosen in the point estimate."""

    def values(self, row: np.ndarray) -> list[tuple[ParameterPath, float]]:
        return [*self.held, *zip(self.varied, row.tolist(), strict=True)]

    def parameters(self, row: np.ndarray) -> Parameters:
        return with_values(self.base, self.values(row))

    def evaluate(self, row: np.ndarray) -> Evaluation:
        """One run. An overflow to inf is IEEE's right answer here (p and the ratios are
        capped, Phi(inf) = 1); a NaN made from numbers (0 x inf: a product of huge
        factors) would silently drop a household, and a cost past the float range cannot
        be counted: both are an error naming the sample's largest values."""
        try:
            with np.errstate(over="ignore", invalid="raise"):
                return evaluate(self.exposure, self.parameters(row))
        except (FloatingPointError, OverflowError):
            raise SampleError(
                "[uncertainty.parameters]: the model cannot compute with one sample's "
                f"values (their products overflow; largest: {_largest(self.values(row))}); "
                "narrow these distributions"
            ) from None

    def __call__(self, rows: np.ndarray) -> Outcomes:
        returns = np.empty((len(rows), self.exposure.n_villages))
        portfolio = np.empty(len(rows))
        chosen = np.zeros(self.portfolio.shape, dtype=np.int64)
        for i, row in enumerate(rows):
            outcome = self.evaluate(row)
            returns[i] = outcome.village_returns
            portfolio[i] = outcome.avoided[self.portfolio].sum()
            chosen += outcome.chosen
        return Outcomes(returns, portfolio, chosen)


ChunkMap = Callable[[SampleTask, list[np.ndarray]], list[Outcomes]]
"""How chunks of rows are run: a map of the task over the chunks, in their order."""


def in_process(task: SampleTask, chunks: list[np.ndarray]) -> list[Outcomes]:
    return [task(chunk) for chunk in chunks]


def top_k_shares(
    village_returns: np.ndarray, has_value: np.ndarray, village_order: np.ndarray, k: int
) -> np.ndarray:
    """Per village the share of runs in which it is among the top k by expected returns
    (ties to the lower village code; villages without a value last)."""
    counts = np.zeros(village_returns.shape[1])
    for returns in village_returns:
        order = np.lexsort((village_order, -returns, ~has_value))
        counts[order[:k]] += 1
    return counts / len(village_returns)


def sensitivity(design: Design, outputs: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    """Sobol S1 and ST (no second order) or Morris mu*, its interval and sigma, per output
    and varied parameter, by SALib; NaN where the output did not vary over the runs
    (every index is then 0/0). No rows when nothing varies."""
    sobol = design.method == "sobol"
    columns = (
        ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
        if sobol
        else ["output", "parameter", "mu_star", "mu_star_conf", "sigma"]
    )
    rows = []
    names = [v.path.key for v in design.varied]
    for output, values in outputs.items():
        if not names:
            break
        if np.ptp(values) == 0:
            rows += [[output, name, *[np.nan] * (len(columns) - 2)] for name in names]
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # SALib's bootstrap on tiny samples
            found = _indices(design, values, seed)
        rows += [
            [output, name, *(float(found[c][j]) for c in columns[2:])]
            for j, name in enumerate(names)
        ]
    return pd.DataFrame(rows, columns=columns)


def _indices(design: Design, values: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    if design.method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(
            design.problem,
            values,
            calc_second_order=False,
            conf_level=CONFIDENCE,
            # a Generator: SALib tests ``if seed``, so seed = 0 would go unseeded
            seed=np.random.default_rng(seed),
        )
    else:
        from SALib.analyze import morris

        result = morris.analyze(
            design.problem,
            design.unit,
            values,
            num_levels=MORRIS_LEVELS,
            conf_level=CONFIDENCE,
            seed=seed,
        )
    return {
        key: np.asarray(value, dtype=np.float64)
        for key, value in dict(result).items()
        if key != "names"
    }


@dataclass(frozen=True)
class Uncertainty:
    """What ``uncertainty`` computes: the point estimate, the runs' outcomes (for the
    indices) and those the spread is read from (the same runs under Sobol), the villages'
    and the pairs' tables, the indices."""

    point: Evaluation
    design: Design
    runs: Outcomes
    spread: Outcomes
    villages: pd.DataFrame
    pairs: pd.DataFrame
    indices: pd.DataFrame

    def model_runs(self) -> int:
        """Runs made: those for the indices, and Morris's Monte Carlo ones."""
        extra = 0 if self.design.spread_values is None else len(self.spread.portfolio)
        return len(self.runs.portfolio) + extra

    def spread_percentiles(self) -> tuple[float, float, float]:
        """The county's expected returns at the 5th, 50th and 95th percentile."""
        low, mid, high = np.percentile(self.spread.expected_returns, PERCENTILES)
        return float(low), float(mid), float(high)


def chunked(values: np.ndarray, size: int) -> list[np.ndarray]:
    """Rows in chunks of ``size`` (the last shorter)."""
    return [values[i : i + size] for i in range(0, max(len(values), 1), size)]


def analyse(
    exposure: Exposure,
    base: Parameters,
    design: Design,
    *,
    codes: Sequence[str],
    names: Sequence[str],
    top_k: int,
    seed: int,
    run_chunks: ChunkMap = in_process,
    chunk: int = 32,
) -> Uncertainty:
    """The point estimate, every run of ``design``, and what they say (MODEL.md,
    "Uncertainty and sensitivity")."""
    point = evaluate(exposure, base)  # the configuration, as run computes it
    task = SampleTask(
        exposure, base, design.held, tuple(v.path for v in design.varied), point.chosen
    )
    runs = Outcomes.joined(run_chunks(task, chunked(design.values, chunk)))
    spread = runs
    if design.spread_values is not None:
        spread = Outcomes.joined(run_chunks(task, chunked(design.spread_values, chunk)))
    villages = _village_table(point, spread, exposure, codes, names, top_k)
    pairs = _pair_table(point, spread, codes, names, base)
    indices = sensitivity(
        design,
        {"expected_returns": runs.expected_returns}
        | ({"returns_avoided": runs.portfolio} if point.chosen.any() else {}),
        seed,
    )
    return Uncertainty(point, design, runs, spread, villages, pairs, indices)


def _village_table(
    point: Evaluation,
    spread: Outcomes,
    exposure: Exposure,
    codes: Sequence[str],
    names: Sequence[str],
    top_k: int,
) -> pd.DataFrame:
    low, mid, high = np.percentile(spread.village_returns, PERCENTILES, axis=0)
    return pd.DataFrame(
        {
            "village_code": list(codes),
            "name": list(names),
            "expected_returns": point.village_returns,
            "expected_returns_p5": low,
            "expected_returns_p50": mid,
            "expected_returns_p95": high,
            "p_top_k": top_k_shares(
                spread.village_returns, point.village_has_value, exposure.village_order, top_k
            ),
        }
    )


def _pair_table(
    point: Evaluation,
    spread: Outcomes,
    codes: Sequence[str],
    names: Sequence[str],
    base: Parameters,
) -> pd.DataFrame:
    """The (village, intervention) pairs chosen in the point estimate or in any run,
    most often chosen first (empty without a budget)."""
    runs = len(spread.portfolio)
    village, item = np.nonzero(point.chosen | (spread.chosen > 0))
    table = pd.DataFrame(
        {
            "village_code": np.asarray(codes, dtype=object)[village],
            "name": np.asarray(names, dtype=object)[village],
            "intervention": [base.interventions[k].name for k in item],
            "hazard": [base.interventions[k].hazard for k in item],
            "chosen": point.chosen[village, item],
            "p_chosen": spread.chosen[village, item] / runs,
            "returns_avoided": point.avoided[village, item],
        }
    )
    return table.sort_values(
        ["p_chosen", "chosen", "returns_avoided", "village_code", "intervention"],
        ascending=[False, False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
