"""map.html: self-contained (works offline), escaped, with every layer."""

from __future__ import annotations

import re
from pathlib import Path

import hazardmap


def test_map_is_self_contained_and_escaped(tiny_project: Path) -> None:
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page = (result.out_dir / "map.html").read_text(encoding="utf-8")
    external = re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page)
    assert external == [], external
    assert "L.map(" in page and "Leaflet" in page  # Leaflet itself is inlined
    for layer in (
        "Combined risk",
        "Landslide susceptibility level",
        "Drought level",
        "Households by risk",
    ):
        assert layer in page
    # the village named "<b>乙村</b>" reaches the page only as escaped text
    assert "<b>乙村</b>" not in page and "<b>\\u4e59" not in page
    assert "\\u0026lt;b\\u0026gt;\\u4e59\\u6751\\u0026lt;/b\\u0026gt;" in page  # &lt;b&gt;乙村...
    # households carry their id and figures, nothing personal
    assert '"id": "h1"' in page or '"id":"h1"' in page
