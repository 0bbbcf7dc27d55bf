"""The command line: exit codes, one-line messages, nothing written on bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner

from hazardmap import __version__
from hazardmap.cli import main
from tests.helpers import write_raster


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and __version__ in out
    code, out, _ = invoke("--help")
    assert code == 0 and all(c in out for c in ("demo-data", "validate", "run"))


def test_wrong_usage_exits_2(tiny_project: Path) -> None:
    code, _, err = invoke("run", "--config", str(tiny_project), "--bogus")
    assert code == 2 and "No such option" in err


def test_validate_and_run(tiny_project: Path) -> None:
    code, out, _ = invoke("validate", "--config", str(tiny_project))
    assert code == 0 and "valid" in out
    assert not (tiny_project.parent / "outputs").exists()  # validate writes nothing
    code, out, _ = invoke("run", "--config", str(tiny_project))
    assert code == 0, out
    assert "3 villages, 5 households" in out
    assert (tiny_project.parent / "outputs" / "latest" / "map.html").is_file()


def break_unknown_key(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(
        text.replace("[outputs]", "[risk]\nthreshold = 1\n\n[outputs]"), encoding="utf-8"
    )


def break_missing_file(project: Path) -> None:
    (project.parent / "data" / "households.csv").unlink()


def break_village_code(project: Path) -> None:
    path = project.parent / "data" / "households.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("h5,C,", "h5,Z9,"), encoding="utf-8")


def break_raster_crs(project: Path) -> None:
    write_raster(
        project.parent / "data" / "slope.tif",
        np.ones((10, 10)),
        Affine(100, 0, 500_000, 0, -100, 3_930_000),
        None,
    )


def set_valid_range(project: Path, layer: str, bounds: str) -> None:
    """Give a layer file of the tiny project a valid_range."""
    path = project.parent / "layers" / f"{layer}.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("levels =", f"valid_range = {bounds}\nlevels =", 1), encoding="utf-8"
    )


def break_layer_key(project: Path) -> None:
    path = project.parent / "layers" / "dry.toml"
    path.write_text("colour = 'red'\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (break_unknown_key, "unknown key 'threshold' in [risk]"),
        (break_missing_file, "households.csv: households file not found"),
        (break_village_code, "village code not in villages.gpkg at line 6 ('Z9')"),
        (break_raster_crs, "slope.tif: the raster has no CRS"),
        (break_layer_key, "dry.toml: unknown key 'colour' in the top level"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_input_exits_1_with_one_line_and_keeps_outputs(
    tiny_copy: Path, breaker: object, expected: str, command: str
) -> None:
    outputs = tiny_copy.parent / "outputs" / "latest"  # a successful run's, copied
    before = {p.name: p.read_bytes() for p in outputs.iterdir()}
    breaker(tiny_copy)  # type: ignore[operator]
    code, out, err = invoke(command, "--config", str(tiny_copy))
    assert code == 1
    lines = err.strip().splitlines()
    if command == "validate":  # the warnings validate found come with the error
        lines = [line for line in lines if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert "Traceback" not in err + out
    after = {p.name: p.read_bytes() for p in outputs.iterdir()}
    assert after == before
    # beside the outputs: nothing but the overlay cache
    assert {p.name for p in outputs.parent.iterdir()} <= {
        "latest",
        ".hazardmap-cache",
        ".latest.lock",
    }


def test_bad_input_on_a_fresh_project_writes_nothing(tiny_project: Path) -> None:
    break_village_code(tiny_project)
    code, _, _ = invoke("run", "--config", str(tiny_project))
    assert code == 1
    assert not (tiny_project.parent / "outputs").exists()


@pytest.mark.slow  # the demo county's data, generated in full
def test_demo_data_writes_every_raw_file(tmp_path: Path) -> None:
    code, out, _ = invoke(
        "demo-data", "--out", str(tmp_path / "raw"), "--households", "300", "--seed", "1"
    )
    assert code == 0, out
    names = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert names == [
        ".hazardmap-demo-data",
        "business_split.csv",
        "dem.tif",
        "hail-2026-07-12.geojson",
        "hail.tif",
        "hazard_sites.csv",
        "households.xlsx",
        "landslide_zones.gpkg",
        "spei_monthly.nc",
        "villages.gpkg",
    ]
    shutil.rmtree(tmp_path / "raw")


def test_raster_that_misses_part_of_the_county(tiny_project: Path) -> None:
    # the slope raster shrunk to rows 0-4: village C (16 of the 41 cells) is left out
    write_raster(
        tiny_project.parent / "data" / "slope.tif",
        np.full((5, 10), 0.5),
        Affine(100, 0, 500_000, 0, -100, 3_930_000),
        "EPSG:32648",
    )
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "slope.tif: the raster leaves 39% of the villages' area uncovered" in err


def test_values_outside_the_valid_range_are_a_warning(tiny_project: Path) -> None:
    set_valid_range(tiny_project, "slope", "[0, 0.5]")
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 0, err
    # only village C (rows 5-8, values 0.52-0.85: 16 of the 40 valid cells) is above 0.5
    assert "values outside the layer's valid_range [0, 0.5] in 1 village(s)" in err
    assert "covering 0.0% (below) and 40.0% (above) of the villages' area" in err


def test_validate_reports_every_problem_at_once(tiny_project: Path) -> None:
    households = tiny_project.parent / "data" / "households.csv"
    text = households.read_text(encoding="utf-8")
    text = text.replace("h3,B,4,12000", "h3,B,4,lots").replace(",earth,false,", ",tent,false,", 1)
    households.write_text(text, encoding="utf-8")
    break_raster_crs(tiny_project)
    set_valid_range(tiny_project, "dry", "[0, 0.2]")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, err
    assert any("column 'income_pc'" in e and "('lots')" in e for e in errors)
    assert any("column 'housing'" in e and "('tent')" in e for e in errors)
    assert any("slope.tif: the raster has no CRS" in e for e in errors)
    assert "3 error(s)" in out
    # run stops at the first problem and says how many more there are
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "(and 2 more problems: hazardmap validate lists all)" in err


def test_validate_reports_warnings_and_passes(tiny_project: Path) -> None:
    set_valid_range(tiny_project, "dry", "[0, 0.2]")
    code, out, err = invoke("validate", "--config", str(tiny_project))
    assert code == 0 and "0 error(s), 3 warning(s); valid" in out
    assert "outside the layer's valid_range" in err
    assert "1 households (20%) are placed by their village" in err  # h2 has no coordinates
    assert "1 households and 0 villages have no slope value" in err  # h4 stands on nodata
