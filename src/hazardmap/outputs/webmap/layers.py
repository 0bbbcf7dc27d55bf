"""One builder per kind of map layer, each returning the folium layer and its legend
section: villages by combined risk, by expected returns and by each hazard's level; each
hazard's raster; the villages changed since the previous run; households; and the
backdrops (the offline hillshade and OpenStreetMap), which have no legend."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import folium
import pandas as pd
import shapely

from hazardmap.outputs.images import class_image_uri, relief_uri
from hazardmap.outputs.style import (
    CHANGED_COLOUR,
    DESCENDING,
    LEVEL_COLOURS,
    LEVEL_LABELS,
    RETURNS_COLOURS,
    RISK_CLASS_COLOURS,
    RISK_CLASS_LABELS,
)
from hazardmap.outputs.webmap.elements import (
    GeoJson,
    GeoJsonPopup,
    GeoJsonTooltip,
    HouseholdLayer,
    ImageOverlay,
    LayerWithLegend,
    TileLayer,
)
from hazardmap.outputs.webmap.features import P_ANY_BREAKS, household_rows

if TYPE_CHECKING:
    import geopandas as gpd

    from hazardmap.config import LayerConfig
    from hazardmap.results import MapImage

VILLAGE = ("name", "Village 村")
TOWNSHIP = ("township", "Township 乡镇")
HOUSEHOLDS = ("households", "Households 户数")
EXPECTED = ("expected", "Expected returns / yr 预计返贫户/年")
VILLAGE_FIELDS = (
    VILLAGE,
    TOWNSHIP,
    ("village_code", "Code 代码"),
    ("risk", "Mean risk 平均风险"),
    HOUSEHOLDS,
    ("high_risk", "High risk 高风险户"),
    EXPECTED,
    ("dominant", "Main hazard 主要灾害"),
)
"""(property, label) of a village's tooltip on the combined-risk layer."""
POPUP_EXTRA_FIELDS = (
    ("population", "People 人口"),
    ("no_data", "Households missing a hazard 缺数据户"),
)


def hazard_title(layer: LayerConfig) -> str:
    """'Title 标题' of a hazard, escaped."""
    return html.escape(f"{layer.spec.title} {layer.spec.title_zh or ''}".strip())


def swatches(items: Sequence[tuple[str, str]]) -> str:
    """Legend rows: a colour swatch and its label."""
    return "".join(f'<div><span style="background:{c}"></span>{label}</div>' for c, label in items)


def _risk_swatches() -> str:
    return swatches([(RISK_CLASS_COLOURS[k], RISK_CLASS_LABELS[k]) for k in DESCENDING])


def _outline(fill: str) -> dict[str, Any]:
    return {"fillColor": fill, "color": "#444", "weight": 0.6, "fillOpacity": 0.7}


def _tooltip(fields: Sequence[tuple[str, str]]) -> GeoJsonTooltip:
    return GeoJsonTooltip(
        fields=[f for f, _ in fields], aliases=[a for _, a in fields], sticky=True
    )


def _corners(image: MapImage) -> list[list[float]]:
    return [list(corner) for corner in image.bounds]


def backdrops(relief: MapImage | None) -> list[folium.map.Layer]:
    """The base layers: the offline hillshade (shown, when there is one), OpenStreetMap."""
    shown: list[folium.map.Layer] = []
    if relief is not None:
        shown.append(
            ImageOverlay(
                relief_uri(relief),
                bounds=_corners(relief),
                name="Hillshade, offline 地形晕渲（离线）",
                overlay=False,
            )
        )
    osm = TileLayer(
        "OpenStreetMap", name="OpenStreetMap, online 在线底图", overlay=False, show=relief is None
    )
    return [*shown, osm]


def combined_risk(data: dict[str, Any], layers: Sequence[LayerConfig]) -> LayerWithLegend:
    """Villages by combined risk class, shown; their popup has every figure and hazard."""
    hazard_fields = [(f"{layer.name}_text", hazard_title(layer)) for layer in layers]
    popup = [*VILLAGE_FIELDS, *POPUP_EXTRA_FIELDS, *hazard_fields]
    villages = GeoJson(
        data,
        name="Combined risk 综合返贫风险",
        style_function=lambda f: _outline(RISK_CLASS_COLOURS[f["properties"]["risk_class"]]),
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        tooltip=_tooltip(VILLAGE_FIELDS),
        popup=GeoJsonPopup(
            fields=[f for f, _ in popup], aliases=[a for _, a in popup], max_width=460
        ),
        zoom_on_click=False,
    )
    legend = "<b>Return-to-poverty risk 返贫风险 (villages)</b>" + _risk_swatches()
    return LayerWithLegend(villages, "risk", legend)


def expected_returns(data: dict[str, Any], breaks: Sequence[float]) -> LayerWithLegend:
    """Villages by expected returns per year, in the five classes ``breaks`` bound."""
    villages = GeoJson(
        data,
        name="Expected returns per year 预计年返贫户数",
        show=False,
        style_function=lambda f: _outline(RETURNS_COLOURS[f["properties"]["returns_class"]]),
        tooltip=_tooltip([VILLAGE, TOWNSHIP, EXPECTED, HOUSEHOLDS]),
    )
    labels = [
        f"< {breaks[0]:.2g}",
        *(f"{breaks[k - 1]:.2g} – {breaks[k]:.2g}" for k in (1, 2, 3)),
        f"≥ {breaks[3]:.2g}",
    ]
    legend = "<b>Expected returns / yr 预计年返贫户数</b>" + swatches(
        list(zip(RETURNS_COLOURS[::-1], labels[::-1], strict=True))
    )
    return LayerWithLegend(villages, "returns", legend)


def any_return(data: dict[str, Any]) -> LayerWithLegend:
    """Villages by their chance of at least one return in a year (simulated years)."""
    villages = GeoJson(
        data,
        name="Chance of any return in a year (simulated) 年内出现返贫的概率",
        show=False,
        style_function=lambda f: _outline(RETURNS_COLOURS[f["properties"]["p_any_class"]]),
        tooltip=_tooltip(
            [
                VILLAGE,
                TOWNSHIP,
                ("p_any", "Chance of any return 出现返贫概率"),
                ("in20", "1-in-20-year returns 二十年一遇返贫户数"),
                EXPECTED,
            ]
        ),
    )
    edges = [0.0, *P_ANY_BREAKS, 1.0]
    labels = [f"{a:.0%} – {b:.0%}" for a, b in itertools.pairwise(edges)]
    legend = "<b>Chance of any return in a simulated year 年内出现返贫的概率</b>" + swatches(
        list(zip(RETURNS_COLOURS[::-1], labels[::-1], strict=True))
    )
    return LayerWithLegend(villages, "any_return", legend)


def _level_legend(layer: LayerConfig, what: str) -> str:
    breaks = " / ".join(f"{b:g}" for b in layer.spec.levels)
    units = html.escape(layer.spec.units or "")
    heading = f"<b>{hazard_title(layer)}{what}</b><small>breaks {breaks} {units}</small>"
    return heading + swatches([(LEVEL_COLOURS[k], LEVEL_LABELS[k]) for k in DESCENDING])


def hazard_levels(data: dict[str, Any], layer: LayerConfig) -> LayerWithLegend:
    """Villages by one hazard's level."""
    h, title = layer.name, hazard_title(layer)
    villages = GeoJson(
        data,
        name=f"{title}: village level 村级等级",
        show=False,
        style_function=lambda f: _outline(LEVEL_COLOURS[f["properties"][f"{h}_level"]]),
        tooltip=_tooltip([VILLAGE, TOWNSHIP, (f"{h}_text", title)]),
    )
    return LayerWithLegend(villages, f"level_{h}", _level_legend(layer, " level 等级"))


def hazard_raster(image: MapImage, layer: LayerConfig) -> LayerWithLegend:
    """One hazard's raster, coloured by the classes between its level breaks."""
    raster = ImageOverlay(
        class_image_uri(image, LEVEL_COLOURS[1:]),
        bounds=_corners(image),
        name=f"{hazard_title(layer)}: raster 栅格",
        show=False,
    )
    return LayerWithLegend(raster, f"raster_{layer.name}", _level_legend(layer, " (raster 栅格)"))


def _level_class(value: float, layer: LayerConfig) -> int:
    """The colour class of a value between the layer's level breaks (1-4; 0 missing)."""
    if not math.isfinite(value):
        return 0
    return 1 + sum(value >= b for b in layer.spec.levels)


def hazard_zones(zones: gpd.GeoDataFrame, layer: LayerConfig) -> LayerWithLegend:
    """One hazard's zones as drawn (simplified for display), coloured by the classes
    between its level breaks, each with its label."""
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "label": html.escape(str(label)),
                    "value": f"{value:g}",
                    "colour": LEVEL_COLOURS[_level_class(float(value), layer)],
                },
            }
            for geom, label, value in zip(
                zones.geometry.values, zones["label"], zones["value"], strict=True
            )
        ],
    }
    shapes = GeoJson(
        data,
        name=f"{hazard_title(layer)}: zones 分区",
        show=False,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#555",
            "weight": 0.4,
            "fillOpacity": 0.55,
        },
        tooltip=_tooltip([("label", "Zone 分区"), ("value", "Value 值")]),
    )
    return LayerWithLegend(shapes, f"zones_{layer.name}", _level_legend(layer, " (zones 分区)"))


def hazard_sites(sites: pd.DataFrame, layer: LayerConfig) -> LayerWithLegend:
    """One layer's hazard sites: each point and its threat radius (a circle drawn in
    metres on the ground), with the households it threatens."""
    features = []
    for site in sites.to_dict(orient="records"):
        properties = {
            "site": html.escape(str(site["site_id"])),
            "label": html.escape(str(site["label"])),
            "radius": f"{site['radius_m']:,.0f} m",
            "radius_m": float(site["radius_m"]),
            "village": html.escape(f"{site['village']} {site['township']}".strip()),
            "threatened": f"{site['households']:,} ({site['monitored']:,} monitored 监测户)",
            "colour": LEVEL_COLOURS[_level_class(float(site["value"]), layer)],
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
                "properties": properties,
            }
        )
    shapes = GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=f"{hazard_title(layer)}: hazard sites 隐患点",
        show=False,
        marker=folium.Circle(radius=1, fill=True),
        style_function=lambda f: {
            "radius": f["properties"]["radius_m"],
            "fillColor": f["properties"]["colour"],
            "color": "#7f0000",
            "weight": 1.2,
            "fillOpacity": 0.35,
        },
        tooltip=_tooltip(SITE_FIELDS),
    )
    legend = (
        f"<b>{hazard_title(layer)}: hazard sites 隐患点</b>"
        + swatches([(LEVEL_COLOURS[k], LEVEL_LABELS[k]) for k in DESCENDING[:-1]])
        + "<small>circle: threat radius 威胁范围</small>"
    )
    return LayerWithLegend(shapes, f"sites_{layer.name}", legend)


SITE_FIELDS = (
    ("site", "Site 隐患点"),
    ("label", "Grade 等级"),
    ("radius", "Threat radius 威胁半径"),
    ("village", "Village 村"),
    ("threatened", "Households threatened 受威胁户"),
)


def changed_villages(changed: dict[str, Any]) -> LayerWithLegend:
    """Outlines of the villages whose class or a level changed since the previous run
    (``changed``: their GeoJSON with 'old → new' text)."""
    villages = GeoJson(
        changed,
        name="Changed since the compared run 与对比运行相比有变化",
        show=False,
        style_function=lambda f: {"fillOpacity": 0.0, "color": CHANGED_COLOUR, "weight": 3},
        tooltip=_tooltip([VILLAGE, ("change", "Change 变化")]),
    )
    legend = "<b>Changed since the compared run 有变化的村</b>" + swatches(
        [(f"#ffffff; border: 3px solid {CHANGED_COLOUR}", "risk class or a hazard level changed")]
    )
    return LayerWithLegend(villages, "changes", legend)


def household_points(households: pd.DataFrame) -> LayerWithLegend:
    """Households located by GPS, by risk class, drawn on a canvas."""
    people = HouseholdLayer(household_rows(households), "Households by risk 农户风险")
    legend = "<b>Households 农户 (risk class)</b>" + _risk_swatches()
    return LayerWithLegend(people, "households", legend)
