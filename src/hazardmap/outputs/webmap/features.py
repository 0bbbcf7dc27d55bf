"""What the map's layers draw, as data: villages as GeoJSON with escaped, formatted
properties; the changed villages; households as a compact array; the search box's names.

Every text from input data is HTML-escaped here, before folium inserts it into tooltips
and popups as HTML; JSON for a script goes through :func:`safe_json`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hazardmap.outputs.style import LEVEL_LABELS, RISK_CLASS_LABELS, significant

if TYPE_CHECKING:
    import geopandas as gpd

SIMPLIFY_DEGREES = 0.0002
"""Tolerance of the village outlines drawn (about 20 m)."""


def safe_json(value: object) -> str:
    """JSON that can sit inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def figure(value: Any, digits: int = 3) -> str:
    """A value for a tooltip: significant digits for numbers, escaped text, '–' if missing."""
    return html.escape(significant(value, digits))


def returns_breaks(values: np.ndarray) -> list[float]:
    """Four quantile breaks of expected returns (five colour classes)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(b) for b in np.quantile(finite, [0.2, 0.4, 0.6, 0.8])]


def _class_shares(villages: gpd.GeoDataFrame, hazard: str) -> list[str] | None:
    """A class layer's 'class 1 62%, class 4 6%' per village; None for other layers."""
    prefix = f"{hazard}_share_"
    columns = [c for c in villages.columns if str(c).startswith(prefix)]
    if not columns:
        return None
    return [
        ", ".join(
            f"class {str(c)[len(prefix) :]} {share:.0%}"
            for c, share in zip(columns, row, strict=True)
            if np.isfinite(share) and share > 0
        )
        or "no data"
        for row in villages[columns].to_numpy(dtype=np.float64)
    ]


def _hazard_text(villages: gpd.GeoDataFrame, hazard: str) -> list[str]:
    """'level; mean, max; expected returns' of one hazard, per village (for a class layer,
    the area share of each class instead of a mean class, which means nothing)."""
    shares = _class_shares(villages, hazard)
    values = [
        f"mean {figure(m)}, max {figure(x)}"
        for m, x in zip(villages[f"{hazard}_mean"], villages[f"{hazard}_max"], strict=True)
    ]
    if shares is not None:
        values = [
            f"{share}; max class {figure(x)}"
            for share, x in zip(shares, villages[f"{hazard}_max"], strict=True)
        ]
    return [
        f"{LEVEL_LABELS[int(lv)]}; {value}; expected returns {figure(r)}"
        for lv, value, r in zip(
            villages[f"{hazard}_level"],
            values,
            villages[f"{hazard}_expected_returns"],
            strict=True,
        )
    ]


def village_features(
    villages: gpd.GeoDataFrame, hazards: Sequence[str], breaks: list[float]
) -> dict[str, Any]:
    """GeoJSON of villages with escaped, formatted properties for tooltips and styling;
    ``i`` is the village's row (the search box finds villages by it)."""
    shown = villages[["geometry"]].copy()
    shown["i"] = np.arange(len(villages))
    for column in ("name", "township", "village_code"):
        shown[column] = [html.escape(str(v)) for v in villages[column]]
    shown["risk_class"] = villages["risk_class"].astype(int)
    shown["risk"] = [
        f"{figure(m)} ({RISK_CLASS_LABELS[int(c)]})"
        for m, c in zip(villages["risk_mean"], villages["risk_class"], strict=True)
    ]
    shown["households"] = villages["n_households"].astype(int)
    shown["population"] = villages["population"].astype(int)
    shown["high_risk"] = villages["n_high_risk"].astype(int)
    shown["no_data"] = villages["n_no_data"].astype(int)
    shown["expected"] = [figure(v) for v in villages["expected_returns"]]
    shown["returns_class"] = np.searchsorted(breaks, villages["expected_returns"], side="right")
    shown["dominant"] = [html.escape(str(v)) or "–" for v in villages["dominant_hazard"]]
    for h in hazards:
        shown[f"{h}_level"] = villages[f"{h}_level"].astype(int)
        shown[f"{h}_text"] = _hazard_text(villages, h)
    if "p_any_return" in villages.columns:  # simulated years
        p_any = villages["p_any_return"].to_numpy(dtype=float)
        shown["p_any"] = [f"{p:.0%}" for p in p_any]
        shown["in20"] = [figure(v) for v in villages["returns_1in20"]]
        shown["p_any_class"] = np.searchsorted(P_ANY_BREAKS, p_any, side="right")
    shown["geometry"] = shown.geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    data: dict[str, Any] = json.loads(shown.to_json(drop_id=True))
    return data


P_ANY_BREAKS = (0.1, 0.2, 0.35, 0.5)
"""Classes of a village's chance of at least one return in a simulated year."""


def _moves(changes: pd.DataFrame, hazards: Sequence[str]) -> dict[str, str]:
    """Escaped 'column: old → new' text of each changed village, by escaped code."""
    tracked = ["risk_class", *(f"{h}_level" for h in hazards)]
    text = {}
    for _, row in changes[changes["status"] == "changed"].iterrows():
        moves = [
            f"{column}: {int(row[f'old_{column}'])} → {int(row[f'new_{column}'])}"
            for column in tracked
            if pd.notna(row[f"old_{column}"]) and row[f"old_{column}"] != row[f"new_{column}"]
        ]
        text[html.escape(str(row["village_code"]))] = html.escape("; ".join(moves))
    return text


def changed_features(
    changes: pd.DataFrame | None, hazards: Sequence[str], data: dict[str, Any]
) -> dict[str, Any] | None:
    """The villages of changes.csv whose class or levels changed, with 'old → new' text
    (``data``: the villages' GeoJSON); None when there are none."""
    if changes is None or not len(changes):
        return None
    text = _moves(changes, hazards)
    features = [
        {**feature, "properties": {**feature["properties"], "change": text[code]}}
        for feature in data["features"]
        if (code := feature["properties"]["village_code"]) in text
    ]
    return {"type": "FeatureCollection", "features": features} if features else None


def household_rows(households: pd.DataFrame) -> list[list[Any]]:
    """[lat, lon, class, risk, id] of each household located by GPS: no names, nothing
    personal; ids are set as plain text by the page's script."""
    located = households[households["location_source"] == "gps"]
    located = located[np.isfinite(located["lon"]) & np.isfinite(located["lat"])]
    risks = [
        "–" if math.isnan(r) else f"{r:.3g}"  # as figure() gives a number, in one pass
        for r in located["risk"].to_numpy(dtype=np.float64).tolist()
    ]
    return [
        [round(y, 5), round(x, 5), c, r, i]
        for i, c, r, x, y in zip(
            located["household_id"].astype(str).tolist(),
            located["risk_class"].to_numpy(dtype=np.int64).tolist(),
            risks,
            located["lon"].to_numpy(dtype=np.float64).tolist(),
            located["lat"].to_numpy(dtype=np.float64).tolist(),
            strict=True,
        )
    ]


def search_names(villages: gpd.GeoDataFrame) -> list[tuple[str, int]]:
    """The search box's entries: 'name · township · code' (plain text) and the row."""
    return [
        (f"{n} · {t} · {c}", i)
        for i, (n, t, c) in enumerate(
            zip(villages["name"], villages["township"], villages["village_code"], strict=True)
        )
    ]
