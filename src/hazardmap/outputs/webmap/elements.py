"""The map's own folium elements, their scripts in ``outputs/templates/``: the household
layer (canvas circles from a compact array) and the controls (legend, village search, full
screen), which a plugin would otherwise give, so there is no plugin to fetch.

Every element the map uses renders its parts as plain text (:class:`RawParts`): branca
wraps each rendered script in an ``Element`` that Jinja parses again as a template, which
costs a tenth of a second for the households' script and would evaluate (or choke on) any
``{{ }}`` a village's name holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
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


class RawText(Element):
    """Text already rendered, kept as it is (as Jinja would give it back: without a
    single final line end)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text.removesuffix("\n")

    def render(self, **kwargs: Any) -> str:
        return self._text


class RawParts(MacroElement):
    """``MacroElement.render``, with the rendered header, html and script kept as text."""

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, Figure), "render an element inside a Figure"
        macros = self._template.module.__dict__
        for part, place in (
            ("header", figure.header),
            ("html", figure.html),
            ("script", figure.script),
        ):
            macro = macros.get(part)
            if macro is not None:
                place.add_child(RawText(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return ""  # what it renders went into the figure's parts


class GeoJson(folium.GeoJson, RawParts):
    """folium's GeoJson layer, rendered as text (see the module's docstring)."""


class GeoJsonTooltip(folium.GeoJsonTooltip, RawParts):
    """folium's GeoJson tooltip, rendered as text."""


class GeoJsonPopup(folium.GeoJsonPopup, RawParts):
    """folium's GeoJson popup, rendered as text."""


class ImageOverlay(folium.raster_layers.ImageOverlay, RawParts):
    """folium's image overlay, rendered as text."""


class TileLayer(folium.TileLayer, RawParts):
    """folium's tile layer, rendered as text."""


class LayerControl(folium.LayerControl, RawParts):
    """folium's layer control, rendered as text."""


@dataclass(frozen=True)
class LayerWithLegend:
    """An overlay of the map, the key of its legend section, and that section (HTML)."""

    layer: folium.map.Layer
    key: str
    legend_html: str


class HouseholdLayer(folium.map.Layer, RawParts):
    """Households as canvas-drawn circles coloured by risk class, from a compact array
    ([lat, lon, class, risk, id] per household): fast for hundreds of thousands."""

    _template = TEMPLATES.get_template("household_layer.js.j2")

    def __init__(self, rows: list[list[Any]], name: str, show: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HouseholdLayer"
        self.rows = safe_json(rows)
        self.colours = safe_json({str(k): c for k, c in enumerate(RISK_CLASS_COLOURS)})


class MapControls(RawParts):
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
