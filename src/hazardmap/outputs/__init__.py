"""Writers of a run's outputs; each is given the parts of a run's result it writes (never the
whole RunResult) and knows nothing of rasters. ``write_outputs`` hands them their parts."""

from __future__ import annotations

from pathlib import Path

from hazardmap.outputs.manifest import build_manifest, write_manifest
from hazardmap.outputs.report import write_report
from hazardmap.outputs.staging import staged_folder
from hazardmap.outputs.tables import (
    write_changes,
    write_household_changes,
    write_households,
    write_priorities,
    write_villages,
    write_years,
)
from hazardmap.outputs.webmap import write_map
from hazardmap.results import RunResult


def write_outputs(result: RunResult, target: Path, *, total_seconds: float) -> Path:
    """Write every output of a run into ``target``, atomically replacing what was there."""
    config = result.config
    manifest = build_manifest(
        config=config,
        grids=result.grids,
        villages=result.villages,
        households=result.households,
        priorities=result.priorities,
        timings=result.timings,
        warnings=result.warnings,
        reused_layers=result.reused_layers,
        changes=result.changes,
        versions=result.versions,
        total_seconds=total_seconds,
        household_changes=result.household_changes,
        comparison=result.comparison,
        recorded_inputs=result.recorded_inputs,
        simulation=result.simulation,
    )
    with staged_folder(target) as folder:
        write_villages(result.villages, folder)
        write_households(result.households, folder)
        write_priorities(result.priorities, folder)
        write_changes(result.changes, result.changes_header, folder)
        write_household_changes(result.household_changes, result.household_changes_header, folder)
        if result.years is not None and result.exceedance is not None:
            write_years(result.years, result.exceedance, folder)
        write_map(
            folder / "map.html",
            villages=result.villages,
            households=result.households,
            layers=result.config.layers,
            layer_images=result.layer_images,
            layer_zones=result.layer_zones,
            layer_sites=result.layer_sites,
            relief=result.relief,
            changes=result.changes,
            show_households=result.config.settings.map.households,
            title=result.config.settings.project.name,
        )
        write_report(
            folder,
            title=config.settings.project.name,
            created=manifest["created"],
            monitoring_line=config.settings.project.monitoring_line,
            layers=config.layers,
            villages=result.villages,
            households=result.households,
            priorities=result.priorities,
            risk_classes=result.risk_classes,
            budget=config.settings.planning.budget_cny,
            changes=result.changes,
            comparison=manifest["comparison"],
            sites=result.layer_sites,
            simulated=(result.years, result.exceedance, result.simulation),
        )
        write_manifest(manifest, folder)
    return target
