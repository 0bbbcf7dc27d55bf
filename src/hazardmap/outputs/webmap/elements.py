"""The map's own folium elements, their scripts in ``outputs/templates/``: the household
layer (canvas circles from a compact array) and the controls (legend, village search, full
screen), which a plugin would otherwise give, so there is no plugin to fetch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Environment, PackageLoader

from hazardmap.outputs.style import RISK_CLASS_COLOURS
from hazardmap.outputs.webmap.features import safe_json

TEMPLATES = Environment(
    loader=PackageLoader("hazardmap.outputs", "templates"),
    autoescape=False,  # scripts: what they insert is JSON from safe_json or element names
)


def template_text(name: str) -> str:
    """A file of ``outputs/templates/`` as text, without its final line end."""
    return (files("hazardmap.outputs") / "templates" / name).read_text(encoding="utf-8").rstrip()


@dataclass(frozen=True)
class LayerWithLegend:
    """An overlay of the map, the key of its legend section, and that section (HTML)."""

    layer: folium.map.Layer
    key: str
    legend_html: str


class HouseholdLayer(folium.map.Layer):
    """Households as canvas-drawn circles coloured by risk class, from a compact array
    ([lat, lon, class, risk, id] per household): fast for hundreds of thousands."""

    _template = TEMPLATES.get_template("household_layer.js.j2")

    def __init__(self, rows: list[list[Any]], name: str, show: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HouseholdLayer"
        self.rows = safe_json(rows)
        self.colours = safe_json({str(k): c for k, c in enumerate(RISK_CLASS_COLOURS)})


class MapControls(MacroElement):
    """The legend (showing the sections of the layers on display), the village search
    box and the full-screen button.

    ``overlays`` in legend order; ``villages``: the layer the search box looks in;
    ``names``: its entries and rows. Layers are held, not their names, so that their ids
    are read when the page renders."""

    _template = TEMPLATES.get_template("map_controls.js.j2")

    def __init__(
        self,
        overlays: Sequence[LayerWithLegend],
        villages: folium.map.Layer,
        names: list[tuple[str, int]],
    ) -> None:
        super().__init__()
        self._name = "MapControls"
        self.css = template_text("map_controls.css")
        self.overlays = list(overlays)
        self.sections = safe_json({overlay.key: overlay.legend_html for overlay in overlays})
        self.villages = villages
        self.names = safe_json(names)
