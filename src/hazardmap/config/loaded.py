"""A validated project as the rest of hazardmap sees it: paths resolved, layers loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hazardmap.config.layers import LayerFile
from hazardmap.config.project import ProjectFile
from hazardmap.gdal_names import split_netcdf_name
from hazardmap.paths import real_path


@dataclass(frozen=True)
class LayerConfig:
    """One hazard layer, with its raster path resolved."""

    file: Path
    spec: LayerFile

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def raster_path(self) -> Path:
        """The layer's source file: a raster, a cube, zones or sites (for a
        NETCDF:"file.nc":variable path, the NetCDF file)."""
        named = split_netcdf_name(str(self.spec.path))
        path = Path(named[0]) if named else self.spec.path
        return real_path(self.file.parent / path)

    @property
    def raster_variable(self) -> str | None:
        """The NetCDF variable a NETCDF:"file.nc":variable path names, else None."""
        named = split_netcdf_name(str(self.spec.path))
        return named[1] if named else None

    @property
    def sites_path(self) -> Path | None:
        """The hazard sites file of a ``[sites]`` table (None without one; a layer of
        ``source = "sites"`` has its sites at :attr:`raster_path`)."""
        sites = self.spec.sites
        return None if sites is None else real_path(self.file.parent / sites.path)

    @property
    def source_files(self) -> list[Path]:
        """Every file the layer reads (a Shapefile with the files beside it)."""
        paths = [self.raster_path] if self.spec.source in ("raster", "cube") else []
        paths += [] if self.spec.source in ("raster", "cube") else with_sidecars(self.raster_path)
        if self.sites_path is not None:
            paths += with_sidecars(self.sites_path)
        return paths

    def source_options(self) -> dict[str, Any]:
        """How the raster is read: the keyword arguments of ``raster.open_source``."""
        return {
            "declared_crs": self.spec.crs,
            "crs_override": self.spec.crs_override,
            "band": self.spec.band,
            "nodata": self.spec.nodata,
            "variable": self.raster_variable,
        }

    def warnings(self) -> list[str]:
        return [f"{self.file}: {warning}" for warning in self.spec.curve_warnings()]


_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
"""The files that make one Shapefile with its .shp."""


def with_sidecars(path: Path) -> list[Path]:
    """A vector file and, for a Shapefile, the files beside it that belong to it."""
    if path.suffix.lower() != ".shp":
        return [path]
    return [path, *(p for s in _SIDECARS if (p := path.with_suffix(s)).exists())]


@dataclass(frozen=True)
class Config:
    """A validated project: the project file, its layers, and where everything lives."""

    file: Path
    settings: ProjectFile
    """The project file's sections (``settings.project.name``, ``settings.risk``, ...)."""
    layers: tuple[LayerConfig, ...]
    warnings: tuple[str, ...] = ()
    """Settings that are allowed but probably not meant (e.g. a falling damage curve)."""

    @property
    def root(self) -> Path:
        return self.file.parent

    def resolve(self, path: Path) -> Path:
        """A path of the project file, made absolute relative to the project file."""
        return real_path(self.root / path)

    @property
    def villages_path(self) -> Path:
        return self.resolve(self.settings.villages.path)

    @property
    def households_path(self) -> Path:
        return self.resolve(self.settings.households.path)

    @property
    def business_split_path(self) -> Path | None:
        """``[households.income] business_split_path``, resolved (None without one)."""
        income = self.settings.households.income
        if income is None or income.business_split_path is None:
            return None
        return self.resolve(income.business_split_path)

    @property
    def backdrop_path(self) -> Path | None:
        backdrop = self.settings.map.backdrop
        return None if backdrop is None else self.resolve(backdrop)

    @property
    def outputs_dir(self) -> Path:
        return self.resolve(self.settings.outputs.dir)

    @property
    def baseline_path(self) -> Path | None:
        """``[changes] baseline``: the output folder a run is compared with (None: the
        previous run in the output folder)."""
        baseline = self.settings.changes.baseline
        return None if baseline is None else self.resolve(baseline)

    @property
    def layers_dir(self) -> Path:
        return self.resolve(self.settings.layers.dir)

    @property
    def hazard_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def input_paths(self) -> list[Path]:
        """Every file and folder the project reads: an output folder must never hold one."""
        paths = [self.file, self.layers_dir, *(layer.file for layer in self.layers)]
        paths += with_sidecars(self.villages_path)
        paths += [self.households_path, *(p for layer in self.layers for p in layer.source_files)]
        paths += [p for p in (self.business_split_path, self.backdrop_path) if p is not None]
        return paths
