"""map.html: self-contained (works offline), escaped, with every layer."""

from __future__ import annotations

import re
from pathlib import Path

import hazardmap


def test_map_is_self_contained_and_escaped(tiny_project: Path) -> None:
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page = (result.out_dir / "map.html").read_text(encoding="utf-8")
    external = re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page)
    assert external == [], external
    assert "L.map(" in page and "Leaflet" in page  # Leaflet itself is inlined
    assert page.count("data:image/png;base64,") >= 2  # the two rasters, inlined
    for layer in (
        "Combined risk",
        "Expected returns per year",
        "Landslide susceptibility",
        ": village level",  # per hazard, as the browser test checks in full
        ": raster",
        "Drought: village level",
        "Households by risk",
    ):
        assert layer in page, layer
    # the village named "<b>乙村</b>" reaches the page only as escaped text or JSON data
    assert "<b>乙村</b>" not in page.replace('"<b>乙村</b> · X镇 · B"', "")
    assert "\\u0026lt;b\\u0026gt;\\u4e59\\u6751\\u0026lt;/b\\u0026gt;" in page  # &lt;b&gt;乙村...
    # households carry their id and figures, nothing personal
    assert '"h1"]' in page


def test_villages_only_switch_leaves_households_out(tiny_project: Path) -> None:
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text + "\n[map]\nhouseholds = false\n", encoding="utf-8")
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page = (result.out_dir / "map.html").read_text(encoding="utf-8")
    assert "Households by risk" not in page and '"h1"' not in page
    assert "Combined risk" in page
