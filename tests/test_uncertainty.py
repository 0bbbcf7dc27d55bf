"""hazardmap uncertainty: the properties MODEL.md ("Uncertainty and sensitivity") asks
for, on the tiny project, and its bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardmap.compute import configured_parameters
from hazardmap.config import load_config
from hazardmap.config.distributions import quantile
from hazardmap.config.uncertainty import ParameterPath, UncertaintySection, check_paths
from hazardmap.uncertainty.compute import top_k_shares, with_values
from hazardmap.uncertainty.pipeline import run_uncertainty
from tests.helpers import invoke, read_households_csv, tree_digest

DEGENERATE = """
[uncertainty]
method = "{method}"
samples = 8
top_k = 2
seed = 3
[uncertainty.parameters]
"project.income_sigma" = {{ dist = "uniform", low = 0.35, high = 0.35 }}
"project.insurance_cover" = {{ dist = "normal", mean = 0.4, sd = 0 }}
"layers.slope.frequency_factor" = {{ dist = "lognormal", median = 1, sigma = 0 }}
"layers.dry.damage.crop" = {{ dist = "triangular", low = 1, mode = 1, high = 1 }}
"interventions.irrigation.cost_per_household" = {{ dist = "uniform", low = 5000, high = 5000 }}
"""

VARIED = "\n".join(
    [
        "[uncertainty]",
        'method = "{method}"',
        "samples = {samples}",
        "top_k = 2",
        "seed = 3",
        "[uncertainty.parameters]",
        '"project.insurance_cover" = {{ dist = "uniform", low = 0.39, high = 0.41 }}',
        '"layers.dry.frequency_factor" = {{ dist = "uniform", low = 0.3, high = 3.0 }}',
        '"layers.slope.damage.livestock" = {{ dist = "uniform", low = 0.1, high = 5.0 }}',
        '"interventions.slope_works.cost_per_household" = '
        '{{ dist = "normal", mean = 20000, sd = 5000, low = 1000 }}',
        "",
    ]
)
"""The drought's frequency dominates by construction (a factor of 0.3 to 3 on its p); the
cover barely moves; the slope layer damages no livestock, so its factor changes nothing."""


def _with(project: Path, text: str) -> Path:
    project.write_text(project.read_text(encoding="utf-8") + text, encoding="utf-8")
    return project


def _run(project: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    code, _, err = invoke("uncertainty", "--config", str(project), "--out", str(out))
    assert code == 0, err
    read = {"encoding": "utf-8-sig", "dtype": {"village_code": str}}
    return (
        pd.read_csv(out / "villages_uncertainty.csv", **read),  # type: ignore[call-overload]
        pd.read_csv(out / "priorities_robustness.csv", **read),  # type: ignore[call-overload]
        pd.read_csv(out / "sensitivity.csv", encoding="utf-8-sig"),
    )


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_every_parameter_degenerate_at_its_value_is_the_point_estimate(
    tiny_project: Path, tmp_path: Path, method: str
) -> None:
    _with(tiny_project, DEGENERATE.format(method=method))
    villages, pairs, indices = _run(tiny_project, tmp_path / "u")
    for column in ("expected_returns_p5", "expected_returns_p50", "expected_returns_p95"):
        np.testing.assert_allclose(
            villages[column], villages["expected_returns"], rtol=0, atol=1e-12
        )
    assert set(villages["p_top_k"]) <= {0.0, 1.0} and villages["p_top_k"].sum() == 2
    ranked = villages.sort_values(["expected_returns", "village_code"], ascending=[False, True])
    assert villages.loc[villages["p_top_k"] == 1, "village_code"].tolist() == sorted(
        ranked["village_code"].head(2)
    )
    assert (pairs["p_chosen"] == pairs["chosen"].astype(float)).all()
    assert indices.empty  # the header only
    assert ("S1" if method == "sobol" else "mu_star") in indices.columns
    manifest = json.loads((tmp_path / "u" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["uncertainty"]["model_runs"] == 1
    assert manifest["uncertainty"]["varied"] == []
    # the point estimate is the run's
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "run"))
    assert code == 0, err
    run_villages = pd.read_csv(tmp_path / "run" / "villages.csv", dtype={"village_code": str})
    merged = villages.merge(run_villages, on="village_code", suffixes=("", "_run"))
    np.testing.assert_allclose(
        merged["expected_returns"], merged["expected_returns_run"], atol=1e-12
    )
    run_pairs = pd.read_csv(tmp_path / "run" / "priorities.csv", dtype={"village_code": str})
    chosen = run_pairs.loc[run_pairs["chosen"], ["village_code", "intervention"]]
    assert sorted(map(tuple, chosen.to_numpy())) == sorted(
        map(tuple, pairs.loc[pairs["chosen"], ["village_code", "intervention"]].to_numpy())
    )


def test_varied_parameters_rank_by_their_effect_and_the_files_repeat(
    tiny_project: Path, tmp_path: Path
) -> None:
    _with(tiny_project, ("\n" + VARIED).format(method="sobol", samples=256))
    villages, pairs, indices = _run(tiny_project, tmp_path / "a")
    assert villages["p_top_k"].sum() == pytest.approx(2.0, abs=1e-12)
    assert (villages["expected_returns_p5"] <= villages["expected_returns_p50"]).all()
    assert (villages["expected_returns_p50"] <= villages["expected_returns_p95"]).all()
    returns = indices[indices["output"] == "expected_returns"].set_index("parameter")
    assert returns["ST"].idxmax() == "layers.dry.frequency_factor"
    assert returns.loc["layers.dry.frequency_factor", "ST"] > 0.9
    nothing = returns.loc["layers.slope.damage.livestock"]
    assert nothing["ST"] == 0 and nothing["S1"] == 0  # the output is the same, run for run
    assert abs(returns.loc["interventions.slope_works.cost_per_household", "ST"]) < 1e-12
    assert pairs["p_chosen"].between(0, 1).all()
    # the same seed, the same files
    _run(tiny_project, tmp_path / "b")
    first, again = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    for name in ("villages_uncertainty.csv", "priorities_robustness.csv", "sensitivity.csv"):
        assert first[name] == again[name], name


def test_morris_screens_the_dominant_parameter(tiny_project: Path, tmp_path: Path) -> None:
    _with(tiny_project, ("\n" + VARIED).format(method="morris", samples=10))
    villages, _, indices = _run(tiny_project, tmp_path / "m")
    assert list(indices.columns) == ["output", "parameter", "mu_star", "mu_star_conf", "sigma"]
    returns = indices[indices["output"] == "expected_returns"].set_index("parameter")
    assert returns["mu_star"].idxmax() == "layers.dry.frequency_factor"
    assert returns.loc["layers.slope.damage.livestock", "mu_star"] == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["uncertainty"]["runs_for_indices"] == 10 * (4 + 1)
    assert manifest["uncertainty"]["runs_for_percentiles"] == 10
    assert villages["p_top_k"].sum() == pytest.approx(2.0)


def test_worker_processes_give_the_runs_of_one_process(tiny_project: Path, tmp_path: Path) -> None:
    from hazardmap.uncertainty import parallel

    _with(tiny_project, ("\n" + VARIED).format(method="sobol", samples=16))
    spread = {}
    for name, cores in (("one", 1), ("two", 2)):
        original = parallel.usable_cores
        parallel.usable_cores = lambda cores=cores: cores  # type: ignore[assignment]
        try:
            found = run_uncertainty(tiny_project, tmp_path / name).uncertainty
        finally:
            parallel.usable_cores = original
        spread[name] = found.runs.village_returns
    np.testing.assert_array_equal(spread["one"], spread["two"])


def test_factors_multiply_the_configured_values_and_absolute_values_replace_them(
    tiny_project: Path,
) -> None:
    base = configured_parameters(load_config(tiny_project))
    section = UncertaintySection.model_validate({})
    assert section.parameters == {}

    def path(key: str) -> ParameterPath:
        parsed, problems = check_paths(
            UncertaintySection.model_validate(
                {"parameters": {key: {"dist": "uniform", "low": 1, "high": 2}}}
            ),
            ["slope", "dry"],
            ["slope_works", "irrigation"],
        )
        assert not problems, problems
        return parsed[0]

    changed = with_values(
        base,
        [
            (path("layers.slope.frequency_factor"), 2.0),
            (path("layers.dry.damage.crop"), 1.5),
            (path("layers.slope.housing.earth"), 0.5),
            (path("layers.slope.housing.frame"), 3.0),  # the layer names no frame loss
            (path("project.income_sigma"), 0.5),
            (path("interventions.irrigation.cost_per_household"), 7000.0),
            (path("interventions.irrigation.probability_factor"), 0.5),  # it sets none
            (path("interventions.slope_works.probability_factor"), 2.0),
        ],
    )
    hazards = {hazard.name: hazard for hazard in changed.hazards}
    slope, dry = hazards["slope"], hazards["dry"]
    assert slope.probability_factor == 2.0 and dry.damage_factor == {"crop": 1.5}
    assert slope.housing == {"earth": 0.6}
    assert changed.sigma == 0.5 and changed.cover == base.cover
    items = {item.name: item for item in changed.interventions}
    works, irrigation = items["slope_works"], items["irrigation"]
    assert irrigation.cost_per_household == 7000.0 and irrigation.probability_factor is None
    assert works.probability_factor == pytest.approx(0.6)
    assert with_values(base, []) == base


def test_top_k_ties_go_to_the_lower_code_and_villages_without_values_last() -> None:
    returns = np.array([[1.0, 1.0, 0.5, 9.0]])
    has_value = np.array([True, True, True, False])
    order = np.array([1, 0, 2, 3])  # village 1 has the lower code
    assert top_k_shares(returns, has_value, order, 2).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert top_k_shares(returns, has_value, order, 1).tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("distribution", "low", "high"),
    [
        ({"dist": "uniform", "low": 2.0, "high": 4.0}, 2.0, 4.0),
        ({"dist": "triangular", "low": 1.0, "mode": 1.5, "high": 4.0}, 1.0, 4.0),
        ({"dist": "normal", "mean": 1.0, "sd": 1.0, "low": 0.5}, 0.5, np.inf),
        ({"dist": "lognormal", "median": 2.0, "sigma": 0.5}, 0.0, np.inf),
    ],
)
def test_quantiles_stay_in_the_support_and_their_median_is_the_distribution_s(
    distribution: dict[str, object], low: float, high: float
) -> None:
    from scipy import stats

    spec = UncertaintySection.model_validate({"parameters": {"x": distribution}}).parameters["x"]
    values = quantile(spec, np.array([0.0, 0.25, 0.5, 0.75, 1.0]))
    assert np.isfinite(values).all() and (values >= low).all() and (values <= high).all()
    assert (np.diff(values) > 0).all()
    median = {
        "uniform": 3.0,
        "triangular": float(stats.triang.ppf(0.5, 1 / 6, loc=1, scale=3)),
        "normal": float(stats.truncnorm.ppf(0.5, -0.5, np.inf, loc=1, scale=1)),
        "lognormal": 2.0,
    }[str(distribution["dist"])]
    assert values[2] == pytest.approx(median)
    cut = quantile(spec, np.array([0.0, 1.0]), cut_tails=True)
    assert np.isfinite(cut).all()


def _parameter(key: str, distribution: str) -> str:
    return f'[uncertainty.parameters]\n"{key}" = {{ {distribution} }}'


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("samples = 100", "power of 2; use 64 or 128"),
        ("top_k = 4", "top_k = 4 exceeds the 3 villages"),
        (
            _parameter("layers.snow.frequency_factor", 'dist = "uniform", low = 1, high = 2'),
            "names the layer 'snow'",
        ),
        (
            _parameter("layers.dry.damage.gold", 'dist = "uniform", low = 1, high = 2'),
            "names the component 'gold'",
        ),
        (
            _parameter("project.line", 'dist = "uniform", low = 1, high = 2'),
            "is no parameter path",
        ),
        (
            _parameter("project.income_sigma", 'dist = "normal", mean = 0.35, sd = 0.1'),
            "income_sigma must be above 0",
        ),
        (
            _parameter("project.insurance_cover", 'dist = "uniform", low = 0.5, high = 1.2'),
            "insurance_cover must lie within [0, 1]",
        ),
        (
            _parameter("layers.dry.frequency_factor", 'dist = "uniform", low = -1, high = 2'),
            "a factor must be 0 or more",
        ),
        (
            _parameter(
                "interventions.irrigation.cost_per_household", 'dist = "uniform", low = 0, high = 2'
            ),
            "a cost must be above 0",
        ),
        (
            _parameter("layers.dry.frequency_factor", 'dist = "uniform", low = 2'),
            "missing key 'high'",
        ),
        (
            _parameter(
                "layers.dry.frequency_factor", 'dist = "triangular", low = 1, mode = 3, high = 2'
            ),
            "needs low <= mode <= high",
        ),
        (
            _parameter("layers.dry.frequency_factor", 'dist = "weibull", low = 1'),
            "use one of 'uniform', 'triangular', 'normal', 'lognormal'",
        ),
        (
            _parameter(
                "layers.dry.frequency_factor", 'dist = "normal", mean = 1, sd = -1, low = 0'
            ),
            "sd",
        ),
        (
            _parameter(
                "interventions.fence.damage_factor.crop", 'dist = "uniform", low = 1, high = 2'
            ),
            "names the intervention 'fence'",
        ),
    ],
)
def test_bad_settings_are_one_line_and_nothing_is_written(
    tiny_project: Path, tmp_path: Path, table: str, expected: str
) -> None:
    _with(tiny_project, f"\n[uncertainty]\n{table}\n")
    out = tmp_path / "u"
    code, stdout, err = invoke("uncertainty", "--config", str(tiny_project), "--out", str(out))
    assert code == 1 and "Traceback" not in stdout + err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert not out.exists()


def test_without_the_section_or_with_a_bad_option_nothing_is_written(
    tiny_project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "u"
    code, _, err = invoke("uncertainty", "--config", str(tiny_project), "--out", str(out))
    assert code == 1 and "no [uncertainty] section" in err and len(err.splitlines()) == 1
    _with(tiny_project, ("\n" + VARIED).format(method="sobol", samples=8))
    code, _, err = invoke(
        "uncertainty", "--config", str(tiny_project), "--out", str(out), "--samples", "12"
    )
    assert code == 1 and "power of 2" in err and "--samples" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_it_never_replaces_a_run_s_folder_nor_a_run_its_own(
    tiny_project: Path, tmp_path: Path
) -> None:
    _with(tiny_project, ("\n" + VARIED).format(method="sobol", samples=8))
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "run"))
    assert code == 0, err
    before = tree_digest(tmp_path / "run")
    code, _, err = invoke(
        "uncertainty", "--config", str(tiny_project), "--out", str(tmp_path / "run")
    )
    assert code == 1 and "outputs of hazardmap run" in err
    assert tree_digest(tmp_path / "run") == before
    code, _, err = invoke(
        "uncertainty", "--config", str(tiny_project), "--out", str(tmp_path / "u")
    )
    assert code == 0, err
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "u"))
    assert code == 1 and "outputs of hazardmap uncertainty" in err
    # its default folder is beside the run's; a second analysis replaces the first
    code, _, err = invoke("uncertainty", "--config", str(tiny_project))
    assert code == 0, err
    assert (tiny_project.parent / "outputs" / "uncertainty" / "sensitivity.csv").is_file()
    code, _, err = invoke("uncertainty", "--config", str(tiny_project))
    assert code == 0, err
    households = read_households_csv(tmp_path / "run" / "households.csv")
    assert len(households) == 5


def test_validate_checks_top_k_against_the_villages(tiny_project: Path) -> None:
    _with(tiny_project, "\n[uncertainty]\ntop_k = 4\n")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "top_k = 4 exceeds the 3 villages; set top_k to 3 or fewer" in out + err


@pytest.mark.slow  # starts a dask.distributed cluster
def test_the_same_files_on_the_cores_and_on_a_cluster(tiny_project: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    _with(tiny_project, ("\n" + VARIED).format(method="sobol", samples=64))
    run_uncertainty(tiny_project, tmp_path / "alone")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
    ):
        run_uncertainty(tiny_project, tmp_path / "cluster")
    for name in ("villages_uncertainty.csv", "priorities_robustness.csv", "sensitivity.csv"):
        assert (tmp_path / "alone" / name).read_bytes() == (
            tmp_path / "cluster" / name
        ).read_bytes(), name
