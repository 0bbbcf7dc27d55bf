"""Static figures for the report (matplotlib): one map per hazard level and one of combined
risk, with legend, scale bar, north arrow and township names; and two charts.

The village maps differ only in their colours, legend and title: the polygons, township
boundaries (dissolved once), labels, scale bar and north arrow are drawn into one figure,
whose polygons are re-coloured for each map. A figure is drawn in the calling thread and
packed into PNG by a second one (zlib lets go of the GIL), while the next figure is drawn.
Palettes and class labels come from :mod:`hazardmap.outputs.style`; no figure classifies
anything (the classes come computed).
"""

from __future__ import annotations

import io
import math
import re
import zlib
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from hazardmap.outputs.style import (
    DESCENDING,
    HAZARD_COLOURS,
    LEVEL_COLOURS,
    LEVEL_LABELS,
    RISK_CLASS_COLOURS,
    RISK_CLASS_LABELS,
    STACKED,
    english,
)

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.path import Path

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
)
DPI = 150
EDGE = "#555"


@dataclass(frozen=True)
class Choropleth:
    """One village map: an integer class column (0..4), its palette and labels (by class),
    and a title."""

    column: str
    colours: Sequence[str]
    labels: Sequence[str]
    title: str

    @classmethod
    def risk(cls, column: str, title: str) -> Choropleth:
        return cls(column, RISK_CLASS_COLOURS, RISK_CLASS_LABELS, title)

    @classmethod
    def level(cls, column: str, title: str) -> Choropleth:
        return cls(column, LEVEL_COLOURS, LEVEL_LABELS, title)


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


@lru_cache(maxsize=1)
def _canvas_class() -> type:
    """An Agg canvas whose raw 'print' keeps the drawn pixels as an array, to be packed
    into PNG elsewhere (made on first use: matplotlib is imported only to draw)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class PixelCanvas(FigureCanvasAgg):
        pixels: np.ndarray

        def print_raw(self, filename_or_obj: Any, **kwargs: Any) -> None:
            FigureCanvasAgg.draw(self)
            self.pixels = np.array(self.buffer_rgba())  # a copy: the next draw reuses it

    return PixelCanvas


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure with one axes, outside pyplot (no global state, nothing to close), made at
    the resolution it is saved in."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    _canvas_class()(fig)
    return fig, fig.subplots()


def _encode(pixels: np.ndarray, options: dict[str, Any] | None) -> bytes:
    """Drawn pixels as the PNG savefig writes (matplotlib's own writer, its metadata)."""
    from matplotlib.image import imsave

    buffer = io.BytesIO()
    imsave(buffer, pixels.data, format="png", origin="upper", dpi=DPI, pil_kwargs=options)
    return buffer.getvalue()


def _png(
    fig: Figure, encoder: Executor, layout: RendererAgg | None = None, *, flat: bool = False
) -> Future[bytes]:
    """The figure drawn now, cropped to what it draws as savefig's ``bbox_inches="tight"``
    crops it, and packed into PNG by ``encoder``.

    The crop is measured without savefig's extra pass over every artist. A figure saved
    again and again brings its own ``layout`` renderer (made by ``_layout``): text measured
    in it stays measured, and the canvas keeps its renderer from one save to the next
    (measuring and drawing with the canvas's renderer in turn would replace it each time).
    ``flat``: mostly areas of one colour (a map), which zlib's run-length strategy packs
    faster and smaller than its default (the pixels are the same)."""
    from matplotlib import rcParams

    layout = layout or _layout(fig)
    crop = fig.get_tightbbox(layout).padded(rcParams["savefig.pad_inches"])
    fig.savefig(io.BytesIO(), format="raw", dpi=DPI, bbox_inches=crop)
    pixels: np.ndarray = fig.canvas.pixels  # type: ignore[attr-defined]  # PixelCanvas
    return encoder.submit(_encode, pixels, {"compress_type": zlib.Z_RLE} if flat else None)


def _encoder() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="hazardmap-png")


def _layout(fig: Figure) -> RendererAgg:
    """A renderer to measure ``fig`` in, as saved (at ``DPI``, which it is made with)."""
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(*fig.bbox.size, fig.dpi)


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


def _polygon_paths(geometries: np.ndarray) -> tuple[list[Path], np.ndarray]:
    """One compound path per (multi)polygon, with its row: rings normalised (as geopandas
    draws them), the parts of a geometry collection apart, empty and missing left out."""
    from matplotlib.path import Path

    paths, rows = [], []
    for row, geometry in enumerate(shapely.normalize(geometries)):
        if geometry is None or geometry.is_empty:
            continue
        parts = geometry.geoms if geometry.geom_type == "GeometryCollection" else [geometry]
        for part in parts:
            if part.is_empty or part.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            rings = [
                Path(np.asarray(ring.coords)[:, :2], closed=True)
                for polygon in shapely.get_parts(part)
                for ring in (polygon.exterior, *polygon.interiors)
            ]
            paths.append(Path.make_compound_path(*rings))
            rows.append(row)
    return paths, np.asarray(rows, dtype=np.intp)


def _boundaries(towns: gpd.GeoSeries) -> list[np.ndarray]:
    """The township boundaries as line segments (normalised, as geopandas draws them)."""
    lines = shapely.get_parts(shapely.normalize(towns.boundary.to_numpy()))
    return [np.asarray(line.coords)[:, :2] for line in lines if not line.is_empty]


def _town_labels(ax: Axes, towns: gpd.GeoSeries) -> None:
    for name, geom in zip(towns.index, towns.to_numpy(), strict=True):
        label = _label(_text(name), "")
        if not label or geom is None or geom.is_empty:
            continue
        point = geom.representative_point()
        ax.text(
            point.x,
            point.y,
            label,
            ha="center",
            va="center",
            fontsize=7,
            bbox={"facecolor": "white", "alpha": 0.6, "pad": 0.5, "linewidth": 0},
        )


def _base_map(villages: gpd.GeoDataFrame) -> tuple[Figure, Axes, PatchCollection, np.ndarray]:
    """The parts every village map shares, drawn once: the polygons (not yet coloured),
    township boundaries and names, scale bar and north arrow. Also returns each polygon's
    row in ``villages``."""
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import PathPatch

    fig, ax = _figure(7.2, 7.6)
    paths, rows = _polygon_paths(villages.geometry.to_numpy())
    polygons = PatchCollection([PathPatch(p) for p in paths], edgecolor=EDGE, linewidth=0.25)
    ax.add_collection(polygons, autolim=True)
    towns = villages[["township", villages.geometry.name]].dissolve(by="township").geometry
    ax.add_collection(LineCollection(_boundaries(towns), linewidth=0.8, color="#222"))
    ax.autoscale_view()
    _town_labels(ax, towns)
    ax.set_axis_off()
    for axis in (ax.xaxis, ax.yaxis):  # not drawn: nor laid out for every title placement
        axis.set_visible(False)
    lat = float(villages.geometry.union_all().centroid.y)
    ax.set_aspect(1 / math.cos(math.radians(lat)))
    _scale_bar(ax, lat)
    _north_arrow(ax)
    return fig, ax, polygons, rows


def _legend(ax: Axes, colours: Sequence[str], labels: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=colours[k], edgecolor=EDGE, label=_label(labels[k], english(labels[k])))
        for k in DESCENDING
    ]
    ax.legend(handles=handles, loc="lower right", frameon=True, fontsize=8)


def _map_pngs(
    villages: gpd.GeoDataFrame, maps: Sequence[Choropleth], encoder: Executor
) -> list[Future[bytes]]:
    import matplotlib as mpl

    pngs = []
    with mpl.rc_context(_style()):
        fig, ax, polygons, rows = _base_map(villages)
        layout = _layout(fig)
        for choropleth in maps:
            classes = villages[choropleth.column].to_numpy().astype(int).clip(0, 4)
            polygons.set_facecolor([choropleth.colours[c] for c in classes[rows]])
            ax.set_title(_text(choropleth.title))
            _legend(ax, choropleth.colours, choropleth.labels)
            pngs.append(_png(fig, encoder, layout, flat=True))
    return pngs


def _class_png(
    risk_classes: pd.DataFrame, hazards: dict[str, str], encoder: Executor
) -> Future[bytes]:
    import matplotlib as mpl

    with mpl.rc_context(_style()):
        labels = [_text(hazards[h]) for h in hazards] + [_label("Combined 综合", "Combined")]
        counts = risk_classes.loc[[*hazards, "combined"]].set_axis(labels)
        fig, ax = _figure(7.2, 2.8)
        left = np.zeros(len(counts))
        for k in STACKED:
            ax.barh(
                counts.index,
                counts[k],
                left=left,
                color=RISK_CLASS_COLOURS[k],
                label=_label(RISK_CLASS_LABELS[k], english(RISK_CLASS_LABELS[k])),
            )
            left += counts[k].to_numpy()
        ax.set_xlabel(_label("households 户", "households"))
        ax.legend(ncol=5, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25))
        ax.invert_yaxis()
        return _png(fig, encoder)


def _township_png(
    villages: pd.DataFrame, hazards: dict[str, str], encoder: Executor
) -> Future[bytes]:
    import matplotlib as mpl

    with mpl.rc_context(_style()):
        columns = [f"{h}_expected_returns" for h in hazards]
        by_town = villages.groupby("township")[columns].sum()
        by_town = by_town.loc[by_town.sum(axis=1).sort_values().index]
        fig, ax = _figure(7.2, max(3.0, 0.22 * len(by_town) + 1))
        left = np.zeros(len(by_town))
        labels = [
            _text(t) if cjk_font() else f"township {i + 1}" for i, t in enumerate(by_town.index)
        ]
        bars = []
        for i, column in enumerate(columns):
            colour = HAZARD_COLOURS[i % len(HAZARD_COLOURS)]
            bars.append(ax.barh(labels, by_town[column], left=left, color=colour))
            left += by_town[column].to_numpy()
        ax.set_xlabel(
            _label(
                "expected returns to poverty per year 预计年返贫户数", "expected returns per year"
            )
        )
        # explicit labels: a title starting with "_" would otherwise be left out
        ax.legend(bars, [_text(t) for t in hazards.values()], fontsize=7, loc="lower right")
        return _png(fig, encoder)


def exceedance_chart(returns: np.ndarray, expected: float) -> bytes:
    """Simulated returns per year against their return period (log axis), the expected
    returns marked, as PNG."""
    import matplotlib as mpl

    with mpl.rc_context(_style()), _encoder() as encoder:
        ordered = np.sort(np.asarray(returns, dtype=np.float64))[::-1]
        period = (len(ordered) + 1) / np.arange(1, len(ordered) + 1)
        fig, ax = _figure(7.2, 3.4)
        ax.plot(period, ordered, color=HAZARD_COLOURS[0], linewidth=1.4)
        ax.axhline(expected, color="#555", linestyle="--", linewidth=1)
        ax.text(1.05, expected, _label(" expected 期望值", " expected"), va="bottom", fontsize=7)
        from matplotlib.ticker import FixedLocator, NullFormatter

        ax.set_xscale("log")
        ax.set_xlim(1, max(2.0, period.max()))
        ticks = [
            t
            for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
            if t <= period.max()
        ]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels([f"{t:,}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(_label("return period, years 重现期（年）", "return period, years"))
        ax.set_ylabel(_label("households returning 返贫户数", "households returning"))
        return _png(fig, encoder).result()


def report_figures(
    villages: gpd.GeoDataFrame,
    maps: Sequence[Choropleth],
    risk_classes: pd.DataFrame,
    hazards: dict[str, str],
) -> list[bytes]:
    """Every figure of the report, as PNG bytes: the village ``maps``, then the class chart
    and the township chart (see ``class_chart``, ``township_chart``). ``hazards``: each
    hazard's title, by name."""
    with _encoder() as encoder:
        pending = _map_pngs(villages, maps, encoder)
        pending.append(_class_png(risk_classes, hazards, encoder))
        pending.append(_township_png(villages, hazards, encoder))
        return [png.result() for png in pending]


def village_maps(villages: gpd.GeoDataFrame, maps: Sequence[Choropleth]) -> list[bytes]:
    """Choropleths of integer class columns (0..4) over the villages, as PNG bytes, one
    per map; the shared parts are drawn once."""
    with _encoder() as encoder:
        return [png.result() for png in _map_pngs(villages, maps, encoder)]


def class_chart(risk_classes: pd.DataFrame, hazards: dict[str, str]) -> bytes:
    """Households per risk class, for each hazard and combined (stacked bars), as PNG;
    ``risk_classes`` holds the counts (columns 0-4) by hazard name and 'combined'."""
    with _encoder() as encoder:
        return _class_png(risk_classes, hazards, encoder).result()


def township_chart(villages: pd.DataFrame, hazards: dict[str, str]) -> bytes:
    """Expected returns per year by township, stacked by hazard, as PNG."""
    with _encoder() as encoder:
        return _township_png(villages, hazards, encoder).result()


def sensitivity_chart(indices: pd.DataFrame, method: str) -> bytes:
    """The indices as horizontal bars, largest at the top, one panel per output that
    varied: Sobol's total index ST with the first-order S1 beside it, or Morris's mu*
    with sigma marked; the confidence intervals as error bars. As PNG."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    sobol = method == "sobol"
    main = "ST" if sobol else "mu_star"
    titles = {
        "expected_returns": _label(
            "County's expected returns a year 全县预计年返贫户数",
            "County's expected returns a year",
        ),
        "returns_avoided": _label(
            "Returns avoided by the chosen measures 入选措施避免的返贫户数",
            "Returns avoided by the chosen measures",
        ),
    }
    panels = [
        (str(output), group.sort_values(main, kind="stable"))
        for output, group in indices.groupby("output", sort=False)
        if group[main].notna().any()
    ]
    with mpl.rc_context(_style()), _encoder() as encoder:
        sizes = [len(group) for _, group in panels]
        fig = Figure(figsize=(7.2, 0.24 * sum(sizes) + 1.3 * len(panels)), dpi=DPI)
        _canvas_class()(fig)
        fig.set_layout_engine("constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=sizes)[:, 0]
        bars = {"ecolor": "#333", "capsize": 2, "elinewidth": 0.8}
        for ax, (output, group) in zip(axes, panels, strict=True):
            y = np.arange(len(group))
            if sobol:
                ax.barh(
                    y + 0.19,
                    group["ST"],
                    0.38,
                    xerr=group["ST_conf"],
                    color="#fdbb84",
                    error_kw=bars,
                    label=_label("ST total 总效应", "ST total"),
                )
                ax.barh(
                    y - 0.19,
                    group["S1"],
                    0.38,
                    xerr=group["S1_conf"],
                    color="#b30000",
                    error_kw=bars,
                    label=_label("S1 first order 一阶", "S1 first order"),
                )
                ax.set_xlabel(_label("share of the variance 方差占比", "share of the variance"))
            else:
                ax.barh(
                    y,
                    group["mu_star"],
                    0.6,
                    xerr=group["mu_star_conf"],
                    color="#fc8d59",
                    error_kw=bars,
                    label="μ*",
                )
                ax.plot(
                    group["sigma"],
                    y,
                    "D",
                    color="#222",
                    markerfacecolor="none",
                    markersize=4,
                    label="σ",
                )
                ax.set_xlabel(
                    _label(
                        "returns a year, across the parameter's range 年返贫户数",
                        "returns a year, across the parameter's range",
                    )
                )
            ax.axvline(0, color="#555", linewidth=0.8)
            ax.set_yticks(y, [_text(p) for p in group["parameter"]], fontsize=7.5)
            ax.set_ylim(-0.6, len(group) - 0.4)
            ax.set_title(titles.get(output, _text(output)), loc="left", fontsize=9)
            ax.legend(fontsize=7, loc="lower right")
        fig.get_layout_engine().execute(fig)  # type: ignore[union-attr]
        return _png(fig, encoder).result()
