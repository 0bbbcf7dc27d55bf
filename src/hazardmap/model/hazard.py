"""A hazard's model parameters, and the two curves they define: frequency and damage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from hazardmap.vocabulary import HOUSING_TYPES

FrequencyType = Literal["probability", "rate", "table", "return_period", "classes"]
Curve = tuple[tuple[float, float], ...]
CLASS_TOLERANCE = 1e-6
"""Relative distance within which a value is a class (float32 keeps about 7 digits)."""
DamageSpec = float | Curve


@dataclass(frozen=True)
class Frequency:
    """How a layer's intensity x becomes an annual probability of a damaging event."""

    type: FrequencyType
    points: Curve = ()
    damaging_fraction: float = 1.0

    @property
    def is_classes(self) -> bool:
        """Whether x is a class, mapped to its probability without interpolation."""
        return self.type == "classes"

    def class_values(self) -> np.ndarray:
        """The classes of a ``classes`` rule, increasing."""
        return np.asarray([x for x, _ in self.points], dtype=np.float64)

    def class_tolerance(self) -> np.ndarray:
        """How far a value may lie from each class and still be it: a float32 raster
        stores the class 0.1 as 0.10000000149 (one part in ten million)."""
        return CLASS_TOLERANCE * np.maximum(1.0, np.abs(self.class_values()))

    def snap_to_classes(self, x: np.ndarray) -> np.ndarray:
        """Values within a class's tolerance become that class; others stay as they are
        (and are refused by the overlay: never a neighbouring class)."""
        x = np.array(x, dtype=np.float64)
        for value, tolerance in zip(self.class_values(), self.class_tolerance(), strict=True):
            x[np.abs(x - value) <= tolerance] = value
        return x

    def outside_domain(self, x: np.ndarray) -> np.ndarray:
        """Which intensities the rule can only clamp: beyond a table's ends, probabilities
        outside [0, 1], negative rates, return periods under a year, values that are no
        class (NaN is not outside)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.type == "classes":
                return np.isfinite(x) & ~np.isin(self.snap_to_classes(x), self.class_values())
            if self.type == "table":
                return (x < self.points[0][0]) | (x > self.points[-1][0])
            if self.type == "probability":
                return (x < 0.0) | (x > 1.0)
            if self.type == "rate":
                return x < 0.0
            return x < 1.0

    def domain(self) -> str:
        """The intensities the rule takes, in words."""
        if self.type == "table":
            return f"the table's x from {self.points[0][0]:g} to {self.points[-1][0]:g}"
        if self.type == "classes":
            return f"the classes {[float(c) for c in self.class_values()]}"
        return {
            "probability": "probabilities from 0 to 1",
            "rate": "rates of 0 or more",
            "return_period": "return periods of 1 year or more",
        }[self.type]

    def annual_probability(self, x: np.ndarray) -> np.ndarray:
        """p(x) by the rule of ``type``; NaN stays NaN."""
        x = np.asarray(x, dtype=np.float64)
        if self.type == "probability":
            return np.clip(x, 0.0, 1.0)
        if self.type == "rate":
            return -np.expm1(-self.damaging_fraction * np.maximum(x, 0.0))
        if self.type == "table":
            xs, ps = np.asarray(self.points, dtype=np.float64).T
            return np.interp(x, xs, ps)
        if self.type == "classes":  # the class's own probability; no class, no probability
            x = self.snap_to_classes(x)
            xs, ps = np.asarray(self.points, dtype=np.float64).T
            at = np.clip(np.searchsorted(xs, x), 0, len(xs) - 1)
            return np.where(xs[at] == x, ps[at], np.nan)
        with np.errstate(divide="ignore"):
            return np.where(np.isnan(x), np.nan, 1.0 / np.maximum(x, 1.0))


def _ratio(spec: DamageSpec, x: np.ndarray) -> np.ndarray:
    if isinstance(spec, tuple):
        xs, ratios = np.asarray(spec, dtype=np.float64).T
        return np.interp(x, xs, ratios)
    return np.full_like(x, float(spec))


@dataclass(frozen=True)
class HazardParams:
    """Everything the model needs to know about one hazard layer.

    ``probability_factor``, ``damage_factor`` and ``insure_all`` are 1, empty and False
    for the layer as configured; interventions set them (see :meth:`with_intervention`).
    """

    name: str
    frequency: Frequency
    damage: Mapping[str, DamageSpec] = field(default_factory=dict)
    housing: Mapping[str, float] = field(default_factory=dict)
    probability_factor: float = 1.0
    damage_factor: Mapping[str, float] = field(default_factory=dict)
    insure_all: bool = False

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Annual probability of a damaging event at intensity x."""
        p = self.frequency.annual_probability(x) * self.probability_factor
        return np.minimum(p, 1.0)

    def damage_ratio(self, component: str, x: np.ndarray) -> np.ndarray | None:
        """The damage ratio of ``component`` at intensity x, clamped to [0, 1]; None when
        the layer does not damage it."""
        spec = self.damage.get(component)
        if spec is None:
            return None
        x = np.asarray(x, dtype=np.float64)
        return np.clip(_ratio(spec, x) * self.damage_factor.get(component, 1.0), 0.0, 1.0)

    def housing_losses(self) -> np.ndarray:
        """Housing loss per housing type, in the order of HOUSING_TYPES."""
        return np.array([self.housing.get(h, 0.0) for h in HOUSING_TYPES], dtype=np.float64)

    def with_intervention(
        self,
        *,
        probability_factor: float | None = None,
        damage_factor: Mapping[str, float] | None = None,
        insure: bool = False,
    ) -> HazardParams:
        """The same hazard after an intervention changes its parameters."""
        factors = dict(self.damage_factor)
        for component, factor in (damage_factor or {}).items():
            factors[component] = factors.get(component, 1.0) * factor
        return replace(
            self,
            probability_factor=self.probability_factor
            * (1.0 if probability_factor is None else probability_factor),
            damage_factor=factors,
            insure_all=self.insure_all or insure,
        )
