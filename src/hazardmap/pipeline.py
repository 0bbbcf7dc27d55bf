"""validate and run: read and check every input, compute, write. Glue only.

Nothing here prints; progress goes to an optional callback, so the command line (or a
notebook, or a benchmark) decides how to show it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hazardmap.cache import OverlayCache, PendingCache
from hazardmap.clock import ProgressCallback, StageClock
from hazardmap.compute import compute
from hazardmap.config import Config, ConfigDraft, RiskSection, read_project
from hazardmap.config.uncertainty import check_paths
from hazardmap.crs import WGS84
from hazardmap.errors import ConfigError
from hazardmap.inputs import InputsDraft, assemble, config_draft, read_inputs
from hazardmap.io.previous import read_baseline
from hazardmap.outputs import write_outputs
from hazardmap.outputs.manifest import input_files
from hazardmap.outputs.staging import interrupted, output_lock, recover
from hazardmap.outputs.target import check_target
from hazardmap.overlay import Overlayer
from hazardmap.paths import real_path
from hazardmap.problems import Problems
from hazardmap.results import Baseline, Inputs, RunResult, ValidationReport

CACHE_FOLDER = ".hazardmap-cache"
"""Beside the output folder: overlays reused by later runs (safe to delete)."""


def cube_derivations(inputs: Inputs) -> dict[str, Mapping[str, Any] | None]:
    """How each cube layer's grid was derived, for the manifest."""
    return {name: source.derivation for name, source in inputs.sources.items()}


def read_project_draft(config: Config | str | Path, problems: Problems) -> ConfigDraft:
    """The project file and its layers, every problem recorded in ``problems``."""
    draft = config_draft(config) if isinstance(config, Config) else read_project(config, problems)
    if draft.config is not None:
        problems.warn(*draft.config.warnings)
    return draft


def _read(
    config: Config | str | Path, problems: Problems, workdir: Path
) -> tuple[ConfigDraft, InputsDraft]:
    """The project and every input it names, every problem recorded in ``problems``."""
    draft = read_project_draft(config, problems)
    return draft, read_inputs(draft, problems, workdir=workdir)


def _baseline(
    config: Config, target: Path, compare_to: str | Path | None
) -> tuple[Path, str] | None:
    """The folder given to compare with (``compare_to`` before ``[changes] baseline``) and
    where it was given, for messages; None for the previous run in ``target`` (the default,
    and what a baseline that is the target itself means)."""
    if compare_to is not None:
        folder, source = real_path(compare_to), "--compare-to"
    elif config.baseline_path is not None:
        folder, source = config.baseline_path, f"{config.file}: [changes] baseline"
    else:
        return None
    return None if folder == real_path(target) else (folder, source)


def _check_target(
    target: Path, config: Config, problems: Problems, baseline: Path | None = None
) -> None:
    """Whether a run may replace ``target``; the project's inputs, and a baseline folder
    other than the target, must be neither the target nor inside nor around it."""
    protected = config.input_paths() + ([] if baseline is None else [baseline])
    with problems.collecting():
        check_target(target, protected=protected)


def _scan(draft: ConfigDraft, read: InputsDraft, problems: Problems) -> None:
    """Overlay every layer whose source could be read on the villages (and the
    households, if they were read), for the problems only an overlay finds (no valid
    cell, values out of range, values that are no class, households outside every zone)."""
    if read.villages is None:
        return
    households = read.households
    risk = draft.sections.get("risk") or RiskSection()
    overlayer = Overlayer(
        villages=read.villages,
        grids=read.grids,
        x=np.empty(0) if households is None else households.table["x"].to_numpy(),
        y=np.empty(0) if households is None else households.table["y"].to_numpy(),
        crs=WGS84 if households is None else households.crs,
        village_index=np.empty(0, np.int64) if households is None else households.village_index,
        min_area_share=risk.min_area_share,
        problems=problems,
        zones=read.zones,
        sources=read.sources,
        hazard_zones=read.hazard_zones,
        hazard_sites=read.hazard_sites,
        household_ids=np.empty(0, dtype=object)
        if households is None
        else households.table["household_id"].to_numpy(),
    )
    for layer in draft.layers:
        source_read = {
            "zones": layer.name in read.hazard_zones,
            "sites": layer.name in read.hazard_sites,
        }.get(layer.spec.source, layer.name in read.grids)
        if source_read and (layer.spec.sites is None or layer.name in read.hazard_sites):
            problems.attempt(partial(overlayer.layer, layer))


def validate(
    config: Config | str | Path, *, compare_to: str | Path | None = None
) -> ValidationReport:
    """Check every input, and each against the others, collecting every problem rather
    than stopping at the first. Nothing is written and no risk is computed; the rasters
    are read over the villages, since that is how their coverage and values are checked.
    The baseline a run would compare with (``compare_to``, else ``[changes] baseline``)
    is checked too."""
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="hazardmap-") as work:  # reduced cubes
        _validate(config, problems, Path(work), compare_to)
    return ValidationReport(tuple(problems.errors), tuple(problems.warnings))


def _validate(
    config: Config | str | Path,
    problems: Problems,
    workdir: Path,
    compare_to: str | Path | None,
) -> None:
    draft, read = _read(config, problems, workdir)
    if draft.config is not None:
        target = draft.config.outputs_dir
        given = _baseline(draft.config, target, compare_to)
        if given is not None:  # its problem first: it explains the target's, if any
            with problems.collecting():
                read_baseline(given[0], problems, previous_run=False, source=given[1])
        _check_target(target, draft.config, problems, None if given is None else given[0])
        if interrupted(target):
            problems.warn(
                f"{target}: an earlier run into this folder was interrupted; the next run "
                "restores the previous outputs before it writes"
            )
    _scan(draft, read, problems)
    project = draft.config
    if project is not None and read.villages is not None and project.settings.uncertainty:
        interventions = [item.name for item in project.settings.interventions]
        _, found = check_paths(
            project.settings.uncertainty,
            project.hazard_names,
            interventions,
            villages=len(read.villages),
        )
        if found:
            problems.record(ConfigError(*(f"{project.file}: {problem}" for problem in found)))


def run(
    config: Config | str | Path,
    out: str | Path | None = None,
    *,
    compare_to: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """The whole pipeline: read and check every input, compute, and write every output into
    ``out`` (default: the project file's [outputs] dir), replacing it only when all is
    written, and only if it is a folder hazardmap wrote (or an empty or new one).

    changes.csv and household_changes.csv compare this run with ``compare_to`` (an output
    folder of an earlier run), else with the project file's ``[changes] baseline``, else
    with the previous run in ``out``; a baseline that is ``out`` itself is that previous
    run. A baseline that is not a hazardmap output folder is an error naming
    ``--compare-to`` or the key.

    Bad input raises a HazardmapError naming the first problem and counting the others,
    before anything is written."""
    clock = StageClock(progress)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hazardmap-") as work:  # reduced cubes
        result, target = _run(config, out, compare_to, clock, Path(work), started)
    return result.written_to(target, clock.timings)


def _run(
    config: Config | str | Path,
    out: str | Path | None,
    compare_to: str | Path | None,
    clock: StageClock,
    workdir: Path,
    started: float,
) -> tuple[RunResult, Path]:
    problems = Problems()
    draft = read_project_draft(config, problems)
    target = None
    if draft.config is not None:
        target = real_path(out) if out is not None else draft.config.outputs_dir
    cache = PendingCache(OverlayCache(None if target is None else target.parent / CACHE_FOLDER))
    read = read_inputs(draft, problems, clock, cache, workdir)
    baseline: Baseline | None = None
    given: tuple[Path, str] | None = None
    if draft.config is not None and target is not None:
        given = _baseline(draft.config, target, compare_to)
        if given is not None:  # read now: an error in it must stop the run before it writes
            with problems.collecting():
                baseline = read_baseline(given[0], problems, previous_run=False, source=given[1])
        _check_target(target, draft.config, problems, None if given is None else given[0])
    problems.raise_errors()
    assert draft.config is not None and target is not None  # else an error was raised
    inputs = assemble(draft.config, read)
    with output_lock(target):
        recover(target)  # a run killed mid-swap is repaired before its outputs are read
        if given is None:
            baseline = read_baseline(target, problems, previous_run=True)
        result = compute(
            inputs,
            problems,
            clock,
            cache.cache,
            baseline,
            input_files(inputs.config, inputs.grids, cube_derivations(inputs)),
        )
        cache.store_pending()  # the household table, once the run is past every check
        with clock.stage("write outputs"):
            write_outputs(result, target, total_seconds=time.perf_counter() - started)
    return result, target
