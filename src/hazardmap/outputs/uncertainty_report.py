"""report.html of an uncertainty analysis: what was run, how far the county's expected
returns move, which parameter is worth measuring first, and whether the top villages and
the chosen measures stay so when the parameters move within what is plausible.

Built as the run's report is: one HTML file that opens offline, its chart embedded as a
data URI and saved beside it as PNG (listed by the folder's marker, like every file the
staged folder holds), values escaped by the template engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hazardmap.config.distributions import Lognormal, Normal, Triangular, Uniform
from hazardmap.outputs import figures
from hazardmap.outputs.report import saved_figure, templates
from hazardmap.outputs.style import number as _n
from hazardmap.uncertainty.compute import PERCENTILES

if TYPE_CHECKING:
    from hazardmap.config import Config
    from hazardmap.config.distributions import Distribution
    from hazardmap.config.uncertainty import ParameterPath
    from hazardmap.results import UncertaintyResult

ROBUST = 0.9
"""A top village (a chosen pair) is robust when the samples keep it so this often or more."""
FRAGILE = 0.5
"""Below this share it is not robust; outside the top (not chosen), it may belong there
at this share or more."""
TOP_PAIRS = 25
CHART = "chart_sensitivity.png"
OUTPUT_WORDS = {
    "expected_returns": "the county's expected returns a year",
    "returns_avoided": "the returns avoided by the measures chosen as configured",
}


def _g(value: float) -> str:
    """A parameter's value as the project file would give it (0.28, 20,000)."""
    return f"{value:,g}"


def distribution_words(distribution: Distribution) -> str:
    """A distribution in words: 'uniform 0.28–0.42', 'lognormal, median 1, sigma 0.3'."""
    d = distribution
    if isinstance(d, Uniform):
        return f"uniform {_g(d.low)}–{_g(d.high)}"
    if isinstance(d, Triangular):
        return f"triangular {_g(d.low)}–{_g(d.high)}, mode {_g(d.mode)}"
    if isinstance(d, Normal):
        cut = [f"at least {_g(d.low)}"] if d.low is not None else []
        cut += [f"at most {_g(d.high)}"] if d.high is not None else []
        return f"normal, mean {_g(d.mean)}, sd {_g(d.sd)}" + "".join(f", {c}" for c in cut)
    assert isinstance(d, Lognormal)
    return f"lognormal, median {_g(d.median)}, sigma {_g(d.sigma)}"


def _configured(config: Config, path: ParameterPath) -> float:
    """The value the project file gives: 1 for a factor."""
    if path.kind == "factor":
        return 1.0
    project = config.settings.project
    if path.kind == "sigma":
        return project.income_sigma
    if path.kind == "cover":
        return project.insurance_cover
    return next(i for i in config.settings.interventions if i.name == path.name).cost_per_household


def _parameter_rows(result: UncertaintyResult) -> list[dict[str, Any]]:
    """Each parameter (the varied first): its distribution in words (or the value it is
    held at), the configured value, and whether that value lies outside the values sampled
    (the estimate as configured is then no sample's)."""
    design = result.uncertainty.design
    paths = [(v.path, None) for v in design.varied] + list(design.held)
    rows = []
    for path, held in paths:
        distribution = result.settings.parameters[path.key]
        configured = _configured(result.config, path)
        low, high = distribution.bounds()
        rows.append(
            {
                "key": path.key,
                "distribution": distribution_words(distribution)
                if held is None
                else f"held at {_g(held)}",
                "factor": path.kind == "factor",
                "configured": _g(configured),
                "outside": not low <= configured <= high,
            }
        )
    return rows


def _percentile_of(values: np.ndarray, value: float) -> str:
    """Where ``value`` falls among ``values``: the share of them below it."""
    return f"{float(np.mean(values < value)):.0%}"


def _indices(result: UncertaintyResult, folder: Path) -> dict[str, Any]:
    """The chart (saved; None when no output varied), the outputs that did not vary, and
    the parameter worth measuring first with the runner-up."""
    found = result.uncertainty
    indices, method = found.indices, found.design.method
    main = "ST" if method == "sobol" else "mu_star"
    varied = indices[main].notna().groupby(indices["output"], sort=False).any()
    chart = None
    if varied.any():
        png = figures.sensitivity_chart(indices, method)
        title = "Sensitivity indices, largest first 敏感性指数"
        chart = saved_figure(folder, CHART, png, title)
    ranked = indices[indices["output"] == "expected_returns"].dropna(subset=[main])
    ranked = ranked.sort_values(main, ascending=False, kind="stable")
    first = None
    if len(ranked) and ranked[main].iloc[0] > 0:
        digits = 2 if method == "sobol" else 1
        shown = [
            {
                "key": str(r["parameter"]),
                "value": _n(r[main], digits),
                "conf": _n(r[f"{main}_conf"], digits),
            }
            for _, r in ranked.head(2).iterrows()
        ]
        lows = ranked[main] - ranked[f"{main}_conf"]
        highs = ranked[main] + ranked[f"{main}_conf"]
        first = {
            "top": shown[0],
            "next": shown[1] if len(shown) > 1 else None,
            "overlap": len(ranked) > 1 and bool(lows.iloc[0] <= highs.iloc[1]),
        }
    return {
        "method": method,
        "chart": chart,
        "constant": [OUTPUT_WORDS.get(str(o), str(o)) for o in varied.index[~varied]],
        "none": indices.empty,
        "first": first,
    }


def _ranked(result: UncertaintyResult) -> pd.DataFrame:
    """The villages in the point estimate's order: expected returns, ties by code,
    villages without a value last; with that rank."""
    found = result.uncertainty
    villages = found.villages.assign(has_value=found.point.village_has_value)
    villages = villages.sort_values(
        ["has_value", "expected_returns", "village_code"],
        ascending=[False, False, True],
        kind="stable",
    )
    return villages.assign(rank=np.arange(1, len(villages) + 1))


def _village_rows(villages: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {
            "rank": str(v["rank"]),
            "name": str(v["name"]),
            "code": str(v["village_code"]),
            "expected": _n(v["expected_returns"], 2),
            "p5": _n(v["expected_returns_p5"], 2),
            "p50": _n(v["expected_returns_p50"], 2),
            "p95": _n(v["expected_returns_p95"], 2),
            "p": f"{v['p_top_k']:.0%}",
        }
        for _, v in villages.iterrows()
    ]


def _villages(result: UncertaintyResult) -> dict[str, Any]:
    """The point estimate's top k split by p_top_k (robust, between, not robust), and the
    villages outside it that are in it in at least FRAGILE of the samples."""
    k = result.settings.top_k
    ranked = _ranked(result)
    top, rest = ranked.head(k), ranked.iloc[k:]
    p = top["p_top_k"]
    outside = rest[rest["p_top_k"] >= FRAGILE].sort_values("p_top_k", ascending=False)
    return {
        "k": k,
        "robust": _village_rows(top[p >= ROBUST]),
        "between": _village_rows(top[(p >= FRAGILE) & (p < ROBUST)]),
        "fragile": _village_rows(top[p < FRAGILE]),
        "outside": _village_rows(outside),
    }


def _pair_rows(pairs: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {
            "name": str(p["name"]),
            "code": str(p["village_code"]),
            "intervention": str(p["intervention"]),
            "hazard": str(p["hazard"]),
            "avoided": _n(p["returns_avoided"], 3),
            "p": f"{p['p_chosen']:.0%}",
        }
        for _, p in pairs.head(TOP_PAIRS).iterrows()
    ]


def _portfolio(result: UncertaintyResult) -> dict[str, Any] | None:
    """With a budget: the pairs chosen as configured, least often chosen in the samples
    first, and those not chosen that the samples choose at least FRAGILE of the time; the
    portfolio's returns avoided, as configured and over the samples."""
    budget = result.config.settings.planning.budget_cny
    if budget is None:
        return None
    found = result.uncertainty
    pairs = found.pairs
    chosen = pairs[pairs["chosen"]].sort_values(
        ["p_chosen", "returns_avoided", "village_code", "intervention"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    others = pairs[~pairs["chosen"] & (pairs["p_chosen"] >= FRAGILE)]
    low, _, high = np.percentile(found.spread.portfolio, PERCENTILES)
    return {
        "budget": _n(budget, 0),
        "pairs": len(chosen),
        "avoided": _n(float(found.point.avoided[found.point.chosen].sum()), 1),
        "low": _n(float(low), 1),
        "high": _n(float(high), 1),
        "robust": int((chosen["p_chosen"] >= ROBUST).sum()),
        "fragile": int((chosen["p_chosen"] < FRAGILE).sum()),
        "chosen": _pair_rows(chosen),
        "others": _pair_rows(others),
        "others_count": len(others),
    }


def write_uncertainty_report(result: UncertaintyResult, folder: Path, created: str) -> None:
    """report.html into ``folder``, and its chart beside it as PNG (none when no output
    varied)."""
    found, settings = result.uncertainty, result.settings
    point = float(found.point.village_returns.sum())
    low, mid, high = result.uncertainty.spread_percentiles()
    template = templates().get_template("uncertainty_report.html.j2")
    html = template.render(
        title=f"hazardmap: {result.config.settings.project.name}",
        created=created,
        method=found.design.method,
        samples=_n(settings.samples),
        seed=settings.seed,
        runs=_n(result.uncertainty.model_runs()),
        runs_for_indices=_n(len(found.runs.portfolio)),
        draws=_n(len(found.spread.portfolio)),
        parameters=_parameter_rows(result),
        varied=len(found.design.varied),
        expected={
            "point": _n(point),
            "p5": _n(low),
            "p50": _n(mid),
            "p95": _n(high),
            "share_below": _percentile_of(found.spread.expected_returns, point),
            "below": point < low,
            "above": point > high,
        },
        indices=_indices(result, folder),
        villages=_villages(result),
        portfolio=_portfolio(result),
        robust=f"{ROBUST:.0%}",
        fragile=f"{FRAGILE:.0%}",
        warnings=list(result.warnings),
    )
    (folder / "report.html").write_text(html, encoding="utf-8")
