"""An event's map (one offline file, as the run's map): the footprint and its intensity,
villages by expected returns given the event, and the leads as points coloured by their
event risk. Every legend is worded for the event (发生本次灾害时), never per year."""

from __future__ import annotations

import html
import itertools
import json
import math
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.outputs.images import class_image_uri
from hazardmap.outputs.style import LEVEL_COLOURS, RETURNS_COLOURS
from hazardmap.outputs.webmap.elements import (
    GeoJson,
    GeoJsonTooltip,
    ImageOverlay,
    LayerControl,
    LayerWithLegend,
    MapControls,
)
from hazardmap.outputs.webmap.features import SIMPLIFY_DEGREES, returns_breaks, search_names
from hazardmap.outputs.webmap.layers import swatches
from hazardmap.outputs.webmap.page import new_map, number_elements
from hazardmap.results import MapImage

GIVEN = "given this event 发生本次灾害时"
RISK_BREAKS = (0.1, 0.2, 0.3, 0.5)
"""Leads' colour classes by event risk (the default lead threshold is the first)."""


def _tooltip(fields: list[tuple[str, str]]) -> GeoJsonTooltip:
    return GeoJsonTooltip(
        fields=[f for f, _ in fields], aliases=[a for _, a in fields], sticky=True
    )


def _villages(villages: gpd.GeoDataFrame) -> tuple[LayerWithLegend, GeoJson]:
    hit = villages["households_in_footprint"].to_numpy() > 0
    # classes among the villages reached: the others are drawn white, and would make
    # every break 0
    breaks = returns_breaks(villages["expected_returns"].to_numpy(dtype=float)[hit])
    shown = villages[["geometry"]].copy()
    shown["i"] = np.arange(len(villages))
    for column in ("name", "township", "village_code"):
        shown[column] = [html.escape(str(v)) for v in villages[column]]
    shown["expected"] = [f"{v:.2f}" for v in villages["expected_returns"]]
    shown["in_footprint"] = villages["households_in_footprint"].astype(int)
    shown["leads"] = villages["leads"].astype(int)
    shown["need"] = [f"{v:,.0f}" for v in villages["need_cny"]]
    shown["at_scale"] = np.where(villages["at_scale"], "yes 是", "no 否")
    classes = np.searchsorted(breaks, villages["expected_returns"], side="right")
    shown["colour"] = [
        RETURNS_COLOURS[c] if h else "#ffffff" for c, h in zip(classes, hit, strict=True)
    ]
    shown["geometry"] = shown.geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    data = json.loads(shown.to_json(drop_id=True))
    layer = GeoJson(
        data,
        name=f"Villages: expected returns, {GIVEN}",
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#444",
            "weight": 0.6,
            "fillOpacity": 0.7,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        tooltip=_tooltip(
            [
                ("name", "Village 村"),
                ("township", "Township 乡镇"),
                ("in_footprint", "Households hit 受灾户"),
                ("expected", "Expected returns 预计返贫户"),
                ("leads", "Leads 需核实户"),
                ("need", "Need, CNY 资金缺口(元)"),
                ("at_scale", "At scale 规模性返贫风险"),
            ]
        ),
        zoom_on_click=False,
    )
    labels = [
        f"< {breaks[0]:.2g}",
        *(f"{breaks[k - 1]:.2g} – {breaks[k]:.2g}" for k in (1, 2, 3)),
        f"≥ {breaks[3]:.2g}",
    ]
    legend = (
        f"<b>Expected returns, {GIVEN}<br>预计返贫户数</b>"
        + swatches(list(zip(RETURNS_COLOURS[::-1], labels[::-1], strict=True)))
        + swatches([("#ffffff", "not reached 未受灾")])
    )
    return LayerWithLegend(layer, "villages", legend), layer


def _footprint(
    shapes: gpd.GeoDataFrame | None, image: MapImage | None, title: str
) -> LayerWithLegend | None:
    name = f"Footprint 受灾范围: {html.escape(title)}"
    if image is not None:
        picture = ImageOverlay(
            class_image_uri(image, LEVEL_COLOURS[1:]),
            bounds=[list(corner) for corner in image.bounds],
            name=name,
        )
        legend = "<b>Footprint 受灾范围</b>" + swatches(
            [(LEVEL_COLOURS[k], label) for k, label in ((4, "strongest"), (1, "weakest"))]
        )
        return LayerWithLegend(picture, "footprint", legend)
    if shapes is None:
        return None
    intensity = shapes["intensity"].to_numpy(dtype=float)
    finite = intensity[np.isfinite(intensity)]
    breaks = np.quantile(finite, [0.25, 0.5, 0.75]) if len(finite) else np.zeros(3)
    features = []
    for geom, value in zip(shapes.geometry.values, intensity, strict=True):
        level = 0 if not math.isfinite(value) else 1 + int(np.searchsorted(breaks, value, "right"))
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "intensity": "–" if not math.isfinite(value) else f"{value:g}",
                    "colour": LEVEL_COLOURS[max(level, 1) if math.isfinite(value) else 3],
                },
            }
        )
    layer = GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#7f0000",
            "weight": 1.5,
            "fillOpacity": 0.35,
        },
        tooltip=_tooltip([("intensity", "Intensity 强度")]),
    )
    legend = "<b>Footprint 受灾范围</b>" + swatches(
        [(LEVEL_COLOURS[4], "strongest 最强"), (LEVEL_COLOURS[1], "weakest 最弱")]
    )
    return LayerWithLegend(layer, "footprint", legend)


def _leads(leads: pd.DataFrame, households: pd.DataFrame) -> LayerWithLegend:
    located = households.set_index("household_id")[["lon", "lat"]]
    shown = leads.join(located, on="household_id")
    shown = shown[np.isfinite(shown["lon"]) & np.isfinite(shown["lat"])]
    features: list[dict[str, Any]] = []
    for row in shown.iloc[::-1].to_dict(orient="records"):  # the most urgent drawn on top
        level = 1 + int(np.searchsorted(RISK_BREAKS[1:], row["event_risk"], side="right"))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": {
                    "household": html.escape(str(row["household_id"])),
                    "village": html.escape(f"{row['village']} {row['township']}"),
                    "risk": f"{row['event_risk']:.2f}",
                    "need": f"{row['need_cny']:,.0f}",
                    "rank": int(row["rank"]),
                    "colour": LEVEL_COLOURS[min(level, 4)],
                },
            }
        )
    layer = GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="Leads to check 需核实户",
        marker=folium.CircleMarker(radius=5, fill=True),
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#222",
            "weight": 0.8,
            "fillOpacity": 0.9,
        },
        tooltip=_tooltip(
            [
                ("rank", "Rank 排序"),
                ("household", "Household 户编号"),
                ("village", "Village 村"),
                ("risk", "Event risk 返贫概率"),
                ("need", "Need, CNY 资金缺口(元)"),
            ]
        ),
    )
    labels = [f"{a:g} – {b:g}" for a, b in itertools.pairwise(RISK_BREAKS)]
    labels.append(f"≥ {RISK_BREAKS[-1]:g}")
    legend = f"<b>Leads: risk of falling back, {GIVEN}<br>需核实户（返贫概率）</b>" + swatches(
        list(zip(LEVEL_COLOURS[4:0:-1], labels[::-1], strict=True))
    )
    return LayerWithLegend(layer, "leads", legend)


def write_event_map(
    path: Path,
    *,
    villages: gpd.GeoDataFrame,
    households: pd.DataFrame,
    leads: pd.DataFrame,
    footprint: gpd.GeoDataFrame | None,
    footprint_image: MapImage | None,
    title: str,
    show_households: bool,
) -> None:
    """map.html of an event; ``show_households`` false leaves the leads off the map."""
    west, south, east, north = villages.total_bounds
    fmap = new_map((west, south, east, north), title)
    village_layer, villages_json = _villages(villages)
    overlays = [village_layer]
    drawn = _footprint(footprint, footprint_image, title)
    if drawn is not None:
        overlays.append(drawn)
    if show_households and len(leads):
        overlays.append(_leads(leads, households))
    for overlay in overlays:
        overlay.layer.add_to(fmap)
    LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(MapControls(overlays, villages=villages_json, names=search_names(villages)))
    fmap.fit_bounds([[south, west], [north, east]])
    number_elements(fmap.get_root())
    fmap.save(str(path))
