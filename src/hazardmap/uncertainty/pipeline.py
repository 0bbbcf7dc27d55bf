"""run_uncertainty: the project read and checked as a run reads it, its layers overlaid
once (or taken from the overlay cache), then the model re-run for every sample on those
overlays, and the outputs written atomically. Glue only."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from pydantic import ValidationError

from hazardmap.cache import OverlayCache, PendingCache
from hazardmap.cluster import active_client
from hazardmap.compute import configured_parameters, exposure_of
from hazardmap.config import Config
from hazardmap.config.reading import pydantic_problems
from hazardmap.config.uncertainty import ParameterPath, UncertaintySection, check_paths
from hazardmap.environment import versions
from hazardmap.errors import ConfigError
from hazardmap.inputs import Inputs, assemble, read_inputs
from hazardmap.outputs.manifest import input_files
from hazardmap.outputs.staging import output_lock, recover
from hazardmap.outputs.target import check_target
from hazardmap.overlay import overlay_layers
from hazardmap.paths import real_path
from hazardmap.pipeline import CACHE_FOLDER, cube_derivations, read_project_draft
from hazardmap.problems import Problems
from hazardmap.results import UncertaintyResult
from hazardmap.uncertainty.compute import SampleError, analyse
from hazardmap.uncertainty.parallel import Progress, on_cluster, on_cores
from hazardmap.uncertainty.sampling import design

FOLDER = "uncertainty"
"""The default output folder, beside the [outputs] folder."""


def uncertainty_folder(config: Config) -> Path:
    return config.outputs_dir.parent / FOLDER


def settings_of(
    config: Config, samples: int | None = None, method: str | None = None
) -> UncertaintySection:
    """The project's [uncertainty], with --samples and --method applied (and checked as
    the section is)."""
    section = config.settings.uncertainty
    if section is None:
        raise ConfigError(
            f"{config.file}: no [uncertainty] section; add one with the parameters' "
            "distributions (docs/configuration.md, [uncertainty])"
        )
    changes = {k: v for k, v in {"samples": samples, "method": method}.items() if v is not None}
    if not changes:
        return section
    try:
        return UncertaintySection.model_validate(section.model_dump() | changes)
    except ValidationError as exc:
        found = pydantic_problems(exc, config.file)
        raise ConfigError(*(f"{line} (with --samples/--method)" for line in found)) from None


def run_uncertainty(
    config: Config | str | Path,
    out: str | Path | None = None,
    *,
    samples: int | None = None,
    method: str | None = None,
    progress: Progress | None = None,
) -> UncertaintyResult:
    """Percentiles, p_top_k, p_chosen and indices for the project's [uncertainty], written
    into ``out`` (default: ``uncertainty`` beside the [outputs] folder); bad input raises a
    HazardmapError naming the first problem, before anything is written."""
    with tempfile.TemporaryDirectory(prefix="hazardmap-") as work:  # reduced cubes
        return _run(config, out, samples, method, progress, Path(work))


def _run(
    config: Config | str | Path,
    out: str | Path | None,
    samples: int | None,
    method: str | None,
    progress: Progress | None,
    workdir: Path,
) -> UncertaintyResult:
    started = time.perf_counter()
    problems = Problems()
    draft = read_project_draft(config, problems)
    settings = target = None
    if draft.config is not None:
        settings = problems.attempt(partial(settings_of, draft.config, samples, method))
        target = real_path(out) if out is not None else uncertainty_folder(draft.config)
        with problems.collecting():
            check_target(target, protected=draft.config.input_paths(), command="uncertainty")
    cache = PendingCache(OverlayCache(None if target is None else target.parent / CACHE_FOLDER))
    read = read_inputs(draft, problems, None, cache, workdir)
    problems.raise_errors()
    assert draft.config is not None and settings is not None and target is not None
    project = draft.config
    inputs = assemble(project, read)
    names = project.hazard_names
    interventions = [item.name for item in project.settings.interventions]
    paths, found = check_paths(
        settings,
        names,
        interventions,
        villages=len(inputs.villages),
        note=" (with --samples/--method)" if samples is not None or method is not None else "",
    )
    if found:
        raise ConfigError(*(f"{project.file}: {problem}" for problem in found))
    # held from here, as run holds it: a second analysis into the folder stops at once,
    # not after its model runs, and the overlay cache beside it has one writer
    with output_lock(target):
        recover(target)
        outcome = _analyse(project, settings, inputs, paths, problems, cache, progress, started)
        from hazardmap.outputs.uncertainty import write_uncertainty_outputs

        write_uncertainty_outputs(outcome, target)
    return replace(outcome, out_dir=target)


def _analyse(
    project: Config,
    settings: UncertaintySection,
    inputs: Inputs,
    paths: list[ParameterPath],
    problems: Problems,
    cache: PendingCache,
    progress: Progress | None,
    started: float,
) -> UncertaintyResult:
    """The overlays (or the cache's), every model run and what they say."""
    timings: dict[str, float] = {}
    overlays, _ = overlay_layers(inputs, problems, cache.cache)
    problems.raise_errors()
    cache.store_pending()
    timings["read and overlay"] = time.perf_counter() - started
    computing = time.perf_counter()
    client = active_client()
    runner = (
        partial(on_cores, progress=progress)
        if client is None
        else partial(on_cluster, client, progress=progress)
    )
    villages = inputs.villages
    try:
        result = analyse(
            exposure_of(inputs, {name: overlay.value for name, overlay in overlays.items()}),
            configured_parameters(project),
            design(settings, paths),
            codes=villages["village_code"].astype(str).tolist(),
            names=villages["name"].astype(str).tolist(),
            top_k=settings.top_k,
            seed=settings.seed,
            run_chunks=runner,
        )
    except SampleError as exc:
        raise ConfigError(f"{project.file}: {exc}") from None
    timings["model runs"] = time.perf_counter() - computing
    return UncertaintyResult(
        config=project,
        settings=settings,
        uncertainty=result,
        recorded_inputs=input_files(project, inputs.grids, cube_derivations(inputs)),
        warnings=tuple(problems.warnings),
        versions=versions(),
        timings=timings,
    )
