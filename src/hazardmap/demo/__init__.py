"""The demo county: Jingning's real outline, codes and names, with synthetic terrain,
hazard rasters, village polygons and households, all generated from one seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hazardmap.demo.county import county_outline, village_polygons
from hazardmap.demo.households import make_households
from hazardmap.demo.terrain import write_terrain_rasters
from hazardmap.errors import OutputError


def write_demo_data(out: Path, *, households: int = 30_000, seed: int = 620826) -> dict[str, Path]:
    """Write villages.gpkg, households.csv and the hazard rasters into ``out``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror})") from None
    rng = np.random.default_rng(seed)
    villages = village_polygons(np.random.default_rng([seed, 1]))
    paths = write_terrain_rasters(out, np.random.default_rng([seed, 2]), county_outline())
    village_path = out / "villages.gpkg"
    if village_path.exists():
        village_path.unlink()
    villages.to_file(village_path, layer="villages", driver="GPKG")
    table = make_households(rng, villages, households)
    household_path = out / "households.csv"
    table.to_csv(household_path, index=False, encoding="utf-8")
    return {"villages": village_path, "households": household_path, **paths}
