"""Opening and reading raster files: bands, NetCDF variables, declared CRSs, damaged files,
infinite cells; and the map's overlays reading by the same rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

from hazardmap import errors, zonal_stats
from hazardmap.gdal_names import split_netcdf_name
from hazardmap.outputs.overlays import (
    check_backdrop,
    hillshade_overlay,
    layer_overlay,
    warp_to_web_mercator,
)
from hazardmap.raster import FileSource, ZonalJob, open_source, scan, to_pixel_space
from hazardmap.raster.engine import _window_task
from hazardmap.raster.kernels import COVERAGE_RULES, fill_missing
from hazardmap.raster.source import SourceOptions, settle_crs

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
    assert open_source(da, declared_crs="EPSG:4326", crs_override=True).grid.crs.to_epsg() == 4326


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
    values, _ = warp_to_web_mercator(three_bands, band=3)
    assert np.nanmax(values) == 3.0 and np.nanmin(values) == 3.0
    with pytest.raises(errors.CRSError, match="set crs_override = true"):
        warp_to_web_mercator(three_bands, band=1, declared_crs="EPSG:4326")
    values, _ = warp_to_web_mercator(three_bands, band=1, declared_crs=UTM)
    assert np.nanmax(values) == 1.0
    special = np.array([[[1.0, np.inf], [-np.inf, 7.0]]], dtype=np.float32)
    path = write_bands(tmp_path / "special.tif", special)
    values, _ = warp_to_web_mercator(path, nodata=7.0)
    assert set(np.unique(values[np.isfinite(values)]).tolist()) == {1.0}
    overlay = layer_overlay(path, (0.5, 1.5, 2.5), ["#000000"] * 4, nodata=7.0)
    assert overlay.data_uri.startswith("data:image/png;base64,")


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
    for render in (check_backdrop, hillshade_overlay):
        with pytest.raises(error) as caught:
            render(backdrops[name])
        message = str(caught.value)
        assert message.startswith(str(backdrops[name])) and text in message
        assert "\n" not in message


def test_a_good_backdrop_passes_the_check(backdrops: dict[str, Path]) -> None:
    assert check_backdrop(backdrops["good"]) is None
    assert hillshade_overlay(backdrops["good"]).data_uri.startswith("data:image/jpeg;base64,")
