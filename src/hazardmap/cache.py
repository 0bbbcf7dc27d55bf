"""A content-addressed cache of raster overlays and parsed household tables, beside the
outputs.

Overlaying a raster on the villages and households is the costly step of a run, and
reading a large workbook the next. Each result depends only on the bytes of the files it
reads, the settings that shape it and the code that computes it; those are hashed into a
key, and the result is stored under it. A re-run after one raster changed recomputes that
layer only; one after the household file changed reads it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazardmap.config import Config, HouseholdsSection, LayerConfig, with_sidecars
from hazardmap.digests import file_digest

CACHE_FORMAT = 4
KEEP_ENTRIES = 64  # the most recent entries kept; older ones are removed

LAYER_SETTINGS = frozenset(
    {
        "levels",
        "valid_range",
        "sampling",
        "crs",
        "crs_override",
        "band",
        "nodata",
        "source",
        "variable",
        "reduce",
        "layer",
        "field",
        "classes",
        "outside",
        "radius_m",
        "radius_field",
        "households_field",
        "id_field",
        "lon_field",
        "lat_field",
        "sites",
    }
)
"""The layer file's keys that change an overlay's result (the source files' paths are
covered by their digests)."""


def _classes(layer: LayerConfig) -> list[float] | None:
    """A class layer's classes: they decide its village shares and which values are
    refused; None for other layers, whose frequency rule does not touch the overlay."""
    frequency = layer.spec.hazard_params().frequency
    return frequency.class_values().tolist() if frequency.is_classes else None


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over every .py file of the hazardmap package in use (relative path and
    bytes, in path order), once per process.

    The package version is no key: the kernels change between releases, and an overlay
    computed by other code must not be reused.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix()):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """What a cache entry holds: named arrays, and the warnings computing them gave."""

    arrays: dict[str, np.ndarray]
    warnings: list[str]


class OverlayCache:
    """Overlay results by content key, in ``folder`` (None: no caching)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @staticmethod
    def _hash(parts: dict[str, Any]) -> str:
        parts = {"format": CACHE_FORMAT, "code": code_digest(), **parts}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    @classmethod
    def layer_key(cls, config: Config, layer: LayerConfig) -> str:
        """A layer's overlay: its raster over the villages and households."""
        villages = config.villages_path
        settings = config.settings
        return cls._hash(
            {
                "sources": [file_digest(path) for path in layer.source_files],
                "villages": [file_digest(path) for path in with_sidecars(villages)],
                "villages_settings": settings.villages.model_dump(mode="json"),
                "households": file_digest(config.households_path),
                "households_settings": settings.households.model_dump(mode="json"),
                "layer": layer.spec.model_dump(mode="json", include=set(LAYER_SETTINGS)),
                "classes": _classes(layer),
                "min_area_share": settings.risk.min_area_share,
            }
        )

    @classmethod
    def households_key(
        cls, path: Path, settings: HouseholdsSection, business_split: Path | None
    ) -> str:
        """A household table as read and checked: its file, the settings that say how to
        read it, and the business split table its income may be derived with."""
        return cls._hash(
            {
                "households_table": file_digest(path),
                "settings": settings.model_dump(mode="json"),
                "business_split": None if business_split is None else file_digest(business_split),
            }
        )

    @classmethod
    def cube_key(cls, layer: LayerConfig) -> str:
        """A cube reduced to one value per cell: its file and every setting the reduction
        reads."""
        return cls._hash(
            {
                "cube": file_digest(layer.raster_path),
                "reduction": layer.spec.model_dump(
                    mode="json", include={"variable", "reduce", "crs", "crs_override", "nodata"}
                ),
            }
        )

    @classmethod
    def relief_key(cls, backdrop: Path) -> str:
        """The map's shaded relief of an elevation raster."""
        return cls._hash({"relief": file_digest(backdrop)})

    def load(self, key: str) -> CacheEntry | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files if name != "warnings"}
                warnings = json.loads(str(data["warnings"]))
        except (OSError, KeyError, ValueError):
            return None  # missing or damaged: compute again
        os.utime(path)
        return CacheEntry(arrays, warnings)

    def store(self, key: str, entry: CacheEntry) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".partial")
            with os.fdopen(handle, "wb") as fh:
                warnings = np.array(json.dumps(entry.warnings))
                np.savez(fh, **entry.arrays, warnings=warnings)  # type: ignore[arg-type]
            os.replace(temporary, self.folder / f"{key}.npz")
            entries = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-KEEP_ENTRIES]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs time


@dataclass
class PendingCache:
    """The cache a run reads from, and the entries it would store there: stored only once
    the run has passed every check (a run that stops on bad input writes none)."""

    cache: OverlayCache
    pending: dict[str, CacheEntry] = field(default_factory=dict)

    def store_pending(self) -> None:
        for key, entry in self.pending.items():
            self.cache.store(key, entry)
        self.pending.clear()


def table_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A table's columns as arrays an .npz holds without pickling (text as unicode)."""
    arrays = {}
    for column in frame.columns:
        values = frame[column].to_numpy()
        arrays[f"column:{column}"] = values.astype(str) if values.dtype == object else values
    return arrays


def table_from_arrays(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """The table :func:`table_arrays` stored, text columns as Python strings again."""
    return pd.DataFrame(
        {
            name.removeprefix("column:"): values.astype(object)
            if values.dtype.kind == "U"
            else values
            for name, values in arrays.items()
            if name.startswith("column:")
        }
    )
