"""run(config) -> RunResult: read and check the inputs, compute, assemble, write.

Nothing here prints; progress goes to an optional callback, so the command line (or a
notebook, or a benchmark) decides how to show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hazardmap.cache import OverlayCache
from hazardmap.config import Config, LayerConfig, load_config
from hazardmap.errors import HazardmapError, InputError
from hazardmap.io import read_households, read_villages
from hazardmap.io.chinese_crs import offset_system, to_wgs84
from hazardmap.io.coordinates import check_coordinates
from hazardmap.io.problems import rows_summary
from hazardmap.model import Frequency, HazardParams, HouseholdArrays, assess_households
from hazardmap.model.hazard import DamageSpec
from hazardmap.model.interventions import Intervention, rank_interventions, returns_avoided
from hazardmap.model.risk import HouseholdRisk, classify
from hazardmap.model.villages import aggregate_households, hazard_level
from hazardmap.raster import (
    Grid,
    PointJob,
    ZonalJob,
    open_source,
    points_in_grid,
    scan,
    to_pixel_space,
)
from hazardmap.raster.kernels import FRACTION
from hazardmap.raster.source import parse_crs
from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS

CACHE_FOLDER = ".hazardmap-cache"
"""Beside the output folder: overlays reused by later runs (safe to delete)."""

ProgressCallback = Callable[[str, int, int], None]
"""Called as progress(stage, index, total) when a stage starts."""

STAGES = (
    "read villages",
    "read households",
    "open rasters",
    "overlay rasters",
    "household risk",
    "village risk",
    "interventions",
    "write outputs",
)


@dataclass
class StageClock:
    """Wall time per stage, and the progress callback that announces each stage."""

    progress: ProgressCallback | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, STAGES.index(name), len(STAGES))
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


@dataclass
class Inputs:
    """Everything read and checked, ready to compute."""

    config: Config
    villages: gpd.GeoDataFrame
    households: pd.DataFrame
    household_crs: CRS
    grids: dict[str, Grid]
    warnings: list[str]


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
    """Villages changed since the previous run in the output folder (set when written)."""
    reused_layers: list[str] = field(default_factory=list)
    """Layers whose overlay came from the cache: nothing it depends on had changed."""


def _as_config(config: Config | str | Path) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def _read_villages(config: Config, warnings: list[str]) -> gpd.GeoDataFrame:
    settings = config.project.villages
    return read_villages(
        config.villages_path,
        id_field=settings.id_field,
        name_field=settings.name_field,
        township_field=settings.township_field,
        crs=settings.crs,
        warnings=warnings,
    )


def _read_households(
    config: Config, villages: gpd.GeoDataFrame, warnings: list[str]
) -> tuple[pd.DataFrame, CRS]:
    """Households with WGS84 (or their declared CRS's) coordinates, checked against the
    villages: every village code must exist; suspicious coordinates are handled."""
    settings = config.project.households
    households = read_households(
        config.households_path,
        fields=settings.fields,
        lon_field=settings.lon_field,
        lat_field=settings.lat_field,
    )
    system = offset_system(settings.crs)
    if system is not None:
        lon, lat = to_wgs84(system, households["x"].to_numpy(), households["y"].to_numpy())
        households = households.assign(x=lon, y=lat)
        crs = CRS.from_epsg(4326)
    else:
        crs = parse_crs(settings.crs, where=f"{config.file}: [households] crs")
    unknown = ~households["village_code"].isin(villages["village_code"]).to_numpy()
    if unknown.any():
        lines = np.flatnonzero(unknown) + 2
        raise InputError(
            f"{config.households_path}: village code not in {config.villages_path.name} at "
            f"{rows_summary(lines, households['village_code'][unknown].tolist())}; "
            "correct the code or add the village"
        )
    check = check_coordinates(
        households,
        crs,
        villages,
        source=config.households_path,
        county_tolerance_m=settings.county_tolerance_m,
        village_tolerance_m=settings.village_tolerance_m,
        duplicate_threshold=settings.duplicate_threshold,
    )
    warnings.extend(check.warnings)
    return check.households.assign(location_flag=check.flags), crs


def _open_grid(layer: LayerConfig) -> Grid:
    with open_source(layer.raster_path, declared_crs=layer.spec.crs) as source:
        return source.grid


def load_inputs(config: Config, clock: StageClock | None = None) -> Inputs:
    """Read every input and check it against the others; raise on the first problem."""
    clock = clock or StageClock()
    warnings: list[str] = []
    with clock.stage("read villages"):
        villages = _read_villages(config, warnings)
    with clock.stage("read households"):
        households, household_crs = _read_households(config, villages, warnings)
    with clock.stage("open rasters"):
        grids = {layer.name: _open_grid(layer) for layer in config.layers}
    return Inputs(config, villages, households, household_crs, grids, warnings)


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


def _grid_key(grid: Grid) -> tuple[object, ...]:
    return (tuple(grid.transform), grid.width, grid.height, grid.crs.to_wkt())


UNCOVERED_TOLERANCE = 0.01
"""A raster may miss up to this share of the villages' area (a sliver along the edge)."""


def _check_extent(layer: LayerConfig, grid: Grid, villages: gpd.GeoDataFrame) -> None:
    """Stop when the raster leaves part of the villages uncovered: their statistics (and
    their households) would silently rest on a fraction of their area."""
    geoms = np.asarray(villages.geometry.to_crs(grid.crs).values)
    total = float(shapely.area(geoms).sum())
    inside = float(shapely.area(shapely.clip_by_rect(geoms, *grid.bounds)).sum())
    uncovered = 1.0 - inside / total if total > 0 else 0.0
    if uncovered > UNCOVERED_TOLERANCE:
        raise InputError(
            f"{layer.raster_path}: the raster leaves {uncovered:.0%} of the villages' area "
            "uncovered; use a raster that covers the whole county (or check its CRS)"
        )


@dataclass
class _Overlay:
    """Rasters over villages and households, layer by layer. Layers on the same grid share
    the villages' pixel geometry and the households' cell entries."""

    inputs: Inputs
    zones: dict[tuple[object, ...], Any] = field(default_factory=dict)
    points: dict[tuple[object, ...], Any] = field(default_factory=dict)
    x: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)
    located: np.ndarray = field(init=False)
    village_index: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        households = self.inputs.households
        self.x = households["x"].to_numpy()
        self.y = households["y"].to_numpy()
        self.located = np.isfinite(self.x) & np.isfinite(self.y)
        self.village_index = pd.Index(self.inputs.villages["village_code"]).get_indexer(
            households["village_code"]
        )

    def layer(self, layer: LayerConfig) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Coverage-weighted mean, max and level per village, and each household's
        intensity, from one strip-by-strip read of the layer's raster."""
        inputs = self.inputs
        grid = inputs.grids[layer.name]
        key = _grid_key(grid)
        if key not in self.zones:
            geoms = np.asarray(inputs.villages.geometry.to_crs(grid.crs).values)
            self.zones[key] = to_pixel_space(geoms, grid)
        method = layer.spec.sampling
        if (key, method) not in self.points:
            self.points[key, method] = points_in_grid(
                self.x, self.y, inputs.household_crs, grid, method=method
            )
        breaks = tuple(float(b) for b in layer.spec.levels)
        limits = layer.spec.valid_range
        checks = () if limits is None else (limits[0], float(np.nextafter(limits[1], np.inf)))
        zonal = ZonalJob(self.zones[key], FRACTION, breaks + checks)
        sampled = PointJob(self.points[key, method])
        with open_source(layer.raster_path, declared_crs=layer.spec.crs) as source:
            scan(source, [zonal], [sampled])
        red = zonal.result()
        has_data = red.weight > 0
        if not has_data.any():
            raise InputError(
                f"{layer.raster_path}: no valid cell under any village (all nodata, or the "
                "raster lies elsewhere); check the file, its nodata value and its CRS"
            )
        _check_extent(layer, grid, inputs.villages)
        if limits is not None:
            below = red.weight - red.weight_above[:, len(breaks)]
            above = red.weight_above[:, len(breaks) + 1]
            villages_out = int(((below + above) > 1e-9 * np.maximum(red.weight, 1)).sum())
            if villages_out:
                total = float(red.weight.sum())
                inputs.warnings.append(
                    f"{layer.raster_path}: values outside the layer's valid_range "
                    f"[{limits[0]:g}, {limits[1]:g}] in {villages_out} village(s), covering "
                    f"{below.sum() / total:.1%} (below) and {above.sum() / total:.1%} (above) of "
                    "the villages' area; check the raster's units and nodata value"
                )
        shares = np.column_stack([red.frac_above(b) for b in breaks])
        mean = red.mean()
        stats = {
            "mean": mean,
            "max": red.maximum,
            "level": hazard_level(
                np.nan_to_num(shares), has_data, inputs.config.project.risk.min_area_share
            ),
        }
        value = sampled.result()
        value[~self.located] = mean[self.village_index[~self.located]]
        return stats, value


def _village_hazard_stats(
    inputs: Inputs, clock: StageClock, cache: OverlayCache
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray], list[str]]:
    """Per layer: village statistics and household intensities (see _Overlay), taken from
    the cache where nothing they depend on changed. Also returns the layers reused."""
    overlay = _Overlay(inputs)
    stats: dict[str, dict[str, np.ndarray]] = {}
    intensities: dict[str, np.ndarray] = {}
    reused = []
    for layer in inputs.config.layers:
        with clock.stage("overlay rasters"):
            key = cache.key(inputs.config, layer) if cache.folder is not None else ""
            hit = cache.load(key) if key else None
            if hit is not None:
                stats[layer.name], intensities[layer.name], warnings = hit
                inputs.warnings.extend(warnings)
                reused.append(layer.name)
                continue
            before = len(inputs.warnings)
            stats[layer.name], intensities[layer.name] = overlay.layer(layer)
            if key:
                cache.store(
                    key, stats[layer.name], intensities[layer.name], inputs.warnings[before:]
                )
    return stats, intensities, reused


def _household_table(inputs: Inputs, risk: HouseholdRisk, classes: list[float]) -> pd.DataFrame:
    hh = inputs.households
    located = np.isfinite(hh["x"].to_numpy()) & np.isfinite(hh["y"].to_numpy())
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
    inputs: Inputs, clock: StageClock | None = None, cache: OverlayCache | None = None
) -> RunResult:
    """Village statistics, household risk, village risk and ranked interventions."""
    clock = clock or StageClock()
    cache = cache or OverlayCache(None)
    config = inputs.config
    settings = config.project
    line = settings.project.monitoring_line
    sigma = settings.project.income_sigma
    cover = settings.project.insurance_cover
    classes = list(settings.risk.classes)
    stats, intensities, reused = _village_hazard_stats(inputs, clock, cache)

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
            table[f"{name}_mean"] = stats[name]["mean"]
            table[f"{name}_max"] = stats[name]["max"]
            table[f"{name}_level"] = stats[name]["level"]
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
    return RunResult(
        villages=village_table,
        households=households,
        priorities=priorities,
        out_dir=None,
        config=config,
        grids=inputs.grids,
        timings=clock.timings,
        warnings=inputs.warnings,
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


def validate(config: Config | str | Path) -> ValidationReport:
    """Check every input, and each against the others, collecting every problem rather
    than stopping at the first. Nothing is written and no risk is computed; the rasters
    are read over the villages, since that is how their coverage and values are checked."""
    errors: list[str] = []
    warnings: list[str] = []

    def attempt(step: Callable[[], Any]) -> Any:
        try:
            return step()
        except HazardmapError as exc:
            errors.extend(exc.problems or [str(exc)])
            return None

    cfg: Config | None = attempt(lambda: _as_config(config))
    if cfg is None:
        return ValidationReport(errors, warnings)
    villages = attempt(lambda: _read_villages(cfg, warnings))
    read = None
    if villages is not None:
        read = attempt(lambda: _read_households(cfg, villages, warnings))
    else:  # without villages, the households file is still checked on its own
        households_settings = cfg.project.households
        attempt(lambda: read_households(cfg.households_path, fields=households_settings.fields))
    grids: dict[str, Grid | None] = {}
    for layer in cfg.layers:
        grids[layer.name] = attempt(partial(_open_grid, layer))
    if villages is not None and read is not None and None not in grids.values():
        households, crs = read
        opened = {name: grid for name, grid in grids.items() if grid is not None}
        overlay = _Overlay(Inputs(cfg, villages, households, crs, opened, warnings))
        for layer in cfg.layers:
            attempt(partial(overlay.layer, layer))
    return ValidationReport(errors, warnings)


def run(
    config: Config | str | Path,
    out: str | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """The whole pipeline: read, check, compute, and write every output into ``out``
    (default: the project file's [outputs] dir), replacing it only when all is written."""
    from hazardmap.outputs import write_outputs

    cfg = _as_config(config)
    clock = StageClock(progress)
    started = time.perf_counter()
    target = Path(out).resolve() if out is not None else cfg.outputs_dir
    cache = OverlayCache(target.parent / CACHE_FOLDER)
    result = compute(load_inputs(cfg, clock), clock, cache)
    with clock.stage("write outputs"):
        result.out_dir = write_outputs(result, target, total_seconds=time.perf_counter() - started)
    return result
