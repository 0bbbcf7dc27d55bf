"""Zones and hazard sites as a layer's source, and a ``[sites]`` table on top of any
source: the same village statistics, level and household values a raster gives.

Everything is computed in one equal-area projection centred on the villages (exact areas,
distances true to a few parts in a million across a county).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from hazardmap.config import LayerConfig
from hazardmap.crs import system_of
from hazardmap.errors import InputError
from hazardmap.model.hazard import Frequency
from hazardmap.model.villages import hazard_level, village_class
from hazardmap.overlay.result import LayerOverlay, SiteReach
from hazardmap.problems import Problems, names_summary
from hazardmap.results import HazardSites, HazardZones
from hazardmap.vector.sites import (
    Exposure,
    covered_value,
    exposure,
    highest_reaching,
    named_pairs,
    sites_inside,
    sites_reaching,
    threatened_pairs,
)
from hazardmap.vector.zones import (
    county_equal_area,
    disjoint_zones,
    zone_areas,
    zone_value_at,
)


def moved(geoms: np.ndarray, source: CRS, target: CRS) -> np.ndarray:
    """Geometries moved from ``source`` into ``target`` (x = longitude in degrees)."""
    system = system_of(source)
    return shapely.transform(
        geoms, lambda xy: np.column_stack(system.transform(xy[:, 0], xy[:, 1], target))
    )


@dataclass
class VectorFrame:
    """Villages and households in the run's equal-area projection, shared by every zones
    and sites layer of a run."""

    villages: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    crs: CRS
    """The households' coordinates (NaN: placed by the village) and their CRS."""
    village_index: np.ndarray
    household_ids: np.ndarray
    monitored: np.ndarray
    min_area_share: float
    problems: Problems

    @cached_property
    def equal_area(self) -> CRS:
        return county_equal_area(self.villages)

    @cached_property
    def village_polygons(self) -> np.ndarray:
        return np.asarray(self.villages.geometry.to_crs(self.equal_area).values)

    @cached_property
    def households_xy(self) -> tuple[np.ndarray, np.ndarray]:
        return system_of(self.crs).transform(self.x, self.y, self.equal_area)

    @property
    def unlocated(self) -> np.ndarray:
        return ~(np.isfinite(self.x) & np.isfinite(self.y))

    def zones_layer(self, layer: LayerConfig, zones: HazardZones) -> LayerOverlay:
        """Village mean, max, level (and a class layer's shares) from the zones' exact
        areas in each village; each household's value by point in polygon."""
        frequency = layer.spec.hazard_params().frequency
        check_classes(layer, frequency, zones.value, "zone", zones.label, layer.raster_path)
        geoms = moved(zones.geometry, zones.crs, self.equal_area)
        areas = zone_areas(
            self.village_polygons, disjoint_zones(geoms, zones.value), zones.value
        ).with_outside(zones.outside)
        has_data = areas.weight > 0
        breaks = np.asarray(layer.spec.levels, dtype=np.float64)
        level = hazard_level(
            np.nan_to_num(areas.share_at_or_above(breaks)), has_data, self.min_area_share
        )
        value = zone_value_at(*self.households_xy, geoms, zones.value, zones.outside)
        class_shares = None
        if frequency.is_classes:
            class_shares = areas.share_of(frequency.class_values())
            mean = np.full(len(has_data), np.nan)
            by_village = village_class(class_shares, frequency.class_values(), self.min_area_share)
        else:
            mean = by_village = areas.mean()
        outside = ~self.unlocated & ~np.isfinite(value)
        if np.isnan(zones.outside) and outside.any():
            self.problems.warn(
                f"{layer.raster_path}: {int(outside.sum()):,} households lie outside every "
                f"zone and {layer.file.name} sets no outside value, so their {layer.name} "
                "risk is missing; set outside (e.g. the lowest class) if the zoning covers "
                "every hazard area"
            )
        value[self.unlocated] = by_village[self.village_index[self.unlocated]]
        maximum = areas.maximum()
        return LayerOverlay(mean, maximum, level, value, class_shares=class_shares)

    def sites_layer(self, layer: LayerConfig, sites: HazardSites) -> LayerOverlay:
        """Households take the highest value among the sites threatening them, ``outside``
        elsewhere; a village's max is the highest value reaching it, its level from that
        (a point hazard has no area share) and its mean empty."""
        spec = layer.spec
        assert spec.outside is not None  # the layer file checks
        reach = self._reach(layer, sites)
        threat = reach.threat
        value = np.where(threat.exposed, threat.value, spec.outside)
        placed = self.unlocated & ~threat.exposed
        by_village = np.where(np.isfinite(reach.covered), reach.covered, spec.outside)
        value[placed] = by_village[self.village_index[placed]]
        highest = highest_reaching(*reach.reaching, sites.value, len(self.village_polygons))
        maximum = np.fmax(highest, spec.outside)
        breaks = np.asarray(spec.levels, dtype=np.float64)
        level = hazard_level(
            (maximum[:, None] >= breaks[None, :]).astype(np.float64),
            np.ones(len(maximum), dtype=bool),
            self.min_area_share,
        )
        mean = np.full(len(maximum), np.nan)
        return LayerOverlay(mean, maximum, level, value, sites=reach.with_site(threat.site))

    def with_sites(
        self, layer: LayerConfig, overlay: LayerOverlay, sites: HazardSites
    ) -> LayerOverlay:
        """A layer's own overlay raised by its ``[sites]`` table: a threatened household
        takes the higher x of the two; the village statistics stay the source's."""
        reach = self._reach(layer, sites)
        threat = reach.threat
        own = overlay.value
        value = np.where(threat.exposed, np.fmax(own, threat.value), own)
        placed = self.unlocated & ~threat.exposed
        value[placed] = np.fmax(own[placed], reach.covered[self.village_index[placed]])
        sets = threat.exposed & ~(own > threat.value)  # the site's x is the household's
        site = np.where(sets, threat.site, -1)
        return LayerOverlay(
            overlay.mean,
            overlay.maximum,
            overlay.level,
            value,
            overlay.image,
            overlay.class_shares,
            reach.with_site(site),
        )

    def _reach(self, layer: LayerConfig, sites: HazardSites) -> _Reach:
        """What a layer's sites reach, checked against its classes: the households each
        threatens (within the radius, or named by the register) and the most dangerous
        site of each household, the villages each reaches, the value their circles give
        households placed by their village, and the counts."""
        frequency = layer.spec.hazard_params().frequency
        check_classes(layer, frequency, sites.value, "site", sites.label, sites.path)
        sx, sy = system_of(sites.crs).transform(sites.x, sites.y, self.equal_area)
        near = threatened_pairs(sx, sy, sites.radius_m, *self.households_xy)
        named_site, named_household, unknown = named_pairs(sites.named, self.household_ids)
        if unknown:
            self.problems.warn(
                f"{sites.path}: the register names {len(unknown):,} household id(s) that the "
                f"household file does not hold ({names_summary(unknown)}); check the ids in "
                f"the sites' households field of {layer.file.name}"
            )
        site = np.concatenate([near[0], named_site])
        household = np.concatenate([near[1], named_household])
        unique = (
            np.unique(np.column_stack([site, household]), axis=0)
            if len(site)
            else np.empty((0, 2), np.int64)
        )
        site, household = unique[:, 0], unique[:, 1]
        n_sites = len(sites.ids)
        threatened = np.bincount(site, minlength=n_sites)
        monitored = np.bincount(
            site, self.monitored[household].astype(np.float64), minlength=n_sites
        )
        exposed_households = np.unique(household)
        n_villages = len(self.village_polygons)
        reaching = sites_reaching(self.village_polygons, sx, sy, sites.radius_m)
        covered = covered_value(
            self.village_polygons,
            sx,
            sy,
            sites.radius_m,
            sites.value,
            reaching,
            self.min_area_share,
        )
        return _Reach(
            exposure(site, household, sites.value, len(self.x)),
            reaching,
            covered,
            sites_inside(self.village_polygons, sx, sy),
            np.bincount(self.village_index[exposed_households], minlength=n_villages),
            threatened,
            monitored.astype(np.int64),
        )


@dataclass(frozen=True)
class _Reach:
    threat: Exposure
    reaching: tuple[np.ndarray, np.ndarray]
    """(site, village) pairs with the village within the site's radius."""
    covered: np.ndarray
    """Per village, the value the sites' circles give households placed by it (NaN)."""
    sites_inside: np.ndarray
    exposed: np.ndarray
    threatened: np.ndarray
    monitored: np.ndarray

    def with_site(self, site: np.ndarray) -> SiteReach:
        return SiteReach(site, self.sites_inside, self.exposed, self.threatened, self.monitored)


def check_classes(
    layer: LayerConfig,
    frequency: Frequency,
    values: np.ndarray,
    unit: str,
    labels: np.ndarray,
    path: Path,
) -> None:
    """On a class layer, every zone's or site's x must be a class: never interpolated."""
    if not frequency.is_classes:
        return
    stray = np.isfinite(values) & ~np.isin(
        frequency.snap_to_classes(values), frequency.class_values()
    )  # NaN: a zone of the layer's nodata, no value at all
    if stray.any():
        found = sorted({str(label) for label in labels[stray]})
        raise InputError(
            f"{path}: {int(stray.sum())} {unit}(s) have values that are no class "
            f"of [frequency] points ({names_summary(found)}); on a class layer every value "
            f"must be one of {[float(c) for c in frequency.class_values()]}: map the labels to "
            f"classes with classes = {{ ... }} in {layer.file.name}"
        )
