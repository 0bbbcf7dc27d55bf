"""Outputs are replaced atomically: a run that is killed leaves the previous outputs whole."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hazardmap.outputs.staging import recover, staged_folder


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow  # three runs of the demo county in subprocesses, one killed
def test_killed_run_leaves_previous_outputs_whole(demo_project: Path, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs" / "latest"  # its own outputs and cache, not the session's
    command = [sys.executable, "-m", "hazardmap", "run", "--config", str(demo_project)]
    command += ["--out", str(outputs)]
    subprocess.run(command, check=True, capture_output=True)
    before = snapshot(outputs)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    staging: list[Path] = []
    while time.monotonic() < deadline and not staging:  # kill it while it writes
        staging = [p for p in outputs.parent.glob(".latest.new-*") if any(p.iterdir())]
        time.sleep(0.01)
    assert staging, "the run never started writing"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert snapshot(outputs) == before
    # the next run clears what the killed one left and replaces the outputs
    subprocess.run(command, check=True, capture_output=True)
    assert {p.name for p in outputs.parent.iterdir()} == {
        "latest",
        ".hazardmap-cache",
        ".latest.lock",
    }
    assert set(snapshot(outputs)) == set(before)


def test_a_run_killed_between_the_two_renames_is_repaired(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    target.mkdir()
    (target / "villages.csv").write_text("old", encoding="utf-8")
    # what a run killed after moving the old folder aside, before moving the new one in, leaves
    aside = tmp_path / ".latest.old-999999999-x"
    aside.mkdir()
    os.replace(target, aside / "latest")
    (tmp_path / ".latest.new-999999999-y").mkdir()
    recover(target)
    assert (target / "villages.csv").read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]


def test_failure_while_writing_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    target.mkdir()
    (target / "a.csv").write_text("old", encoding="utf-8")
    try:
        with staged_folder(target) as folder:
            (folder / "a.csv").write_text("new", encoding="utf-8")
            raise KeyboardInterrupt  # Ctrl-C while writing
    except KeyboardInterrupt:
        pass
    assert (target / "a.csv").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".latest.lock", "latest"]


def write_old(target: Path) -> None:
    with staged_folder(target) as folder:
        (folder / "a.csv").write_text("old", encoding="utf-8")


def write_new_expecting_success(target: Path) -> None:
    """A run whose new folder is in place has completed, whatever is raised after."""
    try:
        with staged_folder(target) as folder:
            (folder / "a.csv").write_text("new", encoding="utf-8")
    except KeyboardInterrupt:  # not let through: it would stop the whole test session
        pytest.fail("Ctrl-C after the new folder was in place made the run fail")


def test_ctrl_c_while_the_old_folder_is_removed_still_completes_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "latest"
    write_old(target)
    rmtree = shutil.rmtree

    def interrupted_rmtree(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:
        if Path(path).name.startswith(".latest.old-"):
            raise KeyboardInterrupt  # Ctrl-C once the new folder is in place
        rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted_rmtree)
    write_new_expecting_success(target)
    monkeypatch.undo()
    assert (target / "a.csv").read_text(encoding="utf-8") == "new"
    left = [p.name for p in tmp_path.glob(".latest.old-*")]
    assert len(left) == 1
    recover(target)  # what the next run does first
    assert (target / "a.csv").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".latest.lock", "latest"]


@pytest.mark.parametrize("existing", [True, False])
def test_ctrl_c_just_after_the_new_folder_moved_in_still_completes_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    target = tmp_path / "latest"
    if existing:
        write_old(target)
    replace = os.replace

    def replace_then_interrupt(
        source: str | os.PathLike[str], destination: str | os.PathLike[str]
    ) -> None:
        replace(source, destination)
        if Path(source).name.startswith(".latest.new-"):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    write_new_expecting_success(target)
    monkeypatch.undo()
    assert (target / "a.csv").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".latest.lock", "latest"]


def test_ctrl_c_just_after_the_old_folder_moved_aside_puts_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "latest"
    write_old(target)
    replace = os.replace

    def replace_then_interrupt(
        source: str | os.PathLike[str], destination: str | os.PathLike[str]
    ) -> None:
        replace(source, destination)
        if Path(source) == target:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
    monkeypatch.undo()
    assert (target / "a.csv").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".latest.lock", "latest"]
