"""map.html: self-contained (works offline), escaped, with every layer."""

from __future__ import annotations

import re
from pathlib import Path

import hazardmap
from hazardmap.outputs.webmap import build_map, write_map


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


def test_map_is_the_same_bytes_every_time(tiny_project: Path, tmp_path: Path) -> None:
    """Element ids are numbered, not random: a map built twice is the same page, and
    the same as the run wrote."""
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    parts = {
        "villages": result.villages,
        "households": result.households,
        "layers": result.config.layers,
        "layer_images": result.layer_images,
        "relief": result.relief,
        "changes": result.changes,
        "show_households": result.config.settings.map.households,
        "title": result.config.settings.project.name,
    }
    first = build_map(**parts).get_root().render()
    assert build_map(**parts).get_root().render() == first
    write_map(tmp_path / "map.html", **parts)
    written = (result.out_dir / "map.html").read_bytes()
    assert (tmp_path / "map.html").read_bytes() == written == first.encode("utf-8")
    ids = re.findall(r"\b[a-z_]+_([0-9a-f]{32})\b", first)
    assert ids and max(int(i, 16) for i in ids) < 1000, "ids are numbered in build order"


def test_names_are_never_templates(tiny_project: Path) -> None:
    """A village named like a Jinja template reaches the map as text: never evaluated, and
    never a template error."""
    import geopandas as gpd

    path = tiny_project.parent / "data" / "villages.gpkg"
    villages = gpd.read_file(path)
    villages["name"] = ["{{ 7*7 }}村", "{{ ''.__class__.__mro__ }}", "{% raw %}丙村"]
    path.unlink()
    villages.to_file(path, layer="villages", driver="GPKG")
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page = (result.out_dir / "map.html").read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in page and "49\\u6751" not in page and "<class" not in page
    assert "{% raw %}" in page
