"""Every layer's overlay for a run, from the content-addressed cache (``cache.py``) where
nothing it depends on changed, and the backdrop's shaded relief."""

from __future__ import annotations

from pathlib import Path

from hazardmap.cache import CacheEntry, OverlayCache
from hazardmap.overlay.rasters import Overlayer
from hazardmap.overlay.result import LayerOverlay, image_arrays, image_from_arrays
from hazardmap.problems import Problems
from hazardmap.raster.images import relief_image
from hazardmap.results import Inputs, MapImage


def overlay_layers(
    inputs: Inputs, problems: Problems, cache: OverlayCache
) -> tuple[dict[str, LayerOverlay], list[str]]:
    """Every layer's overlay, taken from the cache where nothing it depends on changed;
    also the names of the layers reused."""
    overlayer = Overlayer.of(inputs, problems)
    overlays: dict[str, LayerOverlay] = {}
    reused = []
    computed: dict[str, CacheEntry] = {}
    for layer in inputs.config.layers:
        key = cache.layer_key(inputs.config, layer) if cache.folder is not None else ""
        hit = cache.load(key) if key else None
        if hit is not None:
            overlays[layer.name] = LayerOverlay.from_arrays(hit.arrays)
            problems.warn(*hit.warnings)
            reused.append(layer.name)
            continue
        before = len(problems.warnings)
        overlays[layer.name] = overlay = overlayer.layer(layer)
        if key:
            computed[key] = CacheEntry(overlay.arrays(), problems.warnings[before:])
    for (
        key,
        entry,
    ) in computed.items():  # only once every layer is done: a failed run writes nothing
        cache.store(key, entry)
    return overlays, reused


def relief(backdrop: Path | None, cache: OverlayCache) -> MapImage | None:
    """The backdrop's shaded relief for the map, from the cache when the file is unchanged."""
    if backdrop is None:
        return None
    key = cache.relief_key(backdrop) if cache.folder is not None else ""
    hit = cache.load(key) if key else None
    if hit is not None:
        return image_from_arrays(hit.arrays)
    image = relief_image(backdrop)
    if key:
        cache.store(key, CacheEntry(image_arrays(image), []))
    return image
