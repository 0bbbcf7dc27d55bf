"""map.html: villages by combined risk, hazard level and expected returns; hazard rasters;
households by risk class; a search box, legends, a scale bar and full screen.

The page is one self-contained file: Leaflet's script, style sheet and images are inlined
from the xstatic-leaflet package and every raster is an inlined image, so it opens with
no network. Online, an OpenStreetMap basemap is one choice of background; offline, a
hillshade of the project's elevation raster (``[map] backdrop``) stands in for it.
Text that comes from input data is HTML-escaped before it reaches tooltips and popups,
and set as plain text (never parsed as HTML) in the search box and household tooltips.
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

from hazardmap.outputs.images import coloured, data_uri

if TYPE_CHECKING:
    from hazardmap.results import RunResult

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
RETURNS_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]


def _safe_json(value: object) -> str:
    """JSON that can sit inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


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
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def _returns_breaks(values: np.ndarray) -> list[float]:
    """Four quantile breaks of expected returns (five colour classes)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(b) for b in np.quantile(finite, [0.2, 0.4, 0.6, 0.8])]


def _village_features(result: RunResult, returns_breaks: list[float]) -> dict[str, Any]:
    """GeoJSON of villages with escaped, formatted properties for tooltips and styling."""
    villages = result.villages
    shown = villages[["geometry"]].copy()
    shown["i"] = np.arange(len(villages))
    for column in ("name", "township", "village_code"):
        shown[column] = [html.escape(str(v)) for v in villages[column]]
    shown["risk_class"] = villages["risk_class"].astype(int)
    shown["risk"] = [
        f"{_fmt(m)} ({RISK_CLASS_LABELS[int(c)]})"
        for m, c in zip(villages["risk_mean"], villages["risk_class"], strict=True)
    ]
    shown["households"] = villages["n_households"].astype(int)
    shown["population"] = villages["population"].astype(int)
    shown["high_risk"] = villages["n_high_risk"].astype(int)
    shown["no_data"] = villages["n_no_data"].astype(int)
    shown["expected"] = [_fmt(v) for v in villages["expected_returns"]]
    shown["returns_class"] = np.searchsorted(
        returns_breaks, villages["expected_returns"], side="right"
    )
    shown["dominant"] = [html.escape(str(v)) or "–" for v in villages["dominant_hazard"]]
    for h in result.config.hazard_names:
        shown[f"{h}_level"] = villages[f"{h}_level"].astype(int)
        shown[f"{h}_text"] = [
            f"{LEVEL_LABELS[int(lv)]}; mean {_fmt(m)}, max {_fmt(x)}; expected returns {_fmt(r)}"
            for lv, m, x, r in zip(
                villages[f"{h}_level"],
                villages[f"{h}_mean"],
                villages[f"{h}_max"],
                villages[f"{h}_expected_returns"],
                strict=True,
            )
        ]
    shown["geometry"] = shown.geometry.simplify(0.0002, preserve_topology=True)
    data: dict[str, Any] = json.loads(shown.to_json(drop_id=True))
    return data


def _changed_features(result: RunResult, data: dict[str, Any]) -> dict[str, Any] | None:
    """The villages of changes.csv whose class or levels changed, with 'old → new' text."""
    changes = result.changes
    if changes is None or not len(changes):
        return None
    tracked = ["risk_class", *(f"{h}_level" for h in result.config.hazard_names)]
    text = {}
    for _, row in changes[changes["status"] == "changed"].iterrows():
        moves = [
            f"{column}: {int(row[f'old_{column}'])} → {int(row[f'new_{column}'])}"
            for column in tracked
            if pd.notna(row[f"old_{column}"]) and row[f"old_{column}"] != row[f"new_{column}"]
        ]
        text[html.escape(str(row["village_code"]))] = html.escape("; ".join(moves))
    features = []
    for feature in data["features"]:
        code = feature["properties"]["village_code"]
        if code in text:
            features.append(
                {**feature, "properties": {**feature["properties"], "change": text[code]}}
            )
    return {"type": "FeatureCollection", "features": features} if features else None


class HouseholdLayer(folium.map.Layer):
    """Households as canvas-drawn circles coloured by risk class, from a compact array
    ([lat, lon, class, risk, id] per household): fast for hundreds of thousands."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.rows }};
            var colours = {{ this.colours }};
            var renderer = L.canvas({padding: 0.5});
            var group = L.featureGroup();
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                var marker = L.circleMarker([r[0], r[1]], {
                    renderer: renderer, radius: 3, weight: 0, fillOpacity: 0.85,
                    fillColor: colours[r[2]]
                });
                marker.hmRow = r;
                group.addLayer(marker);
            }
            group.on("mouseover", function (e) {
                var r = e.layer.hmRow, box = document.createElement("div");
                box.textContent = "户 " + r[4] + " · risk 风险 " + r[3];
                e.layer.bindTooltip(box).openTooltip();
            });
            return group;
        })();
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, households: pd.DataFrame, name: str, show: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HouseholdLayer"
        located = households[households["location_source"] == "gps"]
        located = located[np.isfinite(located["lon"]) & np.isfinite(located["lat"])]
        rows = [
            [round(float(y), 5), round(float(x), 5), int(c), _fmt(r), str(i)]
            for i, c, r, x, y in zip(
                located["household_id"],
                located["risk_class"],
                located["risk"],
                located["lon"],
                located["lat"],
                strict=True,
            )
        ]
        self.rows = _safe_json(rows)
        self.colours = _safe_json({str(k): v for k, v in RISK_CLASS_COLOURS.items()})


def _swatches(items: list[tuple[str, str]]) -> str:
    return "".join(f'<div><span style="background:{c}"></span>{label}</div>' for c, label in items)


class MapControls(MacroElement):
    """The legend (showing the sections of the layers on display), the village search
    box and the full-screen button."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .hm-box {background: #fff; padding: 6px 9px; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,.4); font: 12px/1.5 sans-serif;}
          .hm-legend {max-width: 270px; max-height: 60vh; overflow: auto;}
          .hm-legend b {display: block; margin-top: 4px;}
          .hm-legend span {display: inline-block; width: 14px; height: 10px; margin-right: 6px;
            border: 1px solid #666; vertical-align: middle;}
          .hm-search input {width: 220px; font-size: 13px;}
          .hm-fullscreen {font-size: 18px; width: 30px; height: 30px; cursor: pointer;
            border: none; background: #fff;}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var sections = {{ this.sections }};
            var layers = {
                {% for layer, key in this.layer_keys %}"{{ key }}": {{ layer }},{% endfor %}
            };
            var villages = {{ this.villages_layer }};
            var names = {{ this.names }};

            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "hm-box hm-legend");
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            function refreshLegend() {
                var parts = [];
                for (var key in layers) {
                    if (map.hasLayer(layers[key])) { parts.push(sections[key]); }
                }
                legend.getContainer().innerHTML =
                    parts.join("") || "<i>no layer shown 未显示图层</i>";
            }
            map.on("overlayadd overlayremove", refreshLegend);
            refreshLegend();

            var search = L.control({position: "topleft"});
            search.onAdd = function () {
                var div = L.DomUtil.create("div", "hm-box hm-search");
                var input = L.DomUtil.create("input", "", div);
                var list = L.DomUtil.create("datalist", "", div);
                list.id = "hm-villages";
                input.setAttribute("list", list.id);
                input.placeholder = "Find a village 查找村 (name, code)";
                names.forEach(function (entry) {
                    var option = document.createElement("option");
                    option.value = entry[0];
                    list.appendChild(option);
                });
                input.addEventListener("change", function () {
                    var hit = names.find(function (entry) { return entry[0] === input.value; });
                    if (!hit) { return; }
                    villages.eachLayer(function (layer) {
                        if (layer.feature.properties.i === hit[1]) {
                            var centre = layer.getBounds().getCenter();
                            map.fitBounds(layer.getBounds(), {maxZoom: 13});
                            layer.fire("click", {latlng: centre}, true);  // opens its popup
                        }
                    });
                });
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            search.addTo(map);

            var full = L.control({position: "topleft"});
            full.onAdd = function () {
                var button = L.DomUtil.create("button", "hm-box hm-fullscreen");
                button.title = "Full screen 全屏";
                button.innerHTML =
                    '<svg width="16" height="16" viewBox="0 0 16 16" fill="none" ' +
                    'stroke="#333" stroke-width="2">' +
                    '<path d="M1 5V1h4M11 1h4v4M15 11v4h-4M5 15H1v-4"/></svg>';
                button.onclick = function () {
                    if (document.fullscreenElement) { document.exitFullscreen(); }
                    else { map.getContainer().requestFullscreen(); }
                };
                return button;
            };
            full.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        sections: dict[str, str],
        layer_keys: list[tuple[str, str]],
        villages_layer: str,
        names: list[tuple[str, int]],
    ) -> None:
        super().__init__()
        self._name = "MapControls"
        self.sections = _safe_json(sections)
        self.layer_keys = layer_keys
        self.villages_layer = villages_layer
        self.names = _safe_json(names)


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

    relief = result.relief
    if relief is not None:
        folium.raster_layers.ImageOverlay(
            data_uri(relief.pixels, jpeg=True),
            bounds=[list(corner) for corner in relief.bounds],
            name="Hillshade, offline 地形晕渲（离线）",
            overlay=False,
        ).add_to(fmap)
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap, online 在线底图", overlay=False, show=relief is None
    ).add_to(fmap)

    breaks = _returns_breaks(villages["expected_returns"].to_numpy(dtype=float))
    data = _village_features(result, breaks)
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
    hazard_titles = {
        layer.name: html.escape(f"{layer.spec.title} {layer.spec.title_zh or ''}".strip())
        for layer in config.layers
    }
    popup_fields = [*fields, "population", "no_data", *(f"{h}_text" for h in config.hazard_names)]
    popup_aliases = [
        *aliases,
        "People 人口",
        "Households missing a hazard 缺数据户",
        *hazard_titles.values(),
    ]

    def outline(fill: str) -> dict[str, Any]:
        return {"fillColor": fill, "color": "#444", "weight": 0.6, "fillOpacity": 0.7}

    sections: dict[str, str] = {}
    layer_keys: list[tuple[str, str]] = []

    combined = folium.GeoJson(
        data,
        name="Combined risk 综合返贫风险",
        style_function=lambda f: outline(RISK_CLASS_COLOURS[f["properties"]["risk_class"]]),
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        popup=folium.GeoJsonPopup(fields=popup_fields, aliases=popup_aliases, max_width=460),
        zoom_on_click=False,
    ).add_to(fmap)
    sections["risk"] = "<b>Return-to-poverty risk 返贫风险 (villages)</b>" + _swatches(
        [(RISK_CLASS_COLOURS[k], RISK_CLASS_LABELS[k]) for k in (4, 3, 2, 1, 0)]
    )
    layer_keys.append((combined.get_name(), "risk"))

    returns = folium.GeoJson(
        data,
        name="Expected returns per year 预计年返贫户数",
        show=False,
        style_function=lambda f: outline(RETURNS_COLOURS[f["properties"]["returns_class"]]),
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "township", "expected", "households"],
            aliases=[
                "Village 村",
                "Township 乡镇",
                "Expected returns / yr 预计返贫户/年",
                "Households 户数",
            ],
            sticky=True,
        ),
    ).add_to(fmap)
    edges = [0.0, *breaks]
    labels = [
        f"{edges[k]:.2g} – {breaks[k]:.2g}" if k < 4 else f"≥ {breaks[3]:.2g}" for k in range(5)
    ]
    labels[0] = f"< {breaks[0]:.2g}"
    sections["returns"] = "<b>Expected returns / yr 预计年返贫户数</b>" + _swatches(
        list(zip(RETURNS_COLOURS[::-1], labels[::-1], strict=True))
    )
    layer_keys.append((returns.get_name(), "returns"))

    for layer in config.layers:
        h = layer.name
        levels = folium.GeoJson(
            data,
            name=f"{hazard_titles[h]}: village level 村级等级",
            show=False,
            style_function=lambda f, h=h: outline(LEVEL_COLOURS[f["properties"][f"{h}_level"]]),
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "township", f"{h}_text"],
                aliases=["Village 村", "Township 乡镇", hazard_titles[h]],
                sticky=True,
            ),
        ).add_to(fmap)
        breaks_text = " / ".join(f"{b:g}" for b in layer.spec.levels)
        units = html.escape(layer.spec.units or "")
        section = (
            f"<b>{hazard_titles[h]} level 等级</b><small>breaks {breaks_text} {units}</small>"
            + _swatches([(LEVEL_COLOURS[k], LEVEL_LABELS[k]) for k in (4, 3, 2, 1, 0)])
        )
        sections[f"level_{h}"] = section
        layer_keys.append((levels.get_name(), f"level_{h}"))
        image = result.layer_images[h]
        raster = folium.raster_layers.ImageOverlay(
            data_uri(coloured(image, [LEVEL_COLOURS[k] for k in (1, 2, 3, 4)])),
            bounds=[list(corner) for corner in image.bounds],
            name=f"{hazard_titles[h]}: raster 栅格",
            show=False,
        ).add_to(fmap)
        sections[f"raster_{h}"] = section.replace(" level 等级</b>", " (raster 栅格)</b>")
        layer_keys.append((raster.get_name(), f"raster_{h}"))

    changed = _changed_features(result, data)
    if changed is not None:
        moved = folium.GeoJson(
            changed,
            name="Changed since the previous run 与上次相比有变化",
            show=False,
            style_function=lambda f: {"fillOpacity": 0.0, "color": "#2166ac", "weight": 3},
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "change"], aliases=["Village 村", "Change 变化"], sticky=True
            ),
        ).add_to(fmap)
        sections["changes"] = "<b>Changed since the previous run 有变化的村</b>" + _swatches(
            [("#ffffff; border: 3px solid #2166ac", "risk class or a hazard level changed")]
        )
        layer_keys.append((moved.get_name(), "changes"))

    if config.settings.map.households:
        people = HouseholdLayer(result.households, "Households by risk 农户风险").add_to(fmap)
        sections["households"] = "<b>Households 农户 (risk class)</b>" + _swatches(
            [(RISK_CLASS_COLOURS[k], RISK_CLASS_LABELS[k]) for k in (4, 3, 2, 1, 0)]
        )
        layer_keys.append((people.get_name(), "households"))

    folium.LayerControl(collapsed=False).add_to(fmap)
    names = [
        (f"{n} · {t} · {c}", i)
        for i, (n, t, c) in enumerate(
            zip(villages["name"], villages["township"], villages["village_code"], strict=True)
        )
    ]
    fmap.add_child(MapControls(sections, layer_keys, combined.get_name(), names))
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def write_map(result: RunResult, path: Path) -> None:
    """Render the map and write it as one self-contained HTML file."""
    fmap = build_map(result)
    page = cast(Figure, fmap.get_root())
    page.title = "hazardmap: " + html.escape(result.config.settings.project.name)
    fmap.save(str(path))
