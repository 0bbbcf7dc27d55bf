"""map.html: villages by combined risk and by each hazard's level, households by risk class.

The page is self-contained: Leaflet's script, style sheet and images are inlined from the
xstatic-leaflet package, so it opens offline. Online, an OpenStreetMap basemap appears
under the overlays. Every text that comes from input data is HTML-escaped before it
reaches the page.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

if TYPE_CHECKING:
    from hazardmap.pipeline import RunResult

RISK_CLASS_COLOURS = {0: "#bdbdbd", 1: "#1a9850", 2: "#fee08b", 3: "#fc8d59", 4: "#d73027"}
RISK_CLASS_LABELS = {
    0: "no data 无数据",
    1: "low 低",
    2: "moderate 中",
    3: "high 高",
    4: "very high 很高",
}
LEVEL_COLOURS = {0: "#bdbdbd", 1: "#ffffb2", 2: "#fecc5c", 3: "#fd8d3c", 4: "#bd0026"}
LEVEL_LABELS = {0: "no data 无数据", 1: "low 低", 2: "medium 中", 3: "high 高", 4: "very high 很高"}


def _leaflet_assets() -> str:
    """Leaflet's JS and CSS as inline <style>/<script>, images as data URIs."""
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((base / "images").glob("*.png")):
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        css = css.replace(f"images/{image.name}", f"data:image/png;base64,{data}")
    script = (base / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{script}</script>"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def _village_features(result: RunResult) -> dict[str, Any]:
    """GeoJSON of villages with escaped, formatted properties for tooltips and styling."""
    villages = result.villages
    hazards = result.config.hazard_names
    shown = villages[["geometry"]].copy()
    shown["name"] = [html.escape(str(v)) for v in villages["name"]]
    shown["township"] = [html.escape(str(v)) for v in villages["township"]]
    shown["village_code"] = [html.escape(str(v)) for v in villages["village_code"]]
    shown["risk_class"] = villages["risk_class"].astype(int)
    shown["risk"] = [
        f"{_fmt(m)} ({RISK_CLASS_LABELS[int(c)]})"
        for m, c in zip(villages["risk_mean"], villages["risk_class"], strict=True)
    ]
    shown["households"] = villages["n_households"].astype(int)
    shown["high_risk"] = villages["n_high_risk"].astype(int)
    shown["expected"] = [_fmt(v) for v in villages["expected_returns"]]
    shown["dominant"] = [html.escape(str(v)) or "–" for v in villages["dominant_hazard"]]
    for h in hazards:
        shown[f"{h}_level"] = villages[f"{h}_level"].astype(int)
        shown[f"{h}_text"] = [
            f"{LEVEL_LABELS[int(lv)]}, mean {_fmt(m)}, max {_fmt(x)}"
            for lv, m, x in zip(
                villages[f"{h}_level"], villages[f"{h}_mean"], villages[f"{h}_max"], strict=True
            )
        ]
        shown[f"{h}_expected"] = [_fmt(v) for v in villages[f"{h}_expected_returns"]]
    shown["geometry"] = shown.geometry.simplify(0.0002, preserve_topology=True)
    data: dict[str, Any] = json.loads(shown.to_json(drop_id=True))
    return data


def _household_features(households: pd.DataFrame) -> dict[str, Any]:
    located = households[households["location_source"] == "gps"]
    located = located[np.isfinite(located["lon"]) & np.isfinite(located["lat"])]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
            "properties": {"id": html.escape(str(i)), "c": int(c), "r": _fmt(r)},
        }
        for i, c, r, x, y in zip(
            located["household_id"],
            located["risk_class"],
            located["risk"],
            located["lon"],
            located["lat"],
            strict=True,
        )
    ]
    return {"type": "FeatureCollection", "features": features}


def _legend(hazard_titles: list[str]) -> MacroElement:
    def rows(colours: dict[int, str], labels: dict[int, str]) -> str:
        return "".join(
            f'<div><span style="background:{colours[k]}"></span>{labels[k]}</div>'
            for k in (4, 3, 2, 1, 0)
        )

    body = f"""
    <div class="hm-legend">
      <b>Return-to-poverty risk 返贫风险</b>{rows(RISK_CLASS_COLOURS, RISK_CLASS_LABELS)}
      <b>Hazard level 灾害等级</b>{rows(LEVEL_COLOURS, LEVEL_LABELS)}
      <small>{html.escape(" · ".join(hazard_titles))}</small>
    </div>"""
    style = """
    <style>
      .hm-legend {position: fixed; bottom: 24px; right: 12px; z-index: 1000; background: #fff;
        padding: 8px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.4);
        font: 12px/1.5 sans-serif; max-width: 260px;}
      .hm-legend b {display: block; margin-top: 4px;}
      .hm-legend span {display: inline-block; width: 14px; height: 10px; margin-right: 6px;
        border: 1px solid #666;}
    </style>"""
    element = MacroElement()
    element._template = Template(
        "{% macro header(this, kwargs) %}" + style + "{% endmacro %}"
        "{% macro html(this, kwargs) %}" + body + "{% endmacro %}"
    )
    return element


def build_map(result: RunResult) -> folium.Map:
    """The interactive map as a folium Map (not yet written)."""
    villages = result.villages
    config = result.config
    west, south, east, north = villages.total_bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=10,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    fmap.default_js = []
    fmap.default_css = []
    page = cast(Figure, fmap.get_root())
    page.header.add_child(Element(_leaflet_assets()), name="leaflet_inline")
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap (online only 仅联网)", overlay=False, control=True
    ).add_to(fmap)

    data = _village_features(result)
    fields = [
        "name",
        "township",
        "village_code",
        "risk",
        "households",
        "high_risk",
        "expected",
        "dominant",
    ]
    aliases = [
        "Village 村",
        "Township 乡镇",
        "Code 代码",
        "Mean risk 平均风险",
        "Households 户数",
        "High risk 高风险户",
        "Expected returns / yr 预计返贫户/年",
        "Main hazard 主要灾害",
    ]
    hazard_fields = [f"{h}_text" for h in config.hazard_names]
    hazard_aliases = [
        f"{layer.spec.title}{' ' + layer.spec.title_zh if layer.spec.title_zh else ''}"
        for layer in config.layers
    ]

    def outline(fill: str) -> dict[str, Any]:
        return {"fillColor": fill, "color": "#444", "weight": 0.6, "fillOpacity": 0.7}

    folium.GeoJson(
        data,
        name="Combined risk 综合返贫风险",
        style_function=lambda f: outline(RISK_CLASS_COLOURS[f["properties"]["risk_class"]]),
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        popup=folium.GeoJsonPopup(
            fields=fields + hazard_fields, aliases=aliases + hazard_aliases, max_width=420
        ),
        zoom_on_click=False,
    ).add_to(fmap)
    for layer in config.layers:
        h = layer.name
        title = (
            f"{layer.spec.title} level{' ' + layer.spec.title_zh if layer.spec.title_zh else ''}"
        )
        folium.GeoJson(
            data,
            name=html.escape(title),
            show=False,
            style_function=lambda f, h=h: outline(LEVEL_COLOURS[f["properties"][f"{h}_level"]]),
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "township", f"{h}_text", f"{h}_expected"],
                aliases=[
                    "Village 村",
                    "Township 乡镇",
                    html.escape(layer.spec.title),
                    "Expected returns / yr",
                ],
                sticky=True,
            ),
        ).add_to(fmap)

    folium.GeoJson(
        _household_features(result.households),
        name="Households by risk 农户风险",
        show=False,
        marker=folium.CircleMarker(radius=3, weight=0, fill=True, fill_opacity=0.85),
        style_function=lambda f: {"fillColor": RISK_CLASS_COLOURS[f["properties"]["c"]]},
        tooltip=folium.GeoJsonTooltip(fields=["id", "r"], aliases=["Household 户", "Risk 风险"]),
    ).add_to(fmap)

    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(_legend(hazard_aliases))
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def write_map(result: RunResult, path: Path) -> None:
    """Render the map and write it as one self-contained HTML file."""
    fmap = build_map(result)
    page = cast(Figure, fmap.get_root())
    page.title = "hazardmap: " + html.escape(result.config.project.project.name)
    fmap.save(str(path))
