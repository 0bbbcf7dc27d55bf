"""Raster kernels: zonal statistics over polygons and sampling at points, strip by strip."""

from hazardmap.crs import Grid
from hazardmap.raster.engine import PointJob, ZonalJob, ZoneReduction, scan
from hazardmap.raster.geometry import to_pixel_points, to_pixel_space
from hazardmap.raster.points import points_in_grid, sample, sample_xy
from hazardmap.raster.source import FileSource, RasterSource, open_source
from hazardmap.raster.zonal import coverage_rule, zonal_stats, zones_to_crs

__all__ = [
    "FileSource",
    "Grid",
    "PointJob",
    "RasterSource",
    "ZonalJob",
    "ZoneReduction",
    "coverage_rule",
    "open_source",
    "points_in_grid",
    "sample",
    "sample_xy",
    "scan",
    "to_pixel_points",
    "to_pixel_space",
    "zonal_stats",
    "zones_to_crs",
]
