"""The building blocks of the configuration models: strict numbers, curves, the base model."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import pairwise
from typing import Annotated, Any

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)

from hazardmap.model.hazard import Curve
from hazardmap.problems import shorten

Real = Annotated[float, Strict()]
"""A number; never a boolean (pydantic would otherwise take ``true`` for 1.0)."""
Probability = Annotated[Real, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Real, Field(ge=0.0)]
Positive = Annotated[Real, Field(gt=0.0)]
Bound = Annotated[Real, AllowInfNan(True)]
"""A range's end: -inf and inf mean unbounded."""
Count = Annotated[int, Strict()]


def holds_a_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, list | tuple) and any(holds_a_boolean(v) for v in value)
    )


def numbers_only(value: Any) -> Any:
    """Reject booleans anywhere in a table of numbers: TOML's ``true`` is no number."""
    if holds_a_boolean(value):
        raise ValueError(f"expected numbers, got {shorten(value)}; write numbers, not true/false")
    return value


CurveInput = Annotated[Curve, BeforeValidator(numbers_only)]
"""A curve as a layer file gives it, [[x, value], ...]."""


class StrictModel(BaseModel):
    # every float is finite unless its type says otherwise (Bound)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_curve(points: Curve, what: str) -> Curve:
    if len(points) < 2:
        raise ValueError(f"{what} needs at least two [x, value] points")
    xs = [x for x, _ in points]
    if any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"{what} x values must increase strictly, got {xs}")
    if not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"{what} must hold finite numbers")
    return points


def falls(points: Curve) -> bool:
    return any(b < a for (_, a), (_, b) in pairwise(points))


def only_known(keys: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Reject names outside the fixed vocabulary, listing what is allowed."""
    allowed = list(allowed)
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; expected some of {allowed}")
