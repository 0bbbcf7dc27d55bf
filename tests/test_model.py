"""The household model against hand-computed values and the properties of docs/model.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hazardmap.model import (
    Frequency,
    HazardParams,
    HouseholdArrays,
    assess_hazard,
    assess_households,
)
from hazardmap.model.risk import classify, combine, income_loss
from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS

LINE = 7500.0
SIGMA = 0.35
COVER = 0.4

LANDSLIDE = HazardParams(
    name="landslide",
    frequency=Frequency(
        "table", ((0, 0), (0.3, 0.002), (0.5, 0.01), (0.7, 0.03), (0.9, 0.08), (1, 0.12))
    ),
    damage={"crop": 0.1, "orchard": 0.1, "livestock": 0.2},
    housing={"earth": 1.2, "brick_wood": 0.8, "brick_concrete": 0.3, "frame": 0.15},
)
DROUGHT = HazardParams(
    name="drought",
    frequency=Frequency("probability"),
    damage={"crop": 0.5, "orchard": 0.3, "livestock": 0.2},
)
HAIL = HazardParams(
    name="hail",
    frequency=Frequency("rate", damaging_fraction=0.15),
    damage={"crop": 0.3, "orchard": 0.5},
)


def phi(t: float) -> float:
    return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))


def households(
    income: list[float], shares: list[dict[str, float]], insured: list[bool], housing: list[str]
) -> HouseholdArrays:
    return HouseholdArrays(
        income=np.array(income, dtype=float),
        shares=np.array([[s.get(c, 0.0) for c in INCOME_COMPONENTS] for s in shares]),
        insured=np.array(insured),
        housing=np.array([HOUSING_TYPES.index(h) for h in housing]),
    )


ONE = households(
    [10000.0], [{"crop": 0.4, "orchard": 0.2, "wage": 0.4}], [True], ["brick_concrete"]
)


def test_landslide_by_hand() -> None:
    # p: 0.6 lies halfway between the table points (0.5, 0.01) and (0.7, 0.03)
    # L: crop 0.4*0.1*(1-0.4) + orchard 0.2*0.1*(1-0.4) + housing 0.3 = 0.336
    out = assess_hazard(np.array([0.6]), ONE, LANDSLIDE, line=LINE, sigma=SIGMA, cover=COVER)
    q0 = phi((math.log(7500) - math.log(10000)) / 0.35)
    q = phi((math.log(7500) - math.log(10000 * (1 - 0.336))) / 0.35)
    assert out.probability[0] == pytest.approx(0.02)
    assert out.loss[0] == pytest.approx(0.336)
    assert out.risk[0] == pytest.approx(0.02 * (q - q0), rel=1e-12)
    assert out.risk[0] == pytest.approx(0.0086103, rel=1e-4)


def test_drought_uninsured_by_hand() -> None:
    hh = households([8000.0], [{"crop": 0.6, "livestock": 0.1}], [False], ["earth"])
    out = assess_hazard(np.array([0.25]), hh, DROUGHT, line=LINE, sigma=SIGMA, cover=COVER)
    loss = 0.6 * 0.5 + 0.1 * 0.2  # no housing loss for drought, no insurance
    q0 = phi((math.log(7500) - math.log(8000)) / 0.35)
    q = phi((math.log(7500) - math.log(8000 * (1 - loss))) / 0.35)
    assert out.loss[0] == pytest.approx(0.32)
    assert out.risk[0] == pytest.approx(0.25 * (q - q0), rel=1e-12)


def test_hail_rate_by_hand() -> None:
    out = assess_hazard(np.array([2.0]), ONE, HAIL, line=LINE, sigma=SIGMA, cover=COVER)
    assert out.probability[0] == pytest.approx(1 - math.exp(-0.3))
    assert out.loss[0] == pytest.approx(0.4 * 0.3 * 0.6 + 0.2 * 0.5 * 0.6)


def test_return_period_and_clamps() -> None:
    freq = Frequency("return_period")
    np.testing.assert_allclose(
        freq.annual_probability(np.array([1.0, 4.0, 50.0])), [1.0, 0.25, 0.02]
    )
    np.testing.assert_allclose(
        Frequency("probability").annual_probability(np.array([-0.1, 0.3, 1.2])), [0.0, 0.3, 1.0]
    )


def test_total_loss_means_certain_poverty() -> None:
    hh = households([20000.0], [{"crop": 0.5}], [False], ["earth"])  # housing 1.2 -> L = 1
    out = assess_hazard(np.array([0.9]), hh, LANDSLIDE, line=LINE, sigma=SIGMA, cover=COVER)
    q0 = phi((math.log(7500) - math.log(20000)) / 0.35)
    assert out.loss[0] == 1.0
    assert out.risk[0] == pytest.approx(0.08 * (1.0 - q0))


def test_missing_intensity_is_nan_not_zero() -> None:
    out = assess_hazard(np.array([np.nan]), ONE, LANDSLIDE, line=LINE, sigma=SIGMA, cover=COVER)
    assert np.isnan(out.probability[0]) and np.isnan(out.loss[0]) and np.isnan(out.risk[0])
    combined = combine([np.array([np.nan, 0.1]), np.array([0.2, 0.2])])
    assert np.isnan(combined[0]) and combined[1] == pytest.approx(1 - 0.9 * 0.8)


def test_combined_risk_and_classes() -> None:
    result = assess_households(
        ONE,
        [LANDSLIDE, DROUGHT, HAIL],
        {"landslide": np.array([0.6]), "drought": np.array([0.2]), "hail": np.array([2.0])},
        line=LINE,
        sigma=SIGMA,
        cover=COVER,
    )
    r = [o.risk[0] for o in result.hazards.values()]
    assert result.risk[0] == pytest.approx(1 - (1 - r[0]) * (1 - r[1]) * (1 - r[2]))
    classes = classify(
        np.array([np.nan, 0.0, 0.02, 0.049, 0.05, 0.099, 0.1, 1.0]), [0.02, 0.05, 0.10]
    )
    assert classes.tolist() == [0, 1, 2, 2, 3, 3, 4, 4]


# ------------------------------------------------------------------ properties (hypothesis)
unit = st.floats(0.0, 1.0)
incomes = st.floats(500.0, 200_000.0)


@st.composite
def household_and_hazard(draw: st.DrawFn) -> tuple[HouseholdArrays, HazardParams, float]:
    raw = [draw(unit) for _ in INCOME_COMPONENTS]
    total = draw(st.floats(0.0, 1.0))
    shares = np.array(raw) / max(sum(raw), 1e-9) * total
    hh = HouseholdArrays(
        income=np.array([draw(incomes)]),
        shares=shares[None, :],
        insured=np.array([draw(st.booleans())]),
        housing=np.array([draw(st.integers(0, len(HOUSING_TYPES) - 1))]),
    )
    kind = draw(st.sampled_from(["probability", "rate", "table"]))
    if kind == "table":
        xs = sorted(set(draw(st.lists(st.floats(0, 10), min_size=2, max_size=5, unique=True))))
        if len(xs) < 2:
            xs = [0.0, 10.0]
        ps = sorted(draw(st.lists(unit, min_size=len(xs), max_size=len(xs))))
        freq = Frequency("table", tuple(zip(xs, ps, strict=True)))
    elif kind == "rate":
        freq = Frequency("rate", damaging_fraction=draw(unit))
    else:
        freq = Frequency("probability")
    damage = {c: draw(unit) for c in INCOME_COMPONENTS if draw(st.booleans())}
    housing = {h: draw(st.floats(0, 2)) for h in HOUSING_TYPES if draw(st.booleans())}
    return hh, HazardParams("h", freq, damage, housing), draw(st.floats(0.0, 10.0))


def risk_of(hh: HouseholdArrays, hazard: HazardParams, x: float, cover: float = COVER) -> float:
    out = assess_hazard(np.array([x]), hh, hazard, line=LINE, sigma=SIGMA, cover=cover)
    return float(out.risk[0])


@settings(max_examples=300, deadline=None)
@given(household_and_hazard())
def test_risk_is_a_probability(case: tuple[HouseholdArrays, HazardParams, float]) -> None:
    hh, hazard, x = case
    r = risk_of(hh, hazard, x)
    assert 0.0 <= r <= 1.0
    combined = combine([np.array([r]), np.array([r])])[0]
    assert 0.0 <= combined <= 1.0


@settings(max_examples=300, deadline=None)
@given(household_and_hazard(), st.floats(0.0, 10.0))
def test_risk_never_falls_when_intensity_rises(
    case: tuple[HouseholdArrays, HazardParams, float], more: float
) -> None:
    hh, hazard, x = case
    assert risk_of(hh, hazard, x + more) >= risk_of(hh, hazard, x) - 1e-15


@settings(max_examples=300, deadline=None)
@given(household_and_hazard(), st.floats(1.0, 5.0), st.sampled_from(INCOME_COMPONENTS))
def test_risk_never_falls_when_damage_or_probability_rises(
    case: tuple[HouseholdArrays, HazardParams, float], factor: float, component: str
) -> None:
    hh, hazard, x = case
    base = risk_of(hh, hazard, x)
    assert (
        risk_of(hh, hazard.with_intervention(damage_factor={component: factor}), x) >= base - 1e-15
    )
    assert risk_of(hh, hazard.with_intervention(probability_factor=factor), x) >= base - 1e-15


@settings(max_examples=300, deadline=None)
@given(household_and_hazard(), st.sampled_from(range(len(INCOME_COMPONENTS))), unit)
def test_risk_never_falls_when_an_exposed_share_rises(
    case: tuple[HouseholdArrays, HazardParams, float], j: int, fraction: float
) -> None:
    hh, hazard, x = case
    slack = 1.0 - hh.shares.sum()
    shares = hh.shares.copy()
    shares[0, j] += slack * fraction
    richer_exposure = HouseholdArrays(hh.income, shares, hh.insured, hh.housing)
    assert risk_of(richer_exposure, hazard, x) >= risk_of(hh, hazard, x) - 1e-15


@settings(max_examples=300, deadline=None)
@given(household_and_hazard(), unit, unit)
def test_risk_never_rises_with_cover(
    case: tuple[HouseholdArrays, HazardParams, float], cover_a: float, cover_b: float
) -> None:
    hh, hazard, x = case
    low, high = sorted((cover_a, cover_b))
    assert risk_of(hh, hazard, x, cover=high) <= risk_of(hh, hazard, x, cover=low) + 1e-15


@settings(max_examples=300, deadline=None)
@given(household_and_hazard(), st.floats(1.0, 10.0))
def test_risk_never_rises_with_income_above_the_turning_point(
    case: tuple[HouseholdArrays, HazardParams, float], factor: float
) -> None:
    """d r / d y <= 0 exactly where y >= z / sqrt(1 - L) (see docs/model.md, 'Income')."""
    hh, hazard, x = case
    loss = float(income_loss(np.array([x]), hh, hazard, COVER)[0])
    turning_point = LINE / math.sqrt(1.0 - loss) if loss < 1.0 else math.inf
    if hh.income[0] < turning_point:
        hh = HouseholdArrays(np.array([turning_point]), hh.shares, hh.insured, hh.housing)
    if not math.isfinite(hh.income[0]):
        return
    richer = HouseholdArrays(hh.income * factor, hh.shares, hh.insured, hh.housing)
    # at the turning point the slope is 0: both sides differ by rounding alone (1.6e-15 seen)
    assert risk_of(richer, hazard, x) <= risk_of(hh, hazard, x) + 1e-12


def test_risk_rises_with_income_below_the_turning_point() -> None:
    """A household already expected below the line cannot fall back: r = p (q - q0) is
    small when q0 is near 1, and grows as income rises towards z / sqrt(1 - L)."""
    poorer = households([2000.0], [{"crop": 0.5}], [False], ["frame"])
    richer = households([7000.0], [{"crop": 0.5}], [False], ["frame"])
    x = np.array([0.3])
    r_poor = assess_hazard(x, poorer, DROUGHT, line=LINE, sigma=SIGMA, cover=COVER).risk[0]
    r_rich = assess_hazard(x, richer, DROUGHT, line=LINE, sigma=SIGMA, cover=COVER).risk[0]
    assert r_poor < r_rich


@settings(max_examples=200, deadline=None)
@given(household_and_hazard())
def test_no_exposure_no_risk(case: tuple[HouseholdArrays, HazardParams, float]) -> None:
    hh, hazard, x = case
    exposed = [c for c in INCOME_COMPONENTS if c in hazard.damage]
    shares = hh.shares.copy()
    for c in exposed:
        shares[0, INCOME_COMPONENTS.index(c)] = 0.0
    safe = HazardParams(hazard.name, hazard.frequency, hazard.damage, housing={})
    untouched = HouseholdArrays(hh.income, shares, hh.insured, hh.housing)
    assert risk_of(untouched, safe, x) == 0.0
    assert income_loss(np.array([x]), untouched, safe, COVER)[0] == 0.0
