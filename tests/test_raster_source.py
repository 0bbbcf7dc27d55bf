"""Opening and reading raster files: bands, NetCDF variables, declared CRSs, damaged files,
infinite cells; and the map's overlays reading by the same rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

from hazardmap import errors, zonal_stats
from hazardmap.gdal_names import split_netcdf_name
from hazardmap.raster import FileSource, ZonalJob, open_source, sample, scan, to_pixel_space
from hazardmap.raster.engine import _window_task
from hazardmap.raster.images import (
    check_backdrop,
    layer_image,
    relief_image,
    warp_to_web_mercator,
)
from hazardmap.raster.kernels import COVERAGE_RULES, fill_missing
from hazardmap.raster.source import SourceOptions, settle_crs
from hazardmap.results import MISSING_CLASS
from tests.helpers import invoke, set_key

UTM = "EPSG:32648"
TRANSFORM = Affine(100, 0, 500_000, 0, -100, 3_930_000)
LONLAT = Affine(0.1, 0, 104.95, 0, -0.1, 35.55)  # the NetCDF files' grid: 8 x 6 cells


def write_bands(
    path: Path,
    bands: np.ndarray,
    *,
    transform: Affine = TRANSFORM,
    crs: str | None = UTM,
    nodata: float | None = -9999.0,
    descriptions: tuple[str, ...] = (),
    **profile: object,
) -> Path:
    """A GeoTIFF of one or more bands (a 3-D array: band, row, column)."""
    count, height, width = bands.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=bands.dtype,
        transform=transform,
        crs=crs,
        nodata=nodata,
        **profile,
    ) as dst:
        dst.write(bands)
        for k, text in enumerate(descriptions, start=1):
            dst.set_band_description(k, text)
    return path


def whole_raster(source: FileSource) -> np.ndarray:
    return source.read(0, source.grid.height)


def squares(*boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Zones given in cell units (col0, row0, col1, row1) of TRANSFORM."""
    geoms = [
        shapely.box(*(TRANSFORM * (c0, r1)), *(TRANSFORM * (c1, r0))) for c0, r0, c1, r1 in boxes
    ]
    return gpd.GeoDataFrame(geometry=geoms, crs=UTM)


# ------------------------------------------------------------------------------- bands
@pytest.fixture
def three_bands(tmp_path: Path) -> Path:
    bands = np.stack([np.full((4, 5), k, dtype=np.float32) for k in (1.0, 2.0, 3.0)])
    return write_bands(tmp_path / "bands.tif", bands, descriptions=("spring", "summer", "autumn"))


def test_a_multiband_raster_without_band_lists_its_bands(three_bands: Path) -> None:
    with pytest.raises(errors.InputError) as caught:
        FileSource(three_bands)
    message = str(caught.value)
    assert str(three_bands) in message and "\n" not in message
    assert "3 bands (1: spring; 2: summer; 3: autumn)" in message
    assert "set band = k (1 to 3) in the layer file" in message


def test_band_picks_the_band(three_bands: Path) -> None:
    with FileSource(three_bands, band=2) as source:
        assert np.all(whole_raster(source) == 2.0)
    with open_source(three_bands, band=3) as source:
        assert np.all(whole_raster(source) == 3.0)
    with pytest.raises(errors.InputError, match="set band = k"):  # never band 1 silently
        zonal_stats(three_bands, squares((0, 0, 5, 4)), ["mean"])


def test_band_beyond_the_count_names_the_count(three_bands: Path) -> None:
    with pytest.raises(errors.InputError, match="band = 4 but the raster has 3 bands"):
        FileSource(three_bands, band=4)
    with pytest.raises(errors.InputError, match="band = 0 but the raster has 3 bands"):
        open_source(three_bands, band=0)


def test_single_band_raster_takes_band_1(raster_file: Callable[..., Path]) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM)
    with FileSource(path, band=1) as source:
        assert np.all(whole_raster(source) == 1.0)
    with pytest.raises(errors.InputError, match="band = 2 but the raster has 1 band;"):
        FileSource(path, band=2)


# ------------------------------------------------------------------------------ NetCDF
def lonlat_coords() -> dict[str, tuple[str, np.ndarray, dict[str, str]]]:
    lat = LONLAT.f + LONLAT.e * (np.arange(6) + 0.5)
    lon = LONLAT.c + LONLAT.a * (np.arange(8) + 0.5)
    return {
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }


def grid_mapping() -> xr.DataArray:
    """A CF grid mapping variable GDAL reads as EPSG:4326."""
    wkt = CRS.from_epsg(4326).to_wkt()
    return xr.DataArray(
        0, attrs={"grid_mapping_name": "latitude_longitude", "crs_wkt": wkt, "spatial_ref": wkt}
    )


SPEI = np.arange(48.0).reshape(6, 8)


@pytest.fixture
def two_variables(tmp_path: Path) -> Path:
    path = tmp_path / "spei.nc"
    xr.Dataset(
        {
            "spei": (("lat", "lon"), SPEI, {"grid_mapping": "crs"}),
            "pet": (("lat", "lon"), -SPEI, {"grid_mapping": "crs"}),
            "crs": grid_mapping(),
        },
        coords=lonlat_coords(),
    ).to_netcdf(path, engine="scipy")
    return path


def test_a_netcdf_cube_is_a_multiband_raster(tmp_path: Path) -> None:
    path = tmp_path / "monthly.nc"
    cube = np.stack([SPEI + month for month in range(3)]).astype(np.float32)
    xr.Dataset(
        {"spei": (("time", "lat", "lon"), cube)},
        coords={
            **lonlat_coords(),
            "time": ("time", [0, 31, 59], {"units": "days since 2020-01-01"}),
        },
    ).to_netcdf(path, engine="scipy")
    with pytest.raises(errors.InputError) as caught:
        FileSource(path, declared_crs="EPSG:4326")
    message = str(caught.value)
    assert "3 bands (1: time=0; 2: time=31; 3: time=59)" in message
    assert "set band = k" in message
    with FileSource(path, declared_crs="EPSG:4326", band=3) as source:
        np.testing.assert_array_equal(whole_raster(source), SPEI + 2)


def test_a_netcdf_of_several_variables_lists_them(two_variables: Path) -> None:
    with pytest.raises(errors.InputError) as caught:
        FileSource(two_variables)
    message = str(caught.value)
    assert message.startswith(f"{two_variables}: the NetCDF file holds 2 variables (spei, pet)")
    assert "path = 'NETCDF:\"<file>\":spei'" in message and "\n" not in message


def test_variable_opens_that_variable(two_variables: Path) -> None:
    with FileSource(two_variables, variable="pet") as source:
        assert source.grid.crs.equals(CRS.from_epsg(4326))
        assert source.grid.transform.almost_equals(LONLAT)
        np.testing.assert_array_equal(whole_raster(source), -SPEI)
    named = f'NETCDF:"{two_variables}":spei'
    assert split_netcdf_name(named) == (str(two_variables), "spei")
    with open_source(named) as source:
        np.testing.assert_array_equal(source.read(0, 6), SPEI)


def test_an_unknown_variable_lists_the_variables(two_variables: Path) -> None:
    with pytest.raises(errors.InputError, match="has no variable 'spi'; it has spei, pet;"):
        FileSource(two_variables, variable="spi")


def test_a_variable_of_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(errors.InputFileNotFoundError, match=r"nope\.nc: raster not found"):
        FileSource(tmp_path / "nope.nc", variable="spei")


def test_a_variable_of_a_geotiff_is_an_error(raster_file: Callable[..., Path]) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM)
    with pytest.raises(errors.InputError, match="does not read the file as NetCDF"):
        FileSource(path, variable="spei")


def test_a_netcdf_without_crs_takes_the_declared_one(tmp_path: Path) -> None:
    path = tmp_path / "plain.nc"
    xr.Dataset({"spei": (("lat", "lon"), SPEI)}, coords=lonlat_coords()).to_netcdf(
        path, engine="scipy"
    )
    with pytest.raises(errors.CRSError, match="the raster has no CRS"):
        FileSource(path)
    with FileSource(path, declared_crs="EPSG:4326") as source:
        assert source.grid.crs.equals(CRS.from_epsg(4326))


# -------------------------------------------------------------------------- declared CRS
def test_a_declared_crs_contradicting_the_file_is_an_error(
    raster_file: Callable[..., Path],
) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM, UTM)
    with pytest.raises(errors.CRSError) as caught:
        FileSource(path, declared_crs="EPSG:4326")
    message = str(caught.value)
    assert "EPSG:4326 (WGS 84)" in message and "EPSG:32648 (WGS 84 / UTM zone 48N)" in message
    assert "remove crs from the layer file, or set crs_override = true" in message
    with pytest.raises(errors.CRSError, match="crs_override = true"):
        zonal_stats(path, squares((0, 0, 2, 2)), crs="EPSG:4326")


def test_a_declared_crs_equal_to_the_file_is_fine(raster_file: Callable[..., Path]) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM, UTM)
    with FileSource(path, declared_crs="EPSG:32648") as source:
        assert source.grid.crs.to_epsg() == 32648
    lonlat = CRS.from_user_input("OGC:CRS84")  # EPSG:4326 with longitude first
    assert settle_crs(lonlat, "EPSG:4326", False, where="f.tif") is lonlat


def test_crs_override_puts_the_declared_crs_first(raster_file: Callable[..., Path]) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM, "EPSG:32647")  # the wrong UTM zone
    with FileSource(path, declared_crs=UTM, crs_override=True) as source:
        assert source.grid.crs.to_epsg() == 32648
    with pytest.raises(errors.CRSError, match="crs_override = true but no crs is declared"):
        FileSource(path, crs_override=True)


def test_a_dataarray_follows_the_same_crs_rules() -> None:
    x = 500_050.0 + 100 * np.arange(3)
    y = 3_929_950.0 - 100 * np.arange(3)
    da = xr.DataArray(np.ones((3, 3)), dims=("y", "x"), coords={"y": y, "x": x})
    with pytest.raises(errors.CRSError, match="DataArray: no CRS found"):
        open_source(da)
    assert open_source(da, declared_crs=UTM).grid.crs.to_epsg() == 32648
    da.attrs["crs"] = UTM
    with pytest.raises(errors.CRSError, match="own CRS is EPSG:32648"):
        open_source(da, declared_crs="EPSG:4326")
    overridden = open_source(da, declared_crs="EPSG:32647", crs_override=True)
    assert overridden.grid.crs.to_epsg() == 32647


# ------------------------------------------------------------------------ damaged files
@pytest.fixture
def truncated(tmp_path: Path) -> Path:
    """A 1024-row GeoTIFF cut in half: its header survives, so it opens; later rows fail."""
    values = np.random.default_rng(3).random((1, 1024, 300)).astype(np.float32)
    path = write_bands(tmp_path / "cut.tif", values, blockysize=64)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_file_fails_with_the_rows_it_could_not_read(truncated: Path) -> None:
    with FileSource(truncated) as source:
        assert np.isfinite(source.read(0, 256)).all()
        with pytest.raises(errors.InputError) as caught:
            source.read(256, 512)
    message = str(caught.value)
    assert message.startswith(f"{truncated}: reading rows 256-511 failed (")
    assert "the file may be truncated or damaged" in message and "\n" not in message


def test_a_read_failure_reaches_the_caller_from_the_reader_thread(truncated: Path) -> None:
    with FileSource(truncated) as source:
        zones = to_pixel_space(np.asarray(squares((0, 0, 300, 1024)).geometry.values), source.grid)
        job = ZonalJob(zones, COVERAGE_RULES["fraction"])
        with pytest.raises(errors.InputError, match="reading rows 256-511 failed"):
            scan(source, [job], strip_rows=256)
    with pytest.raises(errors.InputError, match="truncated or damaged"):
        zonal_stats(truncated, squares((0, 0, 300, 1024)))


def test_a_dask_worker_reads_with_the_sources_options(three_bands: Path) -> None:
    with FileSource(three_bands, band=2, nodata=2.0) as source:
        zones = to_pixel_space(np.asarray(squares((0, 0, 5, 4)).geometry.values), source.grid)
        options = source.options
    specs = ([(zones, COVERAGE_RULES["fraction"], ())], [])
    [(_, weight, *_)], _ = _window_task(str(three_bands), options, (0, 4, 0, 5), specs)
    assert weight.tolist() == [0.0]  # band 2 holds only 2.0, the extra nodata
    options = SourceOptions(band=3)
    [(_, weight, weighted, *_)], _ = _window_task(str(three_bands), options, (0, 4, 0, 5), specs)
    assert weight.tolist() == [20.0] and weighted.tolist() == [60.0]


def test_a_read_failure_on_a_dask_worker_is_the_same_error(truncated: Path) -> None:
    with pytest.raises(errors.InputError, match="reading rows 512-767 failed"):
        _window_task(str(truncated), SourceOptions(), (512, 768, 0, 300), ([], []))


# ---------------------------------------------------------------------- missing cells
def test_fill_missing_sets_nodata_and_infinities_to_nan() -> None:
    values = np.array([[1.0, -9999.0, np.inf], [-np.inf, np.nan, 5.0]], dtype=np.float32)
    fill_missing(values, np.float32(-9999.0), np.float32(5.0))
    assert np.isnan(values).tolist() == [[False, True, True], [True, True, True]]
    values = np.array([[1.0, np.inf]])
    fill_missing(values, np.nan, np.nan)  # NaN stands for "no such value"
    assert values[0, 0] == 1.0 and np.isnan(values[0, 1])


def test_infinite_cells_are_missing(raster_file: Callable[..., Path]) -> None:
    values = np.array([[1.0, np.inf, 3.0], [-np.inf, 5.0, -9999.0], [7.0, 8.0, 9.0]])
    path = raster_file(values, TRANSFORM)
    zones = squares((0, 0, 3, 2), (0, 0, 3, 3))
    got = zonal_stats(path, zones, ["mean", "max", "min", "count"])
    np.testing.assert_allclose(got["mean"], [3.0, 33 / 6])
    np.testing.assert_allclose(got["count"], [3, 6])
    assert got["max"].tolist() == [5.0, 9.0] and got["min"].tolist() == [1.0, 1.0]
    x = TRANSFORM.c + 100 * (np.arange(3) + 0.5)
    y = TRANSFORM.f - 100 * (np.arange(3) + 0.5)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, attrs={"crs": UTM})
    da.attrs["nodata"] = -9999.0
    for array in (da, da.chunk({"y": 2, "x": 2})):
        np.testing.assert_allclose(
            zonal_stats(array, zones, ["mean", "count"]).to_numpy(),
            got[["mean", "count"]].to_numpy(),
        )


def test_extra_nodata_is_missing_besides_the_files_own(tmp_path: Path) -> None:
    values = np.array([[[0.1, -9999.0, 2.0], [0.1, 4.0, 5.0]]], dtype=np.float32)
    path = write_bands(tmp_path / "extra.tif", values)
    with FileSource(path, nodata=0.1) as source:  # compared as the band stores it: float32
        assert np.isnan(whole_raster(source)).tolist() == [
            [True, True, False],
            [True, False, False],
        ]
    with FileSource(path) as source:
        assert np.isnan(whole_raster(source)).sum() == 1


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "int64", "uint64"])
def test_extra_nodata_on_integer_bands(tmp_path: Path, dtype: str) -> None:
    # 2**53 + 1 rounds to 2**53 in float64: 64-bit bands must be compared as integers
    big = 2**53 if np.dtype(dtype).itemsize == 8 else int(np.iinfo(dtype).max)
    values = np.array([[[0, 1, 2], [3, big, big - 1 if big < 2**53 else big + 1]]], dtype=dtype)
    path = write_bands(tmp_path / f"{dtype}.tif", values, nodata=0)
    with FileSource(path, nodata=float(big)) as source:
        missing = np.isnan(whole_raster(source))
    assert missing.tolist() == [[True, False, False], [False, True, False]]
    with FileSource(path, nodata=0.5) as source:  # no integer cell can hold it
        assert np.isnan(whole_raster(source)).sum() == 1


# ------------------------------------------------------------------------- map images
def test_the_map_image_reads_by_the_same_rules(three_bands: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match=r"3 bands .*set band = k"):
        warp_to_web_mercator(three_bands)
    values, _ = warp_to_web_mercator(three_bands, SourceOptions(band=3))
    assert np.nanmax(values) == 3.0 and np.nanmin(values) == 3.0
    with pytest.raises(errors.CRSError, match="set crs_override = true"):
        warp_to_web_mercator(three_bands, SourceOptions(band=1, declared_crs="EPSG:4326"))
    values, _ = warp_to_web_mercator(three_bands, SourceOptions(band=1, declared_crs=UTM))
    assert np.nanmax(values) == 1.0
    special = np.array([[[1.0, np.inf], [-np.inf, 7.0]]], dtype=np.float32)
    path = write_bands(tmp_path / "special.tif", special)
    values, _ = warp_to_web_mercator(path, SourceOptions(nodata=7.0))
    assert set(np.unique(values[np.isfinite(values)]).tolist()) == {1.0}
    image = layer_image(path, (0.5, 1.5, 2.5), options=SourceOptions(nodata=7.0))
    assert set(np.unique(image.pixels).tolist()) <= {1, MISSING_CLASS}  # 1.0: class 1


def test_the_map_image_of_a_truncated_file_is_a_one_line_error(truncated: Path) -> None:
    with pytest.raises(errors.InputError, match=r"reading rows 0-1023 failed .*truncated"):
        warp_to_web_mercator(truncated)


@pytest.fixture
def backdrops(tmp_path: Path, truncated: Path) -> dict[str, Path]:
    elevation = np.linspace(1300, 2200, 64 * 80, dtype=np.float32).reshape(1, 64, 80)
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "text.tif").write_text("not a raster\n", encoding="utf-8")
    return {
        "good": write_bands(tmp_path / "dem.tif", elevation),
        "missing": tmp_path / "absent.tif",
        "empty": tmp_path / "empty.tif",
        "text": tmp_path / "text.tif",
        "truncated": truncated,
        "no_crs": write_bands(tmp_path / "nocrs.tif", elevation, crs=None),
    }


@pytest.mark.parametrize(
    ("name", "error", "text"),
    [
        ("missing", errors.InputFileNotFoundError, "backdrop raster not found; check [map]"),
        ("empty", errors.InputError, "the file is empty (0 bytes)"),
        ("text", errors.InputError, "not a raster GDAL can read"),
        ("truncated", errors.InputError, "may be truncated or damaged"),
        ("no_crs", errors.CRSError, "the backdrop raster has no CRS; assign one"),
    ],
)
def test_a_bad_backdrop_is_a_one_line_error(
    backdrops: dict[str, Path], name: str, error: type[Exception], text: str
) -> None:
    for render in (check_backdrop, relief_image):
        with pytest.raises(error) as caught:
            render(backdrops[name])
        message = str(caught.value)
        assert message.startswith(str(backdrops[name])) and text in message
        assert "\n" not in message


def test_a_good_backdrop_passes_the_check(backdrops: dict[str, Path]) -> None:
    assert check_backdrop(backdrops["good"]) is None
    relief = relief_image(backdrops["good"])
    assert relief.pixels.dtype == np.uint8 and relief.pixels.shape[0] > 0


# ------------------------------------------------------------------ a CRS not on Earth
LOCAL_WKT = (
    'LOCAL_CS["site grid",LOCAL_DATUM["site",32767],UNIT["metre",1],AXIS["E",EAST],AXIS["N",NORTH]]'
)


@pytest.fixture
def local_grid(tmp_path: Path) -> Path:
    """A raster in an engineering (local) CRS: no transformation to EPSG:4326 exists."""
    values = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 3, 4)
    return write_bands(tmp_path / "local.tif", values, crs=rasterio.crs.CRS.from_wkt(LOCAL_WKT))


def assert_one_line(message: str, path: Path, *parts: str) -> None:
    assert message.startswith(str(path)) and "\n" not in message
    for part in parts:
        assert part in message, (part, message)


def test_a_local_crs_is_refused_on_opening(local_grid: Path) -> None:
    for read in (
        FileSource,
        warp_to_web_mercator,
        lambda p: zonal_stats(p, squares((0, 0, 2, 2)), ["mean"]),  # was a pyproj ProjError
    ):
        with pytest.raises(errors.CRSError) as caught:
            read(local_grid)
        assert_one_line(
            str(caught.value),
            local_grid,
            "site grid",
            "has no place on Earth",
            "gdal_edit.py -a_srs EPSG:....",
            "crs_override = true",
        )
    # the fix the message gives: declare the real CRS over the file's own
    with FileSource(local_grid, declared_crs=UTM, crs_override=True) as source:
        assert source.grid.crs.to_epsg() == 32648
    values, _ = warp_to_web_mercator(local_grid, SourceOptions(declared_crs=UTM, crs_override=True))
    assert np.nanmax(values) == 1.0


def test_a_declared_local_crs_says_to_declare_the_real_one(raster_file: Callable) -> None:
    path = raster_file(np.ones((3, 3)), TRANSFORM, None)
    with pytest.raises(errors.CRSError) as caught:
        FileSource(path, declared_crs=LOCAL_WKT)
    assert_one_line(str(caught.value), path, "no place on Earth", "declare the real CRS")


def test_a_local_crs_backdrop_is_refused(local_grid: Path) -> None:
    for render in (check_backdrop, relief_image):  # was CPLE_NotSupportedError
        with pytest.raises(errors.CRSError) as caught:
            render(local_grid)
        assert_one_line(
            str(caught.value), local_grid, "no place on Earth", "gdal_edit.py -a_srs EPSG:...."
        )
        assert "layer file" not in str(caught.value)


def test_a_raster_whose_centre_is_no_place_in_its_crs_is_refused(tmp_path: Path) -> None:
    # UTM metres labelled as degrees: check_backdrop passed it, the relief was a GDAL traceback
    values = np.ones((1, 3, 4), dtype=np.float32)
    path = write_bands(tmp_path / "metres.tif", values, crs="EPSG:4326")
    for render in (check_backdrop, relief_image, FileSource):
        with pytest.raises(errors.CRSError) as caught:
            render(path)
        assert_one_line(
            str(caught.value), path, "no place on Earth in its CRS EPSG:4326", "gdal_edit.py"
        )


def test_a_dataarray_in_a_local_crs_is_refused() -> None:
    x = 500_050.0 + 100 * np.arange(3)
    y = 3_929_950.0 - 100 * np.arange(3)
    da = xr.DataArray(np.ones((3, 3)), dims=("y", "x"), coords={"y": y, "x": x})
    da.attrs["crs"] = LOCAL_WKT
    with pytest.raises(errors.CRSError, match=r"DataArray: its CRS site grid .* no place on Earth"):
        open_source(da)


def test_a_run_with_a_local_crs_layer_or_backdrop_is_one_error_line(tiny_copy: Path) -> None:
    slope = tiny_copy.parent / "data" / "slope.tif"
    local = rasterio.crs.CRS.from_wkt(LOCAL_WKT)
    with rasterio.open(slope) as src:
        values, transform = src.read(), src.transform
    original = slope.read_bytes()
    write_bands(slope, values, transform=transform, crs=local)
    code, out, err = invoke("run", "--config", str(tiny_copy))
    assert code == 1 and "Traceback" not in out + err
    assert re.fullmatch(
        r"error: .*slope\.tif: its CRS site grid .*crs_override = true", err.strip()
    )
    slope.write_bytes(original)
    write_bands(slope.with_name("dem.tif"), values, transform=transform, crs=local)
    set_key(tiny_copy, "map", "backdrop", '"data/dem.tif"')
    code, out, err = invoke("run", "--config", str(tiny_copy))
    assert code == 1 and "Traceback" not in out + err
    assert re.fullmatch(r"error: .*dem\.tif: its CRS site grid .*no place on Earth.*", err.strip())


# ------------------------------------------------------------------ scale and offset
HAIL_DAYS = np.array([[[150, 275, -1], [0, 1234, 32767]]], dtype=np.int16)  # days x 100


def scaled(path: Path, raw: np.ndarray, scale: float, offset: float = 0.0, **kw: object) -> Path:
    write_bands(path, raw, **kw)  # type: ignore[arg-type]
    with rasterio.open(path, "r+") as dst:
        dst.scales = (scale,) * raw.shape[0]
        dst.offsets = (offset,) * raw.shape[0]
    return path


def test_a_scaled_band_is_read_as_its_unscaled_values(tmp_path: Path) -> None:
    path = scaled(tmp_path / "hail.tif", HAIL_DAYS, 0.01, nodata=-1)
    expected = (HAIL_DAYS[0] * 0.01).astype(np.float32)
    expected[0, 2] = np.nan  # nodata -1 is compared with the stored value
    with FileSource(path) as source:
        got = whole_raster(source)
    assert got.dtype == np.float32  # int16 steps of 0.01: float32 holds them closely enough
    np.testing.assert_array_equal(got, expected)
    with FileSource(path, nodata=1234) as source:  # the layer's nodata: a stored value too
        assert np.isnan(whole_raster(source)).tolist() == [
            [False, False, True],
            [False, True, False],
        ]
    # statistics, samples and the map image all see hail days, not hail days x 100
    got_stats = zonal_stats(path, squares((0, 0, 2, 2)), ["mean", "max"])
    assert got_stats["max"].tolist() == [pytest.approx(12.34)]
    assert got_stats["mean"].tolist() == [pytest.approx((1.5 + 2.75 + 0 + 12.34) / 4)]
    centres = gpd.GeoSeries(
        [shapely.Point(TRANSFORM * (c + 0.5, r + 0.5)) for r, c in ((0, 1), (1, 2))], crs=UTM
    )
    np.testing.assert_allclose(sample(path, centres), [2.75, 327.67], rtol=1e-6)
    values, _ = warp_to_web_mercator(path)
    assert np.nanmax(values) == pytest.approx(327.67) and np.nanmin(values) == 0.0
    image = layer_image(path, (1.0, 10.0, 100.0))
    assert set(np.unique(image.pixels).tolist()) == {0, 1, 2, 3, MISSING_CLASS}


def test_an_offset_is_added_after_the_scale(tmp_path: Path) -> None:
    kelvin = np.array([[[0, 100, -32768]]], dtype=np.int16)
    path = scaled(tmp_path / "t.tif", kelvin, 0.01, 273.15, nodata=-32768)
    with FileSource(path) as source:
        got = whole_raster(source)
    np.testing.assert_array_equal(got[0, :2], np.array([273.15, 274.15], np.float32))
    assert np.isnan(got[0, 2])
    values, _ = warp_to_web_mercator(path)
    assert np.nanmin(values) == pytest.approx(273.15) and np.nanmax(values) == pytest.approx(274.15)


def test_a_packed_netcdf_variable_is_read_unpacked(tmp_path: Path) -> None:
    """CF packing (int16 with scale_factor and _FillValue), as climate data often comes:
    GDAL reports it as the band's scale and nodata."""
    path = tmp_path / "packed.nc"
    spei = np.round(np.linspace(-2.5, 2.5, 48).reshape(6, 8), 2)
    spei[0, 0] = np.nan
    packing = {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -32767}
    xr.Dataset({"spei": (("lat", "lon"), spei)}, coords=lonlat_coords()).to_netcdf(
        path, engine="scipy", encoding={"spei": packing}
    )
    with FileSource(path, declared_crs="EPSG:4326") as source:
        np.testing.assert_allclose(whole_raster(source), spei, rtol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "scale", "offset", "float_type"),
    [
        ("uint8", 0.5, 0.0, np.float32),
        ("uint16", 0.01, 0.0, np.float32),
        ("uint16", 0.01, 1e6, np.float64),  # a millionth of the values: float32 blurs steps
        ("int32", 0.01, 0.0, np.float64),
        ("float32", 0.1, 0.0, np.float64),  # a float32 times 0.1 is no float32
        ("float64", 2.0, 1.0, np.float64),
    ],
)
def test_scaled_values_keep_the_precision_of_the_stored_ones(
    tmp_path: Path, dtype: str, scale: float, offset: float, float_type: type
) -> None:
    raw = np.array([[[1, 3, 200]]], dtype=dtype)
    path = scaled(tmp_path / "s.tif", raw, scale, offset, nodata=None)
    with FileSource(path) as source:
        got = whole_raster(source)
    assert got.dtype == float_type
    np.testing.assert_array_equal(
        got, (raw[0].astype(np.float64) * scale + offset).astype(float_type)
    )


def test_a_band_without_scale_takes_no_extra_step(tmp_path: Path) -> None:
    path = write_bands(tmp_path / "plain.tif", HAIL_DAYS, nodata=-1)
    with FileSource(path) as source:
        assert source.scaling is None and source.dtype == np.float32
        assert np.nanmax(whole_raster(source)) == 32767.0


@pytest.mark.parametrize(
    ("scale", "offset"), [(0.0, 0.0), (float("nan"), 0.0), (1.0, float("inf"))]
)
def test_an_unusable_scale_or_offset_is_refused(
    tmp_path: Path, scale: float, offset: float
) -> None:
    path = scaled(tmp_path / "bad.tif", HAIL_DAYS, scale, offset)
    for read in (FileSource, warp_to_web_mercator, check_backdrop):
        with pytest.raises(errors.InputError) as caught:
            read(path)
        assert_one_line(str(caught.value), path, "band 1 has scale", "gdal_edit.py -scale")


# ------------------------------------------------------------------- complex values
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_a_complex_raster_is_refused(tmp_path: Path, dtype: str) -> None:
    values = np.array([[[1 + 2j, 3 - 4j]]], dtype=dtype)
    path = write_bands(tmp_path / "iq.tif", values, nodata=None)
    for read in (FileSource, warp_to_web_mercator, check_backdrop, relief_image):
        with pytest.raises(errors.InputError) as caught:  # was a ComplexWarning, real part kept
            read(path)
        assert_one_line(str(caught.value), path, f"data type {dtype}", "must be real numbers")


def test_a_complex_dataarray_is_refused() -> None:
    x = 500_050.0 + 100 * np.arange(3)
    y = 3_929_950.0 - 100 * np.arange(2)
    values = np.array([[1 + 1j, 2, 3], [4, 5, 6]], dtype=np.complex64)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, attrs={"crs": UTM})
    with pytest.raises(errors.InputError, match=r"complex numbers \(data type complex64\)"):
        open_source(da)


# ------------------------------------------------- odd rasters GDAL opens (through a VRT)
def vrt(
    path: Path,
    source: Path,
    *,
    size: tuple[int, int] = (4, 3),
    band_type: str = "Int16",
    geotransform: str = "500000, 100, 0, 3930000, 0, -100",
    inside: str = "",
) -> Path:
    """A VRT of band 1 of ``source``: the way to give a band a type, mask or geotransform
    that rasterio does not write."""
    path.write_text(
        f'<VRTDataset rasterXSize="{size[0]}" rasterYSize="{size[1]}"><SRS>{UTM}</SRS>'
        f"<GeoTransform>{geotransform}</GeoTransform>"
        f'<VRTRasterBand dataType="{band_type}" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">{source.name}</SourceFilename>'
        f"<SourceBand>1</SourceBand></SimpleSource>{inside}</VRTRasterBand></VRTDataset>",
        encoding="utf-8",
    )
    return path


STORED = np.arange(1, 13, dtype=np.int16).reshape(1, 3, 4)


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    return write_bands(tmp_path / "stored.tif", STORED, nodata=None)


def test_a_complex_integer_band_is_refused(tmp_path: Path, stored: Path) -> None:
    path = vrt(tmp_path / "cint16.vrt", stored, band_type="CInt16")  # was a numpy TypeError
    for read in (FileSource, warp_to_web_mercator, check_backdrop):
        with pytest.raises(errors.InputError) as caught:
            read(path)
        assert_one_line(str(caught.value), path, "data type complex_int16", "real numbers")


@pytest.mark.parametrize("band_type", ["Unknown", "Float16"])
def test_a_band_type_gdal_does_not_know_is_one_line(
    tmp_path: Path, stored: Path, band_type: str
) -> None:
    path = vrt(tmp_path / "odd.vrt", stored, band_type=band_type)
    with pytest.raises(errors.InputError) as caught:
        FileSource(path)
    assert_one_line(str(caught.value), path)


@pytest.mark.parametrize("size", [(0, 3), (4, 0)])
def test_a_raster_without_cells_is_one_line(tmp_path: Path, stored: Path, size: tuple) -> None:
    path = vrt(tmp_path / "empty.vrt", stored, size=size)
    for read in (FileSource, warp_to_web_mercator, check_backdrop):
        with pytest.raises(errors.InputError) as caught:
            read(path)
        assert_one_line(str(caught.value), path)


@pytest.mark.parametrize(
    ("geotransform", "text"),
    [
        ("500000, 0, 0, 3930000, 0, -100", "a width or height of 0"),
        ("500000, 100, 0, 3930000, 0, 0", "a width or height of 0"),
        ("nan, 100, 0, 3930000, 0, -100", "non-finite terms"),
    ],
)
def test_a_degenerate_geotransform_is_refused(
    tmp_path: Path, stored: Path, geotransform: str, text: str
) -> None:
    path = vrt(tmp_path / "flat.vrt", stored, geotransform=geotransform)
    for read in (FileSource, warp_to_web_mercator, check_backdrop):  # the map: a GDAL traceback
        with pytest.raises(errors.InputError) as caught:
            read(path)
        assert_one_line(str(caught.value), path, text, "gdal_edit.py -a_ullr")


def first_column_masked(values: np.ndarray) -> bool:
    return bool(np.isnan(values[:, 0]).all() and np.isfinite(values[:, 1:]).all())


def test_a_datasets_mask_is_missing_on_the_map_too(tmp_path: Path) -> None:
    path = tmp_path / "masked.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        write_bands(path, STORED, nodata=None)
        with rasterio.open(path, "r+") as dst:
            dst.write_mask(np.array([[0, 255, 255, 255]] * 3, dtype=np.uint8))
    with FileSource(path) as source:
        assert first_column_masked(whole_raster(source))
    values, _ = warp_to_web_mercator(path)  # the first column was drawn as value 0
    assert first_column_masked(values)


def test_a_bands_own_mask_is_missing(tmp_path: Path, stored: Path) -> None:
    write_bands(
        tmp_path / "mask.tif", np.array([[[0, 255, 255, 255]] * 3], dtype=np.uint8), nodata=None
    )
    mask = (
        '<MaskBand><VRTRasterBand dataType="Byte"><SimpleSource>'
        '<SourceFilename relativeToVRT="1">mask.tif</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></MaskBand>"
    )
    path = vrt(tmp_path / "band_mask.vrt", stored, inside=mask)
    with rasterio.open(path) as ds:
        assert ds.mask_flag_enums == ([],)  # a mask of band 1's own, neither nodata nor alpha
    with FileSource(path) as source:  # read as stored values before
        assert first_column_masked(whole_raster(source))
    for average in (False, True):
        values, _ = warp_to_web_mercator(path, average=average)
        assert first_column_masked(values)


def test_a_run_reads_a_scaled_layer_as_its_unscaled_values(tiny_copy: Path) -> None:
    """The tiny project's slope (0.00 to 0.99) stored as int16 hundredths with scale 0.01:
    the same households' values, villages' means and classes as the float32 original."""
    outputs = tiny_copy.parent / "outputs" / "latest"
    before = {name: pd.read_csv(outputs / name) for name in ("households.csv", "villages.csv")}
    slope = tiny_copy.parent / "data" / "slope.tif"
    with rasterio.open(slope) as src:
        values, transform, nodata = src.read(1), src.transform, src.nodata
    stored = np.where(values == nodata, -1, np.round(values * 100)).astype(np.int16)
    scaled(slope, stored[np.newaxis], 0.01, transform=transform, nodata=-1)
    code, _, err = invoke("run", "--config", str(tiny_copy))
    assert code == 0, err
    for name, table in before.items():
        after = pd.read_csv(outputs / name)
        columns = [c for c in table.columns if c.startswith("slope_") or c.startswith("risk")]
        pd.testing.assert_frame_equal(after[columns], table[columns], rtol=1e-6)


def test_a_backdrop_without_elevations_is_one_line(tmp_path: Path) -> None:
    # was numpy's "Mean of empty slice" and "invalid value encountered in cast": a black image
    path = write_bands(tmp_path / "void.tif", np.full((1, 5, 5), -9999.0, dtype=np.float32))
    with pytest.raises(errors.InputError) as caught:
        relief_image(path)
    assert_one_line(str(caught.value), path, "no elevation to shade", "nodata")


@pytest.mark.parametrize("shape", [(1, 50), (1, 1), (40, 1)])
def test_a_backdrop_one_cell_thin_is_shaded(tmp_path: Path, shape: tuple[int, int]) -> None:
    elevation = np.linspace(1300, 1400, shape[0] * shape[1], dtype=np.float32).reshape(1, *shape)
    path = write_bands(tmp_path / "thin.tif", elevation)  # was a ValueError from np.gradient
    relief = relief_image(path)
    assert relief.pixels.dtype == np.uint8 and relief.pixels.size >= 1
