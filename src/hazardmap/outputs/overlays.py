"""Rasters as map images: warped to Web Mercator, coloured, encoded as PNG.

Leaflet stretches an image overlay linearly between its corners in Web Mercator
(EPSG:3857), so an image in any other CRS lands hundreds of metres off at this latitude.
Each raster is therefore warped to EPSG:3857 first, at a capped size (GDAL reads from
overviews or decimates, so a large raster costs little), coloured by its layer's levels
with nodata transparent, and placed by the lat/lon of its 3857 corners. A raster is opened
by the same rules as for the statistics (``hazardmap.raster.source``): the same band, CRS
and missing cells, and the same one-line errors for a file that cannot be used.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import Transformer

from hazardmap.raster.source import (
    MissingCells,
    RasterRole,
    SourceOptions,
    open_raster_file,
    read_failure,
)

MAX_OVERLAY_SIDE = 1200
"""Longest side of an overlay image, in pixels (keeps map.html small for any raster)."""


@dataclass(frozen=True)
class Overlay:
    """An image in Web Mercator and where it goes: [[south, west], [north, east]]."""

    data_uri: str
    bounds: list[list[float]]
    width: int
    height: int


def warp_to_web_mercator(
    path: Path,
    *,
    declared_crs: str | None = None,
    crs_override: bool = False,
    band: int | None = None,
    nodata: float | None = None,
    variable: str | None = None,
    max_side: int = MAX_OVERLAY_SIDE,
    average: bool = False,
) -> tuple[np.ndarray, list[list[float]]]:
    """The raster warped to EPSG:3857 (float, NaN where missing), at most ``max_side``
    pixels on its longer side, and its lat/lon bounds. ``average`` resamples by the mean
    (for continuous surfaces such as elevation); the default takes the nearest cell.

    The options are the layer file's, read by the rules the statistics use
    (``open_raster_file``): the same band, CRS and missing cells, the same one-line errors.
    """
    options = SourceOptions(declared_crs, crs_override, band, nodata, variable)
    return _warp(path, options, "layer", max_side=max_side, average=average)


def _warp(
    path: Path, options: SourceOptions, role: RasterRole, *, max_side: int, average: bool
) -> tuple[np.ndarray, list[list[float]]]:
    import rasterio
    from rasterio.crs import CRS as RioCRS
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import calculate_default_transform

    description = str(path) if options.variable is None else f"{path}, variable {options.variable}"
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        src, band, crs = open_raster_file(path, options, role=role)
        with src:
            src_crs = RioCRS.from_wkt(crs.to_wkt())
            src_nodata = src.nodatavals[band - 1]
            transform, width, height = calculate_default_transform(
                src_crs, "EPSG:3857", src.width, src.height, *src.bounds
            )
            scale = max(width, height) / max_side
            if scale > 1:
                width, height = max(1, round(width / scale)), max(1, round(height / scale))
                transform = transform @ transform.scale(scale, scale)
            with WarpedVRT(
                src,
                src_crs=src_crs,
                crs="EPSG:3857",
                transform=transform,
                width=width,
                height=height,
                resampling=Resampling.average if average else Resampling.nearest,
                src_nodata=src_nodata,
                nodata=src_nodata,
            ) as vrt:
                try:
                    warped = vrt.read(band, masked=True)
                except RasterioIOError as exc:
                    raise read_failure(description, 0, src.height, exc) from None
    raw = np.ma.getdata(warped)
    values = raw.astype(np.float64)
    values[np.ma.getmaskarray(warped)] = np.nan
    # the nearest cell keeps the band's values, so the layer's extra nodata still matches
    MissingCells(raw.dtype, np.float64, (None, options.nodata)).apply(values, raw)
    west, north = transform.c, transform.f
    east, south = west + transform.a * width, north + transform.e * height
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_lonlat.transform([west, east], [south, north])
    return values, [[lat0, lon0], [lat1, lon1]]


BACKDROP_CHECK_SIDE = 256
"""Longest side of the decimated read that proves a backdrop decodes."""


def check_backdrop(path: Path) -> None:
    """Raise the one-line error the backdrop would give on the map, without rendering it:
    open it, require a CRS, and decode a decimated copy (a truncated file fails there)."""
    import rasterio
    from rasterio.errors import RasterioIOError

    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        src, band, _ = open_raster_file(path, role="backdrop")
        with src:
            scale = max(1.0, max(src.width, src.height) / BACKDROP_CHECK_SIDE)
            shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
            try:
                src.read(band, out_shape=shape)
            except RasterioIOError as exc:
                raise read_failure(str(path), 0, src.height, exc) from None


def colourize(
    values: np.ndarray, breaks: tuple[float, ...], colours: list[str], opacity: float = 0.75
) -> np.ndarray:
    """RGBA image: each value coloured by the class its breaks give (len(colours) =
    len(breaks) + 1), NaN transparent."""
    palette = np.array(
        [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.uint8
    )
    classes = np.searchsorted(np.asarray(breaks, dtype=np.float64), values, side="right")
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = palette[np.clip(classes, 0, len(colours) - 1)]
    rgba[..., 3] = np.where(np.isnan(values), 0, round(255 * opacity))
    return rgba


def hillshade(
    values: np.ndarray, cell_size: float, azimuth: float = 315.0, altitude: float = 45.0
) -> np.ndarray:
    """Grey RGBA shaded relief of an elevation grid (light from the north-west)."""
    dz_dy, dz_dx = np.gradient(np.nan_to_num(values, nan=float(np.nanmean(values))), cell_size)
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(-dz_dx, dz_dy)
    az, alt = np.radians(360.0 - azimuth + 90.0), np.radians(altitude)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    grey = (255 * np.clip(shade, 0, 1) * 0.8 + 40).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.where(np.isnan(values), 0, 255).astype(np.uint8)])
    return rgba


def image_data_uri(pixels: np.ndarray, *, driver: str = "PNG") -> str:
    """Encode an RGBA (PNG) or RGB (JPEG) array as a data URI, through GDAL's drivers."""
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    height, width, bands = pixels.shape
    options = {"QUALITY": 80} if driver == "JPEG" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, on purpose
        with MemoryFile() as memory:
            with memory.open(
                driver=driver, width=width, height=height, count=bands, dtype="uint8", **options
            ) as dst:
                dst.write(np.moveaxis(pixels, -1, 0))
            data = memory.read()
    mime = "image/png" if driver == "PNG" else "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def layer_overlay(
    path: Path,
    breaks: tuple[float, ...],
    colours: list[str],
    *,
    declared_crs: str | None = None,
    crs_override: bool = False,
    band: int | None = None,
    nodata: float | None = None,
    variable: str | None = None,
) -> Overlay:
    """A layer's raster as a coloured image; the options are its layer file's."""
    values, bounds = warp_to_web_mercator(
        path,
        declared_crs=declared_crs,
        crs_override=crs_override,
        band=band,
        nodata=nodata,
        variable=variable,
    )
    rgba = colourize(values, breaks, colours)
    return Overlay(image_data_uri(rgba), bounds, rgba.shape[1], rgba.shape[0])


def hillshade_overlay(path: Path) -> Overlay:
    """The elevation backdrop as shaded relief; a file that cannot be used is a one-line
    error, as ``check_backdrop`` gives it."""
    values, bounds = _warp(
        path, SourceOptions(), "backdrop", max_side=MAX_OVERLAY_SIDE, average=True
    )
    # Web Mercator metres are stretched by 1/cos(lat); shade with the true ground size
    lat = np.radians((bounds[0][0] + bounds[1][0]) / 2)
    south, north = bounds[0][0], bounds[1][0]
    to_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    _, (y0, y1) = to_3857.transform([0.0, 0.0], [south, north])
    cell = abs(y1 - y0) / values.shape[0] * np.cos(lat)
    rgb = hillshade(values, cell)[..., :3]  # opaque: JPEG keeps the page small
    return Overlay(image_data_uri(rgb, driver="JPEG"), bounds, rgb.shape[1], rgb.shape[0])
