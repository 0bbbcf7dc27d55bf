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


def class_image_uri(
    image: MapImage, colours: Sequence[str], opacity: float = RASTER_OPACITY
) -> str:
    """A layer's class image as a PNG data URI: class k in ``colours[k]`` at ``opacity``,
    missing pixels transparent. Stored as a palette image (one byte a pixel, alpha per
    entry), which decodes to the same pixels as RGBA and is smaller and quicker to encode."""
    last = len(colours) - 1
    classes = np.where(image.pixels == MISSING_CLASS, MISSING_CLASS, np.clip(image.pixels, 0, last))
    entries = [_rgb(colour) for colour in colours]
    palette = [entries[min(k, last)] for k in range(256)]  # 255 (missing): as RGBA had it
    alpha = [round(255 * opacity) if k <= last else 0 for k in range(256)]
    picture = Image.fromarray(classes.astype(np.uint8))
    picture.putpalette([value for entry in palette for value in entry])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", transparency=bytes(alpha))
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def relief_uri(image: MapImage) -> str:
    """Grey shaded relief as a JPEG data URI (opaque: JPEG keeps the page small)."""
    buffer = io.BytesIO()
    Image.fromarray(image.pixels).convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
