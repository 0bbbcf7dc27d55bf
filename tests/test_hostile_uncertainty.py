"""hazardmap uncertainty against what a county's GIS staff will give it: numbers out of
range, misspelt keys, absurd sample sizes, wrong output folders, odd projects, Ctrl-C and a
second analysis started into the same folder. Every bad input is one line naming the file
and the key, exit 1, nothing written; the figures that can be worked out by hand are."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from hazardmap.config.distributions import quantile
from hazardmap.config.uncertainty import UncertaintySection
from hazardmap.cores import usable_cores
from hazardmap.errors import HazardmapError
from hazardmap.outputs.staging import lock_file
from hazardmap.uncertainty import parallel
from hazardmap.uncertainty.pipeline import run_uncertainty
from tests.helpers import (
    assert_one_error_line,
    build_tiny_project,
    edit,
    households_table,
    invoke,
    read_households_csv,
    slope_transform,
    tree_digest,
    write_households,
    write_raster,
)

LINE = 7500.0  # the tiny project's monitoring line
INCOME = {"h1": 9000.0, "h2": 8000.0, "h3": 12000.0, "h4": 20000.0, "h5": 7600.0}
DRY = "layers.dry.frequency_factor"
READ = {"encoding": "utf-8-sig", "dtype": {"village_code": str}}


def _section(body: str, *, top_k: int = 2, samples: int = 8, method: str = "sobol") -> str:
    """An [uncertainty] section with ``body`` as its parameters."""
    head = f'\n[uncertainty]\nmethod = "{method}"\ntop_k = {top_k}\nsamples = {samples}\n'
    return head + "[uncertainty.parameters]\n" + body + "\n"


def _dist(key: str, table: str) -> str:
    return f'"{key}" = {{ {table} }}'


def _append(project: Path, text: str) -> Path:
    project.write_text(project.read_text(encoding="utf-8") + text, encoding="utf-8")
    return project


def _uncertainty(project: Path, out: Path, *options: str) -> tuple[int, str, str]:
    return invoke("uncertainty", "--config", str(project), "--out", str(out), *options)


def _villages(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "villages_uncertainty.csv", **READ).set_index("village_code")  # type: ignore[call-overload]


@pytest.fixture
def one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs in this process: no worker processes to start for a few runs."""
    monkeypatch.setattr(parallel, "usable_cores", lambda: 1)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project after one ``run`` (its households.csv holds each household's p,
    loss and risk per hazard, which the hand computations start from); never changed:
    each test writes a project file of its own beside it."""
    project = build_tiny_project(tmp_path_factory.mktemp("county") / "project")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    return project


def _beside(county: Path, name: str, text: str) -> Path:
    """A project file of the county's, with ``text`` added, beside its own."""
    project = county.parent / f"{name}.toml"
    project.write_text(county.read_text(encoding="utf-8") + text, encoding="utf-8")
    return project


def _households(county: Path) -> pd.DataFrame:
    table = read_households_csv(county.parent / "outputs" / "latest" / "households.csv")
    return table.set_index("household_id")


# ------------------------------------------------------------------ bad settings: one line
BAD_SETTINGS = {
    "inf": (
        _section(_dist(DRY, 'dist = "uniform", low = 1, high = inf')),
        r'"layers\.dry\.frequency_factor"\.high: Input should be a finite number, got inf',
    ),
    "nan": (
        _section(_dist(DRY, 'dist = "uniform", low = nan, high = 2')),
        r"\.low: Input should be a finite number, got nan; set a finite number",
    ),
    "boolean": (
        _section(_dist("project.income_sigma", 'dist = "uniform", low = true, high = 0.4')),
        r'"project\.income_sigma"\.low: Input should be a valid number, got True',
    ),
    "string": (
        _section(_dist("project.income_sigma", 'dist = "normal", mean = "0.35", sd = 0.1')),
        r"\.mean: Input should be a valid number, got '0\.35'",
    ),
    "low above high": (
        _section(_dist(DRY, 'dist = "uniform", low = 3, high = 2')),
        r"low \(3\) must not exceed high \(2\); swap them",
    ),
    "normal low above high": (
        _section(
            _dist(
                DRY,
                'dist = "normal", mean = 1, sd = 1, low = 3, high = 2',
            )
        ),
        r"low \(3\) must be below high \(2\); swap them",
    ),
    "normal low = high with sd": (
        _section(
            _dist(
                DRY,
                'dist = "normal", mean = 1, sd = 0.1, low = 1, high = 1',
            )
        ),
        r"low \(1\) must be below high \(1\); widen them, or hold the parameter with sd = 0",
    ),
    "normal sd 0 outside its bounds": (
        _section(
            _dist(
                DRY,
                'dist = "normal", mean = 5, sd = 0, low = 0, high = 2',
            )
        ),
        r"with sd = 0 the mean \(5\) must lie within low \(0\) and high \(2\); move the mean",
    ),
    "mode outside": (
        _section(_dist(DRY, 'dist = "triangular", low = 1, mode = 3, high = 2')),
        r"needs low <= mode <= high, got 1, 3, 2; put mode between low and high",
    ),
    "lognormal sigma 100 overflows": (
        _section(_dist(DRY, 'dist = "lognormal", median = 1, sigma = 100')),
        r'"layers\.dry\.frequency_factor": this lognormal distribution\'s values reach beyond '
        r"the largest number a computer holds \(about 1\.8e\+308\); use a narrower",
    ),
    "huge normal overflows": (
        _section(
            _dist(
                "interventions.irrigation.cost_per_household",
                'dist = "normal", mean = 1e308, sd = 1e308, low = 1',
            )
        ),
        r"this normal distribution's values reach beyond the largest number",
    ),
    "normal bounds far in its tail": (
        _section(
            _dist(
                "project.insurance_cover",
                'dist = "normal", mean = -1e300, sd = 1, low = 0, high = 1',
            )
        ),
        r"low and high lie so many sd from its mean that its values cannot be computed",
    ),
    "capitals": (
        _section(_dist("Project.income_sigma", 'dist = "uniform", low = 0.3, high = 0.4')),
        r'"Project\.income_sigma" is no parameter path; write it as "project\.income_sigma" '
        r"\(paths are case-sensitive and take no spaces\)",
    ),
    "spaces": (
        _section(_dist(" layers.dry. frequency_factor ", 'dist = "uniform", low = 1, high = 2')),
        r'write it as "layers\.dry\.frequency_factor"',
    ),
    "a layer's name in capitals": (
        _section(_dist("layers.DRY.damage.Crop", 'dist = "uniform", low = 1, high = 2')),
        r'write it as "layers\.dry\.damage\.crop"',
    ),
    "the same path twice": (
        _section(
            _dist(DRY, 'dist = "uniform", low = 1, high = 2')
            + "\n"
            + _dist(DRY, 'dist = "uniform", low = 1, high = 3')
        ),
        r"hazardmap\.toml: not valid TOML: Cannot overwrite a value \(at line \d+, column \d+\)",
    ),
    "a path without quotes": (
        _section('layers.dry.frequency_factor = { dist = "uniform", low = 1, high = 2 }'),
        r"uncertainty\.parameters: layers\.dry\.frequency_factor is written without quotes, so "
        r'TOML reads its dots as nested tables; quote the whole path: "layers\.dry\.',
    ),
    "samples = 1": (
        _section("", samples=1),
        r"uncertainty\.samples: .* set a number of at least 2",
    ),
    "samples beyond the memory": (
        _section(
            _dist(DRY, 'dist = "uniform", low = 1, high = 2'),
            samples=1 << 20,
        ),
        r"\[uncertainty\] samples = 1048576: 3,145,728 model runs of 1 parameter over 3 villages "
        r"would need about 6\.\d GB of memory \(at most 2 GB\); set samples to 262144 or fewer",
    ),
    "morris samples beyond the memory": (
        _section(
            _dist(DRY, 'dist = "uniform", low = 1, high = 2'),
            samples=1 << 20,
            method="morris",
        ),
        r"samples = 1048576: 3,145,728 model runs .* set samples to \d+ or fewer",
    ),
    "samples above the bound": (
        _section("", samples=1 << 21),
        r"uncertainty\.samples: .* set a number of at most 1048576",
    ),
    "samples not whole": (
        "\n[uncertainty]\ntop_k = 2\nsamples = 8.0\n",
        r"uncertainty\.samples: Input should be a valid integer, got 8\.0",
    ),
    "top_k = 0": (_section("", top_k=0), r"uncertainty\.top_k: .* set a number of at least 1"),
    "top_k above the villages": (_section("", top_k=4), r"set top_k to 3 or fewer"),
    "method misspelt": (
        _section("", method="sobel"),
        r"uncertainty\.method: .* use one of 'sobol' or 'morris'",
    ),
    "a key of another distribution": (
        _section(_dist(DRY, 'dist = "uniform", low = 1, high = 2, mode = 1')),
        r"unknown key 'mode' in \[uncertainty\.parameters\.\"layers\.dry\.frequency_factor\"\]",
    ),
    "a number for a distribution": (
        _section('"layers.dry.frequency_factor" = 1.5'),
        r"Input should be a valid dictionary .* got 1\.5",
    ),
    "no dist": (
        _section(_dist(DRY, "low = 1, high = 2")),
        r'add \'dist\' = one of "uniform", "triangular", "normal", "lognormal"',
    ),
    "dist in capitals": (
        _section(_dist(DRY, 'dist = "Uniform", low = 1, high = 2')),
        r"use one of 'uniform', 'triangular', 'normal', 'lognormal'",
    ),
    "sigma down to 0": (
        _section(_dist("project.income_sigma", 'dist = "uniform", low = 0, high = 0.4')),
        r"reaches \[0, 0\.4\], but income_sigma must be above 0",
    ),
    "negative seed": (
        "\n[uncertainty]\ntop_k = 2\nseed = -1\n",
        r"uncertainty\.seed: .* set a number of at least 0",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_bad_settings_are_one_line_naming_the_file_and_nothing_is_written(
    tiny_project: Path, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_SETTINGS[case]
    _append(tiny_project, text)
    before = tree_digest(tiny_project.parent)
    out = tmp_path / "u"
    code, stdout, err = _uncertainty(tiny_project, out)
    line = assert_one_error_line(code, stdout, err, expected, "uncertainty")
    assert line.startswith(f"error: {tiny_project}"), line
    assert not out.exists()
    assert tree_digest(tiny_project.parent) == before


def test_validate_finds_the_overflow_and_the_memory_as_uncertainty_does(
    tiny_project: Path,
) -> None:
    _append(
        tiny_project,
        _section(
            _dist(DRY, 'dist = "lognormal", median = 1, sigma = 100'),
            samples=1 << 20,
        ),
    )
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "Traceback" not in out + err
    assert "values reach beyond the largest number" in err
    edit(tiny_project, "sigma = 100", "sigma = 0.3")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "set samples to 262144 or fewer" in err, err


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--samples", "0"], "Invalid value for '--samples': 0 is not in the range x>=2"),
        (["--samples", "-3"], "Invalid value for '--samples': -3 is not in the range x>=2"),
        (["--samples", "abc"], "Invalid value for '--samples'"),
        (["--method", "bogus"], "Invalid value for '--method': 'bogus' is not one of"),
    ],
)
def test_bad_options_are_click_usage_errors(
    tiny_project: Path, tmp_path: Path, options: list[str], expected: str
) -> None:
    _append(tiny_project, _section(""))
    code, out, err = _uncertainty(tiny_project, tmp_path / "u", *options)
    assert code == 2 and expected in err and "Traceback" not in out + err
    assert not (tmp_path / "u").exists()


def test_options_are_checked_as_the_section_is_and_say_so(
    tiny_project: Path, tmp_path: Path
) -> None:
    _append(
        tiny_project,
        _section(_dist(DRY, 'dist = "uniform", low = 1, high = 2')),
    )
    code, out, err = _uncertainty(tiny_project, tmp_path / "u", "--samples", "12")
    assert_one_error_line(
        code, out, err, r"use 8 or 16 \(with --samples/--method\)$", "uncertainty"
    )
    code, out, err = _uncertainty(tiny_project, tmp_path / "u", "--samples", str(1 << 20))
    assert_one_error_line(
        code,
        out,
        err,
        r"set samples to 262144 or fewer \(with --samples/--method\)$",
        "uncertainty",
    )
    assert not (tmp_path / "u").exists()


# ------------------------------------------------------------------ the output folder
OUT_FOLDERS: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "the project folder": (lambda p, t: p.parent, "holds the project's inputs"),
    "the layers folder": (lambda p, t: p.parent / "layers", "is one of the project's inputs"),
    "the data folder": (lambda p, t: p.parent / "data", "holds the project's inputs"),
    "the project file": (lambda p, t: p, "the output folder is a file; give a folder"),
    "a file": (lambda p, t: t / "notes.txt", "the output folder is a file; give a folder"),
    "a folder under a file": (
        lambda p, t: t / "notes.txt" / "u",
        "notes.txt is a file, so the output folder cannot be made there",
    ),
    "a run's output folder": (
        lambda p, t: p.parent / "outputs" / "latest",
        "holds the outputs of hazardmap run, which hazardmap uncertainty must not replace",
    ),
    "the overlay cache": (
        lambda p, t: p.parent / "outputs" / ".hazardmap-cache",
        "holds files hazardmap did not write",
    ),
    "a folder of one's own": (lambda p, t: t / "mine", "holds files hazardmap did not write"),
}


@pytest.mark.parametrize("case", list(OUT_FOLDERS))
def test_an_output_folder_it_must_not_replace_is_refused_and_left_whole(
    county: Path, tmp_path: Path, case: str
) -> None:
    project = _beside(
        county,
        "out-" + re.sub(r"\W+", "-", case),
        _section(_dist(DRY, 'dist = "uniform", low = 1, high = 2')),
    )
    (tmp_path / "notes.txt").write_text("the county's notes\n", encoding="utf-8")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "plan.docx").write_bytes(b"\x00")
    target, expected = OUT_FOLDERS[case]
    out = target(project, tmp_path)
    before = tree_digest(county.parent), tree_digest(tmp_path)
    code, stdout, err = _uncertainty(project, out)
    assert_one_error_line(code, stdout, err, re.escape(expected), "uncertainty")
    assert (tree_digest(county.parent), tree_digest(tmp_path)) == before


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("missing.toml", "project file not found; give the project file with --config"),
        (".", "the project file is a folder or a device, not a file; give a file"),
    ],
)
def test_a_missing_or_folder_project_file_is_one_line(
    tmp_path: Path, config: str, expected: str
) -> None:
    code, out, err = invoke(
        "uncertainty", "--config", str(tmp_path / config), "--out", str(tmp_path / "u")
    )
    assert_one_error_line(code, out, err, re.escape(expected), "uncertainty")
    assert not (tmp_path / "u").exists()


def test_an_empty_out_is_the_working_folder_and_refused_there(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _append(tiny_project, _section(""))
    monkeypatch.chdir(tiny_project.parent)
    before = tree_digest(tiny_project.parent)
    code, out, err = _uncertainty(tiny_project, Path(""))
    assert_one_error_line(code, out, err, "holds the project's inputs", "uncertainty")
    assert tree_digest(tiny_project.parent) == before


# ------------------------------------------------------------------ figures by hand
def _combined(
    table: pd.DataFrame, dry_risk: pd.Series, slope_risk: pd.Series | None = None
) -> pd.Series:
    """Per village the sum of R = 1 - (1 - r_slope)(1 - r_dry) (missing R counts nothing)."""
    slope = table["slope_risk"] if slope_risk is None else slope_risk
    risk = 1.0 - (1.0 - slope) * (1.0 - dry_risk)
    return risk.groupby(table["village_code"]).sum(min_count=0).fillna(0.0)


def _dry_factor(table: pd.DataFrame, factor: float) -> pd.Series:
    """r_dry = p (q - q0) with p multiplied by ``factor`` and capped at 1."""
    p = table["dry_p"]
    return table["dry_risk"] / p * np.minimum(p * factor, 1.0)


@pytest.mark.parametrize("factor", [2.0, 10.0])
def test_a_frequency_factor_held_fixed_multiplies_p_capped_at_1(
    county: Path, tmp_path: Path, one_core: None, factor: float
) -> None:
    """The drought's p is 0.05 to 0.35: a factor of 2 keeps it below 1, one of 10 caps
    three households' p at 1. R combines the hazards, so a village's returns do not simply
    double."""
    project = _beside(
        county,
        f"held-{factor:g}",
        _section(
            _dist(
                "layers.dry.frequency_factor", f'dist = "uniform", low = {factor}, high = {factor}'
            )
        ),
    )
    code, _, err = _uncertainty(project, tmp_path / "u")
    assert code == 0, err
    villages = _villages(tmp_path / "u")
    table = _households(county)
    assert (table["dry_p"] * factor > 1).any() == (factor == 10.0)
    expected = _combined(table, _dry_factor(table, factor))
    for column in ("expected_returns_p5", "expected_returns_p50", "expected_returns_p95"):
        np.testing.assert_allclose(villages[column], expected[villages.index], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        villages["expected_returns"],
        _combined(table, table["dry_risk"])[villages.index],
        atol=1e-12,
    )
    assert not np.allclose(villages["expected_returns_p50"], factor * villages["expected_returns"])


def test_a_sigma_next_to_0_makes_falling_back_a_step_and_no_number_is_lost(
    county: Path, tmp_path: Path, one_core: None
) -> None:
    """income_sigma of 1e-300 to 1e-299: q = Phi((ln z - ln y (1 - L)) / sigma) is 1 below
    the line and 0 above it; every income is above the line, so q0 = 0 and r = p q."""
    project = _beside(
        county,
        "tiny-sigma",
        _section(_dist("project.income_sigma", 'dist = "uniform", low = 1e-300, high = 1e-299')),
    )
    code, _, err = _uncertainty(project, tmp_path / "u")
    assert code == 0, err
    table = _households(county)
    income = table.index.map(INCOME).to_series(index=table.index).astype(float)
    risks = {
        hazard: table[f"{hazard}_p"] * (income * (1.0 - table[f"{hazard}_loss"]) < LINE)
        for hazard in ("dry", "slope")
    }
    expected = _combined(table, risks["dry"], risks["slope"])
    villages = _villages(tmp_path / "u")
    assert villages[["expected_returns_p5", "expected_returns_p95"]].notna().all().all()
    np.testing.assert_allclose(
        villages["expected_returns_p5"], expected[villages.index], atol=1e-12
    )
    np.testing.assert_allclose(
        villages["expected_returns_p95"], expected[villages.index], atol=1e-12
    )


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_a_lognormal_sigma_of_50_stays_between_no_drought_and_a_drought_every_year(
    county: Path, tmp_path: Path, one_core: None, method: str
) -> None:
    """A factor from about 1e-178 to 1e178: p from 0 to 1 (capped), so every village's
    returns lie between those of p = 0 and of p = 1."""
    project = _beside(
        county,
        f"lognormal-{method}",
        _section(
            _dist(DRY, 'dist = "lognormal", median = 1, sigma = 50'),
            samples=16,
            method=method,
        ),
    )
    code, _, err = _uncertainty(project, tmp_path / "u")
    assert code == 0, err
    table = _households(county)
    never = _combined(table, table["dry_risk"] * 0.0)
    always = _combined(table, _dry_factor(table, np.inf))
    villages = _villages(tmp_path / "u")
    for column in ("expected_returns_p5", "expected_returns_p50", "expected_returns_p95"):
        values = villages[column]
        assert np.isfinite(values).all()
        assert (values >= never[villages.index] - 1e-12).all(), column
        assert (values <= always[villages.index] + 1e-12).all(), column
    assert villages["p_top_k"].sum() == pytest.approx(2.0)
    indices = pd.read_csv(tmp_path / "u" / "sensitivity.csv", encoding="utf-8-sig")
    assert np.isfinite(indices.drop(columns=["output", "parameter"]).to_numpy()).all()


@pytest.mark.parametrize(
    ("mode", "below_middle"), [(1.0, True), (3.0, False)], ids=["mode at low", "mode at high"]
)
def test_a_triangular_with_its_mode_at_an_end_samples_within_its_range(
    tiny_project: Path, tmp_path: Path, one_core: None, mode: float, below_middle: bool
) -> None:
    spec = UncertaintySection.model_validate(
        {"parameters": {"x": {"dist": "triangular", "low": 1.0, "mode": mode, "high": 3.0}}}
    ).parameters["x"]
    values = quantile(spec, np.linspace(0, 1, 101))
    assert np.isfinite(values).all() and values.min() >= 1.0 and values.max() <= 3.0
    assert (np.diff(values) >= 0).all() and (values[50] < 2.0) == below_middle
    _append(
        tiny_project,
        _section(
            _dist(
                DRY,
                f'dist = "triangular", low = 1, mode = {mode}, high = 3',
            )
        ),
    )
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    villages = _villages(tmp_path / "u")
    assert (villages["expected_returns_p5"] >= villages["expected_returns"] - 1e-12).all()


def test_a_normal_held_by_bounds_of_one_value_with_sd_0_is_held(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(
        tiny_project,
        _section(
            _dist(
                DRY,
                'dist = "normal", mean = 1, sd = 0, low = 1, high = 1',
            )
        ),
    )
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    manifest = json.loads((tmp_path / "u" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["uncertainty"]["held"] == {"layers.dry.frequency_factor": 1.0}
    villages = _villages(tmp_path / "u")
    np.testing.assert_allclose(villages["expected_returns_p50"], villages["expected_returns"])


@pytest.mark.parametrize(
    ("key", "table"),
    [
        ("project.income_sigma", 'dist = "uniform", low = 1e-320, high = 1e-310'),
        ("project.income_sigma", 'dist = "uniform", low = 1e300, high = 1e308'),
        ("layers.slope.housing.earth", 'dist = "uniform", low = 1e300, high = 1e308'),
        ("layers.dry.damage.crop", 'dist = "uniform", low = 1e300, high = 1e308'),
        (DRY, 'dist = "uniform", low = 1e-300, high = 1e-299'),
        (
            "layers.dry.frequency_factor",
            'dist = "normal", mean = 1e6, sd = 1e-3, low = 0, high = 2',
        ),
        (DRY, 'dist = "normal", mean = -100, sd = 1, low = 0, high = 2'),
        (DRY, 'dist = "lognormal", median = 1, sigma = 1e-320'),
    ],
)
def test_extreme_but_computable_values_give_finite_figures_without_a_warning(
    tiny_project: Path, tmp_path: Path, one_core: None, key: str, table: str
) -> None:
    """pytest turns any RuntimeWarning (an overflow in the model) into an error here."""
    _append(tiny_project, _section(_dist(key, table)))
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    assert "RuntimeWarning" not in err
    villages = _villages(tmp_path / "u")
    assert np.isfinite(villages.drop(columns="name").to_numpy(dtype=float)).all()


def test_factors_whose_product_overflows_are_an_error_not_a_household_dropped(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    """The drought's p is 0 under village A; a frequency factor of 1e307 times an
    intervention's probability factor of 0.5 x 1e307 is inf, and 0 x inf is no number: the
    households of A would silently count nothing in the returns the intervention avoids."""
    dry = np.array([[0.0, 0.15], [0.25, 0.35]])
    path = tiny_project.parent / "data" / "dry.tif"
    with rasterio.open(path) as src:
        transform, crs = src.transform, src.crs.to_string()
    write_raster(path, dry, transform, crs)
    edit(
        tiny_project,
        "damage_factor = { crop = 0.4 }",
        "damage_factor = { crop = 0.4 }\nprobability_factor = 0.5",
    )
    _append(
        tiny_project,
        _section(
            _dist(DRY, 'dist = "uniform", low = 1e307, high = 1e308')
            + "\n"
            + _dist(
                "interventions.irrigation.probability_factor",
                'dist = "uniform", low = 1e307, high = 1e308',
            )
        ),
    )
    code, out, err = _uncertainty(tiny_project, tmp_path / "u")
    assert_one_error_line(
        code,
        out,
        err,
        r"hazardmap\.toml: \[uncertainty\.parameters\]: the model cannot compute with one "
        r'sample\'s values \(their products overflow; largest: "(layers\.dry\.frequency_factor|'
        r'interventions\.irrigation\.probability_factor)" = \d(\.\d+)?e\+30[78].*\); narrow these',
        "uncertainty",
    )
    assert not (tmp_path / "u").exists()


def test_a_cost_past_the_float_range_is_an_error_not_a_crash(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(
        tiny_project,
        _section(
            _dist(
                "interventions.irrigation.cost_per_household",
                'dist = "uniform", low = 1e307, high = 1e308',
            )
        ),
    )
    code, out, err = _uncertainty(tiny_project, tmp_path / "u")
    assert_one_error_line(
        code,
        out,
        err,
        r'largest: "interventions\.irrigation\.cost_per_household" = ',
        "uncertainty",
    )
    assert not (tmp_path / "u").exists()


# ------------------------------------------------------------------ odd settings that work
@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_two_samples_the_fewest_run(
    tiny_project: Path, tmp_path: Path, one_core: None, method: str
) -> None:
    _append(
        tiny_project,
        _section(
            _dist(DRY, 'dist = "uniform", low = 0.5, high = 2')
            + "\n"
            + _dist("project.income_sigma", 'dist = "uniform", low = 0.3, high = 0.4'),
            samples=2,
            method=method,
        ),
    )
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    manifest = json.loads((tmp_path / "u" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["uncertainty"]["model_runs"] == (2 * 4 if method == "sobol" else 2 * 3 + 2)


def test_a_path_as_a_quoted_table_header_is_read_as_the_inline_table(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(
        tiny_project,
        _section("")
        + f'[uncertainty.parameters."{DRY}"]\ndist = "uniform"\nlow = 2.0\nhigh = 2.0\n',
    )
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    manifest = json.loads((tmp_path / "u" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["uncertainty"]["held"] == {DRY: 2.0}


def test_no_parameters_is_one_run_at_the_configuration(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(tiny_project, _section(""))
    code, out, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    assert out.startswith("1 model run (sobol, 0 parameters varied)")
    villages = _villages(tmp_path / "u")
    for column in ("expected_returns_p5", "expected_returns_p50", "expected_returns_p95"):
        np.testing.assert_allclose(villages[column], villages["expected_returns"], atol=1e-12)
    indices = pd.read_csv(tmp_path / "u" / "sensitivity.csv", encoding="utf-8-sig")
    assert indices.empty


def test_top_k_of_every_village_puts_each_in_every_sample(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(
        tiny_project,
        _section(_dist(DRY, 'dist = "uniform", low = 0.5, high = 2'), top_k=3),
    )
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    assert (_villages(tmp_path / "u")["p_top_k"] == 1.0).all()


def test_seed_0_gives_the_same_files_twice(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    """SALib's Sobol analysis tests ``if seed``: a seed of 0 used to leave the intervals'
    bootstrap unseeded, so two analyses of the same settings wrote different files."""
    _append(
        tiny_project,
        _section(
            _dist(DRY, 'dist = "uniform", low = 0.5, high = 2')
            + "\n"
            + _dist("project.income_sigma", 'dist = "uniform", low = 0.3, high = 0.4'),
            samples=16,
        ).replace("[uncertainty.parameters]", "seed = 0\n[uncertainty.parameters]"),
    )
    for out in ("a", "b"):
        code, _, err = _uncertainty(tiny_project, tmp_path / out)
        assert code == 0, err
    first, again = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    for name in ("villages_uncertainty.csv", "priorities_robustness.csv", "sensitivity.csv"):
        assert first[name] == again[name], name


# ------------------------------------------------------------------ odd projects
VARIED = _section(_dist(DRY, 'dist = "uniform", low = 0.5, high = 2'), samples=8)


def _no_interventions(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(text[: text.index("[[interventions]]")], encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "pairs_written"),
    [
        (_no_interventions, True),
        (lambda p: edit(p, "[planning]\nbudget_cny = 1000000\n", ""), False),
        (lambda p: edit(p, "budget_cny = 1000000", "budget_cny = 0"), True),
    ],
    ids=["no interventions", "no budget", "a budget of 0"],
)
def test_projects_without_a_portfolio(
    tiny_project: Path,
    tmp_path: Path,
    one_core: None,
    change: Callable[[Path], None],
    pairs_written: bool,
) -> None:
    """Nothing is ever chosen: no pair has a p_chosen, and the returns avoided by the
    portfolio have no indices."""
    change(tiny_project)
    _append(tiny_project, VARIED)
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    pairs = tmp_path / "u" / "priorities_robustness.csv"
    assert pairs.exists() == pairs_written
    if pairs_written:  # nothing is ever chosen: the header only
        table = pd.read_csv(pairs, encoding="utf-8-sig")
        assert table.empty and "p_chosen" in table.columns
    indices = pd.read_csv(tmp_path / "u" / "sensitivity.csv", encoding="utf-8-sig")
    assert set(indices["output"]) == {"expected_returns"}
    assert _villages(tmp_path / "u")["p_top_k"].sum() == pytest.approx(2.0)


def test_a_village_without_households_counts_nothing_and_ranks_last(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    table = households_table(tiny_project)
    write_households(tiny_project, table[table["village_code"] != "C"])
    _append(tiny_project, VARIED)
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    villages = _villages(tmp_path / "u")
    assert villages.loc["C", ["expected_returns", "expected_returns_p95"]].tolist() == [0.0, 0.0]
    assert villages["p_top_k"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0}


def test_a_village_whose_households_all_miss_a_hazard_is_as_run_has_it(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    slope = np.linspace(0.0, 0.99, 100).reshape(10, 10)
    slope[:, 5:] = -9999.0  # village B's square, and only it
    write_raster(tiny_project.parent / "data" / "slope.tif", slope, slope_transform(), "EPSG:32648")
    _append(tiny_project, VARIED)
    code, _, err = _uncertainty(tiny_project, tmp_path / "u")
    assert code == 0, err
    assert "no slope value" in err
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "run"))
    assert code == 0, err
    run = pd.read_csv(tmp_path / "run" / "villages.csv", **READ).set_index("village_code")  # type: ignore[call-overload]
    villages = _villages(tmp_path / "u")
    np.testing.assert_allclose(
        villages["expected_returns"], run["expected_returns"][villages.index]
    )
    assert villages.loc["B", "expected_returns_p95"] == 0.0
    assert villages.loc["B", "p_top_k"] == 0.0


def test_the_overlay_cache_deleted_between_analyses_changes_nothing(
    tiny_project: Path, tmp_path: Path
) -> None:
    import shutil

    _append(tiny_project, VARIED)
    code, _, err = _uncertainty(tiny_project, tmp_path / "a")
    assert code == 0, err
    cache = tmp_path / ".hazardmap-cache"
    assert cache.is_dir()
    shutil.rmtree(cache)
    code, _, err = _uncertainty(tiny_project, tmp_path / "b")
    assert code == 0, err
    assert cache.is_dir()
    first, again = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    for name in ("villages_uncertainty.csv", "priorities_robustness.csv", "sensitivity.csv"):
        assert first[name] == again[name], name


# ------------------------------------------------------------------ Ctrl-C and a second run
LONG = _section(
    _dist(DRY, 'dist = "uniform", low = 0.5, high = 2')
    + "\n"
    + _dist("project.income_sigma", 'dist = "uniform", low = 0.3, high = 0.4'),
    samples=16384,
)
"""65,536 model runs: some 20 s on two cores, far longer than an interrupted one takes."""


def _gone(pids: list[int], seconds: float = 10.0) -> bool:
    """Whether every process ``pids`` has ended (a zombie counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _running(pid)]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return sys.platform != "linux"
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Two worker processes; the pools made are recorded (for their workers' pids)."""
    pools: list[object] = []
    original = parallel.ProcessPoolExecutor

    class Recorded(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Recorded)
    yield pools


def _workers(pools: list[object]) -> list[int]:
    return list(pools[-1]._processes)  # type: ignore[attr-defined]


def test_ctrl_c_during_the_runs_stops_the_workers_at_once_and_writes_nothing(
    tiny_project: Path, tmp_path: Path, two_cores: list[object]
) -> None:
    _append(tiny_project, LONG)
    out = tmp_path / "u"
    seen: list[int] = []
    interrupted: list[float] = []

    def interrupt(done: int, total: int) -> None:
        seen.extend(_workers(two_cores))
        interrupted.append(time.monotonic())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_uncertainty(tiny_project, out, progress=interrupt)
    assert time.monotonic() - interrupted[0] < 3  # the chunks running, not the 65,536 runs
    assert seen and _gone(seen)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".hazardmap-cache",
        ".u.lock",
        "project",
    ]
    # the lock went with it: the next analysis runs
    edit(tiny_project, "samples = 16384", "samples = 8")
    run_uncertainty(tiny_project, out)
    assert (out / "sensitivity.csv").is_file()


def test_a_worker_that_dies_is_one_line_and_nothing_is_written(
    tiny_project: Path, tmp_path: Path, two_cores: list[object]
) -> None:
    _append(tiny_project, LONG)

    def kill(done: int, total: int) -> None:
        for pid in _workers(two_cores):
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(HazardmapError, match=r"a worker process of the model runs ended abruptly"):
        run_uncertainty(tiny_project, tmp_path / "u", progress=kill)
    assert not (tmp_path / "u").exists()


@pytest.mark.skipif(
    sys.platform != "linux" or usable_cores() < 2, reason="worker processes, seen in /proc"
)
def test_ctrl_c_in_a_terminal_aborts_without_a_traceback_and_leaves_no_process(
    tiny_project: Path, tmp_path: Path
) -> None:
    """Ctrl-C reaches the command and its worker processes together (one process group)."""
    _append(tiny_project, LONG)
    out = tmp_path / "u"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from hazardmap.cli import main; main()",
            "uncertainty",
            "--config",
            str(tiny_project),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    group = process.pid
    try:
        deadline = time.monotonic() + 60
        while len(_group(group)) < 5 and time.monotonic() < deadline:  # + forkserver, workers
            time.sleep(0.05)
        assert len(_group(group)) >= 5, "the worker processes never started"
        time.sleep(0.3)
        os.killpg(group, signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            os.killpg(group, signal.SIGKILL)
            process.wait()
    assert process.returncode == 1 and err.strip().splitlines()[-1] == "Aborted!", err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert _gone(_group(group))
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".hazardmap-cache",
        ".u.lock",
        "project",
    ]


def _group(pgid: int) -> list[int]:
    """The live processes of a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_a_second_analysis_into_a_folder_being_written_stops_before_its_runs(
    tiny_project: Path, tmp_path: Path, one_core: None
) -> None:
    _append(tiny_project, VARIED)
    out = tmp_path / "u"
    code, _, err = _uncertainty(tiny_project, out)
    assert code == 0, err
    before = tree_digest(out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom filelock import FileLock\n"
            "lock = FileLock(sys.argv[1])\nlock.acquire()\nprint('held', flush=True)\n"
            "time.sleep(60)",
            str(lock_file(out.resolve())),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, stdout, err = _uncertainty(tiny_project, out)
        assert_one_error_line(
            code,
            stdout,
            err,
            r"another hazardmap run is writing there .* choose another folder",
            "uncertainty",
        )
        runs: list[int] = []
        with pytest.raises(HazardmapError, match="another hazardmap run is writing there"):
            run_uncertainty(tiny_project, out, progress=lambda done, total: runs.append(done))
        assert runs == []  # refused before a single model run
    finally:
        holder.kill()
        holder.communicate()
    assert tree_digest(out) == before
