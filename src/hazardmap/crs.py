"""Coordinate systems in one place: parsing, China's offset systems, grids, fit checks.

A declared system is either a CRS pyproj knows or one of China's offset systems (GCJ-02,
BD-09), which no EPSG code describes: their coordinates are degrees shifted by published
formulas (``chinese_crs.py``), and become WGS84 once converted. :class:`CoordinateSystem`
hides that difference, so the offset handling is written once. Declared systems are
checked against the coordinates themselves: a file whose numbers cannot be in its CRS
(metres declared as degrees, say) is an error that says so, and for households placed
outside the county the systems that would fit are tried and named.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError
from pyproj.exceptions import ProjError

from hazardmap.chinese_crs import OFFSET_SYSTEMS, to_wgs84
from hazardmap.errors import CRSError

WGS84 = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)


def parse_crs(value: Any, *, where: str) -> CRS:
    """A pyproj CRS from anything pyproj accepts, or a CRSError naming ``where``."""
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError:
        raise CRSError(
            f"{where}: '{value}' is not a coordinate reference system pyproj knows; "
            "use an EPSG code such as 'EPSG:4326'"
        ) from None


@dataclass(frozen=True)
class CoordinateSystem:
    """How coordinates were declared: a pyproj CRS, or an offset system over WGS84."""

    label: str
    """As a user would write it: 'EPSG:4544', 'GCJ-02'."""
    crs: CRS
    """The CRS of the coordinates once converted (WGS84 for the offset systems)."""
    offset: str | None = None
    """'GCJ-02' or 'BD-09', else None."""

    @property
    def in_degrees(self) -> bool:
        return self.offset is not None or self.crs.is_geographic

    def convert(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates as they are in :attr:`crs` (offset systems become WGS84)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return (x, y) if self.offset is None else to_wgs84(self.offset, x, y)

    def transform(self, x: np.ndarray, y: np.ndarray, to: CRS) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates moved into ``to`` (NaN stays NaN; coordinates that do not fit give
        inf or NaN, never an exception)."""
        x, y = self.convert(x, y)
        if self.crs.equals(to):
            return x, y
        with np.errstate(invalid="ignore", over="ignore"):
            tx, ty = _transformer(self.crs, to).transform(x, y, errcheck=False)
        return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


_THREAD = threading.local()


def _transformer(source: CRS, target: CRS) -> Transformer:
    """One transformer per pair of CRSs and thread (making one costs about 13 ms; pyproj
    transformers must not be shared between threads)."""
    made: dict[tuple[CRS, CRS], Transformer] = _THREAD.__dict__.setdefault("transformers", {})
    if (source, target) not in made:
        made[source, target] = Transformer.from_crs(source, target, always_xy=True)
    return made[source, target]


def parse_system(value: str, *, where: str) -> CoordinateSystem:
    """'GCJ-02', 'BD-09' (any spelling OFFSET_SYSTEMS knows) or anything pyproj accepts."""
    offset = OFFSET_SYSTEMS.get(value.strip().upper())
    if offset is not None:
        return CoordinateSystem(offset, WGS84, offset)
    return CoordinateSystem(value, parse_crs(value, where=where))


def system_of(crs: CRS) -> CoordinateSystem:
    return CoordinateSystem(crs.to_string(), crs)


def lonlat_fit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which coordinates can be longitude and latitude (finite, in range)."""
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (lon >= -180.0)
            & (lon <= 360.0)
            & (np.abs(lat) <= 90.0)
        )


def check_fits(x: np.ndarray, y: np.ndarray, system: CoordinateSystem, *, where: str) -> None:
    """Raise a CRSError when coordinates cannot be in the declared system: degrees out of
    range, or projected values that do not map to a place on Earth."""
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    x, y = x[finite], y[finite]
    if system.in_degrees:
        fits = lonlat_fit(x, y)
        unit = "degrees"
    else:
        try:
            lon, lat = system.transform(x, y, WGS84)
        except ProjError:
            raise CRSError(
                f"{where}: the CRS {system.label} cannot be related to places on Earth (a local "
                "or engineering CRS); declare the CRS the coordinates are really in"
            ) from None
        fits = lonlat_fit(lon, lat)
        unit = "its units"
    if not fits.all():
        bad = int((~fits).sum())
        example = (float(x[~fits][0]), float(y[~fits][0]))
        raise CRSError(
            f"{where}: the coordinates do not fit the declared CRS {system.label}: {bad:,} of "
            f"{x.size:,} points, e.g. ({example[0]:.6g}, {example[1]:.6g}), are not a place on "
            f"Earth in {unit}; declare the CRS the coordinates are really in"
        )


def utm_zone(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone holding a point (metric, for distances and areas)."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def candidate_systems(lon: float, lat: float) -> list[CoordinateSystem]:
    """The systems a county's point files are commonly in, around (lon, lat): degrees
    (WGS84/CGCS2000, GCJ-02, BD-09), Web Mercator, the UTM zone, and the CGCS2000
    Gauss-Krüger 3° and 6° zones (with and without the zone number in the easting)."""
    systems = [
        CoordinateSystem("EPSG:4326", WGS84),
        CoordinateSystem("GCJ-02", WGS84, "GCJ-02"),
        CoordinateSystem("BD-09", WGS84, "BD-09"),
        system_of(CRS.from_epsg(3857)),
        system_of(utm_zone(lon, lat)),
    ]
    zone3 = round(lon / 3.0)
    if 25 <= zone3 <= 45:
        systems += [system_of(CRS.from_epsg(4513 + zone3 - 25))]
        systems += [system_of(CRS.from_epsg(4534 + zone3 - 25))]
    zone6 = int(math.floor(lon / 6.0)) + 1
    if 13 <= zone6 <= 23:
        systems += [system_of(CRS.from_epsg(4491 + zone6 - 13))]
        systems += [system_of(CRS.from_epsg(4502 + zone6 - 13))]
    return systems


@dataclass(frozen=True)
class Grid:
    """The geometry of a raster: its affine transform, shape and CRS."""

    transform: Affine
    width: int
    height: int
    crs: CRS

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        t = self.transform
        xs = (t.c, t.c + t.a * self.width)
        ys = (t.f, t.f + t.e * self.height)
        return (min(xs), min(ys), max(xs), max(ys))


def same_crs(a: CRS, b: CRS) -> bool:
    """The same CRS, whatever axis order each declares."""
    return bool(a.equals(b, ignore_axis_order=True))
