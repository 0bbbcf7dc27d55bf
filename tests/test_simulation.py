"""Simulated years: each household keeps its annual probability exactly, the mean of the
simulated returns is the sum of the expected returns (compound = "separate"), the same
seed gives the same years, and the exceedance table is the quantile MODEL.md names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardmap.errors import ConfigError
from hazardmap.model.copula import strata, struck
from hazardmap.model.risk import baseline_vulnerability, poverty_probability
from hazardmap.model.simulation import (
    HazardYears,
    Population,
    Shocks,
    exceedance,
    simulate,
    simulate_block,
    village_years,
)
from tests.helpers import invoke

LINE, SIGMA = 7500.0, 0.35


def _county(n: int = 2000, seed: int = 3) -> tuple[Population, list[HazardYears]]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(np.log(11000), 0.3, n)
    population = Population(
        income=income,
        q0=baseline_vulnerability(income, LINE, SIGMA),
        line=LINE,
        sigma=SIGMA,
        village=rng.integers(0, 20, n),
        n_villages=20,
    )
    cells = rng.integers(0, 12, n)
    hazards = [
        HazardYears(
            "drought", rng.uniform(0.02, 0.15, n), rng.uniform(0.1, 0.4, n), cells, 0.7, 0.2
        ),
        HazardYears("hail", rng.uniform(0.01, 0.1, n), rng.uniform(0.1, 0.5, n), cells, 0.1, 0.6),
    ]
    return population, hazards


def _expected(population: Population, hazard: HazardYears) -> np.ndarray:
    q = poverty_probability(population.income, hazard.loss, LINE, SIGMA)
    return hazard.probability * (q - population.q0)


def test_separate_mean_is_the_sum_of_expected_returns_within_monte_carlo_error() -> None:
    population, hazards = _county()
    years = simulate(population, hazards, years=4000, seed=7, compound="separate")
    r = {h.name: _expected(population, h) for h in hazards}
    combined = 1 - np.prod([1 - r[h.name] for h in hazards], axis=0)
    for name, counts in [*years.by_hazard.items(), ("total", years.returns)]:
        expected = combined.sum() if name == "total" else r[name].sum()
        error = counts.std(ddof=1) / np.sqrt(len(counts))
        assert abs(counts.mean() - expected) < 4 * error, (name, counts.mean(), expected, error)


def test_correlation_widens_the_bad_years_but_keeps_the_mean() -> None:
    population, hazards = _county()
    alone = [HazardYears(h.name, h.probability, h.loss, h.cell) for h in hazards]
    together = [HazardYears(h.name, h.probability, h.loss, h.cell, 0.9, 0.0) for h in hazards]
    a = simulate(population, alone, years=3000, seed=1, compound="separate").returns
    b = simulate(population, together, years=3000, seed=1, compound="separate").returns
    assert abs(a.mean() - b.mean()) < 4 * np.hypot(a.std(), b.std()) / np.sqrt(3000)
    assert np.quantile(b, 0.95) > 2 * np.quantile(a, 0.95)


def test_the_same_seed_gives_the_same_years_and_another_other_years() -> None:
    population, hazards = _county(500)
    first = simulate(population, hazards, years=120, seed=11)
    again = simulate(population, hazards, years=120, seed=11)
    other = simulate(population, hazards, years=120, seed=12)
    assert np.array_equal(first.returns, again.returns)
    assert np.array_equal(first.by_village, again.by_village)
    assert not np.array_equal(first.returns, other.returns)
    # a longer run holds the shorter one's years: blocks are keyed by (seed, block)
    longer = simulate(population, hazards, years=200, seed=11)
    assert np.array_equal(longer.returns[:100], first.returns[:100])


def test_sum_adds_a_years_losses_before_the_line() -> None:
    """A household struck by both hazards in a year with losses of 0.3 each falls back
    with q(0.6), not with either q(0.3): certain events, one household."""
    income = np.array([12000.0])
    population = Population(
        income, baseline_vulnerability(income, LINE, SIGMA), LINE, SIGMA, np.array([0]), 1
    )
    hazards = [
        HazardYears("a", np.array([1.0]), np.array([0.3]), np.array([0])),
        HazardYears("b", np.array([1.0]), np.array([0.3]), np.array([0])),
    ]
    years = simulate(population, hazards, years=20000, seed=3, compound="sum")
    expected = poverty_probability(income, np.array([0.6]), LINE, SIGMA)[0] - population.q0[0]
    assert years.returns.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected / 20000))
    assert np.array_equal(years.by_hazard["a"], years.returns)  # credited to both


def test_exceedance_is_the_higher_quantile_and_its_tail_mean() -> None:
    returns = np.arange(1, 101)  # 100 years: 1 .. 100
    table = exceedance(returns).set_index("return_period")
    assert table.loc[10, "returns"] == 91 and table.loc[10, "tvar"] == pytest.approx(95.5)
    assert table.loc[50, "returns"] == 99
    assert np.isnan(table.loc[100, "returns"]) and np.isnan(table.loc[200, "tvar"])


def test_village_tallies() -> None:
    counts = np.zeros((40, 2), dtype=np.int64)
    counts[:4, 0] = 3
    p_any, in20 = village_years(counts)
    assert p_any.tolist() == [0.1, 0.0] and in20.tolist() == [3.0, 0.0]


def test_a_run_with_simulation_writes_its_years(tiny_project: Path, tmp_path: Path) -> None:
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text + '\n[simulation]\nyears = 20000\nseed = 5\ncompound = "separate"\n', encoding="utf-8"
    )
    out = tmp_path / "o"
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(out))
    assert code == 0, err
    years = pd.read_parquet(out / "years.parquet")
    assert list(years.columns) == ["year", "returns", "dry_returns", "slope_returns"]
    assert len(years) == 20000 and years["year"].tolist()[:3] == [1, 2, 3]
    households = pd.read_csv(out / "households.csv", encoding="utf-8-sig")
    expected = households["risk"].sum()  # h4 (a slope nodata cell) is left out of both
    error = years["returns"].std() / np.sqrt(len(years))
    assert abs(years["returns"].mean() - expected) < 4 * error
    for hazard in ("dry", "slope"):
        mine = households.loc[households["risk"].notna(), f"{hazard}_risk"].sum()
        assert abs(years[f"{hazard}_returns"].mean() - mine) < 4 * error + 1e-9
    table = pd.read_csv(out / "exceedance.csv")
    assert list(table.columns) == ["return_period", "returns", "tvar"]
    assert table["return_period"].tolist() == [2, 5, 10, 20, 50, 100, 200]
    villages = pd.read_csv(out / "villages.csv", encoding="utf-8-sig")
    assert villages["p_any_return"].between(0, 1).all() and "returns_1in20" in villages
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "The bad years" in report and "1 in 20 years" in report
    assert (out / "chart_exceedance.png").stat().st_size > 5_000
    assert "Chance of any return in a year (simulated)" in (out / "map.html").read_text("utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["simulation"]["households_left_out"] == 1
    assert manifest["simulation"]["seed"] == 5
    again = tmp_path / "again"
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(again))
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(again / "years.parquet"), years)


def _strikes(hazard: HazardYears, years: int, seed: int) -> np.ndarray:
    """(years, households): where ``hazard`` strikes, drawn as a block is."""
    n = len(hazard.probability)
    plan = strata(hazard.probability, hazard.cell)
    flat = struck(np.random.default_rng(seed), plan, n, years, hazard.county, hazard.local)
    matrix = np.zeros(years * n, dtype=bool)
    matrix[flat] = True
    return matrix.reshape(years, n)


@pytest.mark.parametrize(
    ("county", "local"), [(0.0, 0.0), (0.5, 0.3), (0.1, 0.6), (0.7, 0.2), (0.0, 1.0)]
)
def test_each_household_keeps_its_probability(county: float, local: float) -> None:
    """Over many years each household's event frequency stays within a binomial bound of
    its p, however correlated and whichever way its strata are drawn (hits or uniforms)."""
    rng = np.random.default_rng(0)
    n, years = 300, 20000
    p = np.r_[
        rng.uniform(0.02, 0.3, n - 100),
        rng.uniform(0.0005, 0.01, 90),
        np.zeros(5),
        1,
        1,
        0.9,
        0.5,
        0.75,
    ]
    hazard = HazardYears("h", p, np.full(n, 0.3), rng.integers(0, 5, n), county, local)
    frequency = _strikes(hazard, years, 1).mean(axis=0)
    bound = 4.5 * np.sqrt(p * (1 - p) / years)
    assert (np.abs(frequency - p) <= bound).all()
    assert (frequency[p == 0] == 0).all() and (frequency[p == 1] == 1).all()


def test_households_of_a_stratum_are_struck_independently_given_the_shared_normals() -> None:
    """Without correlation two households' events are independent: the years both are
    struck match p1 p2 (a hit process that put two hits on one year would not)."""
    n, years = 2, 200_000
    hazard = HazardYears("h", np.array([0.2, 0.3]), np.full(n, 0.3), np.zeros(n, int))
    both = _strikes(hazard, years, 5).all(axis=1).mean()
    assert abs(both - 0.06) < 4.5 * np.sqrt(0.06 * 0.94 / years)


def test_with_county_one_equal_probabilities_strike_in_the_same_years() -> None:
    rng = np.random.default_rng(0)
    n = 200
    together = HazardYears("h", np.full(n, 0.1), np.full(n, 0.3), rng.integers(0, 5, n), 1.0, 0.0)
    same = _strikes(together, 500, 2)
    assert (same == same[:, :1]).all()  # every household in the same years
    assert 20 < same[:, 0].sum() < 80


def test_correlation_raises_the_variance_and_exceedance_never_falls() -> None:
    population, hazards = _county(800)
    variances = []
    for rho in (0.0, 0.4, 0.8):
        mixed = [HazardYears(h.name, h.probability, h.loss, h.cell, rho, 0.0) for h in hazards]
        returns = simulate(population, mixed, years=2000, seed=4).returns
        variances.append(returns.var())
        table = exceedance(returns)
        levels = table["returns"].dropna().to_numpy()
        assert (np.diff(levels) >= 0).all() and (np.diff(table["tvar"].dropna()) >= 0).all()
    assert variances[0] < variances[1] < variances[2]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("years = 50", "simulation.years"),
        ("years = 1000.5", "simulation.years"),
        ('compound = "both"', "simulation.compound"),
    ],
)
def test_bad_simulation_settings_are_one_line(
    tiny_project: Path, table: str, expected: str
) -> None:
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text + f"\n[simulation]\n{table}\n", encoding="utf-8")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "Traceback" not in out + err and err.count("error:") == 1, err
    assert expected in err


@pytest.mark.parametrize(
    "table",
    ["county = 0.7\nlocal = 0.5", "county = -0.1", "cell_km = 0", "local = 1.5"],
)
def test_bad_correlations_are_one_line(tiny_project: Path, table: str) -> None:
    layer = tiny_project.parent / "layers" / "slope.toml"
    layer.write_text(layer.read_text(encoding="utf-8") + f"\n[correlation]\n{table}\n", "utf-8")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "Traceback" not in out + err and err.count("error:") == 1, err
    assert "slope.toml" in err and "correlation" in err


@pytest.mark.slow  # starts a dask.distributed cluster
def test_the_same_years_on_one_process_and_on_a_cluster(tiny_project: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text + "\n[simulation]\nyears = 400\nseed = 9\n", encoding="utf-8")
    import hazardmap

    alone = hazardmap.run(tiny_project, tmp_path / "alone")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
    ):
        clustered = hazardmap.run(tiny_project, tmp_path / "cluster")
    for name in ("years.parquet", "exceedance.csv"):
        assert (tmp_path / "alone" / name).read_bytes() == (
            tmp_path / "cluster" / name
        ).read_bytes()
    assert alone.years is not None and clustered.years is not None
    pd.testing.assert_frame_equal(alone.years, clustered.years)


def test_sum_is_compared_with_separate_on_the_same_events(
    tiny_project: Path, tmp_path: Path
) -> None:
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text + "\n[simulation]\nyears = 1500\nseed = 3\n", encoding="utf-8")
    out = tmp_path / "o"
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(out))
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    compared = manifest["simulation"]["compared_with_separate"]
    assert compared["years"] == 1000 and manifest["simulation"]["compound"] == "sum"
    years = pd.read_parquet(out / "years.parquet")
    assert compared["mean_sum"] == pytest.approx(years["returns"][:1000].mean())
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Over the first 1,000 years (the same events)" in report


@pytest.mark.parametrize("compound", ["sum", "separate"])
def test_the_table_of_q_and_q_per_household_year_give_the_same_years(compound: str) -> None:
    """Shocks keeps q per household and combination of events when it is small enough;
    computed for each struck household-year instead, the years are the same."""
    population, hazards = _county(600)
    kept, computed = Shocks.of(population, hazards), Shocks.of(population, hazards, table=False)
    assert kept.q is not None and computed.q is None
    for block in range(3):
        a, b = (
            simulate_block(
                population, hazards, shocks, seed=2, block=block, years=50, compound=compound
            )
            for shocks in (kept, computed)
        )
        assert np.array_equal(a.returns, b.returns) and np.array_equal(a.by_village, b.by_village)
        assert a.returns.sum() > 0


def test_more_hazards_than_bits_is_a_one_line_error() -> None:
    population, hazards = _county(50)
    with pytest.raises(ConfigError, match="at most 64 hazard layers"):
        Shocks.of(population, hazards * 33)
