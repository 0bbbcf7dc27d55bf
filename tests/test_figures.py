"""The report's figures draw names as text: a ``$`` in a township name or a layer title
never starts mathtext."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hazardmap.outputs import figures

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


@pytest.mark.usefixtures("font")
def test_village_map_draws_dollar_signs_as_text() -> None:
    png = figures.village_map(
        villages(), "slope_level", figures.LEVEL_COLOURS, figures.LEVEL_NAMES, HAZARDS["slope"]
    )
    assert png.startswith(PNG_SIGNATURE)


@pytest.mark.usefixtures("font")
def test_class_chart_draws_dollar_signs_as_text() -> None:
    rng = np.random.default_rng(3)
    households = pd.DataFrame(
        {
            "slope_risk": rng.random(40) * 0.2,
            "dry_risk": rng.random(40) * 0.2,
            "risk_class": rng.integers(0, 5, 40),
        }
    )
    png = figures.class_chart(households, HAZARDS, [0.02, 0.05, 0.10])
    assert png.startswith(PNG_SIGNATURE)


@pytest.mark.usefixtures("font")
def test_township_chart_draws_dollar_signs_as_text() -> None:
    png = figures.township_chart(pd.DataFrame(villages().drop(columns="geometry")), HAZARDS)
    assert png.startswith(PNG_SIGNATURE)
