"""Fixtures: tiny rasters and a tiny project built in code, and the demo county."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from hazardmap.demo import write_demo_data
from tests.helpers import REPO, UTM, build_tiny_project, copy_project, invoke, write_raster


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
    """A fresh copy of the tiny project with the outputs of a run, but not its overlay
    cache (every run in the copy computes its overlays); its project file."""
    return copy_project(tiny_template.parent, tmp_path / "project") / "hazardmap.toml"


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county as a project folder (the repository's files, generated data).

    Inputs only, shared by the session: a test that runs it passes its own output folder
    (``hazardmap.run(demo_project, out)``, ``run --out``), so that no two tests share the
    outputs or the overlay cache written beside them."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "hazardmap.toml", root / "hazardmap.toml")
    shutil.copytree(REPO / "layers", root / "layers")
    shutil.copytree(REPO / "events", root / "events")
    write_demo_data(root / "data" / "raw", households=6000, seed=620826)
    return root / "hazardmap.toml"
