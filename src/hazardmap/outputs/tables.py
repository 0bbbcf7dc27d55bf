"""The tables of a run: villages (GeoPackage and CSV), households, priorities."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

VILLAGES_LAYER = "villages"


def write_villages(villages: gpd.GeoDataFrame, folder: Path) -> None:
    """villages.gpkg (layer 'villages', EPSG:4326) and villages.csv (UTF-8 with BOM)."""
    villages.to_file(folder / "villages.gpkg", layer=VILLAGES_LAYER, driver="GPKG")
    pd.DataFrame(villages.drop(columns="geometry")).to_csv(
        folder / "villages.csv", index=False, encoding="utf-8-sig"
    )


def write_households(households: pd.DataFrame, folder: Path) -> None:
    households.to_csv(folder / "households.csv", index=False, encoding="utf-8-sig")


def write_priorities(priorities: pd.DataFrame, folder: Path) -> None:
    priorities.to_csv(folder / "priorities.csv", index=False, encoding="utf-8-sig")
