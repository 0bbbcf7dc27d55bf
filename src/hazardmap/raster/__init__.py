"""Raster kernels: zonal statistics over polygons and sampling at points."""

from hazardmap.raster.points import sample, sample_xy
from hazardmap.raster.source import Grid, RasterData, as_raster, read_raster
from hazardmap.raster.zonal import ZoneReduction, reduce, zonal_stats, zones_to_crs

__all__ = [
    "Grid",
    "RasterData",
    "ZoneReduction",
    "as_raster",
    "read_raster",
    "reduce",
    "sample",
    "sample_xy",
    "zonal_stats",
    "zones_to_crs",
]
