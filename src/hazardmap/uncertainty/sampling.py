"""The samples: SALib's points in the unit cube (Saltelli's scheme for Sobol, trajectories
for Morris), turned into parameter values by each distribution's quantile function.

Sampling in the unit cube and mapping each coordinate through the distribution's
inverse CDF is how SALib's own distributions work, and how CLIMADA's unsequa uses it; it
keeps Morris's elementary effects in quantile units, comparable across parameters of
different units (a factor, a cost in CNY).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazardmap.config.distributions import MORRIS_LEVELS, Distribution, quantile
from hazardmap.config.uncertainty import ParameterPath, UncertaintySection


@dataclass(frozen=True)
class Varied:
    """One parameter the samples vary: its path and its distribution."""

    path: ParameterPath
    distribution: Distribution


@dataclass(frozen=True)
class Design:
    """The model runs to make: the parameters held at a value (degenerate distributions)
    and, for the varied ones, the unit-cube points SALib analyses and the values each
    run uses; under Morris, a separate Monte Carlo sample for the percentiles."""

    method: str
    held: tuple[tuple[ParameterPath, float], ...]
    varied: tuple[Varied, ...]
    unit: np.ndarray
    """(runs, varied) SALib's points."""
    values: np.ndarray
    """(runs, varied) the parameter values of each run."""
    spread_values: np.ndarray | None
    """Morris: (samples, varied) Monte Carlo values for the percentiles, p_top_k and
    p_chosen; None for Sobol (its runs serve)."""

    @property
    def problem(self) -> dict[str, object]:
        return salib_problem(self.varied)

    @property
    def spread(self) -> np.ndarray:
        """The values the distribution of the outputs is read from."""
        return self.values if self.spread_values is None else self.spread_values


def salib_problem(varied: tuple[Varied, ...] | list[Varied]) -> dict[str, object]:
    """The SALib problem: the varied parameters, each in [0, 1] (its quantiles)."""
    return {
        "num_vars": len(varied),
        "names": [v.path.key for v in varied],
        "bounds": [[0.0, 1.0]] * len(varied),
    }


def design(section: UncertaintySection, paths: list[ParameterPath]) -> Design:
    """The runs ``section`` asks for: degenerate parameters held, the others sampled by
    SALib (seeded), each unit coordinate mapped through its distribution."""
    held, varied = [], []
    for path in paths:
        distribution = section.parameters[path.key]
        value = distribution.degenerate()
        if value is None:
            varied.append(Varied(path, distribution))
        else:
            held.append((path, float(value)))
    empty = np.zeros((1, 0))
    if not varied:  # nothing varies: one model run, at the held values
        return Design(section.method, tuple(held), (), empty, empty, None)
    problem = salib_problem(varied)
    if section.method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(problem, section.samples, calc_second_order=False, seed=section.seed)
        values = _values(varied, unit)
        return Design("sobol", tuple(held), tuple(varied), unit, values, None)
    from SALib.sample import morris

    unit = morris.sample(problem, section.samples, num_levels=MORRIS_LEVELS, seed=section.seed)
    values = _values(varied, unit, cut_tails=True)
    draws = np.random.default_rng([section.seed, 1]).random((section.samples, len(varied)))
    return Design("morris", tuple(held), tuple(varied), unit, values, _values(varied, draws))


def _values(varied: list[Varied], unit: np.ndarray, *, cut_tails: bool = False) -> np.ndarray:
    columns = [
        quantile(v.distribution, unit[:, j], cut_tails=cut_tails) for j, v in enumerate(varied)
    ]
    return np.column_stack(columns)
