"""manifest.json: what was run, on which inputs (with SHA-256), with which versions."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hazardmap.digests import file_digest

if TYPE_CHECKING:
    from hazardmap.pipeline import RunResult

_VERSIONED = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "numba", "folium")
_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


def describe_file(path: Path, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "path": str(path),
        "bytes": path.stat().st_size,
        "sha256": file_digest(path),
    }


def input_files(result: RunResult) -> list[dict[str, Any]]:
    """Every file the run read, with its role, size and SHA-256."""
    config = result.config
    files = [describe_file(config.file, "project file")]
    files += [describe_file(layer.file, f"layer file {layer.name}") for layer in config.layers]
    villages = config.villages_path
    files.append(describe_file(villages, "villages"))
    if villages.suffix.lower() == ".shp":
        files += [
            describe_file(villages.with_suffix(s), "villages")
            for s in _SIDECARS
            if villages.with_suffix(s).exists()
        ]
    files.append(describe_file(config.households_path, "households"))
    for layer in config.layers:
        entry = describe_file(layer.raster_path, f"raster {layer.name}")
        grid = result.grids[layer.name]
        entry |= {
            "crs": grid.crs.to_string(),
            "width": grid.width,
            "height": grid.height,
            "transform": list(grid.transform)[:6],
        }
        files.append(entry)
    return files


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("hazardmap", *_VERSIONED):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    import rasterio

    found["gdal"] = rasterio.__gdal_version__
    return found


def build_manifest(result: RunResult, total_seconds: float) -> dict[str, Any]:
    config = result.config
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.project.project.name,
        "inputs": input_files(result),
        "configuration": {
            "project": config.project.model_dump(mode="json"),
            "layers": {layer.name: layer.spec.model_dump(mode="json") for layer in config.layers},
        },
        "versions": versions(),
        "counts": {
            "villages": len(result.villages),
            "households": len(result.households),
            "households_located_by_village": int(
                (result.households["location_source"] == "village").sum()
            ),
            "priorities": len(result.priorities),
        },
        "timings_seconds": {k: round(v, 4) for k, v in result.timings.items()}
        | {"total_before_writing": round(total_seconds, 4)},
        "warnings": list(result.warnings),
        "overlays_reused_from_cache": list(result.reused_layers),
        "changes_since_previous_run": None
        if result.changes is None
        else {
            status: int((result.changes["status"] == status).sum())
            for status in ("changed", "new", "removed")
        },
    }


def write_manifest(manifest: dict[str, Any], folder: Path) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False)
    (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
