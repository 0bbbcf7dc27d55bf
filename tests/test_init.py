"""`hazardmap init`: a new county's project folder whose templates name every key of the
configuration, with valid commented defaults, and which never overwrites a file."""

from __future__ import annotations

import re
import shlex
import tomllib
import types
import typing
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hazardmap.config import (
    IncomeSection,
    LayerFile,
    ProjectFile,
    load_config,
)
from hazardmap.config.layers import KEY_SOURCES
from hazardmap.errors import ConfigError, HazardmapError, OutputError
from hazardmap.scaffold import PROJECT_FILE, TEMPLATE_FILES, init_project, template_text
from hazardmap.vocabulary import BUSINESS_PARTS, HOUSEHOLD_FIELDS, HOUSING_TYPES
from tests.helpers import REPO, invoke, tree_digest

LAYER_FILES = ("layers/landslide.toml", "layers/drought.toml", "layers/hail.toml")
HAZARDS = ("landslide", "drought", "hail")

# ------------------------------------------------------------------ reading the templates
KEY_LINE = re.compile(r'^# ?((?:[A-Za-z0-9_-]+|"[^"]*")\s*=.*)$')
"""A commented-out setting: '# key = value'."""
HEADER_LINE = re.compile(r"^# ?(\[\[?[A-Za-z0-9_.]+\]\]?)\s*(?:#.*)?$")
"""A commented-out section header: '# [section]' or '# [[array]]'."""


def uncomment(text: str) -> str:
    """The text with every commented-out setting and section header made active."""
    lines = []
    for line in text.splitlines():
        found = KEY_LINE.match(line) or HEADER_LINE.match(line)
        lines.append(found.group(1) if found else line)
    return "\n".join(lines) + "\n"


def key_paths(data: Any, prefix: str = "") -> set[str]:
    """Every dotted key path of parsed TOML; the items of an array of tables share one."""
    found: set[str] = set()
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        for item in data:
            found |= key_paths(item, prefix)
    elif isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            found |= {path} | key_paths(value, path + ".")
    return found


def nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models inside a field's type: itself, a union's members, list items."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, typing.Annotated):
        for argument in typing.get_args(annotation):
            yield from nested_models(argument)


def model_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key a model reads, as dotted paths, through nested models and lists of them."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        for inner in nested_models(field.annotation):
            yield from model_paths(inner, path + ".")


VOCABULARY_SECTIONS = {
    "households.fields": HOUSEHOLD_FIELDS,
    "households.income.business_split": BUSINESS_PARTS,
}
"""Tables whose keys are a fixed vocabulary (validated, not model fields): every word shown."""


def template_keys(relative: str) -> set[str]:
    return key_paths(tomllib.loads(uncomment(template_text(relative))))


# ------------------------------------------------------------------ every key in the template
def test_the_walk_reaches_nested_sections_and_list_items() -> None:
    project, layer = set(model_paths(ProjectFile)), set(model_paths(LayerFile))
    assert {
        "households.fields",
        "households.values.housing",
        "households.income.business_split_path",
        "villages.code_digits",
        "changes.min_returns",
        "interventions.cost_per_household",
    } <= project
    assert {"frequency.damaging_fraction", "housing", "valid_range"} <= layer


def test_the_project_template_names_every_key_of_the_project_file() -> None:
    keys = template_keys(PROJECT_FILE)
    missing = [path for path in model_paths(ProjectFile) if path not in keys]
    assert not missing, f"add these keys to scaffold_templates/hazardmap.toml: {missing}"
    for section, words in VOCABULARY_SECTIONS.items():
        absent = [w for w in words if f"{section}.{w}" not in keys]
        assert not absent, f"[{section}] in the template lacks {absent}"


def test_the_layer_templates_name_every_key_of_a_layer_file() -> None:
    union: set[str] = set()
    for relative in LAYER_FILES:
        keys = template_keys(relative)
        union |= keys
        missing = [name for name in LayerFile.model_fields if name not in keys]
        assert not missing, f"add these keys to scaffold_templates/{relative}: {missing}"
    missing = [path for path in model_paths(LayerFile) if path not in union]
    assert not missing, f"no layer template shows {missing}"
    housing = tomllib.loads(template_text("layers/landslide.toml"))["housing"]
    assert set(housing) == set(HOUSING_TYPES)
    assert housing["cave"] >= housing["earth"]  # 窑洞 fare no better than earth houses


def _setting(line: str) -> str | None:
    """The key a line sets, active or commented out; None for prose, headers and blanks."""
    found = KEY_LINE.match(line)
    key = re.match(r'^([A-Za-z0-9_-]+|"[^"]*")\s*=', found.group(1) if found else line)
    return key.group(1) if key else None


def _section(line: str) -> str | None:
    """The table a header line opens, active or commented out."""
    found = HEADER_LINE.match(line)
    header = re.match(r"^\[\[?([A-Za-z0-9_.]+)\]\]?\s*(#.*)?$", found.group(1) if found else line)
    return header.group(1) if header else None


def _is_prose(line: str) -> bool:
    return (
        line.startswith("#")
        and line.strip() != "#"
        and _setting(line) is None
        and _section(line) is None
    )


def described_keys(text: str) -> tuple[set[str], set[str]]:
    """Every (table.)key the text sets, and those set in a run of settings with a line of
    prose comment right above it (a run shares one comment: lon_field, lat_field)."""
    every: set[str] = set()
    described: set[str] = set()
    table, previous, run_described = "", "", False
    for line in text.splitlines():
        key = _setting(line)
        if key is not None:
            if _setting(previous) is None:
                run_described = _is_prose(previous)
            path = f"{table}.{key}" if table else key
            every.add(path)
            if run_described:
                described.add(path)
        elif (section := _section(line)) is not None:
            table = section
        previous = line
    return every, described


@pytest.mark.parametrize("relative", [PROJECT_FILE, *LAYER_FILES])
def test_every_key_is_described_by_a_comment(relative: str) -> None:
    every, described = described_keys(template_text(relative))
    assert len(every) > 10
    assert every == described, f"{relative}: no comment above {sorted(every - described)}"


def test_the_templates_are_package_data() -> None:
    """A wheel carries the templates: pyproject's package-data globs cover each file."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["hazardmap"]

    def covered(path: str) -> bool:
        parts = path.split("/")
        return any(
            len(g.split("/")) == len(parts)
            and all(fnmatch(p, q) for p, q in zip(parts, g.split("/"), strict=True))
            for g in globs
        )

    assert all(covered(f"scaffold_templates/{relative}") for relative in TEMPLATE_FILES)


# ------------------------------------------------------------------ the commented defaults
def _households_variant(households: dict[str, Any], way: str) -> dict[str, Any]:
    """One consistent choice among the template's alternatives: lon/lat columns with
    income_pc and shares, or one lon,lat column with income amounts."""
    households = dict(households)
    if way == "shares":
        households.pop("lonlat_field")
        households.pop("income")
    else:
        households.pop("lon_field")
        households.pop("lat_field")
        households["fields"] = {
            k: v
            for k, v in households["fields"].items()
            if k != "income_pc" and not k.startswith("share_")
        }
    return households


def _assert_commented_defaults(model: BaseModel, plain: dict[str, Any], where: str) -> None:
    """A key commented out in the template shows its default, where it has one."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel) and isinstance(plain.get(name, {}), dict):
            _assert_commented_defaults(value, plain.get(name, {}), f"{where}{name}.")
        elif name not in plain and field.default not in (None, PydanticUndefined):
            assert value == field.default, f"{where}{name}: the template shows {value!r}"


@pytest.mark.parametrize("way", ["shares", "amounts"])
def test_every_commented_setting_is_a_valid_value(way: str) -> None:
    text = template_text(PROJECT_FILE)
    data = tomllib.loads(uncomment(text))
    data["households"] = _households_variant(data["households"], way)
    project = ProjectFile.model_validate(data)
    assert (project.households.income is None) == (way == "shares")
    assert {i.hazard for i in project.interventions} == set(HAZARDS)
    assert len({i.name for i in project.interventions}) == len(project.interventions)
    _assert_commented_defaults(project, tomllib.loads(text), "")


LAYER_PATHS = {
    "landslide": "../data/raw/landslide_zones.gpkg",
    "drought": "../data/raw/drought.tif",
    "hail": "../data/raw/hail.tif",
}
"""The source file each layer template names: the landslide zoning, the other rasters."""


def _one_radius(keys: dict[str, Any]) -> dict[str, Any]:
    """The template shows both ways of giving the threat radius; a file sets one."""
    if "radius_m" in keys and "radius_field" in keys:
        keys = {k: v for k, v in keys.items() if k != "radius_m"}
    return keys


def _source_variant(settings: dict[str, Any], source: str) -> dict[str, Any]:
    """The uncommented template as a layer of ``source``: the keys of the other sources
    left out, one threat radius, and a [sites] table only beside another source."""
    others = {key for key, sources in KEY_SOURCES.items() if source not in sources}
    variant = {k: v for k, v in settings.items() if k not in others} | {"source": source}
    if source == "sites":
        variant.pop("sites", None)
    elif "sites" in variant:
        variant["sites"] = _one_radius(variant["sites"])
    return _one_radius(variant)


@pytest.mark.parametrize("source", ["raster", "cube", "zones", "sites"])
def test_every_commented_layer_setting_is_a_valid_value(source: str) -> None:
    """Uncommented, each layer template is a valid layer of every source, once the keys
    of the other sources are left out; the commented keys show their defaults."""
    for relative, hazard in zip(LAYER_FILES, HAZARDS, strict=True):
        text = template_text(relative)
        plain, settings = tomllib.loads(text), tomllib.loads(uncomment(text))
        assert plain["path"] == LAYER_PATHS[hazard]
        layer = LayerFile.model_validate(_source_variant(settings, source))
        assert layer.name == hazard and layer.source == source
        if source == settings["source"]:  # the template's own
            _assert_commented_defaults(layer, plain, f"{relative}: ")


def _shape(layer: LayerFile) -> dict[str, Any]:
    """What a layer reads and how, without its (ILLUSTRATIVE) numbers."""
    sites = layer.sites
    return {
        "source": (layer.source, layer.path, layer.layer, layer.field, layer.frequency.type),
        "labels": set(layer.classes or {}),
        "classes": [c for c, _ in layer.frequency.points or ()],
        "sites": None
        if sites is None
        else sites.model_dump(exclude={"classes", "radius_m"})
        | {"labels": set(sites.classes or {})},
    }


def test_the_landslide_template_reads_what_the_demo_layer_reads() -> None:
    """The landslide template is the demo county's layer: the zoning with the register
    of hazard sites, as classes, from the same files and fields (its numbers may be
    tuned in the demo; the template's are ILLUSTRATIVE)."""
    template = LayerFile.model_validate(tomllib.loads(template_text("layers/landslide.toml")))
    demo = LayerFile.model_validate(
        tomllib.loads((REPO / "layers" / "landslide.toml").read_text(encoding="utf-8"))
    )
    assert template.source == "zones" and template.sites is not None
    assert template.frequency.type == "classes"
    assert _shape(template) == _shape(demo)


def test_the_template_shows_the_monitoring_systems_columns() -> None:
    text = template_text(PROJECT_FILE)
    for column in (
        "户编号",
        "行政村代码",
        "村代码",
        "家庭人口数",
        "监测对象类别",
        "户类型",
        "住房结构",
        "房屋结构",
        "是否参保",
        "参加农业保险",
        "经纬度",
        "工资性收入",
        "生产经营性收入",
        "转移性收入",
        "财产性收入",
    ):
        assert f'"{column}"' in text, column
    income = tomllib.loads(uncomment(text))["households"]["income"]
    assert IncomeSection.model_validate(income).columns()  # the amounts way is complete
    assert "income" not in tomllib.loads(text)["households"]  # commented out


# ------------------------------------------------------------------ the written folder
def test_init_writes_a_project_that_validate_finds_only_the_data_missing(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "庄浪县"
    code, out, err = invoke("init", str(folder))
    assert code == 0, err
    written = [folder / relative for relative in TEMPLATE_FILES]
    assert out.splitlines()[: len(written)] == [str(p) for p in written]
    assert out.splitlines()[-1].startswith("next: put your files in ")
    for path in written[:-1]:
        tomllib.loads(path.read_text(encoding="utf-8"))
    config = load_config(folder / PROJECT_FILE)
    assert config.settings.project.name == "庄浪县"  # the folder's name
    assert config.hazard_names == ("drought", "hail", "landslide")
    assert not config.warnings and not config.settings.interventions

    code, out, err = invoke("validate", "--config", str(folder / PROJECT_FILE))
    assert code == 1
    errors = [line for line in err.splitlines() if line]
    assert all(line.startswith("error: ") and "not found" in line for line in errors), err
    named = {Path(line.removeprefix("error: ").split(": ")[0]).name for line in errors}
    expected = {"villages.gpkg", "households.xlsx", "drought.tif", "hail.tif"}
    expected |= {"landslide_zones.gpkg", "hazard_sites.csv"}  # the zoning and the register
    assert named == expected and len(errors) == len(expected)
    assert "0 warning(s)" in out


def _survey_files(villages: gpd.GeoDataFrame, households: pd.DataFrame, raw: Path) -> None:
    """The landslide layer's files as the template names them: a zoning GeoPackage (one
    zone per village, in the villages' CRS) and a register of hazard sites in CGCS2000
    longitude and latitude (a site in each village, naming one household)."""
    grades = ["低易发", "中易发", "极高易发"][: len(villages)]
    zones = gpd.GeoDataFrame(
        {"易发程度": grades}, geometry=villages.geometry.values, crs=villages.crs
    )
    zones.to_file(raw / "landslide_zones.gpkg", layer="zones", driver="GPKG")
    sites = villages.geometry.representative_point().to_crs("EPSG:4490")
    named = households.groupby("village_code")["household_id"].first()
    pd.DataFrame(
        {
            "编号": [f"HP-{i + 1:03d}" for i in range(len(sites))],
            "规模等级": ["小型", "中型", "大型"][: len(sites)],
            "威胁半径_m": [80, 150, 300][: len(sites)],
            "威胁户编号": [named.get(code, "") for code in villages["village_code"]],
            "经度": sites.x.round(6),
            "纬度": sites.y.round(6),
        }
    ).to_csv(raw / "hazard_sites.csv", index=False, encoding="utf-8-sig")


def test_the_folder_validates_once_the_files_are_in(tiny_project: Path, tmp_path: Path) -> None:
    """The tiny project's data, dropped into data/raw under the names the template expects,
    with the villages' fields named as the template's defaults: nothing else to edit."""
    folder = tmp_path / "county"
    init_project(folder, "Tiny")
    raw, data = folder / "data" / "raw", tiny_project.parent / "data"
    villages = gpd.read_file(data / "villages.gpkg").rename(
        columns={"code": "village_code", "town": "township"}
    )
    villages.to_file(raw / "villages.gpkg", layer="villages", driver="GPKG")
    households = pd.read_csv(data / "households.csv", dtype=str, keep_default_na=False)
    households.to_excel(raw / "households.xlsx", index=False)
    for hazard in ("drought", "hail"):
        (raw / f"{hazard}.tif").write_bytes((data / "dry.tif").read_bytes())
    _survey_files(villages, households, raw)
    code, out, err = invoke("validate", "--config", str(folder / PROJECT_FILE))
    assert code == 0 and "valid" in out, err


def test_init_into_an_existing_folder_leaves_other_files_alone(tmp_path: Path) -> None:
    folder = tmp_path / "county"
    (folder / "data" / "raw").mkdir(parents=True)
    (folder / "data" / "raw" / "villages.gpkg").write_bytes(b"not touched")
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree_digest(folder)
    written = init_project(folder)
    after = tree_digest(folder)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"hazardmap.toml", "layers", "events", *TEMPLATE_FILES[1:]}
    assert written == [folder / relative for relative in TEMPLATE_FILES]


# ------------------------------------------------------------------ refusals
def _with_project(folder: Path) -> Path:
    folder.mkdir()
    (folder / PROJECT_FILE).write_text("[project]\nname = 'mine'\n", encoding="utf-8")
    return folder


def _with_landslide_layer(folder: Path) -> Path:
    (folder / "layers").mkdir(parents=True)
    (folder / "layers" / "landslide.toml").write_text("name = 'mine'\n", encoding="utf-8")
    (folder / "data").mkdir()
    return folder


def _with_a_file_for_layers(folder: Path) -> Path:
    folder.mkdir()
    (folder / "layers").write_text("a file where the layers folder goes", encoding="utf-8")
    return folder


def _with_a_broken_link_for_the_project(folder: Path) -> Path:
    folder.mkdir()
    (folder / PROJECT_FILE).symlink_to(folder / "elsewhere.toml")
    return folder


def _a_file(folder: Path) -> Path:
    folder.write_text("a file, not a folder", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_with_project, "already holds a project file"),
        (_with_landslide_layer, "layers/landslide.toml"),
        (_with_a_file_for_layers, "already holds layers;"),
        (_with_a_broken_link_for_the_project, "already holds a project file"),
        (_a_file, "is a file (or a broken link), not a folder"),
    ],
)
def test_init_refuses_and_changes_nothing(make: Any, says: str, tmp_path: Path) -> None:
    target = make(tmp_path / "county")
    before = tree_digest(tmp_path)
    code, out, err = invoke("init", str(target))
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {target}: "), err
    assert says in err and "Traceback" not in err
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (OSError(28, "No space left on device"), OutputError),
        (KeyboardInterrupt(), KeyboardInterrupt),
    ],
)
def test_a_failed_write_leaves_the_folder_as_it_was(
    failure: BaseException,
    raised: type[BaseException],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "county"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree_digest(tmp_path)
    opened = Path.open

    def failing(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "hail.toml" and tmp_path in self.parents:
            raise failure
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing)
    with pytest.raises(raised) as caught:
        init_project(folder)
    if raised is OutputError:
        assert "No space left on device" in str(caught.value)
        assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{folder}: ")
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("name", ["", "   ", "bad \udcff bytes"])
def test_a_name_that_cannot_be_written_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        init_project(tmp_path / "county", name)
    assert "\n" not in str(caught.value) and isinstance(caught.value, HazardmapError)
    assert not (tmp_path / "county").exists()


# ------------------------------------------------------------------ the project's name
NAMES = [
    '静宁县 "test"',
    "C:\\counties\\庄浪",
    "two\nlines",
    "tab\tand\rreturn",
    "controls \x00\x01\x1f\x7f",
    '\'single\' and """ triple',
    "\\u0041 not an escape",
    "😀 emoji",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_name_round_trips_through_toml(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    code, _, err = invoke("init", str(folder), "--name", name)
    assert code == 0, err
    data = tomllib.loads((folder / PROJECT_FILE).read_text(encoding="utf-8"))
    assert data["project"]["name"] == name
    assert load_config(folder / PROJECT_FILE).settings.project.name == name


@pytest.mark.parametrize("folder_name", ["my county", "静宁县", "it's"])
def test_the_next_step_can_be_pasted_into_a_shell(folder_name: str, tmp_path: Path) -> None:
    folder = tmp_path / folder_name
    code, out, _ = invoke("init", str(folder))
    assert code == 0
    command = out.splitlines()[-1].split("then: ")[1]
    assert shlex.split(command) == ["hazardmap", "validate", "--config", str(folder / PROJECT_FILE)]


# ------------------------------------------------- every key in docs/configuration.md
def test_every_key_is_documented() -> None:
    """Each key of the project file and the layer files appears in docs/configuration.md
    as `key` (its table row), so a key added later fails here until it is documented."""
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    written = set(re.findall(r"`(?:\[[a-z.]+\] )?([a-z_]+)(?: = [^`]*)?`", text))
    keys = {path.rsplit(".", 1)[-1] for path in model_paths(ProjectFile)}
    keys |= {path.rsplit(".", 1)[-1] for path in model_paths(LayerFile)}
    sections = {"project", "villages", "households", "layers", "risk", "outputs", "map"}
    sections |= {"planning", "changes", "interventions", "frequency", "damage", "housing"}
    sections |= {"fields", "values", "income", "reduce", "sites", "simulation", "correlation"}
    sections |= {"uncertainty"}
    assert sorted(keys - written - sections) == []


def test_the_file_system_root_is_refused() -> None:
    code, out, err = invoke("init", "/")
    assert code == 1 and "Traceback" not in out + err
    assert err == (
        "error: /: the root of the file system is no project folder; give a folder of its "
        "own, e.g. hazardmap init zhuanglang\n"
    )
    assert not Path("/hazardmap.toml").exists()


def test_the_event_template_names_every_key_and_loads() -> None:
    """Every key of an event file is in init's example event (commented or not), in
    docs/configuration.md, and the uncommented template is a valid event file."""
    from hazardmap.config import EventFile

    text = template_text("events/hail-example.toml")
    keys = template_keys("events/hail-example.toml")
    missing = [name for name in EventFile.model_fields if name not in keys]
    assert not missing, f"add these keys to scaffold_templates/events/hail-example.toml: {missing}"
    docs = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = docs[docs.index("## `events/<name>.toml`") :]
    absent = [name for name in EventFile.model_fields if f"`{name}`" not in section]
    absent = [n for n in absent if f"`[{n}]`" not in section]
    assert not absent, f"document these event keys in docs/configuration.md: {absent}"
    event = EventFile.model_validate(tomllib.loads(uncomment(text)))
    assert event.hazard == "hail" and event.intensity_field == "hail_mm"
