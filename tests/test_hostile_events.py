"""Hostile inputs for ``hazardmap event`` and ``hazardmap validate --event``: bad event
files, bad footprints and bad output folders, run through the command line as a user would.

Every bad input ends in exit 1 and one line (``error: ...`` naming the file, the key,
field or row, and the fix), never a traceback, and the project tree (the outputs of the
earlier run and of the earlier event included) stays byte-identical; inputs that are
possible but suspicious run with a named warning. Many cases were defects an adversarial
pass found, mended since.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from openpyxl import load_workbook

from tests.helpers import (
    UTM,
    assert_one_error_line,
    build_tiny_project,
    copy_project,
    edit,
    invoke,
    run_command,
    set_key,
    slope_transform,
    steps,
    tree_digest,
    utm_cells,
)

pytestmark = pytest.mark.slow

EVENT = """name = "storm-2026-07-12"
hazard = "dry"
date = 2026-07-12
title = "Storm of 12 July"
path = "../data/storm.gpkg"
intensity_field = "hail_mm"

[damage]
crop = [[0, 0], [10, 0.2], [20, 0.5]]
orchard = 0.4
[housing]
earth = 0.5
"""
EVENT_OUT = "outputs/events/storm-2026-07-12"
LEAD_COLUMNS = [
    "rank", "township", "village_code", "village", "household_id", "category", "hazard",
    "date", "reason", "event_risk", "need_cny",
]  # fmt: skip


def _storm() -> gpd.GeoDataFrame:
    """Village A whole at 20 mm, B's west strip (under household h3) at 10 mm."""
    return gpd.GeoDataFrame(
        {"hail_mm": [20.0, 10.0]},
        geometry=[utm_cells(0.5, 0.5, 4.5, 4.5), utm_cells(5.0, 0.5, 7.0, 3.5)],
        crs=UTM,
    )


def _grid() -> np.ndarray:
    """The storm as a 10x10 raster on the slope layer's grid."""
    grid = np.zeros((10, 10))
    grid[0:5, 0:5] = 20.0
    grid[0:4, 5:7] = 10.0
    return grid


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project with a storm event, run once and the event once."""
    project = build_tiny_project(tmp_path_factory.mktemp("events") / "project")
    _storm().to_file(_data(project) / "storm.gpkg", layer="storm", driver="GPKG")
    (project.parent / "events").mkdir()
    _event(project).write_text(EVENT, encoding="utf-8")
    for args in (("run",), ("event", str(_event(project)))):
        code, _, err = invoke(*args, "--config", str(project))
        assert code == 0, err
    return project


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the event project, with the outputs of the run and of the event."""
    return copy_project(template.parent, tmp_path / "project") / "hazardmap.toml"


def _event(project: Path) -> Path:
    return project.parent / "events" / "storm.toml"


def _data(project: Path) -> Path:
    return project.parent / "data"


def _command(command: str, project: Path, out: Path | None = None) -> list[str]:
    event = str(_event(project))
    if command == "validate":
        return ["validate", "--event", event, "--config", str(project)]
    return ["event", event, "--config", str(project), *(["--out", str(out)] if out else [])]


def _without_locks(digest: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in digest.items() if not k.endswith(".lock")}


# ------------------------------------------------------------ mutations
def _replacing(old: str, new: str) -> Callable[[Path], None]:
    return lambda project: edit(_event(project), old, new)


def _key(key: str, value: str) -> Callable[[Path], None]:
    return lambda project: set_key(_event(project), "", key, value)


def _bytes(content: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        _event(project).write_bytes(content(_event(project).read_bytes()))

    return mutate


def _footprint(
    frame: gpd.GeoDataFrame, name: str = "storm.gpkg", **options: Any
) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = _data(project) / name
        if path.exists():
            path.unlink()
        driver = {".gpkg": "GPKG", ".shp": "ESRI Shapefile"}.get(path.suffix, "GeoJSON")
        with warnings.catch_warnings():  # pyogrio warns of files written without a CRS
            warnings.simplefilter("ignore", UserWarning)
            frame.to_file(path, driver=driver, **options)
        set_key(_event(project), "", "path", f'"../data/{name}"')

    return mutate


def _raster(values: np.ndarray, crs: str | None = UTM, bands: int = 1) -> Callable[[Path], None]:
    """The footprint as a raster (intensity_field removed)."""

    def mutate(project: Path) -> None:
        path = _data(project) / "storm.tif"
        profile = {
            "driver": "GTiff",
            "width": values.shape[1],
            "height": values.shape[0],
            "count": bands,
            "dtype": "float32",
            "transform": slope_transform(),
            "nodata": -9999.0,
            **({"crs": crs} if crs else {}),
        }
        with warnings.catch_warnings():  # rasterio warns of a file without a CRS
            warnings.simplefilter("ignore")
            with rasterio.open(path, "w", **profile) as dst:
                for band in range(1, bands + 1):
                    dst.write(values.astype(np.float32), band)
        edit(_event(project), 'intensity_field = "hail_mm"\n', "")
        set_key(_event(project), "", "path", '"../data/storm.tif"')

    return mutate


def _truncated_footprint(project: Path) -> None:
    many = gpd.GeoDataFrame(
        {"hail_mm": [5.0] * 600},
        geometry=[
            utm_cells(i % 30 / 3, i // 30 / 3, i % 30 / 3 + 0.3, i // 30 / 3 + 0.3)
            for i in range(600)
        ],
        crs=UTM,
    )
    _footprint(many, layer="storm")(project)
    path = _data(project) / "storm.gpkg"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _gbk_shapefile_without_cpg(project: Path) -> None:
    frame = _storm().rename(columns={"hail_mm": "冰雹直径"})
    _footprint(frame, "storm.shp", encoding="gbk")(project)
    (_data(project) / "storm.cpg").unlink()
    set_key(_event(project), "", "intensity_field", '"冰雹直径"')


def _layer_curve_and_no_damage(project: Path) -> None:
    layer = project.parent / "layers" / "slope.toml"
    edit(layer, "crop = 0.1", "crop = [[0, 0], [1, 0.3]]")
    text = _event(project).read_text(encoding="utf-8").replace('"dry"', '"slope"')
    _event(project).write_text(text[: text.index("[damage]")], encoding="utf-8")


def _foreign_folder(name: str) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        folder = project.parent / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notes.txt").write_text("mine", encoding="utf-8")

    return mutate


def _household_id(value: str) -> Callable[[Path], None]:
    def mutate(project: Path) -> None:
        path = _data(project) / "households.csv"
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table.loc[0, "household_id"] = value
        table.to_csv(path, index=False)

    return mutate


def _nothing(project: Path) -> None:
    return None


# ------------------------------------------------------------ single-line errors
@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], object]
    expected: str
    """A regular expression the error (or warning) line must match."""
    out: str | None = None
    """``event --out``, relative to the project folder (the case is then for event only)."""
    forbidden: str | None = None
    """A regular expression the error line must not match (a fix the user cannot follow)."""

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


LONG_NAME = "a" * 300

ERRORS = [
    # --- the event file
    Case(
        "event file: not TOML",
        _bytes(lambda _: b"name: storm\nhazard: dry\n"),
        r"storm\.toml: not valid TOML: .*line 1.*; fix the syntax there",
    ),
    Case(
        "event file: GBK text",
        _bytes(lambda b: b.decode("utf-8").replace("Storm of 12 July", "七月冰雹").encode("gbk")),
        r"storm\.toml: not UTF-8 text; save the file as UTF-8",
    ),
    Case(
        "event file: a folder",
        steps(lambda p: _event(p).unlink(), lambda p: _event(p).mkdir()),
        r"storm\.toml: the event file is a folder or a device, not a file",
    ),
    Case(
        "event file: no path",
        _replacing('path = "../data/storm.gpkg"\n', ""),
        r"storm\.toml: missing key 'path' in the top level; add it",
    ),
    Case(
        "event file: name with a slash",
        _key("name", '"a/b"'),
        r"storm\.toml: name: .*'a/b'; use letters, digits, '_' and '-' only",
    ),
    Case(
        "event file: name '..'",
        _key("name", '".."'),
        r"storm\.toml: name: .*'\.\.'; use letters, digits",
    ),
    Case(
        "event file: hazard not a layer",
        _key("hazard", '"hail"'),
        r"storm\.toml: hazard = 'hail' is no layer of hazardmap\.toml \(its layers: dry, slope\)",
    ),
    Case(
        "event file: date 2026-13-45",
        _key("date", "2026-13-45"),
        r"storm\.toml: not valid TOML: .*line 3",
    ),
    Case(
        "event file: lead_threshold 1.5",
        _key("lead_threshold", "1.5"),
        r"storm\.toml: lead_threshold: .*got 1\.5; set a number of at most 1",
    ),
    Case(
        "event file: lead_threshold as a string",
        _key("lead_threshold", '"0.1"'),
        r"storm\.toml: lead_threshold: Input should be a valid number, got '0\.1'",
    ),
    Case(
        "event file: at_scale_returns 0",
        _key("at_scale_returns", "0"),
        r"storm\.toml: at_scale_returns: .*set a number greater than 0",
    ),
    Case(
        "event file: unknown key",
        _key("treshold", "0.2"),
        r"storm\.toml: unknown key 'treshold' in the top level",
    ),
    Case(
        "event file: [damage] of an unknown component",
        _replacing("orchard = 0.4", "orchard = 0.4\nwheat = 0.3"),
        r"storm\.toml: damage: unknown income component\(s\) \['wheat'\]",
    ),
    Case(
        "event file: a damage ratio above 1",
        _replacing("[20, 0.5]]", "[20, 1.5]]"),
        r"storm\.toml: damage: damage\.crop ratios must lie in \[0, 1\]",
    ),
    Case(
        "event file: a damage table whose x does not increase",
        _replacing("[[0, 0], [10, 0.2], [20, 0.5]]", "[[0, 0], [20, 0.2], [10, 0.5]]"),
        r"storm\.toml: damage: damage\.crop x values must increase strictly",
    ),
    Case(
        "event file: [housing] of an unknown type",
        _replacing("earth = 0.5", "mud = 0.5"),
        r"storm\.toml: housing: unknown housing type\(s\) \['mud'\]",
    ),
    Case(
        "event file: a table over intensity, polygons without intensity_field",
        _replacing('intensity_field = "hail_mm"\n', ""),
        r"storm\.toml: \[damage\] crop is a table over the event's intensity.*set intensity_field",
    ),
    Case(
        "event file: no [damage], the layer's damage a curve",
        _layer_curve_and_no_damage,
        r"storm\.toml: the layer slope \(slope\.toml\) gives damage\.crop as a curve.*\[damage\]",
    ),
    # --- the footprint
    Case(
        "footprint: a truncated GeoPackage",
        _truncated_footprint,
        r"storm\.gpkg: not a vector file GDAL can read, or a damaged or truncated one",
    ),
    Case(
        "footprint: points, not polygons",
        _footprint(_storm().set_geometry(_storm().centroid)),
        r"storm\.gpkg: the footprint must be polygons, found \['Point'\] at feature 1",
    ),
    Case(
        "footprint: no CRS and no crs",
        _footprint(_storm().set_crs(None, allow_override=True)),
        r"storm\.gpkg: the footprint's polygons have no CRS; add crs = .* to storm\.toml",
    ),
    Case(
        "footprint: metres declared GCJ-02",
        _key("crs", '"GCJ-02"'),
        r"storm\.gpkg: the coordinates do not fit the declared CRS GCJ-02",
    ),
    Case(
        "footprint: in another province",
        _footprint(
            gpd.GeoDataFrame({"hail_mm": [5.0]}, geometry=[shapely.box(116, 39, 117, 40)], crs=4326)
        ),
        r"storm\.gpkg: the footprint misses the county.*crs in the event file",
    ),
    Case(
        "footprint: a NULL intensity",
        _footprint(_storm().assign(hail_mm=[20.0, None])),
        r"storm\.gpkg: intensity_field 'hail_mm' is not a number at feature 2",
    ),
    Case(
        "footprint: a raster of nodata only",
        _raster(np.full((10, 10), -9999.0)),
        r"storm\.tif: .*(misses the county|no valid|nodata)",
    ),
    # --- the households the event reads
    Case(
        "households: a resident ID number as household id",
        _household_id("11010519491231002X"),
        r"households\.csv: column 'household_id' holds a resident ID number at line 2",
    ),
    # --- the output folder
    Case(
        "--out: the raw data folder",
        _nothing,
        r"data: this output folder holds the project's inputs",
        out="data",
    ),
    Case(
        "--out: a folder of someone else's files",
        _foreign_folder("mine"),
        r"mine: this folder holds files hazardmap did not write \(notes\.txt",
        out="mine",
    ),
    Case(
        "default folder holding a file of the user's",
        _foreign_folder(EVENT_OUT),
        r"storm-2026-07-12: this folder holds files hazardmap did not write \(notes\.txt",
    ),
    # --- once defects
    Case(
        "--out: the run's outputs/latest",
        _nothing,
        r"latest: .*\brun\b",
        out="outputs/latest",
    ),
    Case(
        "event file: a name of 300 characters",
        _key("name", f'"{LONG_NAME}"'),
        r"storm\.toml: name",
    ),
    Case(
        "--out: a folder name of 300 characters",
        _nothing,
        r"too long|name",
        out=LONG_NAME,
    ),
    Case(
        "footprint: a negative intensity",
        _footprint(_storm().assign(hail_mm=[20.0, -10.0])),
        r"storm\.gpkg: .*hail_mm.*feature 2",
    ),
    Case(
        "footprint: a raster without CRS",
        _raster(_grid(), crs=None),
        r"storm\.tif: the raster has no CRS.*storm\.toml",
        forbidden=r"layer file",
    ),
    Case(
        "footprint: a raster of three bands",
        _raster(_grid(), bands=3),
        r"storm\.tif: .*3 bands",
        forbidden=r"layer file",
    ),
    Case(
        "footprint: a raster declared GCJ-02",
        steps(_raster(_grid(), crs=None), _key("crs", '"GCJ-02"')),
        r"storm\.(tif|toml): .*GCJ-02",
        forbidden=r"not a coordinate reference system pyproj knows",
    ),
    Case(
        "footprint: a GBK Shapefile without its .cpg",
        _gbk_shapefile_without_cpg,
        r"storm\.shp: .*\.cpg",
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in ERRORS])
@pytest.mark.parametrize("command", ["validate", "event"])
def test_bad_event_is_one_line_and_touches_nothing(project: Path, case: Case, command: str) -> None:
    if case.out is not None and command == "validate":
        pytest.skip("validate takes no output folder")
    case.mutate(project)
    mutated = tree_digest(project.parent)
    out = project.parent / case.out if case.out is not None else None
    code, stdout, err = run_command(*_command(command, project, out))
    assert_one_error_line(code, stdout, err, case.expected, command, case.forbidden)
    assert _without_locks(tree_digest(project.parent)) == _without_locks(mutated)


# ------------------------------------------------------------ suspicious, but runs
def _bowtie(project: Path) -> None:
    west, south, east, north = utm_cells(0.5, 0.5, 4.5, 4.5).bounds
    bowtie = shapely.Polygon([(west, south), (east, north), (east, south), (west, north)])
    frame = gpd.GeoDataFrame(
        {"hail_mm": [20.0, 10.0]}, geometry=[bowtie, _storm().geometry.iloc[1]], crs=UTM
    )
    _footprint(frame, layer="storm")(project)


WARNINGS = [
    Case(
        "a self-intersecting polygon",
        _bowtie,
        r"storm\.gpkg: .*(repaired|invalid).*feature 1",
    ),
    Case(
        "a sliver of a village with no household in it",
        _footprint(
            gpd.GeoDataFrame(
                {"hail_mm": [30.0]}, geometry=[utm_cells(1.0, 1.0, 1.05, 4.0)], crs=UTM
            )
        ),
        r"storm\.gpkg: .*no household",
    ),
    Case(
        "a damage table that falls as the intensity rises",
        _replacing("[[0, 0], [10, 0.2], [20, 0.5]]", "[[0, 0.5], [10, 0.2], [20, 0]]"),
        r"storm\.toml: .*crop.*falls",
    ),
    Case(
        "a raster with negative intensities",
        _raster(np.where(_grid() == 10.0, -10.0, _grid())),
        r"storm\.tif: .*negative",
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in WARNINGS])
def test_suspicious_event_runs_with_a_named_warning(project: Path, case: Case) -> None:
    case.mutate(project)
    mutated = tree_digest(project.parent)
    for command in ("validate", "event"):
        code, out, err = run_command(*_command(command, project))
        assert code == 0 and "Traceback" not in out + err, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert all(line.startswith("warning: ") for line in lines), err
        assert any(re.search(case.expected, line) for line in lines), err
    after = tree_digest(project.parent)
    assert {k: v for k, v in after.items() if not k.startswith("outputs")} == {
        k: v for k, v in mutated.items() if not k.startswith("outputs")
    }


# ------------------------------------------------------------ what the outputs hold
def _households(out: Path) -> pd.DataFrame:
    return pd.read_csv(
        out / "event_households.csv", encoding="utf-8-sig", dtype={"household_id": str}
    ).set_index("household_id")


def _run_event(project: Path, out: Path) -> None:
    code, _, err = run_command(*_command("event", project, out))
    assert code == 0, err


def test_overlapping_polygons_take_the_highest_intensity(project: Path, tmp_path: Path) -> None:
    """A 5 mm polygon over the whole county under the 20 mm and 10 mm ones."""
    frame = gpd.GeoDataFrame(
        {"hail_mm": [5.0, 20.0, 10.0]},
        geometry=[utm_cells(0, 0, 10, 10), *_storm().geometry],
        crs=UTM,
    )
    _footprint(frame, layer="storm")(project)
    _run_event(project, tmp_path / "o")
    intensity = _households(tmp_path / "o")["event_intensity"].to_dict()
    assert intensity == {"h1": 20.0, "h2": 20.0, "h3": 10.0, "h4": 5.0, "h5": 5.0}


def test_map_without_households_shows_no_lead_and_no_coordinates(
    project: Path, tmp_path: Path
) -> None:
    """No lead layer, and no household's coordinates (the footprint's and the villages'
    vertices are rounded to 5 decimals; a household's would show more)."""
    located = pd.read_csv(_data(project) / "households.csv").dropna(subset=["lon"])
    digits = [str(float(v)) for v in (*located["lon"], *located["lat"])]
    precise = re.compile("|".join(re.escape(d[: d.index(".") + 5]) + r"\d{3}" for d in digits))
    _run_event(project, tmp_path / "shown")
    shown = (tmp_path / "shown" / "map.html").read_text(encoding="utf-8")
    assert "Leads to check" in shown and '"type": "Point"' in shown and precise.search(shown)
    project.write_text(
        project.read_text(encoding="utf-8") + "\n[map]\nhouseholds = false\n", encoding="utf-8"
    )
    _run_event(project, tmp_path / "hidden")
    hidden = (tmp_path / "hidden" / "map.html").read_text(encoding="utf-8")
    assert "Leads to check" not in hidden and '"type": "Point"' not in hidden
    assert not precise.search(hidden)


def test_formulas_in_names_and_ids_stay_text(project: Path, tmp_path: Path) -> None:
    villages = gpd.read_file(_data(project) / "villages.gpkg")
    villages["name"] = ['=HYPERLINK("http://x","甲村")', "+乙村", "丙村"]
    villages["town"] = ["@SUM(1+1)", "X镇", "-3+2"]
    (_data(project) / "villages.gpkg").unlink()
    villages.to_file(_data(project) / "villages.gpkg", layer="villages", driver="GPKG")
    _household_id("=1+2")(project)
    out = tmp_path / "o"
    _run_event(project, out)
    for name in ("leads.csv", "event_households.csv", "event_villages.csv"):
        table = pd.read_csv(out / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        text = [c for c in ("household_id", "village", "name", "township") if c in table]
        cells = table[text].to_numpy().ravel()
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], (name, cells)
    leads = load_workbook(out / "leads.xlsx").worksheets[0]
    rows = list(leads.iter_rows(min_row=2))
    first = next(row for row in rows if row[4].value == "=1+2")
    assert all(first[j].data_type == "s" for j in (1, 3, 4))
    assert first[3].value == '=HYPERLINK("http://x","甲村")' and first[1].value == "@SUM(1+1)"


def test_leads_hold_no_names_phones_or_id_numbers(project: Path, tmp_path: Path) -> None:
    path = _data(project) / "households.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    personal = {"户主姓名": "张三丰", "联系电话": "13812345678", "身份证号": "11010519491231002X"}
    table.assign(**personal).to_csv(path, index=False)
    out = tmp_path / "o"
    _run_event(project, out)
    leads = pd.read_csv(out / "leads.csv", encoding="utf-8-sig", dtype=str)
    assert list(leads.columns) == LEAD_COLUMNS
    for file in out.iterdir():
        if file.suffix in (".csv", ".html", ".json"):
            text = file.read_text(encoding="utf-8-sig")
            assert not [v for v in personal.values() if v in text], file.name
    book = load_workbook(out / "leads.xlsx")
    values = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    assert not values & set(personal.values())


def test_polygons_of_intensity_zero_do_no_damage_unwarned(project: Path) -> None:
    _footprint(_storm().assign(hail_mm=[0.0, 0.0]), layer="storm")(project)
    code, _, err = run_command(*_command("event", project))
    assert code == 0, err
    households = _households(project.parent / EVENT_OUT)
    warned = any(line.startswith("warning: ") and "storm.gpkg" in line for line in err.splitlines())
    assert warned or households["event_loss"].max() == 0.0, households


def test_a_netcdf_variable_named_in_path_is_a_raster_footprint(project: Path) -> None:
    import xarray as xr

    west, south, east, north = (
        gpd.read_file(_data(project) / "villages.gpkg").to_crs(4326).total_bounds
    )
    lon = np.linspace(west - 0.005, east + 0.005, 20)
    lat = np.linspace(north + 0.005, south - 0.005, 20)
    grid = (("lat", "lon"), np.full((20, 20), 15.0))
    xr.Dataset({"hail": grid, "other": grid}, coords={"lat": lat, "lon": lon}).to_netcdf(
        _data(project) / "storm.nc"
    )
    edit(_event(project), 'intensity_field = "hail_mm"\n', "")
    set_key(_event(project), "", "path", "'NETCDF:\"../data/storm.nc\":hail'")
    set_key(_event(project), "", "crs", '"EPSG:4326"')
    code, _, err = run_command(*_command("event", project))
    assert code == 0, err
    assert _households(project.parent / EVENT_OUT)["in_footprint"].all()


def test_a_second_run_of_the_event_replaces_its_own_outputs(project: Path) -> None:
    folder = project.parent / EVENT_OUT
    before = tree_digest(folder)
    code, _, err = run_command(*_command("event", project))
    assert code == 0, err
    after = tree_digest(folder)
    assert set(after) == set(before)
    assert after["event_households.csv"] == before["event_households.csv"]
    assert [p.name for p in folder.parent.iterdir() if ".new-" in p.name or ".old-" in p.name] == []
