"""Fixtures: tiny rasters and a tiny project built in code, and the demo county."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from hazardmap.demo import write_demo_data
from tests.helpers import (
    CELL,
    HOUSEHOLD_COLUMNS,
    ORIGIN,
    REPO,
    UTM,
    build_tiny_project,
    invoke,
    read_households_csv,
    tiny_households,
    utm_square,
    write_raster,
)

__all__ = [
    "CELL",
    "HOUSEHOLD_COLUMNS",
    "ORIGIN",
    "REPO",
    "UTM",
    "read_households_csv",
    "tiny_households",
    "utm_square",
    "write_raster",
]


@pytest.fixture
def raster_file(tmp_path: Path) -> Callable[..., Path]:
    def make(values: np.ndarray, transform: Affine, crs: str | None = UTM, **kw: object) -> Path:
        return write_raster(
            tmp_path / f"r{len(list(tmp_path.glob('*.tif')))}.tif", values, transform, crs, **kw
        )  # type: ignore[arg-type]

    return make


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """The tiny project (tests/helpers.py) in a fresh folder; returns its project file."""
    return build_tiny_project(tmp_path / "project")


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project, run once per session: copy it (``tiny_copy``), never change it."""
    project = build_tiny_project(tmp_path_factory.mktemp("template") / "project")
    code, _, err = invoke("run", "--config", str(project))
    assert code == 0, err
    return project


@pytest.fixture
def tiny_copy(tiny_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny project with the outputs of a run; its project file."""
    root = tmp_path / "project"
    shutil.copytree(tiny_template.parent, root)
    return root / "hazardmap.toml"


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county as a project folder (the repository's files, generated data)."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "hazardmap.toml", root / "hazardmap.toml")
    shutil.copytree(REPO / "layers", root / "layers")
    write_demo_data(root / "data" / "raw", households=6000, seed=620826)
    return root / "hazardmap.toml"
