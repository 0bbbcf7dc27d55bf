"""Static figures for the report (matplotlib): one map per hazard level and one of combined
risk, with legend, scale bar, north arrow and township names; and two charts."""

from __future__ import annotations

import io
import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
)
CLASS_COLOURS = ["#bdbdbd", "#1a9850", "#fee08b", "#fc8d59", "#d73027"]
LEVEL_COLOURS = ["#bdbdbd", "#ffffb2", "#fecc5c", "#fd8d3c", "#bd0026"]
CLASS_NAMES = ["no data 无数据", "low 低", "moderate 中", "high 高", "very high 很高"]
LEVEL_NAMES = ["no data 无数据", "low 低", "medium 中", "high 高", "very high 很高"]


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font with Chinese glyphs that matplotlib can use, or None (labels fall back to
    codes and English then)."""
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in available), None)


def _style() -> Any:
    """The figures' rc settings. Names and titles come from the inputs and are text: a
    ``$`` in them must not start mathtext (or TeX), which would misdraw or raise. Every
    text is created and drawn (savefig) inside this context, so the setting reaches titles,
    tick labels, legend entries and annotations alike."""
    font = cjk_font()
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    return {
        "font.family": families,
        "font.size": 9,
        "axes.unicode_minus": False,
        "text.parse_math": False,
        "text.usetex": False,
    }


def _label(text: str, fallback: str) -> str:
    return text if cjk_font() else fallback


def _text(value: object) -> str:
    """A name from the inputs as one line of plain text (no tabs or line breaks, which no
    font draws)."""
    return _CONTROL.sub(" ", str(value)).strip()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _png(fig: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _scale_bar(ax: Axes, lat: float) -> None:
    """A scale bar of a round number of km, for axes in degrees at latitude ``lat``."""
    west, east = ax.get_xlim()
    south, north = ax.get_ylim()
    km_per_degree = 111.32 * math.cos(math.radians(lat))
    target = (east - west) * km_per_degree / 5  # about a fifth of the map's width
    magnitude = 10 ** math.floor(math.log10(target))
    step = next(s for s in (5, 2, 1) if target >= s * magnitude)
    length_km = max(1, int(step * magnitude))
    length = length_km / km_per_degree
    x0 = west + 0.05 * (east - west)
    y0 = south + 0.05 * (north - south)
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    ax.text(
        x0 + length / 2, y0 + 0.015 * (north - south), f"{length_km} km", ha="center", va="bottom"
    )


def _north_arrow(ax: Axes) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 10},
    )


def village_map(
    villages: gpd.GeoDataFrame, column: str, colours: list[str], names: list[str], title: str
) -> bytes:
    """A choropleth of an integer class column (0..4) over the villages, as PNG bytes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7.2, 7.6))
        classes = villages[column].astype(int).clip(0, 4)
        villages.plot(ax=ax, color=[colours[c] for c in classes], edgecolor="#555", linewidth=0.25)
        towns = villages.dissolve(by="township")
        towns.boundary.plot(ax=ax, color="#222", linewidth=0.8)
        for name, geom in zip(towns.index, towns.geometry, strict=True):
            point = geom.representative_point()
            label = _label(_text(name), "")
            if label:
                ax.text(
                    point.x,
                    point.y,
                    label,
                    ha="center",
                    va="center",
                    fontsize=7,
                    bbox={"facecolor": "white", "alpha": 0.6, "pad": 0.5, "linewidth": 0},
                )
        ax.set_title(_text(title))
        ax.set_axis_off()
        lat = float(villages.geometry.union_all().centroid.y)
        ax.set_aspect(1 / math.cos(math.radians(lat)))
        _scale_bar(ax, lat)
        _north_arrow(ax)
        handles = [
            Patch(
                facecolor=colours[k], edgecolor="#555", label=_label(names[k], names[k].split()[0])
            )
            for k in (4, 3, 2, 1, 0)
        ]
        ax.legend(handles=handles, loc="lower right", frameon=True, fontsize=8)
        return _png(fig)


def class_chart(risk_classes: pd.DataFrame, hazards: dict[str, str]) -> bytes:
    """Households per risk class, for each hazard and combined (stacked bars);
    ``risk_classes`` holds the counts (columns 0-4) by hazard name and 'combined'."""
    import matplotlib.pyplot as plt

    with plt.rc_context(_style()):
        labels = [_text(hazards[h]) for h in hazards] + [_label("Combined 综合", "Combined")]
        counts = risk_classes.loc[[*hazards, "combined"]].set_axis(labels)
        fig, ax = plt.subplots(figsize=(7.2, 2.8))
        left = np.zeros(len(counts))
        for k in (1, 2, 3, 4, 0):
            ax.barh(
                counts.index,
                counts[k],
                left=left,
                color=CLASS_COLOURS[k],
                label=_label(CLASS_NAMES[k], CLASS_NAMES[k].split()[0]),
            )
            left += counts[k].to_numpy()
        ax.set_xlabel(_label("households 户", "households"))
        ax.legend(ncol=5, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25))
        ax.invert_yaxis()
        return _png(fig)


def township_chart(villages: pd.DataFrame, hazards: dict[str, str]) -> bytes:
    """Expected returns per year by township, stacked by hazard."""
    import matplotlib.pyplot as plt

    with plt.rc_context(_style()):
        columns = [f"{h}_expected_returns" for h in hazards]
        by_town = villages.groupby("township")[columns].sum()
        by_town = by_town.loc[by_town.sum(axis=1).sort_values().index]
        fig, ax = plt.subplots(figsize=(7.2, max(3.0, 0.22 * len(by_town) + 1)))
        left = np.zeros(len(by_town))
        palette = ["#8c510a", "#d8b365", "#5ab4ac", "#01665e", "#762a83", "#e7298a"]
        labels = [
            _text(t) if cjk_font() else f"township {i + 1}" for i, t in enumerate(by_town.index)
        ]
        bars = []
        for i, column in enumerate(columns):
            bars.append(
                ax.barh(labels, by_town[column], left=left, color=palette[i % len(palette)])
            )
            left += by_town[column].to_numpy()
        ax.set_xlabel(
            _label(
                "expected returns to poverty per year 预计年返贫户数", "expected returns per year"
            )
        )
        # explicit labels: a title starting with "_" would otherwise be left out
        ax.legend(bars, [_text(t) for t in hazards.values()], fontsize=7, loc="lower right")
        return _png(fig)
