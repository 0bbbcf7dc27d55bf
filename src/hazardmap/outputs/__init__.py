"""Writers of a run's outputs; each is fed by a RunResult and knows nothing of rasters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hazardmap.outputs.manifest import build_manifest, write_manifest
from hazardmap.outputs.report import write_report
from hazardmap.outputs.staging import staged_folder
from hazardmap.outputs.tables import (
    write_changes,
    write_households,
    write_priorities,
    write_villages,
)
from hazardmap.outputs.webmap import write_map

if TYPE_CHECKING:
    from hazardmap.results import RunResult


def write_outputs(result: RunResult, target: Path, *, total_seconds: float) -> Path:
    """Write every output of a run into ``target``, atomically replacing what was there."""
    hazards = result.config.hazard_names
    manifest = build_manifest(result, total_seconds)
    with staged_folder(target) as folder:
        write_villages(result.villages, folder)
        write_households(result.households, folder)
        write_priorities(result.priorities, folder)
        write_changes(result.changes, hazards, folder)
        write_map(result, folder / "map.html")
        write_report(result, folder, manifest["created"])
        write_manifest(manifest, folder)
    return target
