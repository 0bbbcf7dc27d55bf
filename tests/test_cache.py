"""Re-runs reuse the overlays of unchanged rasters, and say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner

import hazardmap
import hazardmap.inputs as inputs_module
from hazardmap.cli import main
from tests.helpers import (
    CACHE_FOLDER,
    CELL,
    ORIGIN,
    UTM,
    monitoring_export,
    set_key,
    write_raster,
)


@pytest.mark.slow  # five end-to-end runs of the tiny project
def test_only_the_changed_raster_is_recomputed(tiny_project: Path) -> None:
    first = hazardmap.run(tiny_project)
    assert first.reused_layers == ()
    again = hazardmap.run(tiny_project)
    assert sorted(again.reused_layers) == ["dry", "slope"]
    pd.testing.assert_frame_equal(again.households, first.households)
    # a new slope raster arrives
    write_raster(
        tiny_project.parent / "data" / "slope.tif",
        np.full((10, 10), 0.95),
        Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]),
        UTM,
    )
    result = CliRunner().invoke(main, ["run", "--config", str(tiny_project)])
    assert result.exit_code == 0, result.output
    assert "overlay cache: reused for dry (" in result.stdout
    assert "; computed now: slope" in result.stdout
    third = hazardmap.run(tiny_project)  # now both are cached again
    assert (third.households["slope_value"].dropna() == np.float32(0.95)).all()
    fresh_root = tiny_project.parent / "outputs" / ".hazardmap-cache"
    for entry in fresh_root.glob("*.npz"):
        entry.write_bytes(b"damaged")
    recomputed = hazardmap.run(tiny_project)
    assert recomputed.reused_layers == ()  # a damaged cache is ignored, never trusted
    pd.testing.assert_frame_equal(recomputed.households, third.households)


@pytest.mark.slow  # end-to-end runs of the tiny project (measured: ~2-4 s)
def test_changed_settings_invalidate_the_cache(tiny_project: Path) -> None:
    hazardmap.run(tiny_project)
    layer = tiny_project.parent / "layers" / "slope.toml"
    layer.write_text(
        layer.read_text(encoding="utf-8").replace("[0.3, 0.5, 0.7]", "[0.2, 0.5, 0.7]"),
        encoding="utf-8",
    )
    result = hazardmap.run(tiny_project)
    assert result.reused_layers == ("dry",)


def _no_reading(*args: object, **kwargs: object) -> None:
    raise AssertionError("the household table was read again")


def test_an_unchanged_household_table_comes_from_the_cache(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitoring export (a workbook, in a real county) is parsed once; its warnings
    are told again when it comes from the cache."""
    monitoring_export()(tiny_project)
    latest = tiny_project.parent / "outputs" / "latest"
    first = hazardmap.run(tiny_project)
    households = (latest / "households.csv").read_bytes()
    monkeypatch.setattr(inputs_module, "read_households", _no_reading)
    second = hazardmap.run(tiny_project)
    assert (latest / "households.csv").read_bytes() == households
    assert second.warnings == first.warnings
    set_key(tiny_project, "households.values", "housing", '{ "土房子" = "earth" }')
    with pytest.raises(AssertionError, match="read again"):
        hazardmap.run(tiny_project)  # another label: the table is read again


def test_a_run_stopped_by_bad_input_caches_no_table(tiny_project: Path) -> None:
    cache = tiny_project.parent / "outputs" / CACHE_FOLDER
    set_key(tiny_project, "outputs", "dir", '"data"')  # refused: the folder holds inputs
    with pytest.raises(hazardmap.HazardmapError):
        hazardmap.run(tiny_project)
    assert not cache.exists() and not (tiny_project.parent / CACHE_FOLDER).exists()
