"""``[uncertainty]``: how uncertain each parameter is, and how the samples are drawn
(docs/model.md, "Uncertainty and sensitivity").

Each parameter path names one number of the configuration. Paths of layers and of the
interventions' factors take factors on the configured value (1 = as configured); the
project's spread of income and insurance cover, and an intervention's cost, take absolute
values. Whether a path names something the project has, and whether its distribution can
leave the parameter's domain, is checked against the loaded project (:func:`check_paths`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from hazardmap.config.distributions import (
    Distribution,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    reach,
)
from hazardmap.config.fields import Count, StrictModel
from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS


class UncertaintySection(StrictModel):
    """``hazardmap uncertainty``'s settings: the method, the samples, the k of p_top_k,
    the seed, and a distribution per parameter path."""

    method: Literal["sobol", "morris"] = "sobol"
    samples: Annotated[Count, Field(ge=2, le=1 << 20)] = 256
    """Base samples N of Saltelli's scheme (a power of 2; N (D + 2) model runs), or
    Morris trajectories (and as many Monte Carlo draws for the percentiles)."""
    top_k: Annotated[Count, Field(ge=1)] = 20
    seed: Annotated[Count, Field(ge=0)] = 1
    parameters: dict[str, Distribution] = Field(default_factory=dict)

    @field_validator("parameters", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        """TOML reads an unquoted ``layers.dry.frequency_factor = {...}`` as nested tables,
        which would otherwise be refused for lacking a ``dist``: say to quote the path."""
        if isinstance(value, dict):
            for key, item in value.items():
                nested = _unquoted_path(str(key), item)
                if nested is not None:
                    raise ValueError(
                        f"{nested} is written without quotes, so TOML reads its dots as "
                        f'nested tables; quote the whole path: "{nested}" = {{ dist = ... }}'
                    )
        return value

    @model_validator(mode="after")
    def _power_of_two(self) -> UncertaintySection:
        if self.method == "sobol" and self.samples & (self.samples - 1):
            below = 1 << (self.samples.bit_length() - 1)
            raise ValueError(
                f"samples = {self.samples}: Sobol's base samples must be a power of 2; "
                f"use {below} or {below * 2}"
            )
        return self


def _unquoted_path(key: str, item: object) -> str | None:
    """The dotted path of the first distribution nested under ``key`` by unquoted dots
    (a table without ``dist`` holding tables), or None."""
    if not isinstance(item, dict) or "dist" in item or not item:
        return None
    if not all(isinstance(inner, dict) for inner in item.values()):
        return None
    first, inner = next(iter(item.items()))
    return _unquoted_path(f"{key}.{first}", inner) or f"{key}.{first}"


Kind = Literal["factor", "sigma", "cover", "cost"]
DOMAINS: dict[Kind, tuple[float, float, bool]] = {
    "factor": (0.0, math.inf, True),
    "sigma": (0.0, math.inf, False),
    "cover": (0.0, 1.0, True),
    "cost": (0.0, math.inf, False),
}
"""Each kind of parameter's domain: low, high, and whether low itself is allowed."""
DOMAIN_WORDS: dict[Kind, str] = {
    "factor": "a factor must be 0 or more",
    "sigma": "income_sigma must be above 0",
    "cover": "insurance_cover must lie within [0, 1]",
    "cost": "a cost must be above 0",
}


@dataclass(frozen=True)
class ParameterPath:
    """One parameter path, parsed: what it changes and what kind of number it is."""

    key: str
    kind: Kind
    target: Literal["project", "layer", "intervention"]
    name: str
    """The layer or intervention; the project's key for the project."""
    field: str
    """frequency_factor, damage, housing, probability_factor, damage_factor or
    cost_per_household; income_sigma or insurance_cover for the project."""
    item: str | None = None
    """The component or housing type of damage, housing and damage_factor."""


def parse_path(
    key: str, layers: Sequence[str], interventions: Sequence[str]
) -> ParameterPath | str:
    """The parsed path, or why it names no parameter (a sentence with the fix)."""
    parts = key.split(".")
    known = (
        "project.income_sigma, project.insurance_cover, layers.<h>.frequency_factor, "
        "layers.<h>.damage.<component>, layers.<h>.housing.<type>, "
        "interventions.<k>.probability_factor, interventions.<k>.damage_factor.<component>, "
        "interventions.<k>.cost_per_household"
    )
    if parts == ["project", "income_sigma"]:
        return ParameterPath(key, "sigma", "project", "project", "income_sigma")
    if parts == ["project", "insurance_cover"]:
        return ParameterPath(key, "cover", "project", "project", "insurance_cover")
    if len(parts) >= 3 and parts[0] == "layers":
        if parts[1] not in layers:
            return f"names the layer '{parts[1]}', but the layers are {sorted(layers)}"
        return _layer_path(key, parts, known)
    if len(parts) >= 3 and parts[0] == "interventions":
        if parts[1] not in interventions:
            return (
                f"names the intervention '{parts[1]}', but the interventions are "
                f"{sorted(interventions)}"
            )
        return _intervention_path(key, parts, known)
    return f"is no parameter path; the paths are {known}"


def _layer_path(key: str, parts: list[str], known: str) -> ParameterPath | str:
    name = parts[1]
    if parts[2:] == ["frequency_factor"]:
        return ParameterPath(key, "factor", "layer", name, "frequency_factor")
    if len(parts) == 4 and parts[2] == "damage":
        if parts[3] not in INCOME_COMPONENTS:
            return f"names the component '{parts[3]}'; the components are {list(INCOME_COMPONENTS)}"
        return ParameterPath(key, "factor", "layer", name, "damage", parts[3])
    if len(parts) == 4 and parts[2] == "housing":
        if parts[3] not in HOUSING_TYPES:
            return f"names the housing type '{parts[3]}'; the types are {list(HOUSING_TYPES)}"
        return ParameterPath(key, "factor", "layer", name, "housing", parts[3])
    return f"is no parameter path; the paths are {known}"


def _intervention_path(key: str, parts: list[str], known: str) -> ParameterPath | str:
    name = parts[1]
    if parts[2:] == ["probability_factor"]:
        return ParameterPath(key, "factor", "intervention", name, "probability_factor")
    if parts[2:] == ["cost_per_household"]:
        return ParameterPath(key, "cost", "intervention", name, "cost_per_household")
    if len(parts) == 4 and parts[2] == "damage_factor":
        if parts[3] not in INCOME_COMPONENTS:
            return f"names the component '{parts[3]}'; the components are {list(INCOME_COMPONENTS)}"
        return ParameterPath(key, "factor", "intervention", name, "damage_factor", parts[3])
    return f"is no parameter path; the paths are {known}"


def _respelled(key: str, layers: Sequence[str], interventions: Sequence[str]) -> str | None:
    """The path ``key`` means when it differs from one only in case or spaces, or None."""
    names = {name.lower(): name for name in [*layers, *interventions]}
    parts = [part.strip() for part in key.split(".")]
    candidate = ".".join(names.get(part.lower(), part.lower()) for part in parts)
    found = parse_path(candidate, layers, interventions)
    return candidate if candidate != key and isinstance(found, ParameterPath) else None


def leaves_domain(kind: Kind, bounds: tuple[float, float]) -> bool:
    """Whether values within ``bounds`` (the distribution's support) can leave the
    domain of a parameter of ``kind``."""
    low, high, low_allowed = DOMAINS[kind]
    below = bounds[0] < low or (bounds[0] == low and not low_allowed)
    return below or bounds[1] > high


def check_paths(
    section: UncertaintySection,
    layers: Sequence[str],
    interventions: Sequence[str],
    villages: int | None = None,
    *,
    note: str = "",
) -> tuple[list[ParameterPath], list[str]]:
    """Every parameter path parsed, and the problems: paths that name nothing, and
    distributions that can leave their parameter's domain or the floating-point range
    (each naming the key and the fix); when the villages are known, top_k above their
    number and samples whose runs would not fit in memory (``note`` added to that one,
    e.g. which option set samples)."""
    paths, problems = [], []
    for key, distribution in section.parameters.items():
        parsed = parse_path(key, layers, interventions)
        where = f'[uncertainty.parameters] "{key}"'
        if isinstance(parsed, str):
            spelled = _respelled(key, layers, interventions)
            problems.append(
                f"{where} {parsed}"
                if spelled is None
                else f'{where} is no parameter path; write it as "{spelled}" (paths are '
                "case-sensitive and take no spaces)"
            )
            continue
        if leaves_domain(parsed.kind, distribution.bounds()):
            low, high = distribution.bounds()
            problems.append(
                f"{where}: this {distribution.dist} distribution reaches "
                f"[{low:g}, {high:g}], but {DOMAIN_WORDS[parsed.kind]}; " + _fix(distribution)
            )
            continue
        if distribution.degenerate() is None:
            ends = [float(end) for end in reach(distribution)]
            if not all(math.isfinite(end) for end in ends):
                problems.append(f"{where}: {_unreachable(distribution, ends)}")
                continue
        paths.append(parsed)
    if villages is not None and section.top_k > villages:
        problems.append(
            f"[uncertainty] top_k = {section.top_k} exceeds the {villages} villages; "
            f"set top_k to {villages} or fewer"
        )
    if villages is not None:
        varied = sum(section.parameters[path.key].degenerate() is None for path in paths)
        too_big = _too_big(section, varied, villages)
        if too_big is not None:
            problems.append(too_big + note)
    return paths, problems


def _unreachable(distribution: Distribution, ends: Sequence[float]) -> str:
    if any(math.isnan(end) for end in ends):  # a normal's bounds far out in its tails
        return (
            f"this {distribution.dist} distribution's low and high lie so many sd from its "
            "mean that its values cannot be computed; bring the mean within reach of the "
            "bounds or widen sd"
        )
    return (
        f"this {distribution.dist} distribution's values reach beyond the largest number a "
        f"computer holds (about {sys.float_info.max:.1e}); use a narrower distribution"
    )


MAX_MEMORY = 2 * 1024**3
"""The most memory (bytes) the runs' outcomes and SALib's bootstrap may take: past it,
``uncertainty`` refuses before it samples, rather than fail or swap after hours."""
RESAMPLES = 100
"""SALib's bootstrap resamples for the indices' intervals (its default, as compute uses)."""


def model_runs(method: str, samples: int, varied: int) -> int:
    """The model runs of ``samples`` base samples (Sobol) or trajectories (Morris, with
    its Monte Carlo draws) of ``varied`` parameters; one when nothing varies."""
    if varied == 0:
        return 1
    if method == "sobol":
        return samples * (varied + 2)
    return samples * (varied + 1) + samples


def memory_needed(method: str, samples: int, varied: int, villages: int) -> int:
    """Bytes the analysis holds at its peak, roughly: per run the villages' expected
    returns (twice while the chunks are joined), the design's point and values and the
    portfolio's returns avoided; SALib's bootstrap of the indices (Sobol: the resample
    indices and about seven gathered copies; Morris: the indices and two copies)."""
    runs = model_runs(method, samples, varied)
    outcomes = runs * (2 * villages + 2 * varied + 1) * 8
    bootstrap = 0 if varied == 0 else samples * RESAMPLES * 8 * (8 if method == "sobol" else 3)
    return outcomes + bootstrap


def _too_big(section: UncertaintySection, varied: int, villages: int) -> str | None:
    """Why ``section``'s samples would not fit in MAX_MEMORY, with the samples that do."""
    method, samples = section.method, section.samples
    need = memory_needed(method, samples, varied, villages)
    if need <= MAX_MEMORY:
        return None
    if method == "sobol":  # a power of 2
        fit = samples
        while fit > 2 and memory_needed(method, fit, varied, villages) > MAX_MEMORY:
            fit //= 2
    else:  # the memory grows in proportion to the trajectories
        fit = MAX_MEMORY // memory_needed(method, 1, varied, villages)
    fits = fit >= 2 and memory_needed(method, fit, varied, villages) <= MAX_MEMORY
    parameters = "1 parameter" if varied == 1 else f"{varied} parameters"
    return (
        f"[uncertainty] samples = {samples}: {model_runs(method, samples, varied):,} model runs "
        f"of {parameters} over {villages:,} villages would need about "
        f"{need / 1024**3:.1f} GB of memory (at most {MAX_MEMORY / 1024**3:.0f} GB); "
        + (f"set samples to {fit} or fewer" if fits else "vary fewer parameters")
    )


def _fix(distribution: Uniform | Triangular | Normal | Lognormal) -> str:
    if isinstance(distribution, Normal):
        return "bound it with low (and high) inside the domain"
    if isinstance(distribution, Lognormal):
        return "use a bounded distribution (uniform, triangular, normal with low and high)"
    return "move low and high inside the domain"
