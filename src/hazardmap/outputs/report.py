"""report.html and its PNG maps: what an emergency office and planners publish and print.

One HTML file that opens offline (figures are embedded as data URIs and also saved beside
it as PNG), prints on A4 (a print style sheet), and renders Chinese with the reader's
fonts. Every value is escaped by the template engine (autoescape).

The writer is given the tables it shows, not a run's result: it formats and draws, and
computes nothing (risk classes and their counts come computed).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, PackageLoader

from hazardmap.outputs import figures
from hazardmap.outputs.style import LEVEL_LABELS
from hazardmap.outputs.style import number as _n
from hazardmap.outputs.summary import when
from hazardmap.vocabulary import HOUSING_TITLES, HOUSING_TYPES

if TYPE_CHECKING:
    import geopandas as gpd

    from hazardmap.config import LayerConfig


TOP_VILLAGES = 15
TOP_PER_HAZARD = 10
TOP_PRIORITIES = 25
TOP_CHANGES = 20
TOP_SITES = 10

Shown = dict[str, str]
"""A figure as the report shows it: its data URI and caption."""


@lru_cache(maxsize=1)
def templates() -> Environment:
    """The reports' templates (report.html, the uncertainty report), autoescaped."""
    return Environment(loader=PackageLoader("hazardmap.outputs", "templates"), autoescape=True)


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def saved_figure(folder: Path, name: str, png: bytes, title: str) -> Shown:
    """A figure saved as ``name`` in ``folder``, and as the report shows it."""
    (folder / name).write_bytes(png)
    return {"uri": _uri(png), "title": title}


def _figures(
    folder: Path, villages: gpd.GeoDataFrame, risk_classes: pd.DataFrame, titles: dict[str, str]
) -> tuple[list[Shown], list[Shown]]:
    """The maps (combined risk, then each hazard's levels) and the charts, saved."""
    maps = [figures.Choropleth.risk("risk_class", "Combined risk 综合返贫风险")]
    maps += [figures.Choropleth.level(f"{h}_level", f"{t} level") for h, t in titles.items()]
    pngs = figures.report_figures(villages, maps, risk_classes, titles)
    names = ["map_combined.png", *(f"map_{h}.png" for h in titles)]
    captions = ["Combined return-to-poverty risk 综合返贫风险"]
    captions += [f"{t}: village level 村级等级" for t in titles.values()]
    names += ["chart_classes.png", "chart_townships.png"]
    captions += [
        "Households by risk class, per hazard 各灾种风险等级户数",
        "Expected returns per year by township 各乡镇预计年返贫户数",
    ]
    saved = [saved_figure(folder, *parts) for parts in zip(names, pngs, captions, strict=True)]
    return saved[: len(maps)], saved[len(maps) :]


def _headline(households: pd.DataFrame, villages: pd.DataFrame) -> dict[str, str]:
    high = households["risk_class"] >= 3  # high and very high (the computed classes)
    return {
        "households": _n(len(households)),
        "high_households": _n(int(high.sum())),
        "high_people": _n(int(households.loc[high, "members"].sum())),
        "expected": _n(villages["expected_returns"].sum()),
    }


def _village_rows(villages: pd.DataFrame, titles: dict[str, str]) -> list[dict[str, str]]:
    top = villages.sort_values("expected_returns", ascending=False).head(TOP_VILLAGES)
    return [
        {
            "name": str(v["name"]),
            "township": str(v["township"]),
            "code": str(v["village_code"]),
            "households": _n(v["n_households"]),
            "high": _n(v["n_high_risk"]),
            "expected": _n(v["expected_returns"], 2),
            "dominant": titles.get(str(v["dominant_hazard"]), "–"),
        }
        for _, v in top.iterrows()
    ]


def _housing_rows(households: pd.DataFrame) -> list[dict[str, str]]:
    """Per housing type: households, high-risk households and expected returns, so that
    the most exposed dwellings (earth houses, loess caves) stand out."""
    rows = []
    for housing in HOUSING_TYPES:
        group = households[households["housing"] == housing]
        if not len(group):
            continue
        expected = float(group["risk"].sum())  # households with a hazard missing add nothing
        rows.append(
            {
                "housing": HOUSING_TITLES[housing],
                "households": _n(len(group)),
                "high": _n(int((group["risk_class"] >= 3).sum())),
                "expected": _n(expected, 1),
                "per_100": _n(100.0 * expected / len(group), 2),
            }
        )
    return rows


def _derived(layer: LayerConfig) -> str | None:
    """One sentence on how a layer's values were derived (None for a plain raster)."""
    spec = layer.spec
    name = layer.raster_path.name
    outside = "missing" if spec.outside is None else f"{spec.outside:g}"
    sentence = None
    if spec.source == "cube" and spec.reduce is not None and spec.variable is not None:
        sentence = (
            f"Values derived from {name}, {spec.reduce.reduction().describe(spec.variable)} "
            "(the manifest lists the years used)."
        )
    elif spec.source == "zones":
        sentence = (
            f"Values from the zones of {name} (field {spec.field}): a household takes its "
            "zone's value, a village the exact area of each zone inside it; outside every "
            f"zone: {outside}."
        )
    elif spec.source == "sites":
        sentence = (
            f"Values from the hazard sites of {name} (field {spec.field}): a household within "
            f"a site's threat radius, or named by its register, takes the site's value; "
            f"elsewhere {outside}. A village's level comes from the highest site reaching it."
        )
    if spec.sites is not None and layer.sites_path is not None:
        raised = (
            f"Households within a threat radius of the hazard sites of {layer.sites_path.name}, "
            "or named by their register, take the higher of their own value and the site's."
        )
        sentence = raised if sentence is None else f"{sentence} {raised}"
    return sentence


def _site_rows(sites: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """The hazard sites that threaten the most monitored households (None: no sites)."""
    if sites is None:
        return None
    return [
        {
            "site": str(s["site_id"]),
            "grade": str(s["label"]),
            "village": str(s["village"]) or "–",
            "township": str(s["township"]) or "–",
            "radius": _n(s["radius_m"], 0),
            "monitored": _n(s["monitored"]),
            "households": _n(s["households"]),
        }
        for _, s in sites.head(TOP_SITES).iterrows()
    ]


def _hazard_sections(
    villages: pd.DataFrame,
    titles: dict[str, str],
    derived: Mapping[str, str | None],
    sites: Mapping[str, pd.DataFrame] | None = None,
) -> list[dict[str, Any]]:
    """Per hazard: its expected returns per year, how its values were derived (a cube,
    zones, sites), its top villages and the sites threatening the most monitored
    households."""
    sections = []
    for h, title in titles.items():
        ranked = villages.sort_values(f"{h}_expected_returns", ascending=False)
        sections.append(
            {
                "title": title,
                "derived": derived.get(h),
                "sites": _site_rows((sites or {}).get(h)),
                "expected": _n(villages[f"{h}_expected_returns"].sum()),
                "top": [
                    {
                        "name": str(v["name"]),
                        "township": str(v["township"]),
                        "level": LEVEL_LABELS[int(v[f"{h}_level"])],
                        "mean": _n(v[f"{h}_mean"], 3),
                        "expected": _n(v[f"{h}_expected_returns"], 2),
                    }
                    for _, v in ranked.head(TOP_PER_HAZARD).iterrows()
                ],
            }
        )
    return sections


def _budget_note(priorities: pd.DataFrame, budget: float | None) -> str:
    if budget is None:
        return "No budget set ([planning] budget_cny): nothing is marked as chosen."
    chosen = priorities[priorities["chosen"]]
    spent, avoided = chosen["cost_cny"].sum(), chosen["returns_avoided"].sum()
    return (
        f"Budget 预算 {_n(budget, 0)} CNY: {len(chosen)} measures chosen, costing "
        f"{_n(spent, 0)} CNY and avoiding {_n(avoided, 2)} returns to poverty per year."
    )


def _priority_rows(priorities: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "rank": int(p["rank"]),
            "name": str(p["name"]),
            "intervention": str(p["intervention"]),
            "households": _n(p["households"]),
            "avoided": _n(p["returns_avoided"], 3),
            "cost": _n(p["cost_cny"], 0),
            "effectiveness": _n(p["effectiveness"], 2),
            "chosen": "✓" if p["chosen"] else "",
        }
        for _, p in priorities.head(TOP_PRIORITIES).iterrows()
    ]


def _arrow(old: Any, new: Any, digits: int | None = None) -> str:
    """'old → new', or the value once when it did not change; '–' for a missing side."""

    def fmt(value: Any) -> str:
        if pd.isna(value):
            return "–"
        return str(int(value)) if digits is None else _n(value, digits)

    return fmt(old) if fmt(old) == fmt(new) else f"{fmt(old)} → {fmt(new)}"


def _change_rows(changes: pd.DataFrame | None, hazards: list[str]) -> list[dict[str, Any]] | None:
    """The first changed villages, as 'old → new' text; None without an earlier run."""
    if changes is None:
        return None

    def arrow(row: pd.Series, column: str, digits: int | None = None) -> str:
        return _arrow(row[f"old_{column}"], row[f"new_{column}"], digits)

    return [
        {
            "name": str(row["name"]),
            "code": str(row["village_code"]),
            "status": str(row["status"]).replace("_", " "),
            "risk": arrow(row, "risk_class"),
            "levels": [arrow(row, f"{h}_level") for h in hazards],
            "returns": arrow(row, "expected_returns", 2),
            "delta": _n(row["change_expected_returns"], 2),
        }
        for _, row in changes.head(TOP_CHANGES).iterrows()
    ]


def _compared(comparison: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the run was compared with (the manifest's ``comparison``), as the report shows
    it: the folder, when it ran, the inputs that differ (SHA-256 cut to 12 characters) and
    the counts of changed households."""
    if comparison is None:
        return None

    def short(sha: str | None) -> str:
        return "–" if sha is None else sha[:12]

    inputs = comparison["inputs_differing"]
    households = comparison["households"]
    return {
        "folder": comparison["baseline"],
        "previous_run": comparison["baseline_is_previous_run"],
        "created": when(comparison["baseline_created"]),
        "manifest": short(comparison["baseline_manifest_sha256"]),
        "min_returns": f"{comparison['min_returns']:g}",
        "inputs": None
        if inputs is None
        else [
            {"role": i["role"], "old": short(i["old_sha256"]), "new": short(i["new_sha256"])}
            for i in inputs
        ],
        "households": None
        if households is None
        else {status: _n(count) for status, count in households.items()},
    }


def _simulated(
    years: pd.DataFrame | None,
    table: pd.DataFrame | None,
    simulation: Mapping[str, Any] | None,
    titles: dict[str, str],
    folder: Path,
) -> dict[str, Any] | None:
    """The simulated years as the report shows them: the exceedance curve, the table of
    return periods with TVaR, and which hazards drive the bad years (the share of the
    returns of the years at or above the 1-in-20-year level)."""
    if years is None or table is None or simulation is None:
        return None
    returns = years["returns"].to_numpy()
    png = figures.exceedance_chart(returns, float(simulation["expected_returns"]))
    chart = saved_figure(
        folder,
        "chart_exceedance.png",
        png,
        "Households returning in a year, by return period 返贫户数超越概率曲线",
    )
    rows = table.set_index("return_period")
    level = float(table.loc[table["return_period"] == 20, "returns"].iloc[0])
    bad = years[returns >= level] if math.isfinite(level) else years.iloc[0:0]
    total = float(sum(bad[f"{h}_returns"].sum() for h in titles)) or 1.0
    return {
        "chart": chart,
        "years": _n(int(simulation["years"])),
        "compound": str(simulation["compound"]),
        "mean": _n(float(simulation["mean_returns"]), 1),
        "expected": _n(float(simulation["expected_returns"]), 1),
        "rows": [
            {"period": period, "returns": _n(r["returns"], 0), "tvar": _n(r["tvar"], 0)}
            for period, r in zip(rows.index.tolist(), rows.to_dict("records"), strict=True)
            if period in (5, 10, 20, 50, 100)
        ],
        "drivers": [
            {"title": t, "share": f"{bad[f'{h}_returns'].sum() / total:.0%}"}
            for h, t in titles.items()
        ],
        "bad_years": _n(len(bad)),
        "compared": _compared_with_separate(simulation.get("compared_with_separate")),
    }


def _compared_with_separate(compared: Mapping[str, Any] | None) -> str | None:
    """One sentence: what adding a year's losses does to the mean and the bad year."""
    if compared is None:
        return None

    def signed(a: float, b: float) -> str:
        return f"{a - b:+,.1f}"

    text = (
        f"Over the first {compared['years']:,} years (the same events), adding a year's "
        f"losses before the line is crossed gives {compared['mean_sum']:,.1f} returns a year "
        f"against {compared['mean_separate']:,.1f} with each hazard's loss alone "
        f"({signed(compared['mean_sum'], compared['mean_separate'])})"
    )
    if compared["in20_sum"] is not None and compared["in20_separate"] is not None:
        text += (
            f", and {compared['in20_sum']:,.0f} against {compared['in20_separate']:,.0f} in "
            f"the 1-in-20-year year ({signed(compared['in20_sum'], compared['in20_separate'])})"
        )
    return text + "."


def write_report(
    folder: Path,
    *,
    title: str,
    created: str,
    monitoring_line: float,
    layers: Sequence[LayerConfig],
    villages: gpd.GeoDataFrame,
    households: pd.DataFrame,
    priorities: pd.DataFrame,
    risk_classes: pd.DataFrame,
    budget: float | None,
    changes: pd.DataFrame | None,
    comparison: Mapping[str, Any] | None = None,
    sites: Mapping[str, pd.DataFrame] | None = None,
    simulated: tuple[pd.DataFrame | None, pd.DataFrame | None, Mapping[str, Any] | None]
    | None = None,
) -> None:
    """report.html in ``folder``, and its figures beside it as PNG. ``title`` is the
    project's name; ``layers`` give the hazards' titles; ``risk_classes`` the households
    per class (rows: hazards and 'combined'); ``changes`` the villages changed since the
    earlier run compared with (None without one), which ``comparison`` (the manifest's
    ``comparison``) describes; ``sites`` each layer's hazard sites, most monitored
    households threatened first."""
    titles = {
        layer.name: f"{layer.spec.title} {layer.spec.title_zh or ''}".strip() for layer in layers
    }
    maps, charts = _figures(folder, villages, risk_classes, titles)
    template = templates().get_template("report.html.j2")
    html = template.render(
        title=f"hazardmap: {title}",
        created=created,
        line=_n(monitoring_line, 0),
        headline=_headline(households, villages),
        hazards=_hazard_sections(
            villages, titles, {lay.name: _derived(lay) for lay in layers}, sites
        ),
        maps=maps,
        charts=charts,
        top_villages=_village_rows(villages, titles),
        housing=_housing_rows(households),
        budget_note=_budget_note(priorities, budget),
        changes=_change_rows(changes, list(titles)),
        compared=_compared(comparison),
        priorities=_priority_rows(priorities),
        simulated=None if simulated is None else _simulated(*simulated, titles, folder),
    )
    (folder / "report.html").write_text(html, encoding="utf-8")
