"""Compare two output folders of `hazardmap run`: are they the same outputs?

    python benchmarks/compare_outputs.py OLD_FOLDER NEW_FOLDER

Tables are compared as tables (CSV values exactly; villages.gpkg by table and geometry);
manifest.json without what differs from run to run (creation time, timings, versions,
paths, which overlays came from the cache); report.html and map.html as text once
run-dependent parts are normalised (dates, folium's random element ids, inlined images),
and every image (the PNG files and the images inlined in the pages) by its pixels.
Prints one line per file and exits 1 if any differs beyond those allowances.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from PIL import Image

TEXT_COLUMNS = {"village_code": str, "household_id": str, "name": str, "township": str}
DATA_URI = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)")
FOLIUM_ID = re.compile(
    r"\b(map|tile_layer|geo_json|image_overlay|layer_control|feature_group|popup|tooltip|"
    r"macro_element|household_layer|map_controls|html)_[0-9a-f]{32}(?![0-9a-f])"
)
JPEG_TOLERANCE = 3.0
"""Mean absolute difference per channel allowed between two JPEG encodings of one image."""


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"), dtype=np.int16)


def same_image(old: bytes, new: bytes, jpeg: bool) -> str | None:
    a, b = pixels(old), pixels(new)
    if a.shape != b.shape:
        return f"image size {a.shape[:2]} -> {b.shape[:2]}"
    difference = float(np.abs(a - b).mean())
    allowed = JPEG_TOLERANCE if jpeg else 0.0
    return None if difference <= allowed else f"pixels differ (mean {difference:.3f})"


def images_of(text: str) -> tuple[str, list[tuple[bool, bytes]]]:
    """The page with its inlined images replaced by placeholders, and the images."""
    found: list[tuple[bool, bytes]] = []

    def keep(match: re.Match[str]) -> str:
        found.append((match[1] == "jpeg", base64.b64decode(match[2])))
        return f"data:image/{match[1]};base64,<{len(found)}>"

    return DATA_URI.sub(keep, text), found


def normalised(text: str) -> str:
    ids: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        return ids.setdefault(match[0], f"{match[1]}_{len(ids)}")

    text = FOLIUM_ID.sub(rename, text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+0-9:Z]*", "<time>", text)


def compare_page(old: Path, new: Path) -> str | None:
    old_text, old_images = images_of(old.read_text(encoding="utf-8"))
    new_text, new_images = images_of(new.read_text(encoding="utf-8"))
    if normalised(old_text) != normalised(new_text):
        return "text differs once ids, dates and images are normalised"
    if len(old_images) != len(new_images):
        return f"{len(old_images)} -> {len(new_images)} inlined images"
    for k, ((jpeg, a), (_, b)) in enumerate(zip(old_images, new_images, strict=True)):
        problem = same_image(a, b, jpeg)
        if problem:
            return f"inlined image {k + 1}: {problem}"
    return None


def compare_csv(old: Path, new: Path) -> str | None:
    a = pd.read_csv(old, encoding="utf-8-sig", dtype=TEXT_COLUMNS, keep_default_na=False)
    b = pd.read_csv(new, encoding="utf-8-sig", dtype=TEXT_COLUMNS, keep_default_na=False)
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return None


def compare_gpkg(old: Path, new: Path) -> str | None:
    a, b = gpd.read_file(old, layer="villages"), gpd.read_file(new, layer="villages")
    try:
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    if a.crs != b.crs or not a.geometry.geom_equals_exact(b.geometry, tolerance=0).all():
        return "geometry or CRS differs"
    return None


def compare_manifest(old: Path, new: Path) -> str | None:
    def stable(path: Path) -> dict[str, object]:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for key in ("created", "timings_seconds", "versions", "overlays_reused_from_cache"):
            manifest.pop(key, None)
        for key in ("baseline_created", "baseline_manifest_sha256"):  # when it was compared
            (manifest.get("comparison") or {}).pop(key, None)
        for entry in manifest.get("inputs", []):
            entry["path"] = Path(entry["path"]).name
        return manifest

    return None if stable(old) == stable(new) else "differs beyond times, versions and paths"


def compare(old: Path, new: Path) -> str | None:
    if old.suffix == ".csv":
        return compare_csv(old, new)
    if old.suffix == ".gpkg":
        return compare_gpkg(old, new)
    if old.name == "manifest.json":
        return compare_manifest(old, new)
    if old.suffix == ".html":
        return compare_page(old, new)
    if old.suffix == ".png":
        return same_image(old.read_bytes(), new.read_bytes(), jpeg=False)
    return None if old.read_bytes() == new.read_bytes() else "bytes differ"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    names = {p.name for p in args.old.iterdir()} | {p.name for p in args.new.iterdir()}
    failed = False
    for name in sorted(names - {".hazardmap-output"}):
        old, new = args.old / name, args.new / name
        if not old.exists() or not new.exists():
            problem: str | None = "only in " + ("the new folder" if new.exists() else "the old")
        else:
            problem = compare(old, new)
        print(f"{name:24} {'same' if problem is None else 'DIFFERS: ' + problem}")
        failed |= problem is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
