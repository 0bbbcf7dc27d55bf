"""Cube layers (`source = "cube"`): a NetCDF variable with a time axis, reduced to one value
per cell by a declared reduction, then read like any raster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from hazardmap.digests import file_digest
from hazardmap.errors import HazardmapError
from hazardmap.model.reduction import Reduction
from hazardmap.raster.cube import reduce_cube
from tests.helpers import invoke, set_key, tree_digest

MONTHS = pd.date_range("2001-01-01", "2010-12-01", freq="MS")
GROWING = (4, 5, 6, 7, 8, 9)


def write_cube(
    path: Path, values: np.ndarray, lat: np.ndarray, lon: np.ndarray, **extra: np.ndarray
) -> Path:
    variables = {"spei": (("time", "lat", "lon"), values)}
    variables |= {name: (("time", "lat", "lon"), v) for name, v in extra.items()}
    coords = {"time": MONTHS[: values.shape[0]], "lat": lat, "lon": lon}
    xr.Dataset(variables, coords=coords).to_netcdf(path, engine="h5netcdf")
    return path


def severe_years(shares: np.ndarray) -> np.ndarray:
    """A monthly cube 2001-2010 whose cell (i, j) has a June SPEI of -2 in the first
    ``shares[i, j] * 10`` years and 0 otherwise."""
    values = np.zeros((len(MONTHS), *shares.shape))
    for (i, j), share in np.ndenumerate(shares):
        for year in range(2001, 2001 + round(share * 10)):
            values[(MONTHS.year == year) & (MONTHS.month == 6), i, j] = -2.0
    return values


LAT = np.array([35.0, 35.1, 35.2])
LON = np.array([105.0, 105.1, 105.2, 105.3])


def test_one_severe_year_in_ten_is_a_probability_of_a_tenth(tmp_path: Path) -> None:
    path = write_cube(tmp_path / "c.nc", severe_years(np.full((3, 4), 0.1)), LAT, LON)
    reduction = Reduction(within_year="min", across_years="share_below(-1.5)", months=GROWING)
    cube = reduce_cube(path, "spei", reduction)
    assert cube.values == pytest.approx(np.full((3, 4), 0.1))
    assert cube.crs.to_epsg() == 4326 and cube.years_used == tuple(range(2001, 2011))
    # north up, whatever the file's latitude order
    assert cube.transform.e < 0 and cube.transform.f == pytest.approx(35.25)
    mean = reduce_cube(path, "spei", Reduction(within_year="min", across_years="mean"))
    assert mean.values == pytest.approx(np.full((3, 4), -0.2))


def test_months_years_and_incomplete_years(tmp_path: Path) -> None:
    values = severe_years(np.full((3, 4), 0.5))  # 2001-2005 severe in June
    path = write_cube(tmp_path / "c.nc", values[:-3], LAT, LON)  # 2010 ends in September
    autumn = Reduction(within_year="min", across_years="share_below(-1.5)", months=(10, 11))
    cube = reduce_cube(path, "spei", autumn)
    assert cube.years_left_out == (2010,) and cube.values == pytest.approx(np.zeros((3, 4)))
    late = Reduction(
        within_year="mean", across_years="share_below(-0.1)", months=(6,), years=(2004, 2010)
    )
    cube = reduce_cube(path, "spei", late)  # 2004 and 2005 of 2004-2010
    assert cube.values == pytest.approx(np.full((3, 4), 2 / 7))


def test_longitudes_past_180_and_a_second_variable(tmp_path: Path) -> None:
    shares = np.array([[0.1, 0.2], [0.3, 0.4]])
    lon = np.array([359.9, 360.0]) - 360.0 + 360.0  # 359.9 and 360.0 east: -0.1 and 0.0
    path = write_cube(
        tmp_path / "c.nc",
        severe_years(shares)[:, ::-1],
        np.array([10.0, 10.1]),
        lon,
        spi=np.zeros((len(MONTHS), 2, 2)),
    )
    reduction = Reduction(within_year="min", across_years="share_below(-1.5)")
    cube = reduce_cube(path, "spei", reduction)
    assert cube.transform.c == pytest.approx(-0.15)
    assert cube.values == pytest.approx(shares)  # rows north to south: lat 10.1 first


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("variable", r"no variable 'spie' \(the file holds \['spei'\]\)"),
        ("no time", r"has no time axis"),
        ("years", r"years = \[1950, 1960\], but the cube runs from 2001 to 2010"),
        ("months", r"keeps no time step \(months \[6\]; the cube runs from 2001 to 2010\)"),
    ],
)
def test_bad_cubes_are_one_line(tmp_path: Path, change: str, expected: str) -> None:
    values = severe_years(np.full((3, 4), 0.1))
    path = tmp_path / "c.nc"
    variable, reduction = "spei", Reduction(within_year="min", across_years="mean")
    if change == "no time":
        xr.Dataset(
            {"spei": (("band", "lat", "lon"), values[:2])},
            coords={"band": [1, 2], "lat": LAT, "lon": LON},
        ).to_netcdf(path, engine="h5netcdf")
    else:
        write_cube(path, values, LAT, LON)
    if change == "variable":
        variable = "spie"
    if change == "years":
        reduction = Reduction(within_year="min", across_years="mean", years=(1950, 1960))
    if change == "months":  # a cube of winters only, asked for June
        path.unlink()
        winter = np.isin(MONTHS.month, (12, 1, 2))
        xr.Dataset(
            {"spei": (("time", "lat", "lon"), values[winter])},
            coords={"time": MONTHS[winter], "lat": LAT, "lon": LON},
        ).to_netcdf(path, engine="h5netcdf")
        reduction = Reduction(within_year="min", across_years="mean", months=(6,))
    with pytest.raises(HazardmapError, match=expected):
        reduce_cube(path, variable, reduction)


def test_a_reduction_that_keeps_nothing_is_a_config_error() -> None:
    from hazardmap.config import ReduceSection

    with pytest.raises(ValueError, match=r"months = \[\] keeps no month"):
        ReduceSection(months=(), within_year="min", across_years="mean")
    with pytest.raises(ValueError, match=r"expected mean, share_below\(t\) or share_above\(t\)"):
        ReduceSection(within_year="min", across_years="share_under(-1)")


# ----------------------------------------------------------------------- end to end
def _dry_as_cube(project: Path, shares: np.ndarray) -> Path:
    """The tiny project's 2x2 drought raster replaced by a monthly cube on the same grid
    (latitude ascending, as many files store it) whose reduction gives ``shares``."""
    data = project.parent / "data"
    with rasterio.open(data / "dry.tif") as ds:
        t = ds.transform
    lon = t.c + t.a * np.array([0.5, 1.5])
    lat = (t.f + t.e * np.array([0.5, 1.5]))[::-1]
    write_cube(data / "spei.nc", severe_years(shares)[:, ::-1, :], lat, lon)
    layer = project.parent / "layers" / "dry.toml"
    set_key(layer, "", "source", '"cube"')
    set_key(layer, "", "path", '"../data/spei.nc"')
    set_key(layer, "", "variable", '"spei"')
    text = layer.read_text(encoding="utf-8")
    layer.write_text(
        text
        + '\n[reduce]\nmonths = [4, 5, 6, 7, 8, 9]\nwithin_year = "min"\n'
        + 'across_years = "share_below(-1.5)"\n',
        encoding="utf-8",
    )
    return layer


def test_a_cube_layer_end_to_end(tiny_project: Path, tmp_path: Path) -> None:
    shares = np.array([[0.1, 0.2], [0.3, 0.4]])
    _dry_as_cube(tiny_project, shares)
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 0, err
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    out_dir = tmp_path / "o"
    households = pd.read_csv(out_dir / "households.csv", encoding="utf-8-sig")
    assert set(households["dry_value"].dropna().round(12)) <= {0.1, 0.2, 0.3, 0.4}
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    cube = next(e for e in manifest["inputs"] if e["role"] == "cube dry")
    assert cube["path"] == "data/spei.nc" and len(cube["sha256"]) == 64
    assert cube["reduction"]["years_used"] == list(range(2001, 2011))
    assert cube["reduction"]["reduction"].startswith("spei: months 4, 5, 6, 7, 8, 9 of every")
    assert manifest["configuration"]["layers"]["dry"]["reduce"]["within_year"] == "min"
    report = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "Values derived from spei.nc, spei: months 4, 5, 6, 7, 8, 9" in report
    assert "the share of years with a value &lt;= -1.5" in report


def test_a_cube_without_its_variable_touches_nothing(tiny_project: Path) -> None:
    layer = _dry_as_cube(tiny_project, np.full((2, 2), 0.1))
    set_key(layer, "", "variable", '"spi"')
    before = tree_digest(tiny_project.parent)
    code, out, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "Traceback" not in out + err and err.count("error:") == 1, err
    assert "spei.nc: no variable 'spi' (the file holds ['spei']); set variable in" in err
    assert tree_digest(tiny_project.parent) == before


# ------------------------------------------------------- found by a hostile-input pass
def test_float32_coordinates_and_values_as_cf_files_store_them(tmp_path: Path) -> None:
    """Float32 coordinates carry rounding noise; a float32 -1.3 is at or below -1.3."""
    values = np.full((len(MONTHS), 3, 4), -1.3, dtype=np.float32)
    lat = (35.0 + 0.05 * np.arange(3)).astype(np.float32)
    lon = (105.0 + 0.05 * np.arange(4)).astype(np.float32)
    path = write_cube(tmp_path / "c.nc", values, lat, lon)
    reduction = Reduction(within_year="min", across_years="share_below(-1.3)")
    cube = reduce_cube(path, "spei", reduction)
    assert cube.values == pytest.approx(np.ones((3, 4)))
    assert cube.transform.a == pytest.approx(0.05, rel=1e-4)  # as exact as float32 is


def test_a_noleap_calendar_and_undecodable_time(tmp_path: Path) -> None:
    import cftime

    stamps = [cftime.DatetimeNoLeap(2001 + m // 12, m % 12 + 1, 1) for m in range(120)]
    values = severe_years(np.full((3, 4), 0.3))
    xr.Dataset(
        {"spei": (("time", "lat", "lon"), values)},
        coords={"time": stamps, "lat": LAT, "lon": LON},
    ).to_netcdf(tmp_path / "noleap.nc", engine="h5netcdf")
    reduction = Reduction(within_year="min", across_years="share_below(-1.5)")
    assert reduce_cube(tmp_path / "noleap.nc", "spei", reduction).values == pytest.approx(
        np.full((3, 4), 0.3)
    )
    months = xr.Dataset(
        {"spei": (("time", "lat", "lon"), values)},
        coords={"time": ("time", np.arange(120), {"units": "months since 2001-01-01"})},
    )
    months.to_netcdf(tmp_path / "months.nc", engine="h5netcdf")
    with pytest.raises(
        HazardmapError, match=r"its time axis cannot be decoded .*not 'months since'"
    ):
        reduce_cube(tmp_path / "months.nc", "spei", reduction)


def test_a_month_given_twice_is_refused(tmp_path: Path) -> None:
    values = severe_years(np.full((3, 4), 0.1))
    stamps = MONTHS.append(MONTHS[:1])
    xr.Dataset(
        {"spei": (("time", "lat", "lon"), np.concatenate([values, values[:1]]))},
        coords={"time": stamps, "lat": LAT, "lon": LON},
    ).to_netcdf(tmp_path / "c.nc", engine="h5netcdf")
    with pytest.raises(HazardmapError, match=r"\['2001-01-01 00:00:00'\] appear more than once"):
        reduce_cube(tmp_path / "c.nc", "spei", Reduction(within_year="mean", across_years="mean"))


def test_cells_without_data_are_missing_without_a_warning(tmp_path: Path) -> None:
    values = severe_years(np.full((3, 4), 0.1))
    values[:, 0, 0] = np.nan
    path = write_cube(tmp_path / "c.nc", values, LAT, LON)
    reduction = Reduction(within_year="min", across_years="share_below(-1.5)")
    cube = reduce_cube(path, "spei", reduction)  # pytest turns a RuntimeWarning into an error
    assert np.isnan(cube.values[-1, 0]) and np.isfinite(cube.values).sum() == 11


def _no_reduction(*args: object, **kwargs: object) -> None:
    raise AssertionError("the cube was reduced again")


def test_a_reduced_cube_comes_from_the_cache(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cube is reduced once per file and reduction; a re-run takes the grid."""
    import hazardmap
    import hazardmap.inputs as inputs_module

    layer = _dry_as_cube(tiny_project, np.array([[0.1, 0.2], [0.3, 0.4]]))
    hazardmap.run(tiny_project)
    households = (tiny_project.parent / "outputs" / "latest" / "households.csv").read_bytes()
    monkeypatch.setattr(inputs_module, "reduce_cube", _no_reduction)
    hazardmap.run(tiny_project)
    assert (
        tiny_project.parent / "outputs" / "latest" / "households.csv"
    ).read_bytes() == households
    set_key(layer, "reduce", "across_years", '"share_below(-1.9)"')
    with pytest.raises(AssertionError, match="reduced again"):
        hazardmap.run(tiny_project)


def test_a_zarr_store_is_reduced_like_its_netcdf(tmp_path: Path) -> None:
    """The same cube as NetCDF and as a Zarr store gives the same grid."""
    shares = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.1, 0.2], [0.3, 0.3, 0.3, 0.3]])
    values = severe_years(shares)
    netcdf = write_cube(tmp_path / "c.nc", values, LAT, LON)
    store = tmp_path / "c.zarr"
    coords = {"time": MONTHS, "lat": LAT, "lon": LON}
    data = xr.Dataset({"spei": (("time", "lat", "lon"), values)}, coords=coords)
    data.chunk({"time": 24}).to_zarr(store, consolidated=False)
    reduction = Reduction(within_year="min", across_years="share_below(-1.5)", months=GROWING)
    from_zarr = reduce_cube(store, "spei", reduction)
    from_netcdf = reduce_cube(netcdf, "spei", reduction)
    assert from_zarr.values == pytest.approx(from_netcdf.values)
    assert from_zarr.values == pytest.approx(shares[::-1])  # north up: LAT ascends
    assert from_zarr.transform == from_netcdf.transform


def test_a_zarr_store_is_digested_by_its_files(tmp_path: Path) -> None:
    """The cache key and the manifest's SHA-256 of a store change with any file in it."""
    store = tmp_path / "c.zarr"
    data = xr.Dataset(
        {"spei": (("time", "lat", "lon"), severe_years(np.full((3, 4), 0.1)))},
        coords={"time": MONTHS, "lat": LAT, "lon": LON},
    )
    data.to_zarr(store, consolidated=False)
    before = file_digest(store)
    data.assign(spei=data["spei"] * 2).to_zarr(store, mode="w", consolidated=False)
    assert file_digest(store) != before and len(before) == 64
