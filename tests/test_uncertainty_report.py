"""report.html of `hazardmap uncertainty`: what was run, the percentiles, the chart of the
indices, which top villages and chosen measures hold, on the tiny project (few samples)
and on tables made by hand."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardmap.config.distributions import Uniform
from hazardmap.outputs.style import number
from hazardmap.outputs.uncertainty_report import write_uncertainty_report
from hazardmap.results import UncertaintyResult
from hazardmap.uncertainty.pipeline import run_uncertainty
from tests.helpers import build_tiny_project, edit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTION = """
[uncertainty]
method = "sobol"
samples = 4
top_k = 1
seed = 1

[uncertainty.parameters]
"project.income_sigma" = {{ dist = "uniform", low = {low}, high = {high} }}
"layers.dry.frequency_factor" = {{ dist = "lognormal", median = 1.0, sigma = {sigma} }}
"layers.slope.housing.earth" = {{ dist = "uniform", low = 1.0, high = 1.0 }}
"""


def analysed(
    root: Path,
    *,
    low: float = 0.3,
    high: float = 0.4,
    sigma: float = 0.3,
    budget: bool = True,
    method: str | None = None,
) -> UncertaintyResult:
    """``hazardmap uncertainty`` on a fresh tiny project, written into root/out."""
    project = build_tiny_project(root / "project")
    text = project.read_text(encoding="utf-8") + SECTION.format(low=low, high=high, sigma=sigma)
    project.write_text(text, encoding="utf-8")
    if not budget:
        edit(project, "budget_cny = 1000000", "")
    return run_uncertainty(project, root / "out", method=method)


def page(result: UncertaintyResult) -> str:
    assert result.out_dir is not None
    return (result.out_dir / "report.html").read_text(encoding="utf-8")


def between(html: str, start: str, end: str) -> str:
    """The part of ``html`` from the heading starting with ``start`` to the next one
    starting with ``end``."""
    first = html.index(start)
    return html[first : html.index(end, first + len(start))]


@pytest.fixture(scope="module")
def sobol(tmp_path_factory: pytest.TempPathFactory) -> UncertaintyResult:
    return analysed(tmp_path_factory.mktemp("sobol"))


def test_the_report_says_what_was_run(sobol: UncertaintyResult) -> None:
    html = page(sobol)
    assert "Sobol indices by Saltelli" in html
    assert f"<b>{number(sobol.uncertainty.model_runs())} model runs</b>" in html
    assert "seed 1" in html
    for key, words in [
        ("project.income_sigma", "uniform 0.3–0.4"),
        ("layers.dry.frequency_factor", "lognormal, median 1, sigma 0.3"),
        ("layers.slope.housing.earth", "held at 1"),
    ]:
        row = between(html, f"<code>{key}</code>", "</tr>")
        assert words in row
    assert "outside the values sampled" not in between(html, "<table>", "</table>")


def test_the_report_shows_the_percentiles(sobol: UncertaintyResult) -> None:
    html = page(sobol)
    point = float(sobol.uncertainty.point.village_returns.sum())
    for value in (point, *sobol.uncertainty.spread_percentiles()):
        assert f"<b>{number(value)}</b>" in html
    assert "95th percentile" in html


def test_the_chart_is_a_png_beside_the_report_and_in_it(sobol: UncertaintyResult) -> None:
    assert sobol.out_dir is not None
    chart = sobol.out_dir / "chart_sensitivity.png"
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    marker = json.loads((sobol.out_dir / ".hazardmap-output").read_text(encoding="utf-8"))
    assert "chart_sensitivity.png" in marker["files"]
    html = page(sobol)
    assert 'src="data:image/png;base64,' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must work offline"


def test_the_parameter_worth_measuring_first_is_named(sobol: UncertaintyResult) -> None:
    indices = sobol.uncertainty.indices
    mine = indices[indices["output"] == "expected_returns"].sort_values("ST", ascending=False)
    first = mine["parameter"].iloc[0]
    assert f"Worth measuring first 最值得先测定的参数: <b><code>{first}</code></b>" in page(sobol)


def test_with_a_budget_the_chosen_measures_are_shown(sobol: UncertaintyResult) -> None:
    html = page(sobol)
    assert "The measures chosen within the budget" in html
    assert "Budget 预算 1,000,000 CNY" in html


def test_morris_renders_its_indices(tmp_path: Path) -> None:
    result = analysed(tmp_path, method="morris")
    html = page(result)
    assert "Morris screening, 4 trajectories" in html
    assert "μ* (mu*)" in html
    assert result.out_dir is not None
    assert (result.out_dir / "chart_sensitivity.png").read_bytes().startswith(PNG_SIGNATURE)


def test_without_a_budget_there_is_no_portfolio(tmp_path: Path) -> None:
    html = page(analysed(tmp_path, budget=False))
    assert "The measures chosen within the budget" not in html
    assert "priorities_robustness.csv" not in html


def test_nothing_varies_no_chart(tmp_path: Path) -> None:
    result = analysed(tmp_path, low=0.35, high=0.35, sigma=0.0)
    assert result.uncertainty.indices.empty
    assert result.out_dir is not None
    assert not (result.out_dir / "chart_sensitivity.png").exists()
    html = page(result)
    assert "No chart: no output varied over the samples." in html
    assert "No indices: no parameter varies." in html
    assert "No parameter varies (every distribution is held at one value)" in html
    assert "Sobol indices" not in html
    assert "<img" not in html


def test_a_configured_value_outside_its_distribution_is_flagged(
    sobol: UncertaintyResult, tmp_path: Path
) -> None:
    parameters = dict(sobol.settings.parameters)
    parameters["project.income_sigma"] = Uniform(dist="uniform", low=0.4, high=0.5)
    moved = replace(sobol, settings=sobol.settings.model_copy(update={"parameters": parameters}))
    write_uncertainty_report(moved, tmp_path, "now")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    row = between(html, "<code>project.income_sigma</code>", "</tr>")
    assert "uniform 0.4–0.5" in row
    assert "0.35 <span" in row and "outside the values sampled" in row


def constructed(result: UncertaintyResult) -> UncertaintyResult:
    """Six villages by hand, top 3: V1 robust, V2 between, V3 not robust (tied with V4 on
    expected returns, ahead by its code), V4 outside but often in, V5 and V6 seldom; two
    chosen pairs and two not chosen."""
    found = result.uncertainty
    villages = pd.DataFrame(
        {
            "village_code": ["V6", "V4", "V3", "V2", "V1", "V5"],
            "name": ["六村", "四村", "三村", "二村", "一村", "五村"],
            "expected_returns": [0.5, 2.0, 2.0, 3.0, 4.0, 1.0],
            "expected_returns_p5": [0.4, 1.5, 1.5, 2.5, 3.5, 0.8],
            "expected_returns_p50": [0.5, 2.1, 2.1, 3.1, 4.1, 1.1],
            "expected_returns_p95": [0.6, 2.5, 2.5, 3.5, 4.5, 1.5],
            "p_top_k": [0.05, 0.6, 0.3, 0.7, 0.95, 0.4],
        }
    )
    pairs = pd.DataFrame(
        {
            "village_code": ["V1", "V2", "V3", "V4"],
            "name": ["一村", "二村", "三村", "四村"],
            "intervention": ["nets", "wells", "nets", "wells"],
            "hazard": ["hail", "dry", "hail", "dry"],
            "chosen": [True, True, False, False],
            "p_chosen": [0.97, 0.2, 0.6, 0.3],
            "returns_avoided": [0.5, 0.4, 0.3, 0.2],
        }
    )
    point = replace(found.point, village_has_value=np.ones(len(villages), dtype=bool))
    return replace(
        result,
        settings=result.settings.model_copy(update={"top_k": 3}),
        uncertainty=replace(found, point=point, villages=villages, pairs=pairs),
    )


def test_robust_and_fragile_villages(sobol: UncertaintyResult, tmp_path: Path) -> None:
    write_uncertainty_report(constructed(sobol), tmp_path, "now")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Robust: at least 90%; not robust: below 50%." in html
    sections = {
        "robust": between(html, "<h3>Robust", "<h3>"),
        "between": between(html, "<h3>In between", "<h3>"),
        "fragile": between(html, "<h3>Not robust", "<h3>"),
        "outside": between(html, "<h3>Outside the top", "<h2>"),
    }
    where = {
        code: [part for part, text in sections.items() if f"<td>{code}</td>" in text]
        for code in ["V1", "V2", "V3", "V4", "V5"]
    }
    assert where == {
        "V1": ["robust"],
        "V2": ["between"],
        "V3": ["fragile"],
        "V4": ["outside"],
        "V5": [],
    }
    assert '<td>3</td><td class="nw">三村</td>' in sections["fragile"]  # tie: V3 before V4
    assert '<td>4</td><td class="nw">四村</td>' in sections["outside"]
    assert '<td class="n">3.50</td>' in sections["robust"]  # p5 shown
    assert '<td class="n">95%</td>' in sections["robust"]


def test_fragile_chosen_measures_first(sobol: UncertaintyResult, tmp_path: Path) -> None:
    write_uncertainty_report(constructed(sobol), tmp_path, "now")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    chosen = between(html, "<h3>Chosen as configured", "<h3>")
    assert chosen.index("<td>V2</td>") < chosen.index("<td>V1</td>")  # 20% before 97%
    assert "<td>V3</td>" not in chosen
    others = between(html, "<h3>Not chosen as configured", "<p class")
    assert "<td>V3</td>" in others and "60%" in others
    assert "<td>V4</td>" not in others  # chosen in 30% of the samples only
    assert "1 of them in at least 90% of the samples, and 1 in fewer than 50%" in html


def test_an_output_that_did_not_vary_is_said(sobol: UncertaintyResult, tmp_path: Path) -> None:
    nan = float("nan")
    indices = pd.DataFrame(
        {
            "output": ["expected_returns"] * 2 + ["returns_avoided"] * 2,
            "parameter": ["a.b", "c.d"] * 2,
            "S1": [0.1, 0.6, nan, nan],
            "S1_conf": [0.05, 0.1, nan, nan],
            "ST": [0.2, 0.7, nan, nan],
            "ST_conf": [0.05, 0.1, nan, nan],
        }
    )
    changed = replace(sobol, uncertainty=replace(sobol.uncertainty, indices=indices))
    write_uncertainty_report(changed, tmp_path, "now")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<b><code>c.d</code></b>" in html and "(0.70 ± 0.10)" in html
    assert "next <code>a.b</code> (0.20 ± 0.05)" in html
    assert "overlap" not in html
    assert (
        "The returns avoided by the measures chosen as configured did not vary over the samples"
        in html
    )
    assert (tmp_path / "chart_sensitivity.png").read_bytes().startswith(PNG_SIGNATURE)
