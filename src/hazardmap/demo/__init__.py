"""The demo county: Jingning's real outline, codes and names, with synthetic terrain,
hazard rasters, village polygons and households, all generated from one seed."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np

from hazardmap.demo.county import county_outline, village_polygons
from hazardmap.demo.event import write_hail_event
from hazardmap.demo.export import business_split, monitoring_export, write_export
from hazardmap.demo.households import make_households
from hazardmap.demo.terrain import write_terrain_rasters
from hazardmap.demo.zoning import hazard_sites, write_sites
from hazardmap.digests import file_digest
from hazardmap.errors import OutputError

DEMO_MARKER = ".hazardmap-demo-data"
"""The file demo-data writes into its folder: the files it writes there may be rewritten."""

DEMO_FILES = (
    "villages.gpkg",
    "households.xlsx",
    "households.csv",
    "business_split.csv",
    "dem.tif",
    "landslide_zones.gpkg",
    "hazard_sites.csv",
    "hail-2026-07-12.geojson",
    "spei_monthly.nc",
    "hail.tif",
)
"""The files :func:`write_demo_data` writes (the households as .xlsx, or as .csv when
there are more than a worksheet holds)."""

_MARKER_NOTE = (
    "written by hazardmap demo-data: {files} in this folder are synthetic demo data, "
    "rewritten by the next demo-data run; delete this file to keep them\n"
)


def check_demo_folder(out: Path) -> None:
    """Raise :class:`OutputError` if writing the demo data into ``out`` would overwrite a file
    demo-data did not write: one of :data:`DEMO_FILES`, in a folder without
    :data:`DEMO_MARKER`. Other files (a README) are left alone and do not matter."""
    if (out / DEMO_MARKER).is_file():
        return
    present = [name for name in DEMO_FILES if (out / name).exists() or (out / name).is_symlink()]
    if present:
        raise OutputError(
            f"{out}: demo-data would overwrite {', '.join(present)}, and this folder has no "
            f"{DEMO_MARKER} marker, so they may be real data; give another --out, or delete "
            "them if they are demo data"
        )


FIXED_DATE = "2000-01-01T00:00:00.000Z"
"""The date GDAL writes into the demo's GeoPackages (OGR_CURRENT_DATE): the same seed then
gives the same bytes, so a second ``make demo`` reuses the overlays it cached."""


@contextlib.contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    before = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = FIXED_DATE
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = before


def _recipe(households: int, seed: int) -> dict[str, object]:
    """What the demo data are made from: the options and the demo code itself."""
    code = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        code.update(source.name.encode() + b"\0" + source.read_bytes())
    return {"households": households, "seed": seed, "code": code.hexdigest()}


def written_before(out: Path, *, households: int, seed: int) -> dict[str, Path] | None:
    """The files of an earlier demo-data run in ``out`` when they are the ones these
    options and this code write, each unchanged since (its SHA-256); else None."""
    try:
        lines = (out / DEMO_MARKER).read_text(encoding="utf-8").splitlines()
        record = json.loads(lines[-1])
        if record["recipe"] != _recipe(households, seed):
            return None
        paths = {role: out / name for role, name in record["paths"].items()}
        for name, digest in record["files"].items():
            path = out / name
            if path.is_symlink() or not path.is_file() or file_digest(path) != digest:
                return None
    except (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None
    return paths


def write_demo_data(
    out: Path, *, households: int = 30_000, seed: int = 620826, force: bool = False
) -> dict[str, Path]:
    """Write villages.gpkg, the households (as the monitoring system exports them), the
    business split per village and the hazard data (elevation, landslide zoning and
    hazard sites, the drought cube, hail days) into ``out``; without ``force``, nothing
    when they are there already, as these options and this code write them
    (:func:`written_before`).

    Refuses (:func:`check_demo_folder`) to overwrite such files unless an earlier demo-data
    run wrote them; marks ``out`` with :data:`DEMO_MARKER` before writing anything else, so
    an interrupted run can be repeated."""
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    if not force and (before := written_before(out, households=households, seed=seed)):
        return before
    check_demo_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        note = _MARKER_NOTE.format(files=", ".join(DEMO_FILES))
        (out / DEMO_MARKER).write_text(note, encoding="utf-8")
        for name in DEMO_FILES:  # ours: removed, so a symlink there is never written through
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the demo data ({exc.strerror or exc})") from None
    with _fixed_gpkg_date():
        rng = np.random.default_rng(seed)
        villages = village_polygons(np.random.default_rng([seed, 1]))
        paths = write_terrain_rasters(out, np.random.default_rng([seed, 2]), county_outline())
        village_path = out / "villages.gpkg"
        villages.to_file(village_path, layer="villages", driver="GPKG")
        table = make_households(rng, villages, households)
        export_rng = np.random.default_rng([seed, 3])
        household_path = write_export(monitoring_export(export_rng, table), out)
        zones = gpd.read_file(paths["landslide"], layer="zones")
        sites = hazard_sites(np.random.default_rng([seed, 4]), zones, table)
        sites_path = write_sites(sites, out / "hazard_sites.csv")
        event_path = write_hail_event(out, county_outline())
        split_path = out / "business_split.csv"
        business_split(export_rng, table).to_csv(split_path, index=False, encoding="utf-8")
    written = {
        "villages": village_path,
        "households": household_path,
        "business split": split_path,
        **paths,
        "hazard sites": sites_path,
        "hail event": event_path,
    }
    record = {
        "recipe": _recipe(households, seed),
        "paths": {role: path.name for role, path in written.items()},
        "files": {path.name: file_digest(path) for path in written.values()},
    }
    try:  # the marker's last line: what makes a repeated run with the same options a no-op
        with (out / DEMO_MARKER).open("a", encoding="utf-8") as marker:
            marker.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the demo data ({exc.strerror or exc})") from None
    return written
