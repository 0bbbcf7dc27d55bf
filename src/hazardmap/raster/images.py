"""Rasters as map images: warped to Web Mercator and classed (a layer) or shaded (relief).

Leaflet stretches an image overlay linearly between its corners in Web Mercator
(EPSG:3857), so an image in any other CRS lands hundreds of metres off at this latitude.
Each raster is therefore warped to EPSG:3857 first, at a capped size (GDAL reads from
overviews or decimates, so a large raster costs little), turned into a class per pixel by
its layer's levels (or into shaded relief, for the elevation backdrop), and placed by the
lat/lon of its 3857 corners. Colours and encoding are the map writer's. A raster is opened
by the same rules as for the statistics (``hazardmap.raster.source``): the same band, CRS,
missing cells and scale and offset, and the same one-line errors for a file that cannot be
used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer

from hazardmap.errors import InputError
from hazardmap.raster.source import (
    MissingCells,
    RasterRole,
    SourceOptions,
    band_scaling,
    open_raster_file,
    read_failure,
)
from hazardmap.results import MISSING_CLASS, Bounds, MapImage

MAX_OVERLAY_SIDE = 1200
"""Longest side of an overlay image, in pixels (keeps map.html small for any raster)."""


def warp_to_web_mercator(
    path: Path,
    options: SourceOptions | None = None,
    *,
    max_side: int = MAX_OVERLAY_SIDE,
    average: bool = False,
) -> tuple[np.ndarray, Bounds]:
    """The raster warped to EPSG:3857 (float, NaN where missing), at most ``max_side``
    pixels on its longer side, and its lat/lon bounds. ``average`` resamples by the mean
    (for continuous surfaces such as elevation); the default takes the nearest cell.

    ``options`` are the layer file's (band, extra nodata, CRS), read by the rules the statistics use
    (``open_raster_file``): the same band, CRS and missing cells, the same one-line errors.
    """
    return _warp(path, options or SourceOptions(), "layer", max_side=max_side, average=average)


def _warp(
    path: Path, options: SourceOptions, role: RasterRole, *, max_side: int, average: bool
) -> tuple[np.ndarray, Bounds]:
    import rasterio
    from rasterio._err import CPLE_BaseError
    from rasterio.crs import CRS as RioCRS
    from rasterio.enums import ColorInterp, MaskFlags, Resampling
    from rasterio.errors import CRSError as RioCRSError
    from rasterio.errors import RasterioIOError
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import calculate_default_transform

    description = str(path) if options.variable is None else f"{path}, variable {options.variable}"
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        src, band, crs = open_raster_file(path, options, role=role)
        with src:
            src_crs = RioCRS.from_wkt(crs.to_wkt())
            src_nodata = src.nodatavals[band - 1]
            scaling = band_scaling(src, band, description)
            try:
                transform, width, height = calculate_default_transform(
                    src_crs, "EPSG:3857", src.width, src.height, *src.bounds
                )
            except (RioCRSError, CPLE_BaseError) as exc:
                # open_raster_file refuses a CRS or grid with no place on Earth; this is
                # for a raster that has one, but whose extent GDAL cannot project
                detail = " ".join(str(exc).split())
                raise InputError(
                    f"{description}: the raster cannot be projected to Web Mercator for the "
                    f"map ({detail}); check its CRS and extent (gdalinfo)"
                ) from None
            scale = max(width, height) / max_side
            if scale > 1:
                width, height = max(1, round(width / scale)), max(1, round(height / scale))
                transform = transform @ transform.scale(scale, scale)
            flags = set(src.mask_flag_enums[band - 1])
            # a mask of the band's own (not its nodata value): the warper honours a dataset's
            # mask or alpha band, as an alpha band of its output; one of the band's own it
            # ignores, so that one is warped apart (``_warped_band_mask``)
            own_mask = not flags & {MaskFlags.all_valid, MaskFlags.nodata}
            dataset_mask = own_mask and bool(flags & {MaskFlags.per_dataset, MaskFlags.alpha})
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
                add_alpha=dataset_mask and ColorInterp.alpha not in src.colorinterp,
            ) as vrt:
                try:
                    warped = vrt.read(band, masked=True)
                    valid = None
                    if dataset_mask:
                        valid = vrt.read(vrt.colorinterp.index(ColorInterp.alpha) + 1) > 0
                    elif own_mask:
                        valid = _warped_band_mask(src, band, src_crs, transform, (height, width))
                except RasterioIOError as exc:
                    raise read_failure(description, 0, src.height, exc) from None
    raw = np.ma.getdata(warped)
    values = raw.astype(np.float64)
    values[np.ma.getmaskarray(warped)] = np.nan
    if valid is not None:
        values[~valid] = np.nan
    # the nearest cell keeps the band's values, so the layer's extra nodata still matches;
    # like the statistics, the map sees the band's unscaled values
    MissingCells(raw.dtype, np.float64, (None, options.nodata), scaling).apply(values, raw)
    west, north = transform.c, transform.f
    east, south = west + transform.a * width, north + transform.e * height
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_lonlat.transform([west, east], [south, north])
    return values, ((lat0, lon0), (lat1, lon1))


def _warped_band_mask(
    src: Any, band: int, src_crs: Any, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Which pixels of the warped image a band's own mask (one GDAL's warper ignores) keeps:
    the mask read at about twice the image's resolution, warped by the nearest cell."""
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    step = max(1.0, max(src.width, src.height) / (2 * max(shape)))
    mask_shape = (max(1, round(src.height / step)), max(1, round(src.width / step)))
    mask = src.read_masks(band, out_shape=mask_shape)
    kept = np.zeros(shape, dtype=np.uint8)
    reproject(
        mask,
        kept,
        src_transform=src.transform
        @ Affine.scale(src.width / mask_shape[1], src.height / mask_shape[0]),
        src_crs=src_crs,
        dst_transform=transform,
        dst_crs="EPSG:3857",
        resampling=Resampling.nearest,
    )
    return kept > 0


def check_backdrop(path: Path) -> None:
    """Raise the one-line error the backdrop would give on the map, without rendering it:
    open it, require a CRS, and decode its first and last rows (a truncated file fails at
    its end; reading the whole elevation model would cost a tenth of a second a run)."""
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        src, band, _ = open_raster_file(path, role="backdrop")
        with src:
            for row in sorted({0, src.height - 1}):
                try:
                    src.read(band, window=Window(0, row, src.width, 1))
                except RasterioIOError as exc:
                    raise read_failure(str(path), row, row + 1, exc) from None


def hillshade(
    values: np.ndarray, cell_size: float, azimuth: float = 315.0, altitude: float = 45.0
) -> np.ndarray:
    """Grey shaded relief (uint8) of an elevation grid, light from the north-west; missing
    cells take the mean elevation, and a grid one cell thin is flat across it."""
    valid = np.isfinite(values)
    filled = np.where(valid, values, float(values[valid].mean()) if valid.any() else 0.0)
    dz_dy, dz_dx = (
        np.gradient(filled, cell_size, axis=axis)
        if filled.shape[axis] > 1
        else np.zeros_like(filled)
        for axis in (0, 1)
    )
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(-dz_dx, dz_dy)
    az, alt = np.radians(360.0 - azimuth + 90.0), np.radians(altitude)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return (255 * np.clip(shade, 0, 1) * 0.8 + 40).astype(np.uint8)


def class_image(values: np.ndarray, breaks: tuple[float, ...]) -> np.ndarray:
    """Per pixel the class its value falls in (0 below the first break, len(breaks) at or
    above the last), MISSING_CLASS where the value is missing."""
    classes = np.searchsorted(np.asarray(breaks, dtype=np.float64), values, side="right")
    return np.where(np.isnan(values), MISSING_CLASS, classes).astype(np.uint8)


def layer_image(
    path: Path, breaks: tuple[float, ...], *, options: SourceOptions | None = None
) -> MapImage:
    """A layer's raster as a class image in Web Mercator; ``options`` are its layer file's."""
    values, bounds = warp_to_web_mercator(path, options)
    return MapImage(class_image(values, breaks), bounds)


def relief_image(path: Path) -> MapImage:
    """The elevation backdrop as grey shaded relief; a file that cannot be used is a
    one-line error, as ``check_backdrop`` gives it."""
    values, bounds = _warp(
        path, SourceOptions(), "backdrop", max_side=MAX_OVERLAY_SIDE, average=True
    )
    if not np.isfinite(values).any():
        raise InputError(
            f"{path}: the backdrop raster has no elevation to shade: every cell is nodata or "
            "masked; check its nodata value, or set [map] backdrop to another raster"
        )
    # Web Mercator metres are stretched by 1/cos(lat); shade with the true ground size
    (south, _), (north, _) = bounds
    to_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    _, (y0, y1) = to_3857.transform([0.0, 0.0], [south, north])
    cell = abs(y1 - y0) / values.shape[0] * np.cos(np.radians((south + north) / 2))
    return MapImage(hillshade(values, cell), bounds)
