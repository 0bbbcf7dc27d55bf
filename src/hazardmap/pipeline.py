"""run(config) -> RunResult: read and check the inputs, compute, assemble, write.

Nothing here prints; progress goes to an optional callback, so the command line (or a
notebook, or a benchmark) decides how to show it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from hazardmap.cache import OverlayCache
from hazardmap.clock import ProgressCallback, StageClock
from hazardmap.config import (
    Config,
    ConfigDraft,
    LayerConfig,
    RiskSection,
    read_project,
)
from hazardmap.crs import WGS84
from hazardmap.inputs import Inputs, InputsDraft, assemble, config_draft, read_inputs
from hazardmap.model import Frequency, HazardParams, HouseholdArrays, assess_households
from hazardmap.model.hazard import DamageSpec
from hazardmap.model.interventions import Intervention, rank_interventions, returns_avoided
from hazardmap.model.risk import HouseholdRisk, classify
from hazardmap.model.villages import aggregate_households
from hazardmap.outputs.changes import compare_runs, read_previous
from hazardmap.outputs.staging import interrupted, output_lock, recover
from hazardmap.outputs.target import check_target
from hazardmap.overlay import Overlayer, overlay_layers
from hazardmap.problems import Problems
from hazardmap.raster import Grid
from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS

CACHE_FOLDER = ".hazardmap-cache"
"""Beside the output folder: overlays reused by later runs (safe to delete)."""


@dataclass
class RunResult:
    """What a run produced. ``out_dir`` is None until the outputs are written."""

    villages: gpd.GeoDataFrame
    households: pd.DataFrame
    priorities: pd.DataFrame
    out_dir: Path | None
    config: Config
    grids: dict[str, Grid]
    timings: dict[str, float]
    warnings: list[str]
    changes: pd.DataFrame | None = None
    """Villages changed since the previous run in the output folder."""
    reused_layers: list[str] = field(default_factory=list)
    """Layers whose overlay came from the cache: nothing it depends on had changed."""


def hazard_params(layer: LayerConfig) -> HazardParams:
    """The model's view of a layer file."""
    spec = layer.spec
    damage: dict[str, DamageSpec] = {
        c: (tuple((float(x), float(r)) for x, r in v) if isinstance(v, list) else float(v))
        for c, v in spec.damage.items()
    }
    frequency = Frequency(
        type=spec.frequency.type,
        points=tuple((float(x), float(p)) for x, p in spec.frequency.points or ()),
        damaging_fraction=spec.frequency.damaging_fraction or 1.0,
    )
    return HazardParams(
        name=spec.name, frequency=frequency, damage=damage, housing=dict(spec.housing)
    )


def household_arrays(households: pd.DataFrame) -> HouseholdArrays:
    return HouseholdArrays(
        income=households["income_pc"].to_numpy(dtype=np.float64),
        shares=households[[f"share_{c}" for c in INCOME_COMPONENTS]].to_numpy(dtype=np.float64),
        insured=households["insured"].to_numpy(dtype=bool),
        housing=pd.Categorical(households["housing"], categories=HOUSING_TYPES).codes.astype(
            np.int64
        ),
    )


def _household_table(inputs: Inputs, risk: HouseholdRisk, classes: list[float]) -> pd.DataFrame:
    hh = inputs.households
    located = inputs.located
    lon, lat = _to_wgs84(hh["x"].to_numpy(), hh["y"].to_numpy(), inputs.household_crs)
    table: dict[str, Any] = {
        "household_id": hh["household_id"].to_numpy(),
        "village_code": hh["village_code"].to_numpy(),
        "location_source": np.where(located, "gps", "village"),
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
    table |= {
        "category": hh["category"].to_numpy(),
        "members": hh["members"].to_numpy(),
        "lon": lon,
        "lat": lat,
    }
    return pd.DataFrame(table)


def _to_wgs84(x: np.ndarray, y: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    if crs.equals(CRS.from_epsg(4326)):
        return x, y
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def compute(
    inputs: Inputs,
    problems: Problems | None = None,
    clock: StageClock | None = None,
    cache: OverlayCache | None = None,
    previous: pd.DataFrame | None = None,
) -> RunResult:
    """Village statistics, household risk, village risk, ranked interventions, and the
    changes since ``previous`` (an earlier run's village table)."""
    problems = problems or Problems()
    clock = clock or StageClock()
    cache = cache or OverlayCache(None)
    config = inputs.config
    settings = config.project
    line = settings.project.monitoring_line
    sigma = settings.project.income_sigma
    cover = settings.project.insurance_cover
    classes = list(settings.risk.classes)
    with clock.stage("overlay rasters"):
        overlays, reused = overlay_layers(inputs, problems, cache)
    intensities = {name: overlay.value for name, overlay in overlays.items()}

    with clock.stage("household risk"):
        arrays = household_arrays(inputs.households)
        hazards = [hazard_params(layer) for layer in config.layers]
        risk = assess_households(arrays, hazards, intensities, line=line, sigma=sigma, cover=cover)
        households = _household_table(inputs, risk, classes)

    with clock.stage("village risk"):
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
        for name in config.hazard_names:
            table[f"{name}_mean"] = overlays[name].mean
            table[f"{name}_max"] = overlays[name].maximum
            table[f"{name}_level"] = overlays[name].level
            table[f"{name}_expected_returns"] = table.pop(f"{name}_expected_returns")
        village_table = gpd.GeoDataFrame(
            table, geometry=villages.geometry.to_crs(4326).values, crs=4326
        )

    with clock.stage("interventions"):
        interventions = [
            Intervention(
                name=item.name,
                hazard=item.hazard,
                cost_per_household=item.cost_per_household,
                probability_factor=item.probability_factor,
                damage_factor=item.damage_factor,
                insure=item.insure,
            )
            for item in settings.interventions
        ]
        avoided = {
            item.name: pd.Series(
                returns_avoided(
                    item, arrays, hazards, intensities, risk, line=line, sigma=sigma, cover=cover
                )
            )
            .groupby(households["village_code"].to_numpy())
            .sum()
            .reindex(codes, fill_value=0.0)
            .to_numpy()
            for item in interventions
        }
        priorities = rank_interventions(
            pd.DataFrame(avoided, index=range(len(codes))),
            interventions,
            table[["village_code", "name", "n_households"]],
            settings.planning.budget_cny,
        )
    current = pd.DataFrame(village_table.drop(columns="geometry"))
    return RunResult(
        villages=village_table,
        households=households,
        priorities=priorities,
        out_dir=None,
        config=config,
        grids=inputs.grids,
        timings=clock.timings,
        warnings=problems.warnings,
        changes=None if previous is None else compare_runs(previous, current, config.hazard_names),
        reused_layers=reused,
    )


@dataclass
class ValidationReport:
    """Every problem found, at once: errors (the run would stop) and warnings."""

    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def _scan_for_validate(draft: ConfigDraft, read: InputsDraft, problems: Problems) -> None:
    """Overlay every raster that opened on the villages (and the households, if they
    were read), for the problems only a scan finds (no valid cell, values out of range)."""
    if read.villages is None:
        return
    if read.households is not None:
        households, crs = read.households
        x, y = households["x"].to_numpy(), households["y"].to_numpy()
        index = pd.Index(read.villages["village_code"]).get_indexer(households["village_code"])
    else:
        x = y = np.empty(0)
        crs, index = WGS84, np.empty(0, dtype=np.int64)
    risk = draft.sections.get("risk") or RiskSection()
    overlayer = Overlayer(
        read.villages, read.grids, x, y, crs, index, risk.min_area_share, problems, read.zones
    )
    for layer in draft.layers:
        if layer.name in read.grids:
            problems.attempt(partial(overlayer.layer, layer))


def _read(
    config: Config | str | Path, problems: Problems, clock: StageClock | None = None
) -> tuple[ConfigDraft, InputsDraft]:
    """The project and every input it names, every problem recorded in ``problems``."""
    draft = config_draft(config) if isinstance(config, Config) else read_project(config, problems)
    if draft.config is not None:
        problems.warn(*draft.config.warnings)
    return draft, read_inputs(draft, problems, clock)


def validate(config: Config | str | Path) -> ValidationReport:
    """Check every input, and each against the others, collecting every problem rather
    than stopping at the first. Nothing is written and no risk is computed; the rasters
    are read over the villages, since that is how their coverage and values are checked."""
    problems = Problems()
    draft, read = _read(config, problems)
    if draft.config is not None:
        target = draft.config.outputs_dir
        with problems.collecting():
            check_target(target, protected=draft.config.input_paths())
        if interrupted(target):
            problems.warn(
                f"{target}: an earlier run into this folder was interrupted; the next run "
                "restores the previous outputs before it writes"
            )
    _scan_for_validate(draft, read, problems)
    return ValidationReport(problems.errors, problems.warnings)


def run(
    config: Config | str | Path,
    out: str | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """The whole pipeline: read and check every input, compute, and write every output into
    ``out`` (default: the project file's [outputs] dir), replacing it only when all is
    written, and only if it is a folder hazardmap wrote (or an empty or new one).

    Bad input raises a HazardmapError naming the first problem and counting the others,
    before anything is written."""
    from hazardmap.outputs import write_outputs

    clock = StageClock(progress)
    started = time.perf_counter()
    problems = Problems()
    draft, read = _read(config, problems, clock)
    target = None
    if draft.config is not None:
        target = Path(out).resolve() if out is not None else draft.config.outputs_dir
        with problems.collecting():
            check_target(target, protected=draft.config.input_paths())
    problems.raise_errors()
    assert draft.config is not None and target is not None  # else an error was raised
    inputs = assemble(draft.config, read)
    with output_lock(target):
        recover(target)  # a run killed mid-swap is repaired before its outputs are read
        previous = read_previous(target)
        cache = OverlayCache(target.parent / CACHE_FOLDER)
        result = compute(inputs, problems, clock, cache, previous)
        with clock.stage("write outputs"):
            result.out_dir = write_outputs(
                result, target, total_seconds=time.perf_counter() - started
            )
    return result
