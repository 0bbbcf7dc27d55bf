"""The Chinese offset coordinate systems GCJ-02 (AMap, Tencent, Google China) and BD-09
(Baidu), converted to WGS84.

GCJ-02 is WGS84 shifted by a published, deliberately obfuscated function of position (a
few hundred metres in Gansu); BD-09 is a further rotation and shift of GCJ-02. No EPSG
code or pyproj pipeline describes them, so the public forward formulas are used, and the
conversion to WGS84 inverts them by fixed-point iteration until the round trip is within
1e-9 degrees (about 0.1 mm), far below the 0.5 m the county needs. Outside China's
bounding box GCJ-02 equals WGS84, as the formula's definition says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

OFFSET_SYSTEMS = {"GCJ-02": "GCJ-02", "GCJ02": "GCJ-02", "BD-09": "BD-09", "BD09": "BD-09"}
_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 50


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The public GCJ-02 forward formula."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    x, y = lon - 105.0, lat - 35.0
    shared = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += shared
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += shared
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The public BD-09 forward formula (from GCJ-02)."""
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x, y) = (lon, lat) by fixed-point iteration (the offsets vary slowly)."""
    target_lon = np.asarray(lon, dtype=np.float64)
    target_lat = np.asarray(lat, dtype=np.float64)
    x, y = target_lon.copy(), target_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - target_lon, fy - target_lat
        x, y = x - dx, y - dy
        if (
            np.nanmax(np.abs(np.concatenate([dx.ravel(), dy.ravel()])), initial=0.0)
            < _TOLERANCE_DEG
        ):
            break
    return x, y


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gcj_lon, gcj_lat = _invert(gcj02_to_bd09, lon, lat)
    return gcj02_to_wgs84(gcj_lon, gcj_lat)


def to_wgs84(system: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in 'GCJ-02' or 'BD-09' as WGS84 lon/lat (NaN stays NaN)."""
    return gcj02_to_wgs84(lon, lat) if system == "GCJ-02" else bd09_to_wgs84(lon, lat)
