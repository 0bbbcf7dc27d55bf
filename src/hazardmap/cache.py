"""A content-addressed cache of raster overlays, beside the outputs.

Overlaying a raster on the villages and households is the one costly step of a run. Its
result depends only on the raster's bytes, the villages' and households' bytes and
settings, and a few layer settings; those are hashed into a key, and the result is stored
under it. A re-run after one raster changed recomputes that layer only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hazardmap.config import Config, LayerConfig
from hazardmap.digests import file_digest

CACHE_FORMAT = 1
KEEP_ENTRIES = 64  # the most recent entries kept; older ones are removed


class OverlayCache:
    """Overlay results by content key, in ``folder`` (None: no caching)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @staticmethod
    def key(config: Config, layer: LayerConfig) -> str:
        from hazardmap import __version__

        villages = config.villages_path
        sidecars = sorted(p for p in villages.parent.glob(villages.stem + ".*") if p != villages)
        parts = {
            "format": CACHE_FORMAT,
            "hazardmap": __version__,
            "raster": file_digest(layer.raster_path),
            "villages": [file_digest(villages), *(file_digest(p) for p in sidecars)],
            "villages_settings": config.project.villages.model_dump(mode="json"),
            "households": file_digest(config.households_path),
            "households_settings": config.project.households.model_dump(mode="json"),
            "layer": layer.spec.model_dump(
                mode="json", include={"levels", "valid_range", "sampling", "crs"}
            ),
            "min_area_share": config.project.risk.min_area_share,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def load(self, key: str) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]] | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                stats = {name: data[name] for name in ("mean", "max", "level")}
                intensity = data["intensity"]
                warnings = json.loads(str(data["warnings"]))
        except (OSError, KeyError, ValueError):
            return None  # missing or damaged: compute again
        os.utime(path)
        return stats, intensity, warnings

    def store(
        self, key: str, stats: dict[str, np.ndarray], intensity: np.ndarray, warnings: list[str]
    ) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".partial")
            with os.fdopen(handle, "wb") as fh:
                arrays = {
                    **stats,
                    "intensity": intensity,
                    "warnings": np.array(json.dumps(warnings)),
                }
                np.savez(fh, **arrays)  # type: ignore[arg-type]
            os.replace(temporary, self.folder / f"{key}.npz")
            entries = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-KEEP_ENTRIES]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs time

    def describe(self) -> dict[str, Any]:
        return {"folder": None if self.folder is None else str(self.folder)}
