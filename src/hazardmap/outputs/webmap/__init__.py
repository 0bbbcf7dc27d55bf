"""map.html: villages by combined risk, hazard level and expected returns; hazard rasters,
zones and sites; households by risk class; a search box, legends, a scale bar and full screen.

The page is one self-contained file: Leaflet's script, style sheet and images are inlined
from the xstatic-leaflet package and every raster is an inlined image, so it opens with
no network. Online, an OpenStreetMap basemap is one choice of background; offline, a
hillshade of the project's elevation raster (``[map] backdrop``) stands in for it.
Text that comes from input data is HTML-escaped before it reaches tooltips and popups,
and set as plain text (never parsed as HTML) in the search box and household tooltips.
Element ids are numbered, not random: the same run writes the same bytes.

``page`` makes the page, ``features`` the data the layers draw, ``layers`` one builder
per kind of layer (each with its legend section), ``elements`` our own folium elements
(household layer, controls), whose scripts are in ``outputs/templates/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import pandas as pd

from hazardmap.outputs.webmap.elements import LayerControl, LayerWithLegend, MapControls
from hazardmap.outputs.webmap.features import (
    changed_features,
    returns_breaks,
    search_names,
    village_features,
)
from hazardmap.outputs.webmap.layers import (
    any_return,
    backdrops,
    changed_villages,
    combined_risk,
    expected_returns,
    hazard_levels,
    hazard_raster,
    hazard_sites,
    hazard_zones,
    household_points,
)
from hazardmap.outputs.webmap.page import new_map, number_elements

if TYPE_CHECKING:
    import geopandas as gpd

    from hazardmap.config import LayerConfig
    from hazardmap.results import MapImage

__all__ = ["LayerWithLegend", "build_map", "write_map"]


def _overlays(
    villages: gpd.GeoDataFrame,
    households: pd.DataFrame,
    layers: Sequence[LayerConfig],
    layer_images: Mapping[str, MapImage],
    changes: pd.DataFrame | None,
    show_households: bool,
    layer_zones: Mapping[str, gpd.GeoDataFrame],
    layer_sites: Mapping[str, pd.DataFrame],
) -> list[LayerWithLegend]:
    """The map's overlays in the order they are listed, the combined risk first."""
    hazards = [layer.name for layer in layers]
    breaks = returns_breaks(villages["expected_returns"].to_numpy(dtype=float))
    data = village_features(villages, hazards, breaks)
    overlays = [combined_risk(data, layers), expected_returns(data, breaks)]
    if "p_any_return" in villages.columns:
        overlays.append(any_return(data))
    for layer in layers:
        overlays.append(hazard_levels(data, layer))
        if layer.name in layer_images:
            overlays.append(hazard_raster(layer_images[layer.name], layer))
        if layer.name in layer_zones:
            overlays.append(hazard_zones(layer_zones[layer.name], layer))
        if layer.name in layer_sites:
            overlays.append(hazard_sites(layer_sites[layer.name], layer))
    changed = changed_features(changes, hazards, data)
    if changed is not None:
        overlays.append(changed_villages(changed))
    if show_households:
        overlays.append(household_points(households))
    return overlays


def build_map(
    *,
    villages: gpd.GeoDataFrame,
    households: pd.DataFrame,
    layers: Sequence[LayerConfig],
    layer_images: Mapping[str, MapImage],
    relief: MapImage | None,
    changes: pd.DataFrame | None,
    show_households: bool,
    title: str,
    layer_zones: Mapping[str, gpd.GeoDataFrame] | None = None,
    layer_sites: Mapping[str, pd.DataFrame] | None = None,
) -> folium.Map:
    """The interactive map as a folium Map, its elements numbered (not yet written).

    ``villages``: one row per village (the contract's columns), polygons in EPSG:4326;
    ``households``: the households table; ``layers``: the hazard layers, in order;
    ``layer_images``: each raster layer's class image; ``layer_zones`` and
    ``layer_sites``: each zones layer's zones and each layer's hazard sites;
    ``relief``: the offline backdrop, if any;
    ``changes``: the villages changed since the previous run (None without one);
    ``show_households``: ``[map] households``; ``title``: the project's name."""
    west, south, east, north = villages.total_bounds
    fmap = new_map((west, south, east, north), title)
    for backdrop in backdrops(relief):
        backdrop.add_to(fmap)
    overlays = _overlays(
        villages,
        households,
        layers,
        layer_images,
        changes,
        show_households,
        layer_zones or {},
        layer_sites or {},
    )
    for overlay in overlays:
        overlay.layer.add_to(fmap)
    LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(MapControls(overlays, villages=overlays[0].layer, names=search_names(villages)))
    fmap.fit_bounds([[south, west], [north, east]])
    number_elements(fmap.get_root())
    return fmap


def write_map(
    path: Path,
    *,
    villages: gpd.GeoDataFrame,
    households: pd.DataFrame,
    layers: Sequence[LayerConfig],
    layer_images: Mapping[str, MapImage],
    relief: MapImage | None,
    changes: pd.DataFrame | None,
    show_households: bool,
    title: str,
    layer_zones: Mapping[str, gpd.GeoDataFrame] | None = None,
    layer_sites: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    """Render the map (see :func:`build_map`) and write it as one self-contained HTML file."""
    fmap = build_map(
        villages=villages,
        households=households,
        layers=layers,
        layer_images=layer_images,
        relief=relief,
        changes=changes,
        show_households=show_households,
        title=title,
        layer_zones=layer_zones,
        layer_sites=layer_sites,
    )
    fmap.save(str(path))
