"""Write an event's outputs into its folder, atomically: the tables and leads.xlsx, the
event map, the one-page summary and the manifest (with the footprint's SHA-256)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader

from hazardmap.config import with_sidecars
from hazardmap.outputs.event_tables import CATEGORY_ZH, write_event_tables
from hazardmap.outputs.manifest import describe_file, portable, write_manifest
from hazardmap.outputs.staging import staged_folder
from hazardmap.outputs.style import number
from hazardmap.outputs.summary import when
from hazardmap.outputs.webmap.event_map import write_event_map
from hazardmap.results import EventResult

TOP_VILLAGES = 8
LEAD_VILLAGES = 6
LEADS_PER_VILLAGE = 3
"""What fits one printed A4 page: the most affected villages, and the first leads of the
first of them (the whole list is in leads.xlsx)."""


def _summary_html(result: EventResult, created: str) -> str:
    event, villages, leads = result.event, result.villages, result.leads
    spec, layer = event.spec, event.layer.spec
    hit = villages[villages["households_in_footprint"] > 0].sort_values(
        "expected_returns", ascending=False, kind="stable"
    )
    top = hit.head(TOP_VILLAGES)
    groups = []
    first = top.head(LEAD_VILLAGES)
    for code, name in zip(first["village_code"], first["name"], strict=True):
        mine = leads[leads["village_code"] == code].head(LEADS_PER_VILLAGE)
        if len(mine):
            groups.append(
                {
                    "village": str(name),
                    "leads": [
                        {
                            "household": str(row["household_id"]),
                            "category": CATEGORY_ZH.get(str(row["category"]), row["category"]),
                            "risk": f"{row['event_risk']:.2f}",
                            "need": number(row["need_cny"], 0),
                        }
                        for _, row in mine.iterrows()
                    ],
                }
            )
    environment = Environment(
        loader=PackageLoader("hazardmap.outputs", "templates"), autoescape=True
    )
    return environment.get_template("event_summary.html.j2").render(
        title=spec.caption,
        hazard=f"{layer.title} {layer.title_zh or ''}".strip(),
        date=spec.date.isoformat(),
        created=when(created),
        line=number(result.config.settings.project.monitoring_line, 0),
        headline={
            "in_footprint": number(villages["households_in_footprint"].sum(), 0),
            "expected": number(villages["expected_returns"].sum(), 1),
            "leads": number(len(leads), 0),
            "threshold": f"{spec.lead_threshold:g}",
            "need": number(villages["need_cny"].sum(), 0),
            "at_scale": number(int(villages["at_scale"].sum()), 0),
            "at_scale_returns": f"{spec.at_scale_returns:g}",
        },
        villages=[
            {
                "name": str(v["name"]),
                "township": str(v["township"]),
                "in_footprint": number(v["households_in_footprint"], 0),
                "expected": number(v["expected_returns"], 2),
                "leads": number(v["leads"], 0),
                "need": number(v["need_cny"], 0),
                "at_scale": "yes 是" if v["at_scale"] else "",
            }
            for _, v in top.iterrows()
        ],
        lead_groups=groups,
    )


def event_manifest(
    result: EventResult, recorded_inputs: list[dict[str, Any]], timings: Mapping[str, float]
) -> dict[str, Any]:
    """The event file and its footprint (SHA-256), the project's inputs it read, the
    settings, counts, versions and warnings."""
    event, config = result.event, result.config
    root = config.root
    villages = result.villages
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.settings.project.name,
        "event": {
            "name": event.name,
            "hazard": event.layer.name,
            "date": event.spec.date.isoformat(),
            "title": event.spec.caption,
            "damage": portable(event.damage, event.file.parent),
            "housing": dict(event.housing),
            "damage_from": "event" if event.spec.damage is not None else "layer",
            "housing_from": "event" if event.spec.housing is not None else "layer",
            "settings": portable(event.spec.model_dump(exclude={"date"}), event.file.parent)
            | {"date": event.spec.date.isoformat()},
        },
        "inputs": [
            describe_file(event.file, "event file", root),
            *(
                describe_file(path, "footprint", root)
                for path in with_sidecars(event.footprint_path)
            ),
            *recorded_inputs,
        ],
        "configuration": {"project": portable(config.settings.model_dump(), root)},
        "versions": dict(result.versions),
        "counts": {
            "households": len(result.households),
            "households_in_footprint": int(result.households["in_footprint"].sum()),
            "leads": len(result.leads),
            "villages_reached": int((villages["households_in_footprint"] > 0).sum()),
            "villages_at_scale": int(villages["at_scale"].sum()),
            "expected_returns_given_event": round(float(villages["expected_returns"].sum()), 6),
            "need_cny": round(float(villages["need_cny"].sum()), 2),
        },
        "timings_seconds": {k: round(v, 4) for k, v in timings.items()},
        "warnings": list(result.warnings),
    }


def write_event_outputs(
    result: EventResult,
    target: Path,
    recorded_inputs: list[dict[str, Any]],
    timings: Mapping[str, float],
) -> Path:
    """Every output of an event, into ``target`` (replaced only when all is written)."""
    manifest = event_manifest(result, recorded_inputs, timings)
    layer = result.event.layer.spec
    with staged_folder(target) as folder:
        write_event_tables(
            folder, result.households, result.leads, result.villages, layer.title_zh or layer.title
        )
        write_event_map(
            folder / "map.html",
            villages=result.villages,
            households=result.households,
            leads=result.leads,
            footprint=result.footprint,
            footprint_image=result.footprint_image,
            title=result.event.spec.caption,
            show_households=result.config.settings.map.households,
        )
        html = _summary_html(result, manifest["created"])
        (folder / "summary.html").write_text(html, encoding="utf-8")
        write_manifest(manifest, folder)
    return target
