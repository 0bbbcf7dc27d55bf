"""map.html in a real browser (Debian's chromium), with every network request blocked:
Leaflet loads, every layer is listed, raster overlays sit on their rasters, no script
error, and a village name made of HTML executes nothing.

The browser is not downloaded: the tests use /usr/bin/chromium (Debian's package, which
.ci/run installs). Without it they are skipped, unless HAZARDMAP_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from rasterio.warp import transform_bounds

import hazardmap

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if os.environ.get("HAZARDMAP_REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure
    assert CHROMIUM is not None, "chromium is not installed (apt-get install chromium)"
    from playwright import sync_api
else:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
    sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow  # a browser, and the demo county run

XSS = "<img src=x onerror=alert(1)>"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_offline(browser: Any, page_path: Path) -> tuple[Any, dict[str, list[str]]]:
    """The page loaded with every request but the file itself (and data: URIs) refused."""
    seen: dict[str, list[str]] = {"errors": [], "blocked": [], "dialogs": []}
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            seen["blocked"].append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    return page, seen


@pytest.fixture(scope="module")
def demo_map(
    demo_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[hazardmap.RunResult, Path]:
    """The demo county run once for this module, into a folder (and a cache) of its own."""
    result = hazardmap.run(demo_project, tmp_path_factory.mktemp("demo-map") / "latest")
    assert result.out_dir is not None
    return result, result.out_dir / "map.html"


def test_demo_map_works_offline(
    browser: Any, demo_map: tuple[hazardmap.RunResult, Path], tmp_path: Path
) -> None:
    result, page_path = demo_map
    page, seen = open_offline(browser, page_path)
    assert page.evaluate("typeof L !== 'undefined' && typeof L.map === 'function'")
    labels = [t.strip() for t in page.locator(".leaflet-control-layers label").all_inner_texts()]
    expected = [
        "Hillshade, offline",
        "Combined risk",
        "Expected returns per year",
        "Households by risk",
    ]
    for layer in result.config.layers:
        title = f"{layer.spec.title} {layer.spec.title_zh}"
        expected.append(f"{title}: village level")
        if layer.spec.source == "zones":  # the survey's zones and its register's sites
            expected += [f"{title}: zones", f"{title}: hazard sites"]
        else:
            expected.append(f"{title}: raster")
    for name in expected:
        assert any(label.startswith(name) for label in labels), (name, labels)
    # every raster overlay lies on its raster's bounds (EPSG:4326) within one cell
    drawn = page.evaluate(
        """() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const out = [];
            map.eachLayer(() => {});
            for (const key of Object.keys(window)) {
                const v = window[key];
                if (v instanceof L.ImageOverlay) {
                    const b = v.getBounds();
                    out.push([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
                }
            }
            return out;
        }"""
    )
    for layer in result.config.layers:  # the grid read: a raster's, or its cube's reduced
        if layer.name not in result.grids:
            continue  # zones and sites are drawn as shapes
        grid = result.grids[layer.name]
        bounds = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds)
        resolution = max(abs(grid.transform.a), abs(grid.transform.e))
        cell_deg = resolution / (111_000 if grid.crs.is_projected else 1)
        assert any(np.allclose(b, bounds, atol=cell_deg) for b in drawn), (
            layer.name,
            bounds,
            drawn,
        )
    # switch every overlay on: still no error
    for label in page.locator(".leaflet-control-layers-overlays input").all():
        if not label.is_checked():
            label.check()
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "map.png"))
    assert (tmp_path / "map.png").stat().st_size > 10_000
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert seen["blocked"] == []  # the offline hillshade is the default background


def test_village_named_like_html_runs_nothing(browser: Any, tiny_project: Path) -> None:
    villages_path = tiny_project.parent / "data" / "villages.gpkg"
    villages = gpd.read_file(villages_path)
    villages.loc[0, "name"] = XSS
    villages.loc[1, "town"] = XSS
    villages.to_file(villages_path, layer="villages", driver="GPKG")
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page, seen = open_offline(browser, result.out_dir / "map.html")
    # hover the village (drawn on a canvas: move the mouse to it), then find it with the
    # search box, which opens its popup
    centre = page.evaluate(
        """() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let point = null;
            map.eachLayer(layer => {
                if (layer.feature && layer.feature.properties.i === 0 && !point) {
                    point = map.latLngToContainerPoint(layer.getBounds().getCenter());
                }
            });
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + point.x, box.top + point.y];
        }"""
    )
    page.mouse.move(*centre)
    page.wait_for_timeout(200)
    assert XSS in page.locator(".leaflet-tooltip").first.inner_text()
    search = page.locator(".hm-search input")
    search.fill(f"{XSS} · X镇 · A")
    search.dispatch_event("change")
    page.wait_for_timeout(300)
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert XSS in page.locator(".leaflet-popup-content").inner_text()


def test_report_opens_offline_and_prints_on_a4(
    browser: Any, demo_map: tuple[hazardmap.RunResult, Path], tmp_path: Path
) -> None:
    result, page_path = demo_map
    report = page_path.parent / "report.html"
    page, seen = open_offline(browser, report)
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    charts = 3 if result.years is not None else 2  # classes, townships (and the bad years)
    assert len(images) == 1 + len(result.config.layers) + charts  # combined, per hazard, charts
    assert all(done and width > 500 for done, width in images)
    text = page.locator("body").inner_text()
    assert "主要数字" in text and "Expected returns" in text
    top = result.villages.sort_values("expected_returns", ascending=False).iloc[0]
    assert str(top["name"]) in text
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    assert (tmp_path / "report.pdf").read_bytes().count(b"/Type /Page") >= 3
    assert seen["errors"] == [] and seen["blocked"] == [] and seen["dialogs"] == []


def test_report_escapes_input_text(browser: Any, tiny_project: Path) -> None:
    villages_path = tiny_project.parent / "data" / "villages.gpkg"
    villages = gpd.read_file(villages_path)
    villages["name"] = XSS
    villages.to_file(villages_path, layer="villages", driver="GPKG")
    result = hazardmap.run(tiny_project)
    assert result.out_dir is not None
    page, seen = open_offline(browser, result.out_dir / "report.html")
    assert XSS in page.locator("body").inner_text()
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert seen["dialogs"] == [] and seen["errors"] == []


def test_demo_event_map_works_offline(browser: Any, demo_project: Path, tmp_path: Path) -> None:
    """The demo's hailstorm: the footprint, the villages given the event and the leads
    draw offline, every overlay on, with no error; the summary prints on A4."""
    from hazardmap.event.pipeline import run_event

    event = demo_project.parent / "events" / "hail-2026-07-12.toml"
    result = run_event(event, demo_project, tmp_path / "event")
    assert result.out_dir is not None and len(result.leads) > 0
    page, seen = open_offline(browser, result.out_dir / "map.html")
    labels = [t.strip() for t in page.locator(".leaflet-control-layers label").all_inner_texts()]
    for name in ("Villages: expected returns, given this event", "Footprint", "Leads to check"):
        assert any(label.startswith(name) for label in labels), (name, labels)
    for box in page.locator(".leaflet-control-layers-overlays input").all():
        if not box.is_checked():
            box.check()
    page.wait_for_timeout(500)
    legend = page.locator(".hm-legend").inner_text()
    assert "given this event" in legend and "per year" not in legend
    page.screenshot(path=str(tmp_path / "event.png"))
    assert seen["errors"] == [] and seen["dialogs"] == [] and seen["blocked"] == []
    summary = browser.new_page()
    summary.goto((result.out_dir / "summary.html").as_uri())
    summary.pdf(path=str(tmp_path / "summary.pdf"), format="A4")
    pages = re.findall(rb"/Type\s*/Page(?![s\w])", (tmp_path / "summary.pdf").read_bytes())
    assert len(pages) == 1, len(pages)  # one printable page
