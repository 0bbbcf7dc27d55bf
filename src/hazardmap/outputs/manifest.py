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

    from hazardmap.config import Config
    from hazardmap.crs import Grid


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
        "bytes": path.stat().st_size,
        "sha256": file_digest(path),
    }


def input_files(config: Config, grids: Mapping[str, Grid]) -> list[dict[str, Any]]:
    """Every file the run read, with its role, size and SHA-256; each raster with its
    grid (``grids``, by layer name)."""
    root = config.root
    files = [describe_file(config.file, "project file", root)]
    files += [
        describe_file(layer.file, f"layer file {layer.name}", root) for layer in config.layers
    ]
    files += [describe_file(p, "villages", root) for p in with_sidecars(config.villages_path)]
    files.append(describe_file(config.households_path, "households", root))
    for layer in config.layers:
        entry = describe_file(layer.raster_path, f"raster {layer.name}", root)
        grid = grids[layer.name]
        entry |= {
            "crs": grid.crs.to_string(),
            "width": grid.width,
            "height": grid.height,
            "transform": list(grid.transform)[:6],
        }
        files.append(entry)
    return files


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
) -> dict[str, Any]:
    """manifest.json's content: inputs (with digests and grids), configuration, versions,
    counts, stage timings (and ``total_seconds`` before writing), warnings, the layers
    whose overlay was reused, and how many villages changed since the previous run."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.settings.project.name,
        "inputs": input_files(config, grids),
        "configuration": {
            "project": portable(config.settings.model_dump(), config.root),
            "layers": {
                layer.name: portable(layer.spec.model_dump(), layer.file.parent)
                for layer in config.layers
            },
        },
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
        "changes_since_previous_run": None
        if changes is None
        else {
            status: int((changes["status"] == status).sum())
            for status in ("changed", "new", "removed")
        },
    }


def write_manifest(manifest: dict[str, Any], folder: Path) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False)
    (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
