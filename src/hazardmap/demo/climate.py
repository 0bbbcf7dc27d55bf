"""The demo's drought data as a county receives it: a monthly SPEI cube, 1991-2020.

Each cell's share of years with a severe growing-season drought (the minimum SPEI of
April to September at or below -1.5) is set to the probability field the terrain gives
(drier to the north, wetter at altitude), to the nearest of 30 years. Severe years are
mostly shared across the county (one year factor, as droughts are wide), and winter
months dip below -1.5 now and then, so that only the season the layer selects counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

FIRST_YEAR, LAST_YEAR = 1991, 2020
GROWING = (4, 5, 6, 7, 8, 9)
SEVERE = -1.5
COUNTY_WIDE = 0.8
"""Weight of the year factor shared by the whole county in a cell's drought ranking."""


def spei_cube(
    rng: np.random.Generator, probability: np.ndarray
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Monthly SPEI (time, rows, cols) whose severe growing-season years per cell number
    ``round(probability * 30)``."""
    months = pd.date_range(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-01", freq="MS")
    years = LAST_YEAR - FIRST_YEAR + 1
    rows, cols = probability.shape
    values = np.clip(rng.normal(0.2, 0.6, (len(months), rows, cols)), SEVERE + 0.05, 2.5)
    winter = np.isin(months.month, (12, 1, 2))
    dips = rng.random((int(winter.sum()), rows, cols)) < 0.05
    values[winter] = np.where(dips, SEVERE - 0.3, values[winter])  # outside the season
    dryness = COUNTY_WIDE * rng.normal(size=(years, 1, 1)) + rng.normal(size=(years, rows, cols))
    rank = np.argsort(np.argsort(-dryness, axis=0), axis=0)  # 0: the driest year of a cell
    severe = rank < np.round(probability * years)[None, :, :]
    month_of_year = rng.choice(GROWING, size=(years, rows, cols))
    for year in range(years):
        for month in GROWING:
            hit = severe[year] & (month_of_year[year] == month)
            step = (year * 12) + month - 1
            values[step][hit] = SEVERE - 0.05 - np.abs(rng.normal(0.0, 0.4, int(hit.sum())))
    return months, values.astype(np.float32)


def write_spei_cube(
    path: Path, rng: np.random.Generator, probability: np.ndarray, transform: Affine
) -> Path:
    """The cube as NetCDF-4 (CF: time, lat, lon in degrees, WGS84), north up."""
    months, values = spei_cube(rng, probability)
    rows, cols = probability.shape
    lat = transform.f + transform.e * (np.arange(rows) + 0.5)
    lon = transform.c + transform.a * (np.arange(cols) + 0.5)
    data = xr.Dataset(
        {
            "spei": (
                ("time", "lat", "lon"),
                values,
                {"long_name": "standardised precipitation-evapotranspiration index, 3-month"},
            )
        },
        coords={
            "time": months,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "Demo SPEI, synthetic (hazardmap demo-data)", "Conventions": "CF-1.8"},
    )
    data.to_netcdf(path, engine="h5netcdf")
    return path
