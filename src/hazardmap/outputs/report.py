"""report.html and its PNG maps: what an emergency office and planners publish and print.

One HTML file that opens offline (figures are embedded as data URIs and also saved beside
it as PNG), prints on A4 (a print style sheet), and renders Chinese with the reader's
fonts. Every value is escaped by the template engine (autoescape).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader

from hazardmap.outputs import figures

if TYPE_CHECKING:
    from hazardmap.results import RunResult


TOP_VILLAGES = 15
TOP_PER_HAZARD = 10
TOP_PRIORITIES = 25
TOP_CHANGES = 20


def _n(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "–"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{float(value):,.{digits}f}"


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def build_report(result: RunResult, folder: Path, created: str) -> str:
    """The report's HTML; its PNG figures are written into ``folder`` on the way."""
    config = result.config
    villages, households, priorities = result.villages, result.households, result.priorities
    titles = {
        layer.name: f"{layer.spec.title} {layer.spec.title_zh or ''}".strip()
        for layer in config.layers
    }
    high = households["risk_class"] >= 3

    maps = []
    combined = figures.village_map(
        villages,
        "risk_class",
        figures.CLASS_COLOURS,
        figures.CLASS_NAMES,
        "Combined risk 综合返贫风险",
    )
    (folder / "map_combined.png").write_bytes(combined)
    maps.append({"uri": _uri(combined), "title": "Combined return-to-poverty risk 综合返贫风险"})
    for h, title in titles.items():
        png = figures.village_map(
            villages, f"{h}_level", figures.LEVEL_COLOURS, figures.LEVEL_NAMES, f"{title} level"
        )
        (folder / f"map_{h}.png").write_bytes(png)
        maps.append({"uri": _uri(png), "title": f"{title}: village level 村级等级"})
    charts = []
    classes = figures.class_chart(result.risk_classes, titles)
    towns = figures.township_chart(villages, titles)
    (folder / "chart_classes.png").write_bytes(classes)
    (folder / "chart_townships.png").write_bytes(towns)
    charts.append(
        {"uri": _uri(classes), "title": "Households by risk class, per hazard 各灾种风险等级户数"}
    )
    charts.append(
        {"uri": _uri(towns), "title": "Expected returns per year by township 各乡镇预计年返贫户数"}
    )

    def village_row(v: pd.Series) -> dict[str, str]:
        return {
            "name": str(v["name"]),
            "township": str(v["township"]),
            "code": str(v["village_code"]),
            "households": _n(v["n_households"]),
            "high": _n(v["n_high_risk"]),
            "expected": _n(v["expected_returns"], 2),
            "dominant": titles.get(str(v["dominant_hazard"]), "–"),
        }

    top = villages.sort_values("expected_returns", ascending=False).head(TOP_VILLAGES)
    hazards = []
    for h, title in titles.items():
        ranked = villages.sort_values(f"{h}_expected_returns", ascending=False).head(TOP_PER_HAZARD)
        hazards.append(
            {
                "title": title,
                "expected": _n(villages[f"{h}_expected_returns"].sum()),
                "top": [
                    {
                        "name": str(v["name"]),
                        "township": str(v["township"]),
                        "level": figures.LEVEL_NAMES[int(v[f"{h}_level"])],
                        "mean": _n(v[f"{h}_mean"], 3),
                        "expected": _n(v[f"{h}_expected_returns"], 2),
                    }
                    for _, v in ranked.iterrows()
                ],
            }
        )
    budget = config.settings.planning.budget_cny
    chosen = priorities[priorities["chosen"]]
    spent, avoided = chosen["cost_cny"].sum(), chosen["returns_avoided"].sum()
    budget_note = (
        f"Budget 预算 {_n(budget, 0)} CNY: {len(chosen)} measures chosen, costing "
        f"{_n(spent, 0)} CNY and avoiding {_n(avoided, 2)} returns to poverty per year."
        if budget is not None
        else "No budget set ([planning] budget_cny): nothing is marked as chosen."
    )
    changes = _change_rows(result.changes, list(titles))
    environment = Environment(
        loader=PackageLoader("hazardmap.outputs", "templates"), autoescape=True
    )
    return environment.get_template("report.html.j2").render(
        title=f"hazardmap: {config.settings.project.name}",
        created=created,
        line=_n(config.settings.project.monitoring_line, 0),
        headline={
            "households": _n(len(households)),
            "high_households": _n(int(high.sum())),
            "high_people": _n(int(households.loc[high, "members"].sum())),
            "expected": _n(villages["expected_returns"].sum()),
        },
        hazards=hazards,
        maps=maps,
        charts=charts,
        top_villages=[village_row(v) for _, v in top.iterrows()],
        budget_note=budget_note,
        changes=changes,
        priorities=[
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
        ],
    )


def _change_rows(changes: pd.DataFrame | None, hazards: list[str]) -> list[dict[str, Any]] | None:
    """The first changes since the previous run, as 'old → new' text; None without one."""
    if changes is None:
        return None

    def arrow(row: pd.Series, column: str) -> str:
        old, new = row[f"old_{column}"], row[f"new_{column}"]
        fmt = lambda v: "–" if pd.isna(v) else str(int(v))  # noqa: E731
        return fmt(old) if fmt(old) == fmt(new) else f"{fmt(old)} → {fmt(new)}"

    return [
        {
            "name": str(row["name"]),
            "status": str(row["status"]),
            "risk": arrow(row, "risk_class"),
            "levels": [arrow(row, f"{h}_level") for h in hazards],
            "delta": _n(row["change_expected_returns"], 2),
        }
        for _, row in changes.head(TOP_CHANGES).iterrows()
    ]


def write_report(result: RunResult, folder: Path, created: str) -> None:
    (folder / "report.html").write_text(build_report(result, folder, created), encoding="utf-8")
