"""The page around the map: a folium Map with Leaflet inlined (so it opens with no
network), its title, and element ids that do not change from run to run."""

from __future__ import annotations

import base64
import html
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import folium
from branca.element import Element, Figure

from hazardmap.outputs.webmap.elements import RawText

ZOOM_START = 10


def leaflet_assets() -> str:
    """Leaflet's JS and CSS as inline <style>/<script>, images as data URIs."""
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((base / "images").glob("*.png")):
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        css = css.replace(f"images/{image.name}", f"data:image/png;base64,{data}")
    script = (base / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{script}</script>"


def new_map(bounds: tuple[float, float, float, float], title: str) -> folium.Map:
    """An empty map centred on ``bounds`` (west, south, east, north), with no tiles and
    no CDN links: Leaflet is inlined in the page's header."""
    west, south, east, north = bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=ZOOM_START,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    fmap.default_js = []
    fmap.default_css = []
    page = cast(Figure, fmap.get_root())
    page.header.add_child(RawText(leaflet_assets()), name="leaflet_inline")
    page.title = "hazardmap: " + html.escape(title)
    return fmap


def _tree(element: Element) -> Iterator[Element]:
    """An element and everything under it, parents first, in the order they render."""
    yield element
    if isinstance(element, Figure):
        for part in (element.header, element.html, element.script):
            yield from _tree(part)
    for child in element._children.values():
        yield from _tree(child)


def number_elements(root: Element) -> None:
    """Give every element under ``root`` an id from its place in the tree.

    branca draws each element's ``_id`` at random (``Element.__init__``) and folium names it
    ``<kind>_<_id>`` (``get_name``) in the page, so two runs would write different bytes.
    Numbered in tree order, the same map renders to the same page. The ids keep branca's
    shape (32 hex digits), which tools that read folium's pages expect; children keyed by
    their old name are re-keyed. Call it once the map is built, before rendering (elements
    made while rendering are not named in the page)."""
    elements = list(_tree(root))
    old_names = {id(element): element.get_name() for element in elements}
    for number, element in enumerate(elements):
        element._id = f"{number:032x}"
    for element in elements:
        element._children = OrderedDict(
            (child.get_name() if key == old_names[id(child)] else key, child)
            for key, child in element._children.items()
        )
