"""run_event and validate_event: the project's villages and households read and checked as
a run reads them, the event file and its footprint, the event model, the outputs. The
event reads no hazard layer's source: only its footprint."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from hazardmap.cache import OverlayCache, PendingCache
from hazardmap.clock import StageClock
from hazardmap.config import (
    Config,
    ConfigDraft,
    EventConfig,
    load_event,
    read_project,
    with_sidecars,
)
from hazardmap.event.compute import compute_event
from hazardmap.inputs import InputsDraft, assemble, config_draft, read_inputs
from hazardmap.io.footprint import Footprint, read_footprint
from hazardmap.outputs.event import write_event_outputs
from hazardmap.outputs.manifest import describe_file
from hazardmap.outputs.staging import output_lock, recover
from hazardmap.outputs.target import check_target
from hazardmap.paths import real_path
from hazardmap.problems import Problems
from hazardmap.results import EventResult, Inputs, ValidationReport

CACHE_FOLDER = ".hazardmap-cache"


def event_folder(config: Config, event: EventConfig) -> Path:
    """events/<name> beside the [outputs] folder (outputs/events/<name> for outputs/latest)."""
    return config.outputs_dir.parent / "events" / event.name


def _without_layers(draft: ConfigDraft) -> ConfigDraft:
    """The project without its layers: an event reads its footprint, no layer's source."""
    return replace(draft, layers=())


@dataclass(frozen=True)
class EventDraft:
    """Whatever could be read: the project, its villages and households, the event and
    its footprint (None where it failed), and the household table for the cache."""

    project: ConfigDraft
    inputs: InputsDraft
    event: EventConfig | None
    footprint: Footprint | None
    cache: PendingCache | None


def _read(config: Config | str | Path, event_file: str | Path, problems: Problems) -> EventDraft:
    draft = config_draft(config) if isinstance(config, Config) else read_project(config, problems)
    event = footprint = None
    if draft.config is not None:
        event = problems.attempt(partial(load_event, Path(event_file), draft.config))
    if event is not None:
        problems.warn(*(f"{event.file}: {w}" for w in event.spec.curve_warnings()))
        footprint = problems.attempt(partial(read_footprint, event, problems))
    cache = None
    if draft.config is not None:
        cache = PendingCache(OverlayCache(draft.config.outputs_dir.parent / CACHE_FOLDER))
    read = read_inputs(_without_layers(draft), problems, cache=cache)
    return EventDraft(draft, read, event, footprint, cache)


def _recorded(inputs: Inputs) -> list[dict[str, Any]]:
    """The project's files the event read, with their SHA-256."""
    config = inputs.config
    root = config.root
    files = [describe_file(config.file, "project file", root)]
    files += [describe_file(path, "villages", root) for path in with_sidecars(config.villages_path)]
    files.append(describe_file(config.households_path, "households", root))
    if config.business_split_path is not None:
        files.append(describe_file(config.business_split_path, "business split", root))
    return files


def run_event(
    event_file: str | Path, config: Config | str | Path, out: str | Path | None = None
) -> EventResult:
    """One event's leads, villages, map and summary, written into ``out`` (default:
    events/<name> beside the project's [outputs] folder); bad input raises a
    HazardmapError naming the first problem, before anything is written."""
    clock = StageClock()
    started = time.perf_counter()
    problems = Problems()
    read = _read(config, event_file, problems)
    draft, event, footprint = read.project, read.event, read.footprint
    target = None
    if draft.config is not None and event is not None:
        target = real_path(out) if out is not None else event_folder(draft.config, event)
        protected = [*draft.config.input_paths(), event.file, event.footprint_path]
        with problems.collecting():
            check_target(target, protected=protected, command="event")
    problems.raise_errors()
    assert draft.config is not None and event is not None and footprint is not None
    assert target is not None
    inputs = assemble(draft.config, read.inputs)
    clock.timings["read and check"] = time.perf_counter() - started
    computing = time.perf_counter()
    result = compute_event(inputs, event, footprint, problems)  # may stop: nothing written yet
    clock.timings["compute"] = time.perf_counter() - computing
    if read.cache is not None:
        read.cache.store_pending()  # the household table, once the event passed every check
    with output_lock(target):
        recover(target)
        write_event_outputs(result, target, _recorded(inputs), clock.timings)
    return result.written_to(target, clock.timings)


def validate_event(event_file: str | Path, config: Config | str | Path) -> ValidationReport:
    """Check the project's villages and households and the event (its file, its
    footprint, whether it reaches the county, its output folder); nothing is written."""
    problems = Problems()
    read = _read(config, event_file, problems)
    draft, event, footprint = read.project, read.event, read.footprint
    if draft.config is not None and event is not None:
        target = event_folder(draft.config, event)
        protected = [*draft.config.input_paths(), event.file, event.footprint_path]
        with problems.collecting():
            check_target(target, protected=protected, command="event")
    if (
        draft.config is not None
        and event is not None
        and footprint is not None
        and read.inputs.villages is not None
        and read.inputs.households is not None
        and not problems.errors
    ):
        with problems.collecting():
            compute_event(assemble(draft.config, read.inputs), event, footprint, problems)
    return ValidationReport(tuple(problems.errors), tuple(problems.warnings))
