"""Each layer over villages and households, whatever its source.

A raster (or a reduced cube) gives the villages' coverage-weighted statistics and level
and each household's value from one scan; layers on the same grid share the villages'
pixel geometry and the households' cell entries. Each raster layer's map image (warped to
Web Mercator and classed by its levels) is made here too, through the same raster opener
as the statistics (same band, masks and CRS). Zones and sites go to ``vectors.py``, and a
``[sites]`` table raises any source's household values there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS

from hazardmap.config import LayerConfig
from hazardmap.errors import InputError
from hazardmap.model.villages import hazard_level, village_class
from hazardmap.overlay.result import LayerOverlay
from hazardmap.overlay.vectors import VectorFrame
from hazardmap.problems import Problems
from hazardmap.raster import (
    Grid,
    PointJob,
    ZonalJob,
    open_source,
    points_in_grid,
    scan,
    to_pixel_space,
    zones_to_crs,
)
from hazardmap.raster.images import layer_image
from hazardmap.raster.kernels import Coverage
from hazardmap.raster.source import SourceOptions
from hazardmap.results import HazardSites, HazardZones, Inputs, LayerSource

_WHY_MISSING = {
    "raster": "nodata, NaN or infinite cells, or off the raster",
    "cube": "nodata, NaN or infinite cells, or off the cube",
    "zones": "outside every zone with no outside value, or in a zone of the layer's nodata",
    "sites": "no site value",
}


def _grid_key(grid: Grid) -> tuple[object, ...]:
    return (tuple(grid.transform), grid.width, grid.height, grid.crs.to_wkt())


@dataclass
class Overlayer:
    """Overlays layers on villages and households, sharing work between them: layers on
    one grid share the villages' pixel geometry and the households' cell entries, zones
    and sites layers the villages and households in one equal-area projection."""

    villages: gpd.GeoDataFrame
    grids: Mapping[str, Grid]
    x: np.ndarray
    y: np.ndarray
    crs: CRS
    """The households' coordinates (NaN: placed by the village) and their CRS."""
    village_index: np.ndarray
    min_area_share: float
    problems: Problems
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    """The villages in each raster CRS (by WKT), shared with the inputs' extent checks."""
    sources: Mapping[str, LayerSource] = field(default_factory=dict)
    """What to read for each layer (default: its raster, with its options)."""
    hazard_zones: Mapping[str, HazardZones] = field(default_factory=dict)
    hazard_sites: Mapping[str, HazardSites] = field(default_factory=dict)
    household_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    monitored: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    """Which households are monitored (any category but none), for the sites' counts."""
    _pixel_zones: dict[tuple[object, ...], Any] = field(default_factory=dict)
    _pixel_points: dict[tuple[object, ...], Any] = field(default_factory=dict)

    @classmethod
    def of(cls, inputs: Inputs, problems: Problems) -> Overlayer:
        households = inputs.households
        return cls(
            villages=inputs.villages,
            grids=inputs.grids,
            x=households["x"].to_numpy(),
            y=households["y"].to_numpy(),
            crs=inputs.household_crs,
            village_index=inputs.village_index,
            min_area_share=inputs.config.settings.risk.min_area_share,
            problems=problems,
            zones=inputs.zones,
            sources=inputs.sources,
            hazard_zones=inputs.hazard_zones,
            hazard_sites=inputs.hazard_sites,
            household_ids=households["household_id"].to_numpy(),
            monitored=households["category"].to_numpy() != "none",
        )

    @cached_property
    def vectors(self) -> VectorFrame:
        return VectorFrame(
            villages=self.villages,
            x=self.x,
            y=self.y,
            crs=self.crs,
            village_index=self.village_index,
            household_ids=self.household_ids,
            monitored=self.monitored
            if len(self.monitored) == len(self.x)
            else np.zeros(len(self.x), dtype=bool),
            min_area_share=self.min_area_share,
            problems=self.problems,
        )

    def layer(self, layer: LayerConfig) -> LayerOverlay:
        """The layer over the villages and households, from its source, raised by its
        ``[sites]`` table if it has one."""
        source = layer.spec.source
        if source == "zones":
            overlay = self.vectors.zones_layer(layer, self.hazard_zones[layer.name])
        elif source == "sites":
            overlay = self.vectors.sites_layer(layer, self.hazard_sites[layer.name])
        else:
            overlay = self._raster_layer(layer)
        if layer.spec.sites is not None:
            overlay = self.vectors.with_sites(layer, overlay, self.hazard_sites[layer.name])
        has_data = np.isfinite(overlay.maximum)
        self._report_missing(layer, overlay.value, has_data)
        self._report_clamped(layer, overlay.value)
        return overlay

    def _zones(self, grid: Grid) -> Any:
        key = _grid_key(grid)
        if key not in self._pixel_zones:
            wkt = grid.crs.to_wkt()
            if wkt not in self.zones:
                self.zones[wkt] = zones_to_crs(self.villages, grid.crs)
            self._pixel_zones[key] = to_pixel_space(self.zones[wkt], grid)
        return self._pixel_zones[key]

    def _points(self, grid: Grid, method: str) -> Any:
        key = (*_grid_key(grid), method)
        if key not in self._pixel_points:
            self._pixel_points[key] = points_in_grid(self.x, self.y, self.crs, grid, method=method)
        return self._pixel_points[key]

    def _raster_layer(self, layer: LayerConfig) -> LayerOverlay:
        """Coverage-weighted mean, max and level per village, and each household's value,
        from one strip-by-strip read of the layer's raster."""
        grid = self.grids[layer.name]
        breaks = tuple(float(b) for b in layer.spec.levels)
        limits = layer.spec.valid_range
        checks = () if limits is None else (limits[0], float(np.nextafter(limits[1], np.inf)))
        frequency = layer.spec.hazard_params().frequency
        classes = frequency.class_values() if frequency.is_classes else np.empty(0)
        near = frequency.class_tolerance() if frequency.is_classes else np.empty(0)
        edges = tuple(  # a class's cells: from just below it to just above it
            float(e)
            for c, t in zip(classes, near, strict=True)
            for e in (c - t, np.nextafter(c + t, np.inf))
        )
        zonal = ZonalJob(self._zones(grid), Coverage.FRACTION, breaks + checks + edges)
        sampled = PointJob(self._points(grid, layer.spec.sampling))
        path, options = self._read_from(layer)
        with open_source(path, **options) as source:
            scan(source, [zonal], [sampled])
        red = zonal.result()
        has_data = red.weight > 0
        if not has_data.any():
            raise InputError(
                f"{layer.raster_path}: no valid cell under any village (all nodata, or the "
                "raster lies elsewhere); check the file, its nodata value and its CRS"
            )
        if limits is not None:
            self._check_range(layer, red.weight, red.weight_above, len(breaks))
        shares = np.column_stack([red.frac_above(b) for b in breaks])
        level = hazard_level(np.nan_to_num(shares), has_data, self.min_area_share)
        value = sampled.result()
        by_village = ~(np.isfinite(self.x) & np.isfinite(self.y))
        class_shares = None
        if frequency.is_classes:
            value = frequency.snap_to_classes(value)
            first = len(breaks) + len(checks)
            exact = red.weight_above[:, first::2] - red.weight_above[:, first + 1 :: 2]
            self._check_classes(layer, classes, red.weight, exact, value)
            with np.errstate(invalid="ignore", divide="ignore"):
                class_shares = exact / red.weight[:, None]
            mean = np.full(len(red.weight), np.nan)
            village_value = village_class(class_shares, classes, self.min_area_share)
        else:
            mean = village_value = red.mean()
        value[by_village] = village_value[self.village_index[by_village]]
        image = layer_image(path, breaks, options=SourceOptions(**options))
        return LayerOverlay(mean, red.maximum, level, value, image, class_shares)

    def _read_from(self, layer: LayerConfig) -> tuple[Path, dict[str, Any]]:
        """The file the engine reads for ``layer`` and its options: the raster, or the
        grid its cube was reduced to."""
        source = self.sources.get(layer.name)
        if source is None:
            return layer.raster_path, layer.source_options()
        return source.path, dict(source.options)

    def _check_classes(
        self,
        layer: LayerConfig,
        classes: np.ndarray,
        weight: np.ndarray,
        exact: np.ndarray,
        value: np.ndarray,
    ) -> None:
        """Every value under the villages and at the households must be a class: any
        other would be interpolated or dropped, never a class's probability."""
        stray_area = weight - exact.sum(axis=1)
        stray_points = np.isfinite(value) & ~np.isin(value, classes)
        spread = stray_area > 1e-9 * np.maximum(weight, 1.0)
        if not spread.any() and not stray_points.any():
            return
        share = float(stray_area[spread].sum() / weight.sum())
        found = sorted({float(v) for v in value[stray_points]})[:5]
        seen = f" (households sit on {found})" if found else ""
        raise InputError(
            f"{layer.raster_path}: values that are no class of [frequency] points cover "
            f"{share:.1%} of the villages' area in {int(spread.sum())} village(s){seen}; "
            f"every value must be one of the classes {[float(c) for c in classes]}: add "
            "the missing classes to the points, or declare a value that means no data with "
            f"nodata in {layer.file.name}"
        )

    def _check_range(
        self, layer: LayerConfig, weight: np.ndarray, above: np.ndarray, n_breaks: int
    ) -> None:
        """Warn about values outside the layer's valid_range under the villages."""
        assert layer.spec.valid_range is not None
        low, high = layer.spec.valid_range
        below = weight - above[:, n_breaks]
        over = above[:, n_breaks + 1]
        villages_out = int(((below + over) > 1e-9 * np.maximum(weight, 1)).sum())
        if villages_out:
            total = float(weight.sum())
            self.problems.warn(
                f"{layer.raster_path}: values outside the layer's valid_range "
                f"[{low:g}, {high:g}] in {villages_out} village(s), covering "
                f"{below.sum() / total:.1%} (below) and {over.sum() / total:.1%} (above) of "
                "the villages' area; check the raster's units and nodata value"
            )

    def _report_clamped(self, layer: LayerConfig, value: np.ndarray) -> None:
        """Household values the layer's frequency rule can only clamp: the raster's units
        are probably not the ones the rule expects."""
        frequency = layer.spec.hazard_params().frequency
        outside = frequency.outside_domain(value)
        if outside.any():
            self.problems.warn(
                f"{layer.file}: {int(outside.sum()):,} households have {layer.name} values "
                f"outside {frequency.domain()}, which the [frequency] rule clamps; check the "
                "raster's units against the layer's frequency"
            )

    def _report_missing(self, layer: LayerConfig, value: np.ndarray, has_data: np.ndarray) -> None:
        """Households and villages left without a value: their risk is missing, and says so."""
        households = int((~np.isfinite(value)).sum())
        villages = int((~has_data).sum())
        if households or villages:
            self.problems.warn(
                f"{layer.raster_path}: {households:,} households and {villages:,} villages have "
                f"no {layer.name} value ({_WHY_MISSING[layer.spec.source]}), so their risk is "
                "reported as missing (class 0, no data); check the "
                + (
                    "zones and outside"
                    if layer.spec.source == "zones"
                    else "raster's nodata value and coverage"
                )
            )
