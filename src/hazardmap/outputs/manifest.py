"""manifest.json: what was run, on which inputs (with SHA-256), with which versions.

Input paths are recorded relative to the project folder: absolute ones would name the
user (and their folders) to whoever receives the outputs.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from hazardmap.config import with_sidecars
from hazardmap.digests import file_digest

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from hazardmap.config import Config, LayerConfig
    from hazardmap.crs import Grid
    from hazardmap.results import Comparison

VILLAGE_STATUSES = ("changed", "returns_moved", "new", "removed")
HOUSEHOLD_STATUSES = ("changed", "new", "removed")


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (``../`` for paths outside it), with forward slashes;
    just the file name when no relative path exists (another drive on Windows)."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.name


def describe_file(path: Path, role: str, root: Path) -> dict[str, Any]:
    """One input file: its role, its path relative to ``root`` (``../`` for files outside
    it), size and SHA-256."""
    return {
        "role": role,
        "path": relative_path(path, root),
        "bytes": path.stat().st_size
        if not path.is_dir()
        else sum(p.stat().st_size for p in path.rglob("*") if p.is_file()),
        "sha256": file_digest(path),
    }


def input_files(
    config: Config,
    grids: Mapping[str, Grid],
    derivations: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """Every file the run read, with its role, size and SHA-256; each raster with its
    grid (``grids``, by layer name), each cube with the grid it was reduced to and the
    reduction (``derivations``, by layer name)."""
    root = config.root
    files = [describe_file(config.file, "project file", root)]
    files += [
        describe_file(layer.file, f"layer file {layer.name}", root) for layer in config.layers
    ]
    files += [describe_file(p, "villages", root) for p in with_sidecars(config.villages_path)]
    files.append(describe_file(config.households_path, "households", root))
    if config.business_split_path is not None:
        files.append(describe_file(config.business_split_path, "business split", root))
    for layer in config.layers:
        source = layer.spec.source
        if source in ("zones", "sites"):
            files += [
                describe_file(path, f"{source} {layer.name}", root)
                for path in with_sidecars(layer.raster_path)
            ]
        else:
            files.append(_raster_entry(layer, grids[layer.name], derivations, root))
        if layer.sites_path is not None:
            files += [
                describe_file(path, f"sites {layer.name}", root)
                for path in with_sidecars(layer.sites_path)
            ]
    return files


def _raster_entry(
    layer: LayerConfig,
    grid: Grid,
    derivations: Mapping[str, Mapping[str, Any] | None] | None,
    root: Path,
) -> dict[str, Any]:
    """A raster or cube with its grid, and a cube's reduction."""
    derivation = (derivations or {}).get(layer.name)
    kind = "cube" if layer.spec.source == "cube" else "raster"
    entry = describe_file(layer.raster_path, f"{kind} {layer.name}", root)
    if derivation is not None:
        entry["reduction"] = dict(derivation)
    return entry | {
        "crs": grid.crs.to_string(),
        "width": grid.width,
        "height": grid.height,
        "transform": list(grid.transform)[:6],
    }


def portable(value: Any, base: Path) -> Any:
    """A settings dump (pydantic's python mode) made JSON: paths as written, but absolute
    ones relative to ``base`` (the folder of the file that names them, so they still mean
    the same file); non-finite floats (an unbounded range's +/-inf) as None, since JSON has
    no number for them. Lists, tuples and dicts are walked."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, PurePath):
        return relative_path(Path(value), base) if value.is_absolute() else str(value)
    if isinstance(value, dict):
        return {key: portable(item, base) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable(item, base) for item in value]
    return value


def _counts(table: pd.DataFrame | None, statuses: Sequence[str]) -> dict[str, int] | None:
    if table is None:
        return None
    return {status: int((table["status"] == status).sum()) for status in statuses}


def describe_comparison(
    comparison: Comparison | None,
    changes: pd.DataFrame | None,
    household_changes: pd.DataFrame | None,
    root: Path,
) -> dict[str, Any] | None:
    """What the run was compared with (its folder relative to ``root``, when it ran, its
    manifest's SHA-256), the counts of changed villages and households, and the inputs
    whose SHA-256 differs (by role); None without an earlier run."""
    if comparison is None:
        return None
    return {
        "baseline": relative_path(comparison.folder, root),
        "baseline_is_previous_run": comparison.previous_run,
        "baseline_created": comparison.created,
        "baseline_manifest_sha256": comparison.manifest_sha256,
        "min_returns": comparison.min_returns,
        "villages": _counts(changes, VILLAGE_STATUSES),
        "households": _counts(household_changes, HOUSEHOLD_STATUSES),
        "inputs_differing": None
        if comparison.inputs is None
        else [
            {"role": item.role, "old_sha256": item.old_sha256, "new_sha256": item.new_sha256}
            for item in comparison.inputs
        ],
    }


def configuration(config: Config) -> dict[str, Any]:
    """The project file's settings and each layer file's, paths relative to their files."""
    return {
        "project": portable(config.settings.model_dump(), config.root),
        "layers": {
            layer.name: portable(layer.spec.model_dump(), layer.file.parent)
            for layer in config.layers
        },
    }


def build_manifest(
    *,
    config: Config,
    grids: Mapping[str, Grid],
    villages: pd.DataFrame,
    households: pd.DataFrame,
    priorities: pd.DataFrame,
    timings: Mapping[str, float],
    warnings: Sequence[str],
    reused_layers: Sequence[str],
    changes: pd.DataFrame | None,
    versions: Mapping[str, str],
    total_seconds: float,
    household_changes: pd.DataFrame | None = None,
    comparison: Comparison | None = None,
    recorded_inputs: Sequence[Mapping[str, Any]] | None = None,
    simulation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """manifest.json's content: inputs (with digests and grids; ``recorded_inputs`` when
    already described), configuration, versions, counts, stage timings (and
    ``total_seconds`` before writing), warnings, the layers whose overlay was reused, and
    the comparison with an earlier run (``comparison``: what with; how many villages and
    households changed; which inputs differ)."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.settings.project.name,
        "inputs": input_files(config, grids)
        if recorded_inputs is None
        else [dict(entry) for entry in recorded_inputs],
        "configuration": configuration(config),
        "versions": dict(versions),
        "counts": {
            "villages": len(villages),
            "households": len(households),
            "households_located_by_village": int(
                (households["location_source"] == "village").sum()
            ),
            "priorities": len(priorities),
        },
        "timings_seconds": {k: round(v, 4) for k, v in timings.items()}
        | {"total_before_writing": round(total_seconds, 4)},
        "warnings": list(warnings),
        "overlays_reused_from_cache": list(reused_layers),
        "comparison": describe_comparison(comparison, changes, household_changes, config.root),
        "simulation": None if simulation is None else dict(simulation),
    }


def write_manifest(manifest: dict[str, Any], folder: Path) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False)
    (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
