"""Map images as the page holds them: coloured, encoded, inlined as data URIs.

The pixels come computed (``results.MapImage``: a class per pixel for a layer, grey relief
for the backdrop); here they only get their colours and their encoding, with Pillow.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from hazardmap.outputs.style import RASTER_OPACITY
from hazardmap.results import MISSING_CLASS, MapImage

JPEG_QUALITY = 80


def _rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def coloured(
    image: MapImage, colours: Sequence[str], opacity: float = RASTER_OPACITY
) -> np.ndarray:
    """RGBA pixels: class k in ``colours[k]``, missing pixels transparent."""
    classes = image.pixels
    palette = np.array([_rgb(c) for c in colours], dtype=np.uint8)
    rgba = np.zeros((*classes.shape, 4), dtype=np.uint8)
    rgba[..., :3] = palette[np.clip(classes, 0, len(colours) - 1)]
    rgba[..., 3] = np.where(classes == MISSING_CLASS, 0, round(255 * opacity))
    return rgba


def data_uri(pixels: np.ndarray, *, jpeg: bool = False) -> str:
    """An RGBA (PNG) or grey/RGB (JPEG, smaller for the opaque relief) image as a data URI."""
    buffer = io.BytesIO()
    picture = Image.fromarray(pixels)
    if jpeg:
        picture.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        picture.save(buffer, format="PNG")
    mime = "image/jpeg" if jpeg else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
