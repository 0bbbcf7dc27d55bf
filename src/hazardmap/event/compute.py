"""compute_event(inputs, event, footprint) -> EventResult: who the event reaches, the
event model, and the tables the writers write. Nothing here reads or writes a file."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.config import EventConfig
from hazardmap.crs import WGS84, system_of
from hazardmap.environment import versions
from hazardmap.io.footprint import Footprint
from hazardmap.model import HouseholdArrays
from hazardmap.model.event import EventOutcome, assess_event
from hazardmap.overlay.footprint import footprint_reach
from hazardmap.overlay.rasters import Overlayer
from hazardmap.problems import Problems
from hazardmap.raster.images import layer_image
from hazardmap.raster.source import SourceOptions
from hazardmap.results import EventResult, Inputs, MapImage


def reason(event: EventConfig) -> str:
    """因灾 with the hazard's Chinese title (else its title) and the date."""
    layer = event.layer.spec
    return f"因灾（{layer.title_zh or layer.title}，{event.spec.date.isoformat()}）"


def household_table(inputs: Inputs, outcome: EventOutcome) -> pd.DataFrame:
    hh = inputs.households
    lon, lat = system_of(inputs.household_crs).transform(
        hh["x"].to_numpy(), hh["y"].to_numpy(), WGS84
    )
    return pd.DataFrame(
        {
            "household_id": hh["household_id"].to_numpy(),
            "village_code": hh["village_code"].to_numpy(),
            "in_footprint": outcome.in_footprint,
            "event_intensity": outcome.intensity,
            "event_loss": outcome.loss,
            "q_event": outcome.q_event,
            "q0": outcome.q0,
            "event_risk": outcome.risk,
            "need_cny": outcome.need,
            "lead": outcome.lead,
            "category": hh["category"].to_numpy(),
            "members": hh["members"].to_numpy(),
            "lon": lon,
            "lat": lat,
        }
    )


def lead_table(
    households: pd.DataFrame, villages: gpd.GeoDataFrame, event: EventConfig
) -> pd.DataFrame:
    """The leads, best first (highest event risk, then the largest need, then the id)."""
    leads = households[households["lead"]].merge(
        pd.DataFrame(villages[["village_code", "name", "township"]]), on="village_code"
    )
    leads = leads.sort_values(
        ["event_risk", "need_cny", "household_id"], ascending=[False, False, True], kind="stable"
    )
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(leads) + 1),
            "township": leads["township"].to_numpy(),
            "village_code": leads["village_code"].to_numpy(),
            "village": leads["name"].to_numpy(),
            "household_id": leads["household_id"].to_numpy(),
            "category": leads["category"].to_numpy(),
            "hazard": event.layer.name,
            "date": event.spec.date.isoformat(),
            "reason": reason(event),
            "event_risk": leads["event_risk"].to_numpy(),
            "need_cny": leads["need_cny"].to_numpy(),
        }
    )


def village_table(inputs: Inputs, households: pd.DataFrame, event: EventConfig) -> gpd.GeoDataFrame:
    villages = inputs.villages
    index = inputs.village_index
    n = len(villages)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(index, np.asarray(values, dtype=np.float64), minlength=n)

    expected = total(households["event_risk"].to_numpy())
    table = pd.DataFrame(
        {
            "village_code": villages["village_code"].to_numpy(),
            "name": villages["name"].to_numpy(),
            "township": villages["township"].to_numpy(),
            "households_in_footprint": total(households["in_footprint"].to_numpy()).astype(
                np.int64
            ),
            "expected_returns": expected,
            "leads": total(households["lead"].to_numpy()).astype(np.int64),
            "need_cny": total(households["need_cny"].to_numpy()),
            "at_scale": expected >= event.spec.at_scale_returns,
        }
    )
    return gpd.GeoDataFrame(table, geometry=villages.geometry.to_crs(4326).values, crs=4326)


def footprint_shapes(footprint: Footprint) -> gpd.GeoDataFrame | None:
    """The footprint's polygons in EPSG:4326 with their intensity, for the map."""
    if footprint.polygons is None or footprint.crs is None:
        return None
    shapes = gpd.GeoSeries(footprint.polygons, crs=footprint.crs).to_crs(WGS84)
    rounded = shapely.transform(np.asarray(shapes.values), lambda xy: np.round(xy, 5))
    return gpd.GeoDataFrame({"intensity": footprint.intensity}, geometry=rounded, crs=WGS84)


def footprint_image(footprint: Footprint, values: np.ndarray) -> MapImage | None:
    """A raster footprint as a class image (four classes of the intensity the households
    see), for the map."""
    if not footprint.is_raster:
        return None
    seen = values[np.isfinite(values)]
    quartiles = np.quantile(seen, [0.25, 0.5, 0.75]) if len(seen) else np.zeros(3)
    steps = np.maximum.accumulate(quartiles) + np.array([1e-12, 2e-12, 3e-12])  # increasing
    breaks = tuple(float(b) for b in steps)
    options = SourceOptions(declared_crs=footprint.declared_crs, variable=footprint.variable)
    return layer_image(footprint.path, breaks, options=options)


def compute_event(
    inputs: Inputs, event: EventConfig, footprint: Footprint, problems: Problems
) -> EventResult:
    """The event's households, leads and villages, and the footprint for the map."""
    config = inputs.config
    frame = Overlayer.of(inputs, problems).vectors
    reach = footprint_reach(footprint, frame, problems)
    hh = inputs.households
    outcome = assess_event(
        HouseholdArrays.from_table(hh),
        hh["members"].to_numpy(),
        reach.inside,
        reach.intensity,
        damage=event.damage,
        housing=event.housing,
        lead_threshold=event.spec.lead_threshold,
        **config.settings.project.poverty_terms(),
    )
    households = household_table(inputs, outcome)
    villages = village_table(inputs, households, event)
    return EventResult(
        event=event,
        config=config,
        households=households,
        leads=lead_table(households, villages, event),
        villages=villages,
        footprint=footprint_shapes(footprint),
        footprint_image=footprint_image(footprint, outcome.intensity),
        warnings=tuple(problems.warnings),
        versions=versions(),
    )
