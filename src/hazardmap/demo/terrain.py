"""Synthetic loess terrain and the three hazards' data derived from it.

Each comes in its own CRS and form, as real data from different agencies does: the
landslide susceptibility of the 30 m terrain as zoning polygons (``zoning.py``), hail
days at 0.05 degrees in WGS84, and drought as a monthly SPEI cube at 0.1 degrees
(``climate.py``) whose severe growing seasons follow a probability field drier to the
north and wetter at altitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.warp import Resampling, reproject

from hazardmap.demo.climate import write_spei_cube
from hazardmap.demo.zoning import write_zoning, zoning

TERRAIN_CRS = "EPSG:32648"
CELL = 30.0
ELEVATION_RANGE = (1340.0, 2245.0)
SPEI_FILE = "spei_monthly.nc"
ZONES_FILE = "landslide_zones.gpkg"
NODATA = -9999.0
_GEOTIFF = {
    "driver": "GTiff",
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "deflate",
}


@dataclass(frozen=True)
class Terrain:
    elevation: np.ndarray  # metres, float32
    slope: np.ndarray  # degrees
    transform: Affine


def spectral_noise(
    rng: np.random.Generator, shape: tuple[int, int], beta: float, cutoff_px: float
) -> np.ndarray:
    """Zero-mean, unit-variance fractal noise: white noise shaped by a k^-beta spectrum,
    with wavelengths longer than ``cutoff_px`` removed."""
    white = rng.standard_normal(shape)
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    k = np.hypot(kx, ky)
    k[0, 0] = 1.0
    spectrum = k ** (-beta / 2.0) * (1.0 - np.exp(-((k * cutoff_px) ** 4)))
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(np.fft.rfft2(white) * spectrum, s=shape)
    return (field - field.mean()) / field.std()


def make_terrain(rng: np.random.Generator, outline_utm: shapely.Geometry, margin: float) -> Terrain:
    """Loess hills cut by gullies, higher to the east (Liupan foothills), a main valley
    running north-south in the west, scaled to the county's 1,340-2,245 m."""
    xmin, ymin, xmax, ymax = shapely.bounds(outline_utm)
    west = np.floor((xmin - margin) / CELL) * CELL
    north = np.ceil((ymax + margin) / CELL) * CELL
    width = int(np.ceil((xmax + margin - west) / CELL))
    height = int(np.ceil((north - (ymin - margin)) / CELL))
    transform = Affine(CELL, 0.0, west, 0.0, -CELL, north)
    v = np.linspace(1.0, 0.0, height)[:, None]  # 1 north, 0 south
    u = np.linspace(0.0, 1.0, width)[None, :]  # 0 west, 1 east
    river_u = 0.32 + 0.04 * np.sin(v * 9.0) + 0.02 * np.sin(v * 23.0)
    valley = np.exp(-(((u - river_u) / 0.07) ** 2))
    hills = spectral_noise(rng, (height, width), beta=3.2, cutoff_px=1500.0)
    gully_lines = spectral_noise(rng, (height, width), beta=2.2, cutoff_px=120.0)
    incision = np.exp(-((gully_lines / 0.18) ** 2))
    # dissected hills in some parts, flat loess tablelands (塬) in others
    dissection = 1.0 / (1.0 + np.exp(-2.5 * spectral_noise(rng, (height, width), 3.5, 900.0)))
    relief = (
        0.55 * u
        + 0.15 * (1.0 - v)
        - 0.45 * valley
        + 0.22 * hills
        - 0.12 * incision * dissection * (1 - valley)
    )
    low, high = ELEVATION_RANGE
    elevation = low + (relief - relief.min()) / (relief.max() - relief.min()) * (high - low)
    dz_dy, dz_dx = np.gradient(elevation, CELL)
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    return Terrain(elevation.astype(np.float32), slope.astype(np.float32), transform)


def landslide_susceptibility(rng: np.random.Generator, terrain: Terrain) -> np.ndarray:
    """0..1: steep slopes and gully sides high, flat loess tablelands and valley floors low."""
    roughness = spectral_noise(rng, terrain.slope.shape, beta=2.5, cutoff_px=300.0)
    score = (terrain.slope - 21.0) / 5.0 + 0.6 * roughness
    return (1.0 / (1.0 + np.exp(-score))).astype(np.float32)


def _write(path: Path, values: np.ndarray, transform: Affine, crs: str) -> None:
    profile = dict(
        _GEOTIFF,
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=NODATA,
    )
    if min(values.shape) < 256:
        profile.update(tiled=False)
        profile.pop("blockxsize")
        profile.pop("blockysize")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32), 1)


def write_terrain_rasters(
    folder: Path, rng: np.random.Generator, outline_wgs84: shapely.Geometry
) -> dict[str, Path]:
    """dem.tif (EPSG:32648, 30 m), the landslide zoning derived from it (polygons), the
    drought cube (monthly SPEI
    1991-2020 at 0.1 deg, NetCDF) and hail.tif (0.05 deg, EPSG:4326)."""
    to_utm = Transformer.from_crs(4326, TERRAIN_CRS, always_xy=True)
    outline_utm = shapely.transform(
        outline_wgs84, lambda xy: np.column_stack(to_utm.transform(*xy.T))
    )
    terrain = make_terrain(rng, outline_utm, margin=4000.0)
    shape = terrain.elevation.shape
    outside = geometry_mask(
        [shapely.buffer(outline_utm, 1000.0)], out_shape=shape, transform=terrain.transform
    )
    landslide = landslide_susceptibility(rng, terrain)
    landslide[outside] = np.nan
    paths = {"dem": folder / "dem.tif"}
    _write(paths["dem"], terrain.elevation, terrain.transform, TERRAIN_CRS)
    zones = zoning(landslide, terrain.transform, outline_utm, TERRAIN_CRS)
    paths["landslide"] = write_zoning(zones, folder / ZONES_FILE)

    lon0, lat0, lon1, lat1 = shapely.bounds(outline_wgs84)
    corridor_a = np.array([lon0 + 0.1, lat1 - 0.05])  # storm corridor, north-west to south-east
    corridor_b = np.array([lon1 - 0.05, lat0 + 0.15])
    for name, step in (("drought", 0.1), ("hail", 0.05)):
        west = np.floor(lon0 / step - 1) * step
        north = np.ceil(lat1 / step + 1) * step
        width = int(round((np.ceil(lon1 / step + 1) * step - west) / step))
        height = int(round((north - np.floor(lat0 / step - 1) * step) / step))
        transform = Affine(step, 0.0, west, 0.0, -step, north)
        mean_elevation = np.full((height, width), np.nan, dtype=np.float32)
        reproject(
            terrain.elevation,
            mean_elevation,
            src_transform=terrain.transform,
            src_crs=TERRAIN_CRS,
            dst_transform=transform,
            dst_crs="EPSG:4326",
            dst_nodata=np.nan,
            resampling=Resampling.average,
        )
        low, high = ELEVATION_RANGE
        altitude = np.nan_to_num((mean_elevation - low) / (high - low), nan=0.5)
        lat = north - step * (np.arange(height)[:, None] + 0.5)
        lon = west + step * (np.arange(width)[None, :] + 0.5)
        north_share = (lat - lat0) / (lat1 - lat0)
        noise = spectral_noise(rng, (height, width), beta=3.0, cutoff_px=max(height, width))
        if name == "drought":
            values = 0.06 + 0.10 * north_share - 0.06 * altitude + 0.015 * noise
            values = np.clip(values, 0.02, 0.4)
        else:
            direction = (corridor_b - corridor_a) / np.linalg.norm(corridor_b - corridor_a)
            offset_lon, offset_lat = lon - corridor_a[0], lat - corridor_a[1]
            distance = np.abs(offset_lon * direction[1] - offset_lat * direction[0])
            values = 0.3 + 1.7 * altitude + 2.6 * np.exp(-((distance / 0.09) ** 2)) + 0.2 * noise
            values = np.clip(values, 0.1, None)
        if name == "drought":  # as counties receive it: monthly SPEI, 1991-2020
            paths[name] = write_spei_cube(folder / SPEI_FILE, rng, values, transform)
            continue
        paths[name] = folder / f"{name}.tif"
        _write(paths[name], values.astype(np.float32), transform, "EPSG:4326")
    return paths
