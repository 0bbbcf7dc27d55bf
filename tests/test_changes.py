"""Comparisons between runs: changes.csv and household_changes.csv against a pinned baseline
(``run --compare-to``, ``[changes] baseline``) or the previous run, the inputs that differ
named by role, and the command line's wording for the cache and the comparison."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rasterio

import hazardmap
from hazardmap.model.changes import (
    HOUSEHOLD_CHANGE_COLUMNS,
    change_columns,
    compare_households,
    compare_runs,
    differing_inputs,
)
from tests.helpers import (
    build_tiny_project,
    households_table,
    invoke,
    set_key,
    slope_transform,
    tree_digest,
    write_households,
    write_raster,
)

MIN_RETURNS = 0.001
"""The tiny county expects 0.12 returns a year in all: the default 0.1 is far too coarse."""


# ------------------------------------------------------------------ helpers of this file
def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"village_code": str, "household_id": str}, encoding="utf-8-sig")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(folder: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads((folder / "manifest.json").read_text("utf-8"))
    return content


def one_error(code: int, out: str, err: str) -> str:
    assert code == 1 and "Traceback" not in out + err, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def run_ok(*args: str) -> str:
    code, out, err = invoke("run", *args)
    assert code == 0, err
    return out


def new_year(project: Path) -> None:
    """What changes from 2023 to 2024: h5 (village C) earns more, so C drops from class 3
    (high) to 2; h4 (B, no slope value) moved away; h6 joins village A with h2's figures,
    which raises A's expected returns but not its class; one slope cell that no village
    touches is corrected, so the raster's bytes differ but no result does."""
    table = households_table(project)
    table.loc[table["household_id"] == "h5", "income_pc"] = "20000"
    table = table[table["household_id"] != "h4"]
    h6 = table[table["household_id"] == "h2"].assign(household_id="h6")
    write_households(project, pd.concat([table, h6], ignore_index=True))
    path = project.parent / "data" / "slope.tif"
    with rasterio.open(path) as src:
        slope = src.read(1)
    slope[0, 0] = 0.5  # outside every village
    write_raster(path, slope, slope_transform(), "EPSG:32648")


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tiny project run for 2023 into outputs/2023, then changed (:func:`new_year`) and
    run into outputs/2024 with --compare-to outputs/2023. The project file and the
    command line's output of the 2024 run. Read only."""
    project = build_tiny_project(tmp_path_factory.mktemp("years") / "project")
    set_key(project, "changes", "min_returns", str(MIN_RETURNS))
    outputs = project.parent / "outputs"
    run_ok("--config", str(project), "--out", str(outputs / "2023"))
    new_year(project)
    out = run_ok(
        "--config",
        str(project),
        "--out",
        str(outputs / "2024"),
        "--compare-to",
        str(outputs / "2023"),
    )
    return project, out


def villages_of(project: Path, year: str) -> pd.DataFrame:
    return read_csv(project.parent / "outputs" / year / "villages.csv").set_index("village_code")


# ------------------------------------------------------------------ the comparison, end to end
@pytest.mark.slow  # two end-to-end runs of the tiny project (shared by the tests below)
def test_a_class_drop_and_a_move_in_expected_returns_are_both_listed(
    years: tuple[Path, str],
) -> None:
    project, _ = years
    old, new = villages_of(project, "2023"), villages_of(project, "2024")
    changes = read_csv(project.parent / "outputs" / "2024" / "changes.csv")
    assert list(changes.columns) == change_columns(("dry", "slope"))
    rows = changes.set_index("village_code")
    assert set(rows.index) == {"A", "C"}  # B lost a household without a risk: nothing moved
    # C fell below the high-risk threshold
    assert rows.at["C", "status"] == "changed"
    assert (rows.at["C", "old_risk_class"], rows.at["C", "new_risk_class"]) == (3, 2)
    assert (old.at["C", "risk_class"], new.at["C", "risk_class"]) == (3, 2)
    # A kept its class; its expected returns rose by h6's risk, more than min_returns
    assert rows.at["A", "status"] == "returns_moved"
    assert rows.at["A", "old_risk_class"] == rows.at["A", "new_risk_class"] == 1
    assert rows.at["A", "old_expected_returns"] == old.at["A", "expected_returns"]
    assert rows.at["A", "new_expected_returns"] == new.at["A", "expected_returns"]
    rise = new.at["A", "expected_returns"] - old.at["A", "expected_returns"]
    assert rise >= MIN_RETURNS and rows.at["A", "change_expected_returns"] == pytest.approx(rise)
    # class and levels are whole numbers in the file, not 3.0
    text = (project.parent / "outputs" / "2024" / "changes.csv").read_text("utf-8-sig")
    assert ",3,2," in text.splitlines()[1 + rows.index.get_loc("C")]


@pytest.mark.slow
def test_household_changes_list_class_changes_arrivals_and_departures(
    years: tuple[Path, str],
) -> None:
    project, _ = years
    folder = project.parent / "outputs"
    table = read_csv(folder / "2024" / "household_changes.csv")
    assert list(table.columns) == list(HOUSEHOLD_CHANGE_COLUMNS)
    rows = table.set_index("household_id")
    assert set(rows.index) == {"h4", "h5", "h6"}  # h1, h2, h3 kept their class
    old = read_csv(folder / "2023" / "households.csv").set_index("household_id")
    new = read_csv(folder / "2024" / "households.csv").set_index("household_id")
    assert rows.at["h5", "status"] == "changed"
    assert (rows.at["h5", "old_risk_class"], rows.at["h5", "new_risk_class"]) == (3, 2)
    assert rows.at["h5", "old_risk"] == old.at["h5", "risk"]
    assert rows.at["h5", "new_risk"] == new.at["h5", "risk"]
    assert (rows.at["h4", "status"], rows.at["h4", "village_code"]) == ("removed", "B")
    assert rows.at["h4", "old_risk_class"] == 0 and pd.isna(rows.at["h4", "new_risk_class"])
    assert (rows.at["h6", "status"], rows.at["h6", "village_code"]) == ("new", "A")
    assert pd.isna(rows.at["h6", "old_risk"]) and rows.at["h6", "new_risk"] > 0
    counts = manifest(folder / "2024")["comparison"]
    assert isinstance(counts, dict)
    assert counts["households"] == {"changed": 1, "new": 1, "removed": 1}
    assert counts["villages"] == {"changed": 1, "returns_moved": 1, "new": 0, "removed": 0}


@pytest.mark.slow
def test_the_inputs_that_differ_are_named_with_both_digests(years: tuple[Path, str]) -> None:
    project, out = years
    folder = project.parent / "outputs"
    before = {e["role"]: e["sha256"] for e in manifest(folder / "2023")["inputs"]}
    comparison = manifest(folder / "2024")["comparison"]
    assert isinstance(comparison, dict)
    differing = {
        i["role"]: (i["old_sha256"], i["new_sha256"]) for i in comparison["inputs_differing"]
    }
    data = project.parent / "data"
    assert differing == {
        "raster slope": (before["raster slope"], sha256(data / "slope.tif")),
        "households": (before["households"], sha256(data / "households.csv")),
    }
    assert comparison["baseline"] == "outputs/2023"  # relative: no user's folder names
    assert comparison["baseline_is_previous_run"] is False
    assert comparison["baseline_created"] == manifest(folder / "2023")["created"]
    assert comparison["baseline_manifest_sha256"] == sha256(folder / "2023" / "manifest.json")
    assert comparison["min_returns"] == MIN_RETURNS
    # the command line and the report name them too
    line = next(line for line in out.splitlines() if line.startswith("compared with"))
    assert "outputs/2023 (the baseline, run " in line
    assert "2 villages listed in changes.csv (1 changed, 1 returns_moved)" in line
    assert "; 1 households changed risk class, 1 new, 1 removed (household_changes.csv);" in line
    assert line.endswith("inputs that differ: households, raster slope")
    report = (folder / "2024" / "report.html").read_text("utf-8")
    for role, (old, new) in differing.items():
        assert (
            f"<td>{role}</td><td><code>{old[:12]}</code></td><td><code>{new[:12]}</code>" in report
        )
    assert "1 households changed risk class" in report and "outputs/2023" in report
    assert "returns moved" in report  # A's status, in words


@pytest.mark.slow  # three end-to-end runs
def test_a_rerun_with_nothing_changed_keeps_a_pinned_baselines_comparison(
    years: tuple[Path, str], tmp_path: Path
) -> None:
    source, _ = years
    project = tmp_path / "project" / "hazardmap.toml"
    shutil.copytree(source.parent, project.parent)
    set_key(project, "changes", "baseline", '"outputs/2023"')  # relative to the project file
    latest = project.parent / "outputs" / "latest"
    firsts = []
    for _ in range(2):
        out = run_ok("--config", str(project))
        assert "compared with" in out and "(the baseline, run " in out
        firsts.append(
            {
                name: (latest / name).read_bytes()
                for name in ("changes.csv", "household_changes.csv")
            }
        )
    assert firsts[0] == firsts[1]
    expected = project.parent / "outputs" / "2024"
    assert read_csv(latest / "changes.csv").equals(read_csv(expected / "changes.csv"))
    assert len(read_csv(latest / "household_changes.csv")) == 3
    # --compare-to overrides the key; the previous run of the folder itself is the default
    out = run_ok("--config", str(project), "--compare-to", str(latest))
    assert "(the previous run, run " in out and "0 villages listed in changes.csv;" in out


@pytest.mark.slow
def test_the_python_api_takes_compare_to(years: tuple[Path, str], tmp_path: Path) -> None:
    project, _ = years
    baseline = project.parent / "outputs" / "2023"
    result = hazardmap.run(project, tmp_path / "again", compare_to=baseline)
    assert result.comparison is not None and result.comparison.folder == baseline.resolve()
    assert result.changes is not None and len(result.changes) == 2
    assert result.household_changes is not None and len(result.household_changes) == 3
    roles = [item.role for item in result.comparison.inputs or ()]
    assert roles == ["households", "raster slope"]


# ------------------------------------------------------------------ baselines that cannot be
@pytest.mark.slow  # one run of the tiny project (tiny_copy) and a refusal per case
@pytest.mark.parametrize("kind", ["empty", "random files", "missing", "a file", "input folder"])
@pytest.mark.parametrize("given", ["--compare-to", "[changes] baseline"])
def test_a_baseline_that_is_not_a_hazardmap_output_is_one_error_line(
    tiny_copy: Path, kind: str, given: str
) -> None:
    root = tiny_copy.parent
    folder = root / "old"
    if kind == "empty":
        folder.mkdir()
    elif kind == "random files":
        folder.mkdir()
        (folder / "villages.csv").write_text("village_code\nA\n", encoding="utf-8")
        (folder / "manifest.json").write_text('{"created": "yesterday"}', encoding="utf-8")
        (folder / "notes.txt").write_bytes(np.random.default_rng(1).bytes(200))
    elif kind == "a file":
        folder.write_text("not a folder", encoding="utf-8")
    elif kind == "input folder":
        folder = root / "data"
    args = ["run", "--config", str(tiny_copy)]
    if given == "--compare-to":
        args += ["--compare-to", str(folder)]
    else:
        set_key(tiny_copy, "changes", "baseline", f'"{folder.relative_to(root)}"')
    before = tree_digest(root.parent)
    line = one_error(*invoke(*args))
    assert given in line and str(folder) in line, line
    expected = {
        "missing": "does not exist",
        "a file": "is a file, not an output folder",
    }.get(kind, "is not a hazardmap output folder")
    assert expected in line and "give the folder an earlier run wrote" in line, line
    assert tree_digest(root.parent) == before  # nothing written, nothing moved
    if given != "--compare-to":
        assert str(tiny_copy) in line  # the project file that names the key
        code, _, err = invoke("validate", "--config", str(tiny_copy))
        assert code == 1 and given in err and expected in err, err


@pytest.mark.slow
def test_an_output_folder_around_or_inside_the_baseline_is_refused(tiny_copy: Path) -> None:
    outputs = tiny_copy.parent / "outputs"
    before = tree_digest(tiny_copy.parent.parent)
    for out in (outputs, outputs / "latest" / "2024"):
        args = ["--config", str(tiny_copy), "--out", str(out)]
        line = one_error(*invoke("run", *args, "--compare-to", str(outputs / "latest")))
        assert str(out) in line and "project's inputs" in line, line
    assert tree_digest(tiny_copy.parent.parent) == before


@pytest.mark.slow
def test_a_baseline_without_households_compares_the_villages_and_says_why(
    tiny_copy: Path, tmp_path: Path
) -> None:
    old = tmp_path / "2019"
    shutil.copytree(tiny_copy.parent / "outputs" / "latest", old)
    (old / "households.csv").unlink()  # what an older hazardmap wrote
    code, out, err = invoke("run", "--config", str(tiny_copy), "--compare-to", str(old))
    assert code == 0, err
    assert "household_changes.csv lists no households this time" in err
    assert "households not compared" in out
    latest = tiny_copy.parent / "outputs" / "latest"
    text = (latest / "household_changes.csv").read_bytes().decode("utf-8-sig")
    assert text == ",".join(HOUSEHOLD_CHANGE_COLUMNS) + "\r\n"  # the header only
    comparison = manifest(latest)["comparison"]
    assert isinstance(comparison, dict) and comparison["households"] is None
    assert comparison["villages"] == {"changed": 0, "returns_moved": 0, "new": 0, "removed": 0}


@pytest.mark.slow
@pytest.mark.parametrize("cut", ["households", "villages", "codes"])
def test_a_baseline_cut_short_or_mangled_is_refused_not_compared(
    tiny_copy: Path, tmp_path: Path, cut: str
) -> None:
    """Rows lost or codes mangled by a spreadsheet would list bogus changes: the counts
    its manifest recorded tell them."""
    old = tmp_path / "2019"
    shutil.copytree(tiny_copy.parent / "outputs" / "latest", old)
    name = "villages.csv" if cut == "codes" else f"{cut}.csv"
    lines = (old / name).read_bytes().split(b"\r\n")
    if cut == "codes":  # two codes made one, as a spreadsheet's number format does
        lines[2] = b"A" + lines[2][lines[2].index(b",") :]
    else:
        lines = [*lines[:-2], b""]
    (old / name).write_bytes(b"\r\n".join(lines))
    before = tree_digest(tiny_copy.parent)
    code, out, err = invoke("run", "--config", str(tiny_copy), "--compare-to", str(old))
    message = one_error(code, out, err)
    expected = "repeats village codes" if cut == "codes" else f"its {name} holds"
    assert f"--compare-to: {old} cannot be compared with" in message and expected in message
    assert tree_digest(tiny_copy.parent) == before


# ------------------------------------------------------------------ the command line's words
@pytest.mark.slow  # three end-to-end runs
def test_a_restored_raster_is_reused_from_the_cache_and_named_as_differing(
    tiny_project: Path,
) -> None:
    slope = tiny_project.parent / "data" / "slope.tif"
    original = slope.read_bytes()
    out = run_ok("--config", str(tiny_project))
    assert "no earlier run to compare with" in out
    write_raster(slope, np.full((10, 10), 0.95), slope_transform(), "EPSG:32648")
    run_ok("--config", str(tiny_project))
    slope.write_bytes(original)  # the old raster comes back
    lines = run_ok("--config", str(tiny_project)).splitlines()
    cache = [line for line in lines if "reused" in line]
    compared = [line for line in lines if "changed" in line or "differ" in line]
    assert len(cache) == 1 and len(compared) == 1, lines
    # each line says what it is about: the cache (identical content computed before) ...
    assert cache[0].startswith("overlay cache: reused for dry, slope")
    assert "identical" in cache[0] and "changed" not in cache[0] and "differ" not in cache[0]
    # ... and the comparison with the previous run, which used the other raster
    assert compared[0].startswith("compared with ") and "(the previous run, run " in compared[0]
    assert "villages listed in changes.csv" in compared[0] and "reused" not in compared[0]
    assert compared[0].endswith("inputs that differ: raster slope")


def test_run_help_names_the_comparison() -> None:
    code, out, _ = invoke("run", "--help")
    assert code == 0
    assert "household_changes.csv" in out and "--compare-to" in out and "[changes]" in out


# ------------------------------------------------------------------ the comparison's units
HAZARDS = ("slope",)


def villages(*rows: tuple[str, int, int, float]) -> pd.DataFrame:
    """(code, risk class, slope level, expected returns) per village."""
    table = pd.DataFrame(
        rows, columns=["village_code", "risk_class", "slope_level", "expected_returns"]
    )
    return table.assign(name=table["village_code"] + "村")


def test_expected_returns_that_move_at_least_min_returns_are_listed() -> None:
    previous = villages(("A", 2, 2, 12.9), ("B", 2, 2, 5.0), ("C", 2, 2, 0.3), ("D", 1, 1, 1.0))
    current = villages(("A", 2, 2, 14.1), ("B", 2, 2, 5.05), ("C", 2, 2, 0.2), ("D", 2, 1, 1.0))
    table = compare_runs(previous, current, HAZARDS, min_returns=0.1)
    rows = table.set_index("village_code")
    # A rose by 1.2; C fell by 0.1 exactly (0.0999... in floats); B moved 0.05 only
    assert table["village_code"].tolist() == ["A", "C", "D"]
    assert rows["status"].tolist() == ["returns_moved", "returns_moved", "changed"]
    assert (rows.at["A", "old_expected_returns"], rows.at["A", "new_expected_returns"]) == (
        12.9,
        14.1,
    )
    assert rows.at["A", "change_expected_returns"] == pytest.approx(1.2)
    # without min_returns only class and level moves count, as before
    assert compare_runs(previous, current, HAZARDS)["village_code"].tolist() == ["D"]
    # min_returns = 0: any move at all, but never a village that did not move
    moved = compare_runs(previous, current, HAZARDS, min_returns=0.0)
    assert moved["village_code"].tolist() == ["A", "C", "B", "D"]


def test_households_are_matched_by_id() -> None:
    def table(*rows: tuple[str, str, int, float]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["household_id", "village_code", "risk_class", "risk"])

    previous = table(("h1", "A", 1, 0.01), ("h2", "A", 3, 0.07), ("h3", "B", 2, 0.03))
    current = table(("h3", "C", 2, 0.04), ("h2", "A", 2, 0.04), ("h9", "B", 4, 0.2))
    changes = compare_households(previous, current)
    assert list(changes.columns) == list(HOUSEHOLD_CHANGE_COLUMNS)
    assert changes.to_dict("list") == {
        "household_id": ["h1", "h2", "h9"],  # by village code, then id
        "village_code": ["A", "A", "B"],
        "status": ["removed", "changed", "new"],
        "old_risk_class": [1, 3, None],  # whole numbers, blank where missing
        "new_risk_class": [None, 2, 4],
        "old_risk": [0.01, 0.07, pytest.approx(np.nan, nan_ok=True)],
        "new_risk": [pytest.approx(np.nan, nan_ok=True), 0.04, 0.2],
    }
    # h3 moved village, but kept its class: not listed
    assert len(compare_households(current, current)) == 0


def test_inputs_are_matched_by_role_not_path() -> None:
    old = [
        {"role": "households", "path": "data/2023/hh.csv", "sha256": "a"},
        {"role": "villages", "path": "data/v.shp", "sha256": "b"},
        {"role": "villages", "path": "data/v.dbf", "sha256": "c"},
        {"role": "raster hail", "path": "data/hail.tif", "sha256": "d"},
    ]
    new = [
        {"role": "households", "path": "data/2024/hh.csv", "sha256": "a"},  # moved: same
        {"role": "villages", "path": "data/v.shp", "sha256": "b"},
        {"role": "villages", "path": "data/v.dbf", "sha256": "C"},  # a sidecar changed
        {"role": "raster slope", "path": "data/slope.tif", "sha256": "e"},
    ]
    assert differing_inputs(old, new) == [
        ("villages .dbf", "c", "C"),
        ("raster slope", None, "e"),
        ("raster hail", "d", None),
    ]


def test_validate_checks_the_baseline_given_on_the_command_line(tiny_project: Path) -> None:
    missing = tiny_project.parent / "outputs" / "2019"
    before = tree_digest(tiny_project.parent)
    code, out, err = invoke("validate", "--config", str(tiny_project), "--compare-to", str(missing))
    assert code == 1 and "Traceback" not in out + err
    assert f"error: --compare-to: {missing} does not exist" in err
    assert tree_digest(tiny_project.parent) == before
