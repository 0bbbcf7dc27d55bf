"""Synthetic households: clustered in settlements inside their villages, with incomes
around and above the monitoring line and realistic income mixes, housing and insurance."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from hazardmap.vocabulary import INCOME_COMPONENTS

CATEGORY_SHARES = {"hardship": 0.012, "unstable": 0.03, "marginal": 0.04}
MEDIAN_INCOME = {"none": 15000.0, "unstable": 8200.0, "marginal": 8800.0, "hardship": 6800.0}
GENERAL_FLOOR = 11_250.0
"""Households no category names earn at least 1.5 times the demo's monitoring line (7,500
CNY): one closer to the line would be monitored as marginal (ILLUSTRATIVE)."""
HOUSING_SHARES = {
    "earth": 0.07,
    "brick_wood": 0.28,
    "brick_concrete": 0.52,
    "frame": 0.08,
    "cave": 0.05,
}
MONITORED_HOUSING_SHARES = {
    "earth": 0.25,
    "brick_wood": 0.38,
    "brick_concrete": 0.25,
    "frame": 0.02,
    "cave": 0.10,
}
"""Monitored households live more often in earth houses and loess caves (窑洞)."""
MISSING_COORDINATES = 0.03
SETTLEMENT_SPREAD_M = 220.0


def _settlement_points(
    rng: np.random.Generator, villages: gpd.GeoDataFrame, village_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x, y (village CRS) of each household, around 1-4 settlement centres per village,
    always inside the household's own village."""
    geoms = np.asarray(villages.geometry.values)
    shapely.prepare(geoms)
    centres: list[np.ndarray] = []
    for geom in geoms:
        xmin, ymin, xmax, ymax = geom.bounds
        n = int(rng.integers(1, 5))
        found = np.empty((0, 2))
        while len(found) < n:
            xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(8 * n, 2))
            found = np.vstack([found, xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]])
        centres.append(found[:n])
    pick = np.array([rng.integers(len(centres[v])) for v in village_of])
    centre = np.array([centres[v][k] for v, k in zip(village_of, pick, strict=True)])
    xy = centre.copy()
    pending = np.arange(len(xy))
    for _ in range(8):
        trial = centre[pending] + rng.normal(0.0, SETTLEMENT_SPREAD_M, size=(len(pending), 2))
        inside = shapely.contains_xy(geoms[village_of[pending]], trial[:, 0], trial[:, 1])
        xy[pending[inside]] = trial[inside]
        pending = pending[~inside]
        if not len(pending):
            break
    return xy[:, 0], xy[:, 1]


def _shares(
    rng: np.random.Generator, monitored: np.ndarray, orchard_weight: np.ndarray
) -> np.ndarray:
    """Income shares per component, dominated by crops, apple orchards and migrant wages;
    rounded down to 3 decimals so that each row sums to at most 1."""
    alpha = np.empty((len(monitored), len(INCOME_COMPONENTS)))
    alpha[:] = [2.4, 2.0, 0.7, 3.2, 0.5, 0.4]
    alpha[:, 1] *= orchard_weight
    alpha[monitored, 4] += 1.5  # transfers weigh more for monitored households
    alpha[monitored, 3] *= 0.6
    shares = np.array([rng.dirichlet(a) for a in alpha])
    return np.floor(shares * 1000.0) / 1000.0


def make_households(rng: np.random.Generator, villages: gpd.GeoDataFrame, n: int) -> pd.DataFrame:
    """n households in the CONTRACT.md format, with WGS84 lon/lat (about 3% missing)."""
    size = np.sqrt(villages.geometry.area.to_numpy()) * rng.lognormal(0.0, 0.35, len(villages))
    counts = rng.multinomial(n, size / size.sum())
    village_of = np.repeat(np.arange(len(villages)), counts)
    x, y = _settlement_points(rng, villages, village_of)

    draw = rng.random(n)
    category = np.full(n, "none", dtype=object)
    edge = 0.0
    for name, share in CATEGORY_SHARES.items():
        category[(draw >= edge) & (draw < edge + share)] = name
        edge += share
    monitored = category != "none"
    village_wealth = rng.lognormal(0.0, 0.15, len(villages))[village_of]
    median = np.array([MEDIAN_INCOME[c] for c in category])
    spread = np.where(monitored, 0.18, 0.35)
    income = median * village_wealth * rng.lognormal(0.0, spread)
    while (low := ~monitored & (income < GENERAL_FLOOR)).any():
        income[low] = median[low] * village_wealth[low] * rng.lognormal(0.0, spread[low])
    income = np.round(income, -1)
    orchard_weight = rng.lognormal(0.0, 0.6, len(villages))[village_of]
    shares = _shares(rng, monitored, orchard_weight)
    kinds = len(HOUSING_SHARES)
    housing = np.array(list(HOUSING_SHARES))[
        np.where(
            monitored,
            rng.choice(kinds, n, p=[MONITORED_HOUSING_SHARES[h] for h in HOUSING_SHARES]),
            rng.choice(kinds, n, p=list(HOUSING_SHARES.values())),
        )
    ]
    farm_share = shares[:, 0] + shares[:, 1]
    insured = rng.random(n) < 0.2 + 0.5 * farm_share
    members = np.minimum(1 + rng.poisson(2.6, n), 8)

    lon, lat = Transformer.from_crs(villages.crs, 4326, always_xy=True).transform(x, y)
    lon = np.round(np.asarray(lon), 6)
    lat = np.round(np.asarray(lat), 6)
    no_gps = rng.random(n) < MISSING_COORDINATES
    codes = villages["village_code"].to_numpy()[village_of]
    serial = np.concatenate([np.arange(1, c + 1) for c in counts]) if n else np.array([], int)
    table = pd.DataFrame(
        {
            "household_id": [f"{c}-{s:04d}" for c, s in zip(codes, serial, strict=True)],
            "village_code": codes,
            "members": members,
            "income_pc": income.astype(np.int64),
            "category": category,
            **{f"share_{c}": shares[:, j] for j, c in enumerate(INCOME_COMPONENTS)},
            "housing": housing,
            "insured": np.where(insured, "true", "false"),
            "lon": np.where(no_gps, np.nan, lon),
            "lat": np.where(no_gps, np.nan, lat),
        }
    )
    return table
