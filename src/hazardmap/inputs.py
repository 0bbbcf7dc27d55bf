"""Read and check every input before anything is computed.

One :class:`~hazardmap.problems.Problems` collector serves ``run`` and ``validate`` alike:
each input is read and checked on its own and against the others (every household's
village exists, household coordinates fit their declared CRS and the county, every raster
opens with a CRS and covers the villages, the map's backdrop is a raster), and every
problem is recorded rather than the first one stopping the rest. Checks that need no
raster scan all happen here; the scan itself is the overlay's (``overlay.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hazardmap.cache import CacheEntry, PendingCache, table_arrays, table_from_arrays
from hazardmap.clock import StageClock
from hazardmap.config import (
    Config,
    ConfigDraft,
    HouseholdsSection,
    LayerConfig,
    MapSection,
    VillagesSection,
)
from hazardmap.crs import parse_system
from hazardmap.errors import ConfigError, InputError
from hazardmap.io import read_households, read_villages
from hazardmap.io.coordinates import CoordinateSettings, check_coordinates
from hazardmap.io.feature_checks import check_sites_reach, check_zones_reach, implausible_radii
from hazardmap.io.hazard_features import read_sites, read_zones
from hazardmap.io.income import read_business_split
from hazardmap.paths import real_path
from hazardmap.problems import Problems, names_summary, rows_summary
from hazardmap.raster import Grid, open_source, zones_to_crs
from hazardmap.raster.cube import (
    ReducedCube,
    cube_arrays,
    cube_from_arrays,
    reduce_cube,
    write_reduced,
)
from hazardmap.raster.images import check_backdrop
from hazardmap.results import HazardSites, HazardZones, Inputs, LayerSource

UNCOVERED_TOLERANCE = 0.01
"""A raster may miss up to this share of the villages' area (a sliver along the edge)."""


def read_village_input(
    settings: VillagesSection, path: Path, problems: Problems
) -> gpd.GeoDataFrame | None:
    return problems.attempt(
        lambda: read_villages(
            path,
            id_field=settings.id_field,
            name_field=settings.name_field,
            township_field=settings.township_field,
            crs=settings.crs,
            layer=settings.layer,
            code_digits=settings.code_digits,
            problems=problems,
        )
    )


def _cached_table(
    read: Callable[[], pd.DataFrame], cache: PendingCache, key: str, problems: Problems
) -> pd.DataFrame | None:
    """The household table from the cache, its warnings told again; else read, and kept
    for the cache with the warnings reading it gave."""
    hit = cache.cache.load(key)
    if hit is not None:
        problems.warn(*hit.warnings)
        return table_from_arrays(hit.arrays)
    before = len(problems.warnings)
    table = problems.attempt(read)
    if table is not None:
        cache.pending[key] = CacheEntry(table_arrays(table), problems.warnings[before:])
    return table


def _business_splits(
    settings: HouseholdsSection, path: Path, project_file: Path, problems: Problems
) -> tuple[pd.DataFrame | None, Path | None, bool]:
    """The per-village business split ([households.income] business_split_path), its
    path, and whether it could be used (False: its problem is recorded)."""
    income = settings.income
    if income is None or income.business_split_path is None:
        return None, None, True
    split_path = real_path(project_file.parent / income.business_split_path)
    if split_path == real_path(path):
        problems.record(
            ConfigError(
                f"{project_file}: [households.income] business_split_path names the "
                "household file itself; give the table of business splits by village"
            )
        )
        return None, split_path, False
    splits = problems.attempt(partial(read_business_split, split_path))
    return splits, split_path, splits is not None


def read_household_input(
    settings: HouseholdsSection,
    path: Path,
    project_file: Path,
    villages: tuple[gpd.GeoDataFrame, Path] | None,
    problems: Problems,
    code_digits: int | None = None,
    cache: PendingCache | None = None,
) -> Households | None:
    """Households with checked coordinates, joined to the villages; without villages, the
    file is still read and checked on its own (and None returned). With ``cache``, a table
    read before from the same bytes and settings is taken from it."""
    system = problems.attempt(
        lambda: parse_system(settings.crs, where=f"{project_file}: [households] crs")
    )
    splits, split_path, split_ok = _business_splits(settings, path, project_file, problems)
    read = partial(
        read_households,
        path,
        settings,
        village_splits=splits,
        check_splits=split_ok,
        problems=problems,
    )
    if cache is None or not split_ok or not path.is_file():
        table = problems.attempt(read)
    else:
        key = cache.cache.households_key(path, settings, split_path)
        table = _cached_table(read, cache, key, problems)
    if system is None or table is None or villages is None or not split_ok:
        return None
    village_table, villages_path = villages
    village_index = pd.Index(village_table["village_code"]).get_indexer(table["village_code"])
    unknown = village_index < 0
    if unknown.any():
        codes = table["village_code"][unknown]
        problems.record(
            InputError(
                f"{path}: village code not in {villages_path.name} at "
                f"{rows_summary(table['line'][unknown], codes.tolist())}; "
                + code_mismatch_hint(village_table["village_code"], codes, code_digits=code_digits)
            )
        )
        return None
    if splits is not None and split_path is not None:
        stray = _split_codes_problem(split_path, splits, village_table, villages_path)
        if stray is not None:
            problems.record(stray)
            return None
    coordinates = problems.attempt(
        lambda: check_coordinates(
            table,
            system,
            village_table,
            village_index,
            source=path,
            settings=CoordinateSettings(
                county_tolerance_m=settings.county_tolerance_m,
                village_tolerance_m=settings.village_tolerance_m,
                duplicate_threshold=settings.duplicate_threshold,
            ),
            problems=problems,
        )
    )
    if coordinates is None:
        return None
    checked = table.assign(x=coordinates.x, y=coordinates.y, location_flag=coordinates.flags)
    problems.warn(*_coverage_warnings(path, village_table, village_index))
    return Households(checked, coordinates.crs, village_index)


MOSTLY = 0.8
"""Share of unknown codes that must fit a length rule for the hint to name it: a typo or
two among thousands of cut codes must not hide the rule."""


def code_mismatch_hint(
    village_codes: pd.Series,
    unknown: pd.Series,
    *,
    other: str = "households'",
    code_digits: int | None = None,
) -> str:
    """The fix for codes (of the households, or of another table: ``other``) that the
    villages lack: when most of one side's codes are the other's cut short (12-digit
    codes against 19-digit land-survey codes), say so, with an example of each and the
    codes that fit neither."""
    villages = village_codes.astype(str)
    theirs_all = unknown.astype(str)
    village, theirs = villages.iloc[0], theirs_all.iloc[0]
    example = (
        f"the villages' codes look like '{village}' ({len(village)} characters), the "
        f"{other} like '{theirs}' ({len(theirs)})"
    )
    if len(village) > len(theirs):
        fits = theirs_all.isin(set(villages.str[: len(theirs)]))
        rule = (
            f"the villages' begin with the {other}: set [villages] code_digits = "
            f"{len(theirs)} to cut the villages' codes to that length"
        )
    elif len(theirs) > len(village):
        fits = theirs_all.str[: len(village)].isin(set(villages))
        rule = (
            f"[villages] code_digits = {code_digits} cuts the villages' codes shorter than "
            f"the {other}; set code_digits = {len(theirs)}"
            if code_digits is not None
            else f"the {other} begin with the villages': cut their codes to {len(village)} "
            "characters, or use a column holding the village code"
        )
    else:
        return "correct the code or add the village"
    if fits.mean() < MOSTLY:
        return f"{example}; use the same coding in both files"
    strays = theirs_all[~fits.to_numpy()]
    rest = (
        f" (and correct {names_summary(strays.tolist())}, which fit neither)" if len(strays) else ""
    )
    return f"{example}, and {rule}{rest}"


def _split_codes_problem(
    split_path: Path, splits: pd.DataFrame, villages: gpd.GeoDataFrame, villages_path: Path
) -> InputError | None:
    """Rows of the business split table whose village code no village has: their split
    would silently never apply, and the county's would take its place."""
    stray = ~splits.index.isin(villages["village_code"])
    if not stray.any():
        return None
    codes = pd.Series(splits.index[stray])
    return InputError(
        f"{split_path}: village code(s) {names_summary(codes.tolist())} not in "
        f"{villages_path.name}; "
        + code_mismatch_hint(villages["village_code"], codes, other="business split's")
    )


def _coverage_warnings(
    path: Path, villages: gpd.GeoDataFrame, village_index: np.ndarray
) -> list[str]:
    """Villages the household file leaves without households: their expected returns are
    0, which reads as "safe" on the map."""
    counts = np.bincount(village_index, minlength=len(villages))
    empty = np.flatnonzero(counts == 0)
    if not empty.size:
        return []
    codes = villages["village_code"].to_numpy()[empty]
    return [
        f"{path}: {empty.size:,} of {len(counts):,} villages have no households in the file "
        f"(e.g. {', '.join(map(str, codes[:3]))}); their expected returns are 0: check that "
        "the file covers the whole county"
    ]


MOSTLY_POOR = 0.5
"""More than this share of households below the line already: the units are wrong."""


def income_warnings(
    path: Path, households: pd.DataFrame, line: float, amounts: bool = False
) -> list[str]:
    """Most households already below the monitoring line: income in other units (yuan a
    month, 万元), the wrong column mapped, or a wrong line; hardly anyone could fall back.
    ``amounts``: income came from [households.income], whose likely culprit differs."""
    below = households["income_pc"].to_numpy() < line
    if below.mean() <= MOSTLY_POOR:
        return []
    median = float(np.median(households["income_pc"]))
    check = (
        "check [households.income] per (amounts per household or per person) and the amount "
        "columns, which must be CNY a year"
        if amounts
        else "check that income_pc is CNY per person per year"
    )
    return [
        f"{path}: {below.mean():.0%} of the households have incomes below the monitoring "
        f"line (median income per person {median:,.0f} against a line of {line:,.0f}), so "
        f"hardly any can fall back; {check}, and [project] monitoring_line"
    ]


def _reduced(layer: LayerConfig, cache: PendingCache | None) -> ReducedCube:
    """The layer's cube reduced, from the cache when the file and the reduction are
    those of an earlier run (kept for the cache otherwise)."""
    spec = layer.spec
    assert spec.variable is not None and spec.reduce is not None  # the layer file checks
    key = cache.cache.cube_key(layer) if cache is not None and layer.raster_path.is_file() else ""
    hit = cache.cache.load(key) if cache is not None and key else None
    if hit is not None:
        return cube_from_arrays(hit.arrays)
    cube = reduce_cube(
        layer.raster_path,
        spec.variable,
        spec.reduce.reduction(),
        declared_crs=spec.crs,
        crs_override=spec.crs_override,
        nodata=spec.nodata,
        where=str(layer.file),
    )
    if cache is not None and key:
        cache.pending[key] = CacheEntry(cube_arrays(cube), [])
    return cube


def open_layer(
    layer: LayerConfig, workdir: Path | None, cache: PendingCache | None = None
) -> LayerSource:
    """What the engine will read for ``layer``: its raster, opened to learn its grid; or
    its cube, reduced to one value per cell (or taken from ``cache``) and written into
    ``workdir``."""
    spec = layer.spec
    if spec.source == "cube":
        assert spec.variable is not None and spec.reduce is not None  # the layer file checks
        if workdir is None:
            raise ValueError("a cube layer is reduced into a work folder; give one")
        cube = _reduced(layer, cache)
        path = write_reduced(cube, workdir / f"{layer.name}.tif")
        with open_source(path) as source:
            grid = source.grid
        derivation = {
            "variable": spec.variable,
            "reduction": spec.reduce.reduction().describe(spec.variable),
            "years_used": list(cube.years_used),
            "years_left_out": list(cube.years_left_out),
        }
        return LayerSource(path, {}, grid, derivation)
    with open_source(layer.raster_path, **layer.source_options()) as source:
        return LayerSource(layer.raster_path, layer.source_options(), source.grid)


def read_features(layer: LayerConfig, read: InputsDraft, problems: Problems) -> None:
    """A zones or sites layer's features, and any layer's ``[sites]`` table, into
    ``read`` (each problem recorded)."""
    spec = layer.spec
    if spec.source == "zones":
        zones = problems.attempt(partial(read_zones, layer, problems))
        if zones is not None:
            read.hazard_zones[layer.name] = zones
            if read.villages is not None:
                with problems.collecting():
                    check_zones_reach(layer, zones, read.villages)
    keys = spec.site_keys()
    if keys is None:
        return
    path = layer.raster_path if spec.source == "sites" else layer.sites_path
    assert path is not None
    where = layer.file.name if spec.source == "sites" else f"[sites] of {layer.file.name}"
    nodata = spec.nodata if spec.source == "sites" else None  # else the raster's
    sites = problems.attempt(partial(read_sites, keys, path, where, layer.file, nodata))
    if sites is not None:
        read.hazard_sites[layer.name] = sites
        problems.warn(*implausible_radii(sites))
        if read.villages is not None:
            problems.attempt(partial(check_sites_reach, sites, read.villages, problems))


def check_extent(
    layer: LayerConfig, grid: Grid, villages: gpd.GeoDataFrame, zones: dict[str, np.ndarray]
) -> None:
    """Stop when the raster leaves part of the villages uncovered (from its bounds alone):
    their statistics, and their households, would silently rest on a fraction of their
    area. The villages moved into the raster's CRS are kept in ``zones``."""
    key = grid.crs.to_wkt()
    if key not in zones:
        zones[key] = zones_to_crs(villages, grid.crs)
    geoms = zones[key]
    total = float(shapely.area(geoms).sum())
    inside = float(shapely.area(shapely.clip_by_rect(geoms, *grid.bounds)).sum())
    uncovered = 1.0 - inside / total if total > 0 else 0.0
    if uncovered > UNCOVERED_TOLERANCE:
        raise InputError(
            f"{layer.raster_path}: the raster leaves {uncovered:.0%} of the villages' area "
            "uncovered; use a raster that covers the whole county (or check its CRS)"
        )


@dataclass(frozen=True)
class Households:
    """The household table with checked coordinates in ``crs``, and each household's row
    in the villages."""

    table: pd.DataFrame
    crs: CRS
    village_index: np.ndarray


@dataclass
class InputsDraft:
    """What could be read, each part None where it failed (its problems are recorded)."""

    villages: gpd.GeoDataFrame | None = None
    households: Households | None = None
    grids: dict[str, Grid] = field(default_factory=dict)
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    sources: dict[str, LayerSource] = field(default_factory=dict)
    hazard_zones: dict[str, HazardZones] = field(default_factory=dict)
    hazard_sites: dict[str, HazardSites] = field(default_factory=dict)


def read_inputs(
    draft: ConfigDraft,
    problems: Problems,
    clock: StageClock | None = None,
    cache: PendingCache | None = None,
    workdir: Path | None = None,
) -> InputsDraft:
    """Read and check every input the (possibly partly valid) project names; with
    ``cache``, a household table read before is taken from it. Cube layers are reduced
    into ``workdir``, a folder that lives as long as the run."""
    clock = clock or StageClock()
    read = InputsDraft()
    villages: VillagesSection | None = draft.sections.get("villages")
    joined = None
    if villages is not None:
        villages_path = draft.resolve(villages.path)
        with clock.stage("read villages"):
            read.villages = read_village_input(villages, villages_path, problems)
        joined = None if read.villages is None else (read.villages, villages_path)
    households: HouseholdsSection | None = draft.sections.get("households")
    if households is not None:
        with clock.stage("read households"):
            read.households = read_household_input(
                households,
                draft.resolve(households.path),
                draft.file,
                joined,
                problems,
                code_digits=None if villages is None else villages.code_digits,
                cache=cache,
            )
        project = draft.sections.get("project")
        if read.households is not None and project is not None:
            path = draft.resolve(households.path)
            problems.warn(
                *income_warnings(
                    path,
                    read.households.table,
                    project.monitoring_line,
                    amounts=households.income is not None,
                )
            )
    with clock.stage("open hazard sources"):
        for layer in draft.layers:
            read_features(layer, read, problems)
            if layer.spec.source in ("zones", "sites"):
                continue
            opened = problems.attempt(partial(open_layer, layer, workdir, cache))
            if opened is None:
                continue
            read.sources[layer.name] = opened
            read.grids[layer.name] = grid = opened.grid
            if read.villages is not None:
                with problems.collecting():
                    check_extent(layer, grid, read.villages, read.zones)
        map_section: MapSection | None = draft.sections.get("map")
        if map_section is not None and map_section.backdrop is not None:
            with problems.collecting():
                check_backdrop(draft.resolve(map_section.backdrop))
    return read


def config_draft(config: Config) -> ConfigDraft:
    """A complete project seen as a draft, for the checks that take drafts."""
    return ConfigDraft(config.file, dict(config.settings), config.layers, config)


def assemble(config: Config, read: InputsDraft) -> Inputs:
    """The inputs of a project whose every part was read without error."""
    assert read.villages is not None and read.households is not None
    households = read.households
    return Inputs(
        config,
        read.villages,
        households.table,
        households.crs,
        households.village_index,
        read.grids,
        read.zones,
        read.sources,
        read.hazard_zones,
        read.hazard_sites,
    )
