"""Outputs are replaced atomically: a run that is killed leaves the previous outputs whole."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hazardmap.outputs.staging import recover, staged_folder


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_killed_run_leaves_previous_outputs_whole(demo_project: Path) -> None:
    outputs = demo_project.parent / "outputs" / "latest"
    command = [sys.executable, "-m", "hazardmap", "run", "--config", str(demo_project)]
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
