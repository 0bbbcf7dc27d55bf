"""Rasters as the kernels see them: a float array with NaN for missing, a grid and a CRS.

A raster comes from a file path (a GeoTIFF, a NetCDF variable, anything GDAL reads) or from
an ``xarray.DataArray`` (numpy- or dask-backed); either way it is normalised here once, so
the kernels never see nodata values, infinities or file handles. The checks a file gets on
opening (which band, which CRS, what grid) live here too, and the map's overlays use them,
so a raster is read by the same rules everywhere.

Values are GDAL's unscaled ones: a band with a scale or offset (an int16 band holding hail
days x 100 with scale 0.01, say) is read as ``stored * scale + offset``, after its missing
cells are found; nodata, the file's and the layer's alike, is a stored value, compared
before scaling. Bands without scale or offset take no extra step.

A file is refused on opening, in one line, when it cannot give real numbers on a known
place on Earth: a complex or unknown data type, a CRS with no transformation to longitude
and latitude (an engineering or local CRS) or in which the raster's centre is no place on
Earth, a geotransform with no cell size or non-finite terms, a scale of 0 or a non-finite
scale or offset.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError
from pyproj.exceptions import ProjError

from hazardmap.crs import WGS84, Grid, lonlat_fit, parse_crs, same_crs, system_of
from hazardmap.errors import CRSError, InputError, InputFileNotFoundError
from hazardmap.gdal_names import netcdf_name, split_netcdf_name
from hazardmap.raster.kernels import fill_missing, fill_missing_scaled

if TYPE_CHECKING:
    import xarray as xr


@dataclass(frozen=True)
class SourceOptions:
    """How to read a raster file, as its layer file says (the keyword arguments of
    ``FileSource``): the CRS to assume, whether it overrides the file's own, the band, a
    value to treat as missing besides the file's nodata, and a NetCDF variable."""

    declared_crs: str | None = None
    crs_override: bool = False
    band: int | None = None
    nodata: float | None = None
    variable: str | None = None


RasterRole = Literal["layer", "backdrop"]
"""What a raster file is for, which decides how its errors say to fix it: a hazard layer
(configured in its layer file) or the map's elevation backdrop ([map] backdrop)."""


def crs_label(crs: CRS) -> str:
    """A CRS as people name it: its code and its name, "EPSG:32648 (WGS 84 / UTM zone 48N)"."""
    authority = crs.to_authority()
    return f"{authority[0]}:{authority[1]} ({crs.name})" if authority else crs.name


def settle_crs(
    file_crs: CRS | None, declared_crs: str | None, crs_override: bool, *, where: str
) -> CRS:
    """The CRS a raster is read in: its own, or the declared one where it has none or
    ``crs_override`` says its own is wrong.

    A declared CRS that contradicts the file's own is an error, never silently ignored: one
    of the two is wrong, and only the user knows which.
    """
    if declared_crs is None:
        if crs_override:
            raise CRSError(
                f'{where}: crs_override = true but no crs is declared; add crs = "EPSG:...." '
                "to the layer file, or remove crs_override"
            )
        if file_crs is None:
            raise CRSError(
                f'{where}: the raster has no CRS; declare it with crs = "EPSG:...." in '
                "its layer file, or assign one (gdal_edit.py -a_srs)"
            )
        return file_crs
    declared = parse_crs(declared_crs, where=f"{where}: declared crs")
    if file_crs is None or crs_override:
        return declared
    if same_crs(declared, file_crs):
        return file_crs
    raise CRSError(
        f"{where}: the layer declares crs {crs_label(declared)} but the raster's own CRS is "
        f"{crs_label(file_crs)}; remove crs from the layer file, or set crs_override = true "
        "if the file's own CRS is wrong"
    )


def check_on_earth(
    crs: CRS, transform: Affine, width: int, height: int, *, where: str, fix: str
) -> None:
    """Refuse a CRS that cannot be related to the Earth: one with no transformation to
    longitude and latitude (an engineering or local CRS), or in which the raster's centre
    is no place on Earth (metres labelled as degrees, say). ``fix`` says how to mend it.

    Either would otherwise fail later, as a PROJ or GDAL traceback, when the villages are
    moved into the raster's CRS or the raster is warped for the map.
    """
    x, y = transform @ (width / 2, height / 2)
    try:
        lon, lat = system_of(crs).transform(np.array([x]), np.array([y]), WGS84)
    except ProjError:  # pyproj's CRSError too: no operation to EPSG:4326 exists
        raise CRSError(
            f"{where}: its CRS {crs_label(crs)} ({crs.type_name}) has no place on Earth (no "
            f"transformation to longitude/latitude exists); {fix}"
        ) from None
    if not lonlat_fit(lon, lat).all():
        raise CRSError(
            f"{where}: the raster's centre ({x:.6g}, {y:.6g}) is no place on Earth in its CRS "
            f"{crs_label(crs)}, so that CRS is not the one its coordinates are in; {fix}"
        )


def _earth_fix(role: RasterRole, declared: bool) -> str:
    """How to give a raster the CRS it is really in."""
    if role == "backdrop":
        return "assign the real CRS to the file (gdal_edit.py -a_srs EPSG:....)"
    if declared:
        return 'declare the real CRS in the layer file (crs = "EPSG:....")'
    return (
        "assign the real CRS to the file (gdal_edit.py -a_srs EPSG:....), or declare it in "
        'the layer file with crs = "EPSG:...." and crs_override = true'
    )


Scaling = tuple[float, float]
"""A band's GDAL scale and offset: its values are ``stored * scale + offset``."""


def band_scaling(ds: Any, band: int, where: str) -> Scaling | None:
    """The band's (scale, offset), or None where it has neither (scale 1, offset 0); a scale
    of 0 or a non-finite one, or a non-finite offset, is a one-line error."""
    scale, offset = float(ds.scales[band - 1]), float(ds.offsets[band - 1])
    if not (np.isfinite(scale) and np.isfinite(offset)) or scale == 0:
        raise InputError(
            f"{where}: band {band} has scale {scale:g} and offset {offset:g}, which give no "
            "usable values (a scale must be a non-zero number, an offset a number); correct "
            "them (gdal_edit.py -scale S -offset O)"
        )
    return None if (scale, offset) == (1.0, 0.0) else (scale, offset)


_STEPS_IN_FLOAT32 = 2.0**16
"""Float32 holds scaled values when they are at most this many scale steps from 0: its 24
bits then round each value by under 1/128 of a step."""


def _float_type(dtype: np.dtype, scaling: Scaling | None = None) -> type[np.floating]:
    """float32 for values it holds exactly (float32, 8- and 16-bit integers) or closely
    enough (8- and 16-bit integers scaled, within ``_STEPS_IN_FLOAT32`` steps of 0), else
    float64 (a scaled float band among them: the product of a float32 is not one)."""
    if scaling is None:
        return np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        scale, offset = scaling
        info = np.iinfo(dtype)
        reach = max(abs(info.min * scale + offset), abs(info.max * scale + offset))
        if reach <= _STEPS_IN_FLOAT32 * abs(scale) and reach < float(np.finfo(np.float32).max):
            return np.float32
    return np.float64


def _in_band_type(band_dtype: np.dtype, value: float | None) -> float | int | None:
    """``value`` as the band stores it (nodata is compared in the band's own type), or None
    where no cell can hold it; NaN is None too, since NaN is missing anyway."""
    if value is None or np.isnan(value):
        return None
    if band_dtype.kind == "f":
        with np.errstate(over="ignore"):
            stored = band_dtype.type(value)
        return float(stored) if np.isfinite(stored) else None
    if band_dtype.kind in "iu" and float(value).is_integer():
        info = np.iinfo(band_dtype)
        return int(value) if info.min <= value <= info.max else None
    return None


class MissingCells:
    """Which cells of a band are missing besides NaN: infinite ones, and those equal to its
    nodata value or to the layer's extra one, each compared in the band's own type; and,
    for a band with a scale or offset, the others' unscaled values.

    The float rules and the scaling run as one numba pass (``fill_missing``, or
    ``fill_missing_scaled``); only 64-bit integers, which float64 does not hold exactly, are
    compared in their own type by numpy.
    """

    def __init__(
        self,
        band_dtype: np.dtype,
        float_type: type[np.floating],
        nodata: Sequence[float | None],
        scaling: Scaling | None = None,
    ) -> None:
        kept = [v for v in (_in_band_type(band_dtype, value) for value in nodata) if v is not None]
        if len(kept) > 2:
            raise ValueError("at most two nodata values: the file's and the layer's")
        exact_in_floats = band_dtype.kind == "f" or band_dtype.itemsize <= 4
        self._compare_raw = () if exact_in_floats else tuple(kept)
        in_floats = kept if exact_in_floats else []
        padded = [*in_floats, np.nan, np.nan]
        self._nodata = float_type(padded[0])
        self._extra_nodata = float_type(padded[1])
        self._scaling = scaling
        # integers hold no infinity: without nodata values or scaling, their cells need no pass
        self._scan = band_dtype.kind == "f" or bool(in_floats) or scaling is not None

    def apply(self, values: np.ndarray, raw: np.ndarray) -> None:
        """Set the missing cells of ``values`` (``raw`` as floats) to NaN, and unscale the
        others, in place."""
        if self._scaling is not None:
            fill_missing_scaled(values, self._nodata, self._extra_nodata, *self._scaling)
        elif self._scan:
            fill_missing(values, self._nodata, self._extra_nodata)
        for value in self._compare_raw:
            values[raw == value] = np.nan


def read_failure(description: str, row0: int, row1: int, exc: Exception) -> InputError:
    """The one-line error for a window GDAL could not decode, as in a truncated file."""
    detail = " ".join(str(exc.__cause__ or exc).replace(f"{description}, ", "").split())
    return InputError(
        f"{description}: reading rows {row0}-{row1 - 1} failed ({detail}); the file may be "
        "truncated or damaged; check it (gdalinfo -checksum) or copy it again"
    )


class RasterSource:
    """Rows of one band, read on demand: the kernels ask for strips, never the whole band.

    Subclasses read from a file (window by window), an in-memory array, or a dask array.
    ``read`` returns floating point values with NaN wherever data is missing (nodata,
    masked, NaN or infinite).
    """

    grid: Grid
    description: str
    block_height: int = 256

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def strip_rows(self, target_pixels: int) -> int:
        """Rows per strip: about ``target_pixels`` cells, a multiple of the block height."""
        blocks = max(1, target_pixels // max(1, self.grid.width * self.block_height))
        return int(min(self.grid.height, blocks * self.block_height))

    def close(self) -> None:
        """Release the file, if any."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_grid(transform: Affine, where: str) -> None:
    if not all(np.isfinite(transform[:6])):
        raise InputError(
            f"{where}: the raster's geotransform has non-finite terms ({tuple(transform[:6])}), "
            "so its cells have no place on the map; georeference it again (gdal_edit.py -a_ullr)"
        )
    if transform.is_identity:
        raise InputError(
            f"{where}: the raster has no geotransform, so its cells have no place on the map; "
            "georeference it first (gdal_translate -a_ullr, or gdalwarp)"
        )
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{where}: rotated or sheared rasters are not supported; warp it to a north-up grid "
            "first (gdalwarp)"
        )
    if transform.a == 0 or transform.e == 0:
        raise InputError(
            f"{where}: the raster's geotransform gives its cells a width or height of 0 "
            f"({transform.a:g} x {transform.e:g}), so they have no place on the map; "
            "georeference it again (gdal_edit.py -a_ullr)"
        )


def _check_band_type(ds: Any, band: int, where: str) -> None:
    """Refuse a band whose values are not real numbers (complex), or of a type numpy does
    not know; reading either would drop the imaginary part, or fail."""
    name = str(ds.dtypes[band - 1])
    try:
        kind: str = np.dtype(name).kind
    except TypeError:  # rasterio's complex_int16, or a type newer than rasterio
        kind = "c" if name.startswith("complex") else "?"
    if kind == "c":
        raise InputError(
            f"{where}: band {band} holds complex numbers (data type {name}); hazard values must "
            "be real numbers; write the real part or the magnitude to a new band first"
        )
    if kind not in "iuf":
        raise InputError(
            f"{where}: band {band} has data type {name}, which hazardmap cannot read; hazard "
            "values must be integers or floating point numbers; convert it (gdal_translate "
            "-ot Float32)"
        )


GDAL_READ_OPTIONS = {"GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_CACHEMAX": 64}
"""Decode with every core; keep GDAL's block cache small so memory does not grow with the
raster (each strip is read once, in order, so a large cache would not be reused)."""


def _band_descriptions(ds: Any) -> list[str]:
    """Each band's description, or for NetCDF its coordinates ("time=31"); "" where none."""
    names = []
    for band in range(1, ds.count + 1):
        description = ds.descriptions[band - 1] or ", ".join(
            f"{key.removeprefix('NETCDF_DIM_')}={value}"
            for key, value in ds.tags(band).items()
            if key.startswith("NETCDF_DIM_")
        )
        names.append(description)
    return names


def _choose_band(ds: Any, where: str, band: int | None, role: RasterRole) -> int:
    """The band to read: the only one, or the one the layer file names."""
    count = int(ds.count)
    if band is None and count == 1:
        return 1
    if band is None and role == "backdrop":
        raise InputError(
            f"{where}: the backdrop raster has {count} bands; the hillshade needs one band of "
            "elevations; extract it (gdal_translate -b k)"
        )
    if band is None:
        described = [
            f"{k}: {name}" for k, name in enumerate(_band_descriptions(ds), start=1) if name
        ]
        listing = "; ".join(described[:6]) + ("; ..." if len(described) > 6 else "")
        raise InputError(
            f"{where}: the raster has {count} bands{f' ({listing})' if listing else ''}; "
            f"hazardmap reads one: set band = k (1 to {count}) in the layer file"
        )
    if not 1 <= band <= count:
        plural = "s" if count > 1 else ""
        raise InputError(
            f"{where}: band = {band} but the raster has {count} band{plural}; set band to a "
            f"number from 1 to {count} in the layer file"
        )
    return band


def _without_bands(ds: Any, path: Path, where: str) -> InputError:
    """The error for a file that holds no band of its own (a container of subdatasets)."""
    subdatasets = list(ds.subdatasets)
    if not subdatasets:
        return InputError(
            f"{where}: the file holds no raster band; expected a raster (GeoTIFF, or a NetCDF "
            "variable); check the file"
        )
    if ds.driver == "netCDF":
        names = [name.rsplit(":", 1)[-1] for name in subdatasets]
        return InputError(
            f"{where}: the NetCDF file holds {len(names)} variables ({', '.join(names)}); "
            f"choose one in the layer file with GDAL's form, path = "
            f"'NETCDF:\"<file>\":{names[0]}' (the file's path as now, then the variable)"
        )
    return InputError(
        f"{where}: the file holds {len(subdatasets)} subdatasets and no band of its own "
        f"({', '.join(subdatasets[:4])}{', ...' if len(subdatasets) > 4 else ''}); "
        "point the layer's path at one of them"
    )


def _open_quietly(name: str) -> Any:
    """rasterio.open without the warning about a missing geotransform: a NetCDF with several
    variables has none (its variables do), and a raster without one is refused by
    ``_check_grid`` with a one-line error instead."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(name)


def netcdf_variables(path: Path) -> list[str] | None:
    """The variables GDAL reads as rasters in a NetCDF file, or None if it is not one."""
    from rasterio.errors import RasterioIOError

    try:
        ds = _open_quietly(str(path))
    except RasterioIOError:
        return None
    with ds:
        if ds.driver != "netCDF":
            return None
        if ds.subdatasets:
            return [name.rsplit(":", 1)[-1] for name in ds.subdatasets]
        variable = ds.tags(1).get("NETCDF_VARNAME") if ds.count else None
        return [variable] if variable else []


def _unreadable(path: Path, variable: str | None, exc: Exception) -> InputError:
    """Why GDAL could not open the file (or its variable), in one line."""
    if variable is not None:
        names = netcdf_variables(path)
        if names is None:
            return InputError(
                f"{path}: a NetCDF variable ({variable}) is named, but GDAL does not read the "
                "file as NetCDF; check the layer's path"
            )
        if variable not in names:
            return InputError(
                f"{path}: the NetCDF file has no variable '{variable}'; it has "
                f"{', '.join(names) or 'none'}; correct the variable in the layer's path"
            )
    detail = " ".join(str(exc).split())
    return InputError(f"{path}: not a raster GDAL can read ({detail}); check the file")


def _file_crs(ds: Any, where: str) -> CRS | None:
    """The file's own CRS as pyproj reads it, or None; one pyproj cannot read is an error."""
    if ds.crs is None:
        return None
    try:
        return CRS.from_user_input(ds.crs)
    except PyprojCRSError as exc:
        detail = " ".join(str(exc).split())
        raise CRSError(
            f"{where}: the raster's CRS is not one pyproj can read ({detail[:200]}); assign "
            "its CRS again (gdal_edit.py -a_srs EPSG:....)"
        ) from None


def open_raster_file(
    path: Path, options: SourceOptions = SourceOptions(), *, role: RasterRole = "layer"
) -> tuple[Any, int, CRS]:
    """Open a raster file and settle how to read it: (the rasterio dataset, its band, its CRS).

    Every way a file can be unusable is a one-line error naming it: missing, empty, not a
    raster, a NetCDF of several variables, several bands and none chosen (or one beyond
    them), a band of complex or unknown type or with an unusable scale or offset, no CRS or
    one contradicting the declared one or with no place on Earth, no geotransform or a
    rotated or degenerate one. Call it inside a ``rasterio.Env``; the caller closes the
    dataset.
    """
    from rasterio.errors import RasterioIOError

    if not path.is_file():
        if role == "backdrop":
            raise InputFileNotFoundError(
                f"{path}: backdrop raster not found; check [map] backdrop in the project file"
            )
        raise InputFileNotFoundError(f"{path}: raster not found; check the layer's path")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a raster; copy it again")
    variable = options.variable
    where = str(path) if variable is None else f"{path}, variable {variable}"
    try:
        ds = _open_quietly(str(path) if variable is None else netcdf_name(path, variable))
    except RasterioIOError as exc:
        raise _unreadable(path, variable, exc) from None
    try:
        if ds.count == 0:
            raise _without_bands(ds, path, where)
        band = _choose_band(ds, where, options.band, role)
        _check_band_type(ds, band, where)
        band_scaling(ds, band, where)
        if ds.width < 1 or ds.height < 1:
            raise InputError(f"{where}: the raster has no cells ({ds.width} x {ds.height})")
        file_crs = _file_crs(ds, where)
        if file_crs is None and role == "backdrop":
            raise CRSError(
                f"{where}: the backdrop raster has no CRS; assign one (gdal_edit.py -a_srs "
                "EPSG:....)"
            )
        crs = settle_crs(file_crs, options.declared_crs, options.crs_override, where=where)
        _check_grid(ds.transform, where)
        fix = _earth_fix(role, declared=crs is not file_crs)
        check_on_earth(crs, ds.transform, ds.width, ds.height, where=where, fix=fix)
    except BaseException:
        ds.close()
        raise
    return ds, band, crs


class FileSource(RasterSource):
    """One band of a raster file (or of a NetCDF variable), read window by window."""

    def __init__(
        self,
        path: Path,
        *,
        declared_crs: str | None = None,
        crs_override: bool = False,
        band: int | None = None,
        nodata: float | None = None,
        variable: str | None = None,
    ) -> None:
        import rasterio
        from rasterio.enums import MaskFlags

        self.path = path
        self.options = SourceOptions(declared_crs, crs_override, band, nodata, variable)
        self.declared_crs = declared_crs
        self.description = str(path) if variable is None else f"{path}, variable {variable}"
        self._ds: Any = None
        self._env = rasterio.Env(**GDAL_READ_OPTIONS)
        self._env.__enter__()
        try:
            self._ds, self.band, crs = open_raster_file(path, self.options)
        except BaseException:
            self._env.__exit__(None, None, None)
            raise
        ds = self._ds
        index = self.band - 1
        band_dtype = np.dtype(ds.dtypes[index])
        self.grid = Grid(transform=ds.transform, width=ds.width, height=ds.height, crs=crs)
        self.block_height = int(ds.block_shapes[index][0])
        self.scaling = band_scaling(ds, self.band, self.description)
        self.dtype = _float_type(band_dtype, self.scaling)
        self.nodata = ds.nodatavals[index]
        self.extra_nodata = nodata
        self._missing = MissingCells(band_dtype, self.dtype, (self.nodata, nodata), self.scaling)
        # a mask of its own: the dataset's, an alpha band, or the band's (flags empty); nodata
        # masks are the nodata value, which MissingCells compares
        flags = set(ds.mask_flag_enums[index])
        self._dataset_mask = not flags & {MaskFlags.all_valid, MaskFlags.nodata}

    @classmethod
    def from_options(cls, path: Path, options: SourceOptions) -> FileSource:
        """The source a layer's options describe (how a dask worker reopens it)."""
        return cls(path, **asdict(options))

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        from rasterio.errors import RasterioIOError
        from rasterio.windows import Window

        col1 = self.grid.width if col1 is None else col1
        window = Window(col0, row0, col1 - col0, row1 - row0)
        try:
            raw = self._ds.read(self.band, window=window)
            masks = self._ds.read_masks(self.band, window=window) if self._dataset_mask else None
        except RasterioIOError as exc:
            raise read_failure(self.description, row0, row1, exc) from None
        values = raw.astype(self.dtype, copy=False)  # a fresh array either way: ours to change
        if masks is not None:
            values[masks == 0] = np.nan
        self._missing.apply(values, raw)
        return values

    def close(self) -> None:
        if getattr(self, "_ds", None) is not None:
            self._ds.close()
            self._ds = None
            self._env.__exit__(None, None, None)


class ArraySource(RasterSource):
    """A band already in memory (numpy), or lazily in a dask array."""

    def __init__(
        self,
        values: Any,
        grid: Grid,
        description: str,
        nodata: float | None = None,
        extra_nodata: float | None = None,
    ) -> None:
        self.values = values
        self.grid = grid
        self.description = description
        self.nodata = nodata
        self.extra_nodata = extra_nodata
        chunks = getattr(values, "chunks", None)
        if chunks:
            self.block_height = int(max(chunks[0]))
        band_dtype = np.dtype(values.dtype)
        self.dtype = _float_type(band_dtype)
        self._missing = MissingCells(band_dtype, self.dtype, (nodata, extra_nodata))

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        block = self.values[row0:row1, col0 : self.grid.width if col1 is None else col1]
        if hasattr(block, "compute"):
            block = block.compute()
        raw = np.asarray(block)
        values = np.array(raw, dtype=self.dtype)  # a copy: ours to change
        self._missing.apply(values, raw)
        return values


def _dataarray_crs(da: xr.DataArray) -> CRS | None:
    candidates: list[Any] = [da.attrs.get("crs")]
    if "spatial_ref" in da.coords:
        ref = da.coords["spatial_ref"].attrs
        candidates += [ref.get("crs_wkt"), ref.get("spatial_ref")]
    for value in candidates:
        if value is not None:
            return parse_crs(value, where="DataArray crs")
    return None


def _select_band(da: xr.DataArray, band: int) -> xr.DataArray:
    """Band ``band`` (counted from 1) of a DataArray with a ``band`` dimension."""
    count = da.sizes.get("band", 1)
    if not 1 <= band <= count:
        raise InputError(
            f"DataArray: band = {band} but it has {count} band{'s' if count > 1 else ''}; "
            f"choose a band from 1 to {count}"
        )
    return da.isel(band=band - 1) if "band" in da.dims else da


def dataarray_source(
    da: xr.DataArray,
    *,
    declared_crs: str | None = None,
    crs_override: bool = False,
    band: int | None = None,
    nodata: float | None = None,
) -> ArraySource:
    """A 2-D DataArray with regular 1-D ``x``/``y`` coordinates (cell centres) and a CRS;
    numpy- or dask-backed (a dask array is computed strip by strip, never whole).

    The options mean what they mean for a file: ``band`` picks along a ``band`` dimension,
    ``nodata`` is missing besides the array's own nodata or _FillValue attribute."""
    data = da if band is None else _select_band(da, band)
    data = data.squeeze(drop=True)
    if data.ndim != 2 or "x" not in data.dims or "y" not in data.dims:
        raise InputError(
            f"DataArray: expected 2 dimensions named y and x, got {tuple(data.dims)}; "
            "select one band first"
        )
    data = data.transpose("y", "x")
    kind = np.dtype(data.dtype).kind
    if kind not in "biuf":
        what = "complex numbers" if kind == "c" else "values that are not numbers"
        raise InputError(
            f"DataArray: it holds {what} (data type {data.dtype}); hazard values must be real "
            "numbers"
        )
    x = np.asarray(data["x"].values, dtype=np.float64)
    y = np.asarray(data["y"].values, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise InputError("DataArray: needs at least 2 cells along x and y to know its grid")
    dx, dy = np.diff(x), np.diff(y)
    if not (np.allclose(dx, dx[0]) and np.allclose(dy, dy[0])):
        raise InputError("DataArray: x and y coordinates must be evenly spaced")
    transform = Affine(dx[0], 0.0, x[0] - dx[0] / 2, 0.0, dy[0], y[0] - dy[0] / 2)
    own_crs = _dataarray_crs(da)
    if own_crs is None and declared_crs is None:
        raise CRSError(
            "DataArray: no CRS found; set da.attrs['crs'] = 'EPSG:....' (or use rioxarray's "
            "write_crs)"
        )
    crs = settle_crs(own_crs, declared_crs, crs_override, where="DataArray")
    check_on_earth(
        crs,
        transform,
        x.size,
        y.size,
        where="DataArray",
        fix="give it the CRS its coordinates are in (da.attrs['crs'] = 'EPSG:....')",
    )
    own_nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    grid = Grid(transform=transform, width=x.size, height=y.size, crs=crs)
    return ArraySource(
        data.data,
        grid,
        f"DataArray {da.name or ''}".strip(),
        None if own_nodata is None else float(own_nodata),
        nodata,
    )


def open_source(
    raster: str | Path | xr.DataArray | RasterSource,
    *,
    declared_crs: str | None = None,
    crs_override: bool = False,
    band: int | None = None,
    nodata: float | None = None,
    variable: str | None = None,
) -> RasterSource:
    """Normalise any accepted raster input into a source the kernels can read.

    The options are a layer file's (see ``FileSource``) and apply to files and DataArrays
    alike; a path may also be GDAL's ``NETCDF:"file.nc":variable``. A RasterSource is
    already normalised and comes back as it is.
    """
    if isinstance(raster, RasterSource):
        return raster
    if isinstance(raster, str | Path):
        path = Path(raster)
        named = split_netcdf_name(str(raster))
        if named is not None:
            if variable is not None and variable != named[1]:
                raise InputError(
                    f"{raster}: the path names variable '{named[1]}' but variable = "
                    f"'{variable}' is given; name it once"
                )
            path, variable = Path(named[0]), named[1]
        return FileSource(
            path,
            declared_crs=declared_crs,
            crs_override=crs_override,
            band=band,
            nodata=nodata,
            variable=variable,
        )
    import xarray as xr

    if isinstance(raster, xr.DataArray):
        if variable is not None:
            raise InputError(
                f"DataArray: variable = '{variable}' names a variable of a NetCDF file; "
                f"select it from the Dataset instead (ds['{variable}'])"
            )
        return dataarray_source(
            raster, declared_crs=declared_crs, crs_override=crs_override, band=band, nodata=nodata
        )
    raise TypeError(f"raster must be a path or an xarray.DataArray, got {type(raster).__name__}")
