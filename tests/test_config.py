"""The project file and layer files: strict keys, clear messages, resolved paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazardmap import errors, load_config
from tests.helpers import REPO


def test_the_repository_is_a_valid_project() -> None:
    config = load_config(REPO / "hazardmap.toml")
    assert config.hazard_names == ("drought", "hail", "landslide")
    assert config.settings.risk.classes == (0.003, 0.006, 0.012)
    landslide = config.layer("landslide")
    raw = REPO / "data" / "raw"
    assert landslide.raster_path == (raw / "landslide_zones.gpkg").resolve()
    assert landslide.sites_path == (raw / "hazard_sites.csv").resolve()
    assert {i.name for i in config.settings.interventions} >= {
        "slope_works",
        "irrigation",
        "hail_nets",
    }


def test_every_demo_default_says_it_is_illustrative() -> None:
    for path in [REPO / "hazardmap.toml", *sorted((REPO / "layers").glob("*.toml"))]:
        assert "ILLUSTRATIVE" in path.read_text(encoding="utf-8"), path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_key_in_the_project_file_is_named(tiny_project: Path) -> None:
    edit(tiny_project, "income_sigma = 0.35", "income_sigma = 0.35\nincome_sigmaa = 0.3")
    with pytest.raises(errors.ConfigError) as info:
        load_config(tiny_project)
    message = str(info.value)
    assert str(tiny_project) in message
    assert "unknown key 'income_sigmaa' in [project]" in message
    assert "\n" not in message


def test_unknown_key_in_a_layer_file_is_named(tiny_project: Path) -> None:
    layer = tiny_project.parent / "layers" / "slope.toml"
    edit(layer, "[damage]", "sampling_method = 'nearest'\n[damage]")
    with pytest.raises(
        errors.ConfigError, match=r"slope\.toml: unknown key 'sampling_method' in \[frequency\]"
    ):
        load_config(tiny_project)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("monitoring_line = 7500\n", "", "missing key 'monitoring_line' in [project]"),
        ("monitoring_line = 7500", "monitoring_line = -1", "project.monitoring_line"),
        ('hazard = "dry"', 'hazard = "flood"', "names hazard 'flood'"),
        ("cost_per_household = 5000", "cost_per_household = 5000\ninsure = 'yes'", "insure"),
    ],
)
def test_project_file_problems(tiny_project: Path, old: str, new: str, expected: str) -> None:
    edit(tiny_project, old, new)
    with pytest.raises(errors.ConfigError) as info:
        load_config(tiny_project)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("levels = [0.3, 0.5, 0.7]", "levels = [0.5, 0.3, 0.7]", "must increase"),
        ('type = "table"', 'type = "rate"', "points only apply to type = 'table'"),
        ("crop = 0.1", "crops = 0.1", "unknown income component(s) ['crops']"),
        ("earth = 1.2", "mud = 1.2", "unknown housing type(s) ['mud']"),
        ("crop = 0.1", "crop = 1.5", "ratios must lie in [0, 1]"),
        ("crop = 0.1", "crop = 'high'", "damage.crop"),
    ],
)
def test_layer_file_problems(tiny_project: Path, old: str, new: str, expected: str) -> None:
    edit(tiny_project.parent / "layers" / "slope.toml", old, new)
    with pytest.raises(errors.ConfigError) as info:
        load_config(tiny_project)
    assert expected in str(info.value)


def test_rate_needs_a_damaging_fraction(tiny_project: Path) -> None:
    edit(tiny_project.parent / "layers" / "dry.toml", 'type = "probability"', 'type = "rate"')
    with pytest.raises(errors.ConfigError, match="damaging_fraction"):
        load_config(tiny_project)


def test_missing_project_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(errors.InputFileNotFoundError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "hazardmap.toml"
    bad.write_text("[project\nname = 1", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="not valid TOML"):
        load_config(bad)


def test_errors_are_also_builtin_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "nope.toml")
