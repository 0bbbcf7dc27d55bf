"""The report's figures draw names as text: a ``$`` in a township name or a layer title
never starts mathtext. The maps drawn once and re-coloured, cropped without savefig's
layout pass and packed into PNG on another thread, are the pixels savefig would give."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from hazardmap.outputs import figures
from hazardmap.outputs.style import LEVEL_COLOURS, LEVEL_LABELS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOWNSHIPS = ["$x^{2$", "$\\frac{1}{0}$", "cost $5 and $6", "_hidden", "plain"]
HAZARDS = {"slope": "Slope $ $x^{", "dry": "$\\sqrt{Drought$"}


@pytest.fixture(params=["with a CJK font", "without"])
def font(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both label paths: names drawn (a CJK font found) and codes and English instead."""
    if request.param == "with a CJK font":
        if figures.cjk_font() is None:
            pytest.skip("no font with Chinese glyphs installed")
    else:
        monkeypatch.setattr(figures, "cjk_font", lambda: None)


def villages() -> gpd.GeoDataFrame:
    rows = []
    for t, township in enumerate(TOWNSHIPS):
        for v in range(3):
            x0, y0 = 105.0 + 0.02 * v, 35.0 + 0.02 * t
            rows.append(
                {
                    "township": township,
                    "risk_class": (t + v) % 5,
                    "slope_level": v % 5,
                    "slope_expected_returns": 0.1 * (t + v),
                    "dry_expected_returns": 0.05 * v,
                    "geometry": shapely.box(x0, y0, x0 + 0.02, y0 + 0.02),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def risk_classes() -> pd.DataFrame:
    counts = np.arange(15).reshape(3, 5) * 7
    return pd.DataFrame(counts, index=["slope", "dry", "combined"], columns=range(5))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.usefixtures("font")
def test_village_map_draws_dollar_signs_as_text() -> None:
    (png,) = figures.village_maps(
        villages(), [figures.Choropleth.level("slope_level", HAZARDS["slope"])]
    )
    assert png.startswith(PNG_SIGNATURE)


@pytest.mark.usefixtures("font")
def test_class_chart_draws_dollar_signs_as_text() -> None:
    png = figures.class_chart(risk_classes(), HAZARDS)
    assert png.startswith(PNG_SIGNATURE)


@pytest.mark.usefixtures("font")
def test_township_chart_draws_dollar_signs_as_text() -> None:
    png = figures.township_chart(pd.DataFrame(villages().drop(columns="geometry")), HAZARDS)
    assert png.startswith(PNG_SIGNATURE)


def test_a_recoloured_map_is_the_map_drawn_afresh() -> None:
    combined = figures.Choropleth.risk("risk_class", "Combined $x$")
    slope = figures.Choropleth.level("slope_level", HAZARDS["slope"])
    first, second = figures.village_maps(villages(), [combined, slope])
    (alone,) = figures.village_maps(villages(), [slope])
    np.testing.assert_array_equal(pixels(second), pixels(alone))
    assert not np.array_equal(pixels(first), pixels(second))


def test_report_figures_are_the_figures_drawn_one_by_one() -> None:
    table = villages()
    maps = [figures.Choropleth.level("slope_level", "Slope")]
    together = figures.report_figures(table, maps, risk_classes(), HAZARDS)
    one_by_one = [
        *figures.village_maps(table, maps),
        figures.class_chart(risk_classes(), HAZARDS),
        figures.township_chart(table, HAZARDS),
    ]
    assert together == one_by_one


def test_the_crop_and_the_packing_are_savefigs() -> None:
    """Measured in a layout renderer, drawn by savefig into pixels and packed by another
    thread: the bytes savefig writes itself with bbox_inches='tight'."""
    with mpl.rc_context(figures._style()), ThreadPoolExecutor(1) as encoder:
        fig, ax, polygons, _ = figures._base_map(villages())
        polygons.set_facecolor("#fecc5c")
        ax.set_title("A title wider than the map, to widen the crop " * 2)
        figures._legend(ax, LEVEL_COLOURS, LEVEL_LABELS)
        ours = figures._png(fig, encoder, figures._layout(fig)).result()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=figures.DPI, bbox_inches="tight")
    assert ours == buffer.getvalue()
