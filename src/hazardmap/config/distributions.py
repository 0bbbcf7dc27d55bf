"""The distributions ``[uncertainty.parameters]`` may give a parameter, and their quantile
functions: what the samples are drawn from (docs/configuration.md, "Uncertain
parameters")."""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import stats
from scipy.special import ndtri

from hazardmap.config.fields import NonNegative, Positive, Real, StrictModel

MORRIS_LEVELS = 4
"""Levels of the Morris grid (SALib's default)."""
MORRIS_TAIL = 0.001
"""Under Morris, an unbounded distribution is cut at this quantile and its complement."""


class Uniform(StrictModel):
    dist: Literal["uniform"]
    low: Real
    high: Real

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g}); swap them")
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def degenerate(self) -> float | None:
        return self.low if self.low == self.high else None


class Triangular(StrictModel):
    dist: Literal["triangular"]
    low: Real
    mode: Real
    high: Real

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"needs low <= mode <= high, got {self.low:g}, {self.mode:g}, {self.high:g}; "
                "put mode between low and high"
            )
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def degenerate(self) -> float | None:
        return self.low if self.low == self.high else None


class Normal(StrictModel):
    dist: Literal["normal"]
    mean: Real
    sd: NonNegative
    low: Real | None = None
    high: Real | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Normal:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if self.sd == 0:
            if not low <= self.mean <= high:
                raise ValueError(
                    f"with sd = 0 the mean ({self.mean:g}) must lie within low ({low:g}) "
                    f"and high ({high:g}); move the mean or the bounds"
                )
        elif low >= high:
            raise ValueError(
                f"low ({low:g}) must be below high ({high:g}); "
                + ("widen them, or hold the parameter with sd = 0" if low == high else "swap them")
            )
        return self

    def bounds(self) -> tuple[float, float]:
        if self.sd == 0:
            return self.mean, self.mean
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low, high

    def degenerate(self) -> float | None:
        return self.mean if self.sd == 0 else None


class Lognormal(StrictModel):
    dist: Literal["lognormal"]
    median: Positive
    sigma: NonNegative

    def bounds(self) -> tuple[float, float]:
        return (self.median, self.median) if self.sigma == 0 else (0.0, math.inf)

    def degenerate(self) -> float | None:
        return self.median if self.sigma == 0 else None


Distribution = Annotated[Uniform | Triangular | Normal | Lognormal, Field(discriminator="dist")]
DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")


EDGE = 2.0**-53
"""Unit coordinates are kept within [EDGE, 1 - EDGE]: an unbounded quantile stays finite."""


def quantile(
    distribution: Distribution, unit: np.ndarray, *, cut_tails: bool = False
) -> np.ndarray:
    """The distribution's values at the probabilities ``unit``; with ``cut_tails`` an
    unbounded side is cut at the MORRIS_TAIL quantile (Morris's grid reaches 0 and 1).
    Values beyond the floating-point range come out as inf (or NaN, for a normal whose
    bounds lie too many sd from its mean), quietly: :func:`reach` finds them first."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _quantile(distribution, unit, cut_tails=cut_tails)


def _quantile(distribution: Distribution, unit: np.ndarray, *, cut_tails: bool) -> np.ndarray:
    u = np.clip(np.asarray(unit, dtype=np.float64), EDGE, 1.0 - EDGE)
    if cut_tails:
        low, high = distribution.bounds()
        bottom = MORRIS_TAIL if (math.isinf(low) or isinstance(distribution, Lognormal)) else 0.0
        top = 1.0 - MORRIS_TAIL if math.isinf(high) else 1.0
        u = np.clip(bottom + u * (top - bottom), EDGE, 1.0 - EDGE)
    if isinstance(distribution, Uniform):
        return distribution.low + u * (distribution.high - distribution.low)
    if isinstance(distribution, Triangular):
        width = distribution.high - distribution.low
        peak = (distribution.mode - distribution.low) / width
        return np.asarray(stats.triang.ppf(u, peak, loc=distribution.low, scale=width))
    if isinstance(distribution, Normal):
        low, high = distribution.bounds()
        a = (low - distribution.mean) / distribution.sd
        b = (high - distribution.mean) / distribution.sd
        return np.asarray(
            stats.truncnorm.ppf(u, a, b, loc=distribution.mean, scale=distribution.sd)
        )
    return np.asarray(distribution.median * np.exp(distribution.sigma * ndtri(u)))


def reach(distribution: Distribution) -> np.ndarray:
    """The lowest and highest values the samples of a distribution with spread can take,
    under either method: its quantiles at EDGE and 1 - EDGE."""
    return quantile(distribution, np.array([0.0, 1.0]))
