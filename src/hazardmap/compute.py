"""compute(inputs) -> RunResult: overlays, the risk model, the tables the writers write.

Everything a writer needs is computed here and held by the frozen result: the village,
household and priority tables, the households per risk class, the map images, and the
changes since an earlier run (the baseline). Nothing here reads an input file or writes an
output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.cache import OverlayCache
from hazardmap.clock import StageClock
from hazardmap.config import Config
from hazardmap.crs import WGS84, system_of
from hazardmap.environment import versions
from hazardmap.model import HouseholdArrays, assess_households
from hazardmap.model.changes import (
    HOUSEHOLD_CHANGE_COLUMNS,
    change_columns,
    compare_households,
    compare_runs,
    differing_inputs,
)
from hazardmap.model.interventions import rank_interventions
from hazardmap.model.risk import HouseholdRisk, classify
from hazardmap.model.scenarios import Exposure, Parameters, avoided_by_village
from hazardmap.model.villages import aggregate_households
from hazardmap.overlay import LayerOverlay, overlay_layers, relief
from hazardmap.overlay.vectors import moved
from hazardmap.problems import Problems
from hazardmap.results import Baseline, Comparison, InputChange, Inputs, RunResult
from hazardmap.vector.zones import county_equal_area, display_zones
from hazardmap.years import simulate_run


def site_ids(inputs: Inputs, name: str, overlay: LayerOverlay) -> np.ndarray:
    """Per household, the id of the hazard site that set its x ('' for none)."""
    assert overlay.sites is not None
    ids = np.asarray(inputs.hazard_sites[name].ids, dtype=object)
    site = overlay.sites.site
    return np.where(site >= 0, ids[np.maximum(site, 0)] if len(ids) else "", "")


def household_table(
    inputs: Inputs,
    risk: HouseholdRisk,
    classes: list[float],
    overlays: Mapping[str, LayerOverlay] | None = None,
) -> pd.DataFrame:
    """One row per household: where its values came from, its risk, and per hazard the
    value, event probability, loss and risk (and the hazard site that set the value, for
    a layer with sites); coordinates in WGS84."""
    hh = inputs.households
    lon, lat = system_of(inputs.household_crs).transform(
        hh["x"].to_numpy(), hh["y"].to_numpy(), WGS84
    )
    table: dict[str, Any] = {
        "household_id": hh["household_id"].to_numpy(),
        "village_code": hh["village_code"].to_numpy(),
        "location_source": np.where(inputs.located, "gps", "village"),
        "location_flag": hh["location_flag"].to_numpy(),
        "q0": risk.q0,
        "risk": risk.risk,
        "risk_class": classify(risk.risk, classes),
    }
    for name, outcome in risk.hazards.items():
        table[f"{name}_value"] = outcome.value
        table[f"{name}_p"] = outcome.probability
        table[f"{name}_loss"] = outcome.loss
        table[f"{name}_risk"] = outcome.risk
        overlay = (overlays or {}).get(name)
        if overlay is not None and overlay.sites is not None:
            table[f"{name}_site"] = site_ids(inputs, name, overlay)
    table |= {
        "category": hh["category"].to_numpy(),
        "housing": hh["housing"].to_numpy(),
        "members": hh["members"].to_numpy(),
        "lon": lon,
        "lat": lat,
    }
    return pd.DataFrame(table)


def village_table(
    inputs: Inputs,
    households: pd.DataFrame,
    risk: HouseholdRisk,
    overlays: Mapping[str, LayerOverlay],
    classes: list[float],
) -> gpd.GeoDataFrame:
    """One row per village: household aggregates, risk class, and per hazard the raster
    statistics, level and expected returns; polygons in EPSG:4326."""
    villages = inputs.villages
    codes = villages["village_code"].tolist()
    aggregates = aggregate_households(
        codes,
        households["village_code"].to_numpy(),
        households["members"].to_numpy(),
        risk.risk,
        households["risk_class"].to_numpy(),
        {name: outcome.risk for name, outcome in risk.hazards.items()},
    )
    table = pd.DataFrame(
        {
            "village_code": codes,
            "name": villages["name"].to_numpy(),
            "township": villages["township"].to_numpy(),
        }
    )
    table = table.merge(aggregates, on="village_code", how="left", validate="one_to_one")
    table.insert(
        list(table.columns).index("risk_mean") + 1,
        "risk_class",
        classify(table["risk_mean"].to_numpy(), classes),
    )
    for name, overlay in overlays.items():
        table[f"{name}_mean"] = overlay.mean
        table[f"{name}_max"] = overlay.maximum
        table[f"{name}_level"] = overlay.level
        if overlay.sites is not None:
            table[f"{name}_sites"] = overlay.sites.sites_inside
            table[f"{name}_exposed_households"] = overlay.sites.exposed
        if overlay.class_shares is not None:
            frequency = inputs.config.layer(name).spec.hazard_params().frequency
            for j, value in enumerate(frequency.class_values()):
                table[f"{name}_share_{value:g}"] = overlay.class_shares[:, j]
        table[f"{name}_expected_returns"] = table.pop(f"{name}_expected_returns")
    return gpd.GeoDataFrame(table, geometry=villages.geometry.to_crs(4326).values, crs=4326)


DISPLAY_DECIMALS = 5
"""Degrees kept in the map's zone outlines: about a metre, well under a pixel."""


def zone_shapes(inputs: Inputs, name: str) -> gpd.GeoDataFrame:
    """A zones layer's zones that reach the villages, simplified for the map (the
    statistics used the zones as drawn), with their labels and values, in EPSG:4326."""
    zones = inputs.hazard_zones[name]
    metric = county_equal_area(inputs.villages)
    geoms = moved(zones.geometry, zones.crs, metric)
    county = shapely.union_all(np.asarray(inputs.villages.geometry.to_crs(metric).values))
    shapes, keep = display_zones(geoms, county)
    degrees = np.asarray(gpd.GeoSeries(shapes, crs=metric).to_crs(WGS84).values)
    rounded = shapely.transform(degrees, lambda xy: np.round(xy, DISPLAY_DECIMALS))
    return gpd.GeoDataFrame(
        {"label": zones.label[keep], "value": zones.value[keep]}, geometry=rounded, crs=WGS84
    )


def site_table(inputs: Inputs, name: str, overlay: LayerOverlay) -> pd.DataFrame:
    """A layer's hazard sites with the village each lies in and the households (and
    monitored households) each threatens, most monitored first."""
    assert overlay.sites is not None
    sites = inputs.hazard_sites[name]
    lon, lat = system_of(sites.crs).transform(sites.x, sites.y, WGS84)
    villages = inputs.villages.to_crs(WGS84)
    tree = shapely.STRtree(np.asarray(villages.geometry.values))
    site, village = tree.query(shapely.points(lon, lat), predicate="intersects")
    row = np.full(len(lon), -1)
    row[site[::-1]] = village[::-1]  # the first village holding the site
    held = row >= 0
    pick = np.maximum(row, 0)
    table = pd.DataFrame(
        {
            "site_id": sites.ids,
            "label": sites.label,
            "value": sites.value,
            "lon": lon,
            "lat": lat,
            "radius_m": sites.radius_m,
            "village_code": np.where(held, villages["village_code"].to_numpy()[pick], ""),
            "village": np.where(held, villages["name"].to_numpy()[pick], ""),
            "township": np.where(held, villages["township"].to_numpy()[pick], ""),
            "households": overlay.sites.threatened,
            "monitored": overlay.sites.monitored,
        }
    )
    return table.sort_values(
        ["monitored", "households", "value"], ascending=False, kind="stable"
    ).reset_index(drop=True)


def exposure_of(inputs: Inputs, intensities: Mapping[str, np.ndarray]) -> Exposure:
    """The households and their intensities as the model re-runs on them."""
    codes = inputs.villages["village_code"].to_numpy(dtype=str)
    return Exposure(
        households=HouseholdArrays.from_table(inputs.households),
        intensities=intensities,
        village=inputs.village_index,
        village_order=np.unique(codes, return_inverse=True)[1].ravel(),
    )


def configured_parameters(config: Config) -> Parameters:
    """The model's parameters as the project and its layers configure them."""
    settings = config.settings
    project = settings.project
    return Parameters(
        hazards=tuple(layer.spec.hazard_params() for layer in config.layers),
        interventions=tuple(item.intervention() for item in settings.interventions),
        line=project.monitoring_line,
        sigma=project.income_sigma,
        cover=project.insurance_cover,
        budget=settings.planning.budget_cny,
    )


def priorities(
    exposure: Exposure, parameters: Parameters, risk: HouseholdRisk, villages: pd.DataFrame
) -> pd.DataFrame:
    """Every (village, intervention) pair that avoids returns, ranked, chosen on the budget."""
    avoided = avoided_by_village(exposure, parameters, risk)
    names = [item.name for item in parameters.interventions]
    return rank_interventions(
        pd.DataFrame(avoided, columns=names, index=range(len(villages))),
        parameters.interventions,
        villages[["village_code", "name", "n_households"]],
        parameters.budget,
    )


def risk_classes(
    households: pd.DataFrame, hazards: tuple[str, ...], classes: list[float]
) -> pd.DataFrame:
    """Households per risk class (columns 0-4) for each hazard's risk and the combined one."""
    counts = {
        name: classify(households[f"{name}_risk"].to_numpy(dtype=float), classes)
        for name in hazards
    }
    counts["combined"] = households["risk_class"].to_numpy()
    return pd.DataFrame(
        {name: np.bincount(c.astype(np.int64), minlength=5)[:5] for name, c in counts.items()}
    ).T


def compare(
    baseline: Baseline,
    villages: pd.DataFrame,
    households: pd.DataFrame,
    hazards: tuple[str, ...],
    min_returns: float,
    recorded_inputs: Sequence[Mapping[str, Any]] | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, Comparison]:
    """This run against ``baseline``: the changed villages, the households whose risk
    class changed (None when the baseline has no household table), and what was compared
    with, including the inputs whose SHA-256 differs (by role)."""
    changes = compare_runs(baseline.villages, villages, hazards, min_returns)
    household_changes = (
        None if baseline.households is None else compare_households(baseline.households, households)
    )
    differing = None
    if baseline.inputs is not None and recorded_inputs is not None:
        pairs = differing_inputs(baseline.inputs, recorded_inputs)
        differing = tuple(InputChange(*item) for item in pairs)
    comparison = Comparison(
        folder=baseline.folder,
        previous_run=baseline.previous_run,
        created=baseline.created,
        manifest_sha256=baseline.manifest_sha256,
        min_returns=min_returns,
        inputs=differing,
    )
    return changes, household_changes, comparison


def compute(
    inputs: Inputs,
    problems: Problems | None = None,
    clock: StageClock | None = None,
    cache: OverlayCache | None = None,
    previous: Baseline | None = None,
    recorded_inputs: Sequence[Mapping[str, Any]] | None = None,
) -> RunResult:
    """Village statistics, household risk, village risk, ranked interventions, and the
    changes since ``previous`` (an earlier run read back, or just its village table).
    ``recorded_inputs``: this run's inputs as the manifest records them (role, SHA-256),
    to name those that differ from the earlier run's."""
    problems = problems or Problems()
    clock = clock or StageClock()
    cache = cache or OverlayCache(None)
    config = inputs.config
    classes = list(config.settings.risk.classes)
    with clock.stage("overlay layers"):
        overlays, reused = overlay_layers(inputs, problems, cache)
        shade = relief(config.backdrop_path, cache)
    intensities = {name: overlay.value for name, overlay in overlays.items()}

    with clock.stage("household risk"):
        exposure = exposure_of(inputs, intensities)
        parameters = configured_parameters(config)
        arrays = exposure.households
        risk = assess_households(
            arrays, parameters.hazards, intensities, **parameters.poverty_terms()
        )
        households = household_table(inputs, risk, classes, overlays)

    with clock.stage("village risk"):
        villages = village_table(inputs, households, risk, overlays, classes)

    with clock.stage("simulate years"):
        simulated = simulate_run(inputs, arrays, risk, config)
    if simulated is not None:
        villages["p_any_return"] = simulated.p_any_return
        villages["returns_1in20"] = simulated.returns_1in20
        villages = villages[[*(c for c in villages.columns if c != "geometry"), "geometry"]]

    with clock.stage("interventions"):
        ranked = priorities(exposure, parameters, risk, villages)
    current = pd.DataFrame(villages.drop(columns="geometry"))
    changes = household_changes = comparison = None
    if previous is not None:
        changes, household_changes, comparison = compare(
            previous,
            current,
            households,
            config.hazard_names,
            config.settings.changes.min_returns,
            recorded_inputs,
        )
    return RunResult(
        villages=villages,
        households=households,
        priorities=ranked,
        config=config,
        grids=inputs.grids,
        timings=dict(clock.timings),
        warnings=tuple(problems.warnings),
        changes=changes,
        changes_header=tuple(change_columns(config.hazard_names)),
        reused_layers=tuple(reused),
        risk_classes=risk_classes(households, config.hazard_names, classes),
        layer_images={
            name: overlay.image for name, overlay in overlays.items() if overlay.image is not None
        },
        layer_zones={
            name: shapes for name in inputs.hazard_zones if len(shapes := zone_shapes(inputs, name))
        },
        layer_sites={
            name: site_table(inputs, name, overlay)
            for name, overlay in overlays.items()
            if overlay.sites is not None
        },
        relief=shade,
        versions=versions(),
        household_changes=household_changes,
        household_changes_header=HOUSEHOLD_CHANGE_COLUMNS,
        comparison=comparison,
        recorded_inputs=recorded_inputs,
        years=None if simulated is None else simulated.years.table(),
        exceedance=None if simulated is None else simulated.exceedance,
        simulation=None if simulated is None else simulated.summary(config, risk),
    )
