"""The output folder is guarded: a run never replaces inputs, files or folders it did not write,
two runs never write one folder at once, and a failed write leaves the previous outputs whole."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hazardmap.errors import InputError, OutputError
from hazardmap.outputs import staging
from hazardmap.outputs.staging import interrupted, output_lock, recover, staged_folder
from hazardmap.outputs.target import MARKER, check_target, is_hazardmap_output


@dataclass
class Project:
    root: Path
    project_file: Path
    layers: Path
    inputs: list[Path]

    @property
    def protected(self) -> list[Path]:
        layer_files = sorted(self.layers.glob("*.toml"))
        return [self.project_file, *layer_files, self.layers, *self.inputs]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project folder by hand: project file, layers folder, inputs under data/raw."""
    root = tmp_path / "county"
    raw = root / "data" / "raw"
    (raw / "rasters" / "2024").mkdir(parents=True)
    (root / "layers").mkdir()
    (root / "hazardmap.toml").write_text("[project]\nname = 'county'\n", encoding="utf-8")
    (root / "layers" / "slope.toml").write_text("kind = 'slope'\n", encoding="utf-8")
    (root / "layers" / "dry.toml").write_text("kind = 'drought'\n", encoding="utf-8")
    inputs = [
        raw / "villages.gpkg",
        raw / "households.csv",
        raw / "roads.gpkg",
        raw / "rivers.gpkg",
        raw / "towns.csv",
        raw / "rasters" / "2024" / "slope.tif",
    ]
    for number, path in enumerate(inputs):
        path.write_bytes(bytes([number]) * 64)
    return Project(root, root / "hazardmap.toml", root / "layers", inputs)


def snapshot(top: Path) -> dict[str, str]:
    """Every entry under ``top`` (not following symlinks) with its content's digest."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(top))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def refused(target: Path, protected: list[Path], top: Path) -> str:
    """check_target's message for ``target``; asserts nothing under ``top`` changed."""
    before = snapshot(top)
    with pytest.raises(OutputError) as info:
        check_target(target, protected=protected)
    assert snapshot(top) == before
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{target}: ")
    return message


FIRST_MANIFEST = {"created": "2023-11-02", "versions": {"hazardmap": "0.1.0"}}


def write_manifest(folder: Path, content: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(content), encoding="utf-8")


# check_target: refusals


def test_refuses_a_file(project: Project) -> None:
    notes = project.root / "notes.txt"
    notes.write_text("field notes\n", encoding="utf-8")
    message = refused(notes, project.protected, project.root.parent)
    assert message == f"{notes}: the output folder is a file; give a folder"


def test_refuses_a_folder_under_a_file(project: Project) -> None:
    notes = project.root / "notes.txt"
    notes.write_text("field notes\n", encoding="utf-8")
    message = refused(notes / "out", project.protected, project.root.parent)
    assert "is a file" in message


def test_refuses_the_folder_of_the_inputs(project: Project) -> None:
    raw = project.root / "data" / "raw"
    message = refused(raw, project.protected, project.root.parent)
    assert message == (
        f"{raw}: this output folder holds the project's inputs (villages.gpkg, households.csv "
        "and 4 more); hazardmap replaces its output folder whole, so choose another folder, "
        "e.g. outputs/latest"
    )


@pytest.mark.parametrize(
    ("command", "suggestion"),
    [("event", "e.g. outputs/events/<name>"), ("uncertainty", "e.g. outputs/uncertainty")],
)
def test_each_command_suggests_a_folder_of_its_own(
    project: Project, command: str, suggestion: str
) -> None:
    """outputs/latest, the run's, would be refused to an event or an uncertainty analysis."""
    raw = project.root / "data" / "raw"
    with pytest.raises(OutputError) as info:
        check_target(raw, protected=project.protected, command=command)
    assert str(info.value).endswith(f"choose another folder, {suggestion}")


def test_refuses_a_folder_holding_an_input_deep_inside(project: Project) -> None:
    only_the_raster = [project.inputs[-1]]
    message = refused(project.root / "data", only_the_raster, project.root.parent)
    assert "holds the project's inputs (slope.tif)" in message


def test_refuses_the_project_folder_itself(project: Project) -> None:
    message = refused(project.root, project.protected, project.root.parent)
    assert "holds the project's inputs (hazardmap.toml, dry.toml and 8 more)" in message


def test_refuses_the_current_folder(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    relative = [path.relative_to(project.root) for path in project.protected]
    assert "holds the project's inputs" in refused(Path("."), relative, project.root.parent)


def test_refuses_a_parent_of_the_project(project: Project) -> None:
    parent = project.root.parent
    assert "holds the project's inputs" in refused(parent, project.protected, parent)


def test_refuses_the_layers_folder(project: Project) -> None:
    message = refused(project.layers, project.protected, project.root.parent)
    assert "is one of the project's inputs" in message


@pytest.mark.parametrize("existing", [False, True])
def test_refuses_a_folder_inside_the_layers_folder(project: Project, existing: bool) -> None:
    target = project.layers / "out"
    if existing:
        target.mkdir()
    message = refused(target, project.protected, project.root.parent)
    assert f"lies inside the project's inputs ({project.layers})" in message


def test_refuses_a_folder_inside_an_input_folder_given_only_as_a_folder(project: Project) -> None:
    raw = project.root / "data" / "raw"
    message = refused(raw / "outputs", [raw], project.root.parent)
    assert "lies inside the project's inputs" in message


def test_refuses_a_non_empty_foreign_folder(project: Project) -> None:
    docs = project.root / "docs"
    docs.mkdir()
    (docs / "report.docx").write_bytes(b"PK\x03\x04")
    message = refused(docs, project.protected, project.root.parent)
    assert message == (
        f"{docs}: this folder holds files hazardmap did not write (report.docx; hazardmap "
        "left no marker or manifest.json here); a run replaces its output folder whole, so "
        "move them out or choose another folder"
    )


@pytest.mark.parametrize(
    "content",
    [{"name": "web app"}, {"versions": {"hazardmap": ""}}, {"versions": "1.0"}, [1, 2], None],
)
def test_refuses_a_folder_whose_manifest_is_not_hazardmaps(
    project: Project, content: object
) -> None:
    other = project.root / "site"
    write_manifest(other, content)
    message = refused(other, project.protected, project.root.parent)
    assert "did not write (manifest.json; hazardmap left no marker" in message


def test_refuses_a_folder_with_a_broken_manifest(project: Project) -> None:
    other = project.root / "site"
    other.mkdir()
    (other / "manifest.json").write_bytes(b"\xff{not json")
    assert "did not write" in refused(other, project.protected, project.root.parent)


def test_refuses_a_folder_holding_a_copied_manifest_and_other_files(project: Project) -> None:
    """`cp outputs/latest/manifest.json reports/` does not make reports/ deletable."""
    latest = previous_outputs(project.root / "outputs")
    write_manifest(latest, FIRST_MANIFEST)
    reports = project.root / "reports"
    reports.mkdir()
    shutil.copy(latest / "manifest.json", reports)
    (reports / "notes.txt").write_text("notes\n", encoding="utf-8")
    message = refused(reports, project.protected, project.root.parent)
    assert message == (
        f"{reports}: this folder holds files hazardmap did not write (notes.txt); a run "
        "replaces its output folder whole, so move them out or choose another folder"
    )


def test_refuses_a_folder_holding_a_copied_marker_and_other_files(project: Project) -> None:
    latest = previous_outputs(project.root / "outputs")
    reports = project.root / "reports"
    reports.mkdir()
    for name in (MARKER, "a.csv"):
        shutil.copy(latest / name, reports)
    (reports / "notes.txt").write_text("notes\n", encoding="utf-8")
    assert "did not write (notes.txt)" in refused(reports, project.protected, project.root)


def test_refuses_an_output_folder_a_file_was_added_to(project: Project) -> None:
    """`echo notes > outputs/latest/notes.txt; hazardmap run` must not delete notes.txt."""
    latest = previous_outputs(project.root / "outputs")
    (latest / "notes.txt").write_text("notes\n", encoding="utf-8")
    (latest / "drafts").mkdir()
    (latest / "drafts" / "v1.docx").write_bytes(b"PK")
    message = refused(latest, project.protected, project.root.parent)
    assert "hazardmap did not write (drafts/, notes.txt); " in message
    assert message.endswith("so move them out or choose another folder")


def test_refusal_names_the_first_three_foreign_entries(project: Project) -> None:
    latest = previous_outputs(project.root / "outputs")
    for name in ("e.txt", "d.txt", "c.txt", "b.txt"):
        (latest / name).write_text(name, encoding="utf-8")
    message = refused(latest, project.protected, project.root.parent)
    assert "did not write (b.txt, c.txt, d.txt and more); " in message


def test_refuses_an_entry_inside_a_folder_the_run_wrote(project: Project) -> None:
    target = project.root / "outputs" / "latest"
    with staged_folder(target) as folder:
        (folder / "tiles").mkdir()
        (folder / "tiles" / "0.png").write_bytes(b"png")
    assert sorted(json.loads((target / MARKER).read_text(encoding="utf-8"))["files"]) == [
        "tiles",
        "tiles/0.png",
    ]
    accepted(target, project)
    (target / "tiles" / "notes.txt").write_text("notes\n", encoding="utf-8")
    assert "did not write (tiles/notes.txt)" in refused(target, project.protected, project.root)


def test_refuses_a_first_release_folder_holding_other_files(project: Project) -> None:
    target = project.root / "outputs" / "2023"
    write_manifest(target, FIRST_MANIFEST)
    (target / "map.html").write_text("<html></html>", encoding="utf-8")
    (target / "notes.txt").write_text("notes\n", encoding="utf-8")
    (target / "old").mkdir()
    message = refused(target, project.protected, project.root.parent)
    assert "did not write (notes.txt, old/); " in message


@pytest.mark.parametrize(
    "marker",
    [
        b"\xff{not json",
        b"written by hazardmap 0.1.0; this folder is replaced by the next run\n",
        b'{"written_by": "someone else", "files": ["notes.txt"]}',
        b'{"written_by": "hazardmap 9", "files": "notes.txt"}',
        b'{"written_by": "hazardmap 9", "files": [1]}',
        b'["hazardmap", "notes.txt"]',
    ],
)
def test_a_damaged_or_foreign_marker_counts_as_none(project: Project, marker: bytes) -> None:
    target = project.root / "outputs" / "latest"
    target.mkdir(parents=True)
    (target / MARKER).write_bytes(marker)
    (target / "notes.txt").write_text("notes\n", encoding="utf-8")
    assert not is_hazardmap_output(target)
    assert "did not write (notes.txt; hazardmap left no marker" in refused(
        target, project.protected, project.root
    )
    write_manifest(target, FIRST_MANIFEST)  # as the first release: its output names only
    assert "did not write (notes.txt); " in refused(target, project.protected, project.root)
    (target / "notes.txt").unlink()
    accepted(target, project)


def test_refuses_a_symlink_to_the_inputs(project: Project) -> None:
    alias = project.root / "alias"
    alias.symlink_to(project.root / "data" / "raw", target_is_directory=True)
    assert "holds the project's inputs" in refused(alias, project.protected, project.root.parent)


def test_refuses_a_path_through_a_symlink_into_the_layers(project: Project) -> None:
    shortcut = project.root.parent / "shortcut"
    shortcut.symlink_to(project.layers, target_is_directory=True)
    target = shortcut / "out"
    assert "lies inside" in refused(target, project.protected, project.root.parent)


def test_refuses_inputs_given_through_a_symlink(project: Project) -> None:
    linked = project.root.parent / "linked"
    linked.symlink_to(project.root, target_is_directory=True)
    protected = [linked / path.relative_to(project.root) for path in project.protected]
    message = refused(project.root / "data", protected, project.root.parent)
    assert "holds the project's inputs" in message


# check_target: accepted


def accepted(target: Path, project: Project) -> None:
    before = snapshot(project.root.parent)
    check_target(target, protected=project.protected)
    assert snapshot(project.root.parent) == before


def test_accepts_a_missing_folder(project: Project) -> None:
    accepted(project.root / "outputs" / "latest", project)


def test_accepts_an_empty_folder(project: Project) -> None:
    (project.root / "outputs" / "latest").mkdir(parents=True)
    accepted(project.root / "outputs" / "latest", project)


def test_accepts_a_folder_holding_only_desktop_junk(project: Project) -> None:
    target = project.root / "outputs" / "latest"
    target.mkdir(parents=True)
    (target / ".DS_Store").write_bytes(b"\0")
    accepted(target, project)


def test_accepts_a_folder_with_the_marker(project: Project) -> None:
    target = project.root / "anything-named"
    target.mkdir()
    marker = {"written_by": "hazardmap 0.2.0", "files": ["villages.csv", "map_x.png"]}
    (target / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    (target / "villages.csv").write_text("code\nA\n", encoding="utf-8")
    (target / "Thumbs.db").write_bytes(b"\0")
    assert is_hazardmap_output(target)
    accepted(target, project)


def test_accepts_a_first_release_output_folder(project: Project) -> None:
    target = project.root / "outputs" / "2023"
    write_manifest(target, FIRST_MANIFEST)
    names = ["map.html", "report.html", "villages.gpkg", "villages.csv", "households.csv"]
    names += ["priorities.csv", "changes.csv", "map_landslide.png", "chart_classes.png"]
    for name in [*names, ".DS_Store", "desktop.ini"]:
        (target / name).write_bytes(b"x")
    assert is_hazardmap_output(target)
    accepted(target, project)


def test_accepts_a_folder_beside_the_inputs(project: Project) -> None:
    accepted(project.root / "data" / "outputs", project)
    accepted(project.root / "data" / "raw-outputs", project)


def test_a_folder_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    latest = tmp_path / "outputs" / "latest"
    latest.mkdir(parents=True)
    (latest / "villages.csv").write_text("code\n", encoding="utf-8")
    assert not is_hazardmap_output(latest)
    assert not is_hazardmap_output(tmp_path / "missing")


# output_lock


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from hazardmap.outputs.staging import output_lock
with output_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.mark.slow  # a lock holder in a subprocess, killed
def test_a_lock_held_by_another_process_refuses_at_once_until_it_dies(tmp_path: Path) -> None:
    target = tmp_path / "outputs" / "latest"
    lockfile = tmp_path.resolve() / "outputs" / ".latest.lock"
    command = [sys.executable, "-c", LOCK_HOLDER, str(target)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            started = time.monotonic()
            with pytest.raises(OutputError) as info, output_lock(target):
                pass
            assert time.monotonic() - started < 1.0
            assert str(info.value) == (
                f"{target}: another hazardmap run is writing there (lock {lockfile}); "
                "wait for it to finish or choose another folder"
            )
            with pytest.raises(OutputError, match="another hazardmap run"), staged_folder(target):
                pass
            assert not target.exists()
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait()
    with output_lock(target) as held:
        assert held == lockfile
        assert lockfile.exists()
    assert lockfile.exists()  # left behind on purpose: unlinking lock files is racy


def test_the_lock_nests_within_one_thread(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    with output_lock(target), staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
    assert (target / "a.csv").read_text(encoding="utf-8") == "new"
    with output_lock(target):  # released by both
        pass


# recover and interrupted


def test_recover_restores_a_target_whose_name_has_a_dash(tmp_path: Path) -> None:
    target = tmp_path / "run-2024"
    aside = tmp_path / ".run-2024.old-4242-ab_c9"
    (aside / "run-2024").mkdir(parents=True)
    (aside / "run-2024" / "villages.csv").write_text("old", encoding="utf-8")
    staged = tmp_path / ".run-2024.new-4242-x1y2z3"
    staged.mkdir()
    (staged / "villages.csv").write_text("half", encoding="utf-8")
    empty = tmp_path / ".run-2024.new-77-q"
    empty.mkdir()
    others = [tmp_path / ".run.new-1-abc", tmp_path / ".run-2024-b.new-1-abc"]
    for other in others:
        other.mkdir()
    untouched = snapshot(tmp_path)
    assert interrupted(target) == sorted([aside, staged, empty])
    assert snapshot(tmp_path) == untouched
    recover(target)
    assert (target / "villages.csv").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["run-2024", *(o.name for o in others)]
    )
    assert interrupted(target) == []


def test_recover_keeps_an_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    target.mkdir()
    (target / "a.csv").write_text("current", encoding="utf-8")
    (tmp_path / ".latest.old-12-abc" / "latest").mkdir(parents=True)
    recover(target)
    assert (target / "a.csv").read_text(encoding="utf-8") == "current"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]


def test_interrupted_beside_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert interrupted(tmp_path / "nowhere" / "latest") == []


# staged_folder


def previous_outputs(tmp_path: Path) -> Path:
    target = tmp_path / "latest"
    with staged_folder(target) as folder:
        (folder / "a.csv").write_text("old", encoding="utf-8")
    return target


def assert_previous_whole(target: Path) -> None:
    assert (target / "a.csv").read_text(encoding="utf-8") == "old"
    assert is_hazardmap_output(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".latest.lock", "latest"]


def test_the_marker_is_written_last_and_lists_every_entry(tmp_path: Path) -> None:
    target = tmp_path / "latest"
    with staged_folder(target) as folder:
        (folder / "a.csv").write_text("old", encoding="utf-8")
        (folder / "maps").mkdir()
        (folder / "maps" / "b.png").write_bytes(b"png")
    marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
    assert marker["written_by"].startswith("hazardmap ")
    assert marker["files"] == ["a.csv", "maps", "maps/b.png"]
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "a.csv", "maps"]
    check_target(target, protected=[])
    with staged_folder(target) as folder:  # the next run replaces it, and lists its own
        (folder / "a.csv").write_text("old", encoding="utf-8")
    assert json.loads((target / MARKER).read_text(encoding="utf-8"))["files"] == ["a.csv"]
    assert_previous_whole(target)


def test_an_os_error_while_writing_becomes_an_output_error(tmp_path: Path) -> None:
    target = previous_outputs(tmp_path)
    with pytest.raises(OutputError) as info, staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
        raise OSError(errno.EFBIG, "File too large")
    assert str(info.value) == (
        f"{target}: cannot write the outputs (File too large); the previous outputs are "
        "unchanged; free some disk space or check the folder's permissions"
    )
    assert_previous_whole(target)


@pytest.mark.parametrize("failing", ["new", "old"])
def test_a_permission_error_during_the_swap_becomes_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = previous_outputs(tmp_path)
    replace = os.replace

    def refusing_replace(
        source: str | os.PathLike[str], destination: str | os.PathLike[str]
    ) -> None:
        moving = Path(source)
        staging_in = failing == "new" and moving.name.startswith(".latest.new-")
        old_aside = failing == "old" and moving == target
        if staging_in or old_aside:
            raise PermissionError(errno.EACCES, "Permission denied")
        replace(source, destination)

    monkeypatch.setattr(staging.os, "replace", refusing_replace)
    denied = r"cannot write the outputs \(Permission denied\)"
    with pytest.raises(OutputError, match=denied), staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
    monkeypatch.undo()
    assert_previous_whole(target)


def test_a_failure_to_create_the_staging_folder_becomes_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = previous_outputs(tmp_path)

    mkdir = os.mkdir

    def full_disk(path: str | os.PathLike[str], mode: int = 0o777) -> None:
        if Path(path).name.startswith(".latest.new-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        mkdir(path, mode)

    monkeypatch.setattr(staging.os, "mkdir", full_disk)
    full = r"\(No space left on device\); the previous outputs"
    with pytest.raises(OutputError, match=full), staged_folder(target):
        pass
    monkeypatch.undo()
    assert_previous_whole(target)


@pytest.mark.parametrize(
    "error",
    [
        InputError("villages.gpkg: no features"),
        OutputError("latest: already explained"),
        KeyboardInterrupt(),
        ZeroDivisionError("a bug"),
    ],
)
def test_other_errors_propagate_unchanged(tmp_path: Path, error: BaseException) -> None:
    target = previous_outputs(tmp_path)
    with pytest.raises(type(error)) as info, staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
        raise error
    assert info.value is error
    assert_previous_whole(target)


# staged_folder: the folder's mode


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    """Set the process umask for the test; the old one is put back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o002, 0o775)])
def test_a_new_output_folder_gets_the_mode_mkdir_gives(
    tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int
) -> None:
    umask(mask)
    target = previous_outputs(tmp_path)
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o2775, 0o700])
def test_a_replaced_output_folder_keeps_its_mode(
    tmp_path: Path, umask: Callable[[int], int], mode: int
) -> None:
    umask(0o077)  # would give 0o700 to a new folder
    target = previous_outputs(tmp_path)
    target.chmod(mode)  # `chmod 755 outputs/latest` for colleagues or a web server
    with staged_folder(target) as folder:
        (folder / "a.csv").write_text("old", encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert_previous_whole(target)


def test_a_file_added_while_the_run_computes_is_kept(tmp_path: Path) -> None:
    target = previous_outputs(tmp_path)
    with pytest.raises(OutputError) as info, staged_folder(target) as folder:
        (folder / "a.csv").write_text("new", encoding="utf-8")
        (target / "notes.txt").write_text("notes\n", encoding="utf-8")  # meanwhile, by hand
    assert str(info.value) == (
        f"{target}: this folder holds files hazardmap did not write (notes.txt); a run "
        "replaces its output folder whole, so move them out or choose another folder"
    )
    assert (target / "notes.txt").read_text(encoding="utf-8") == "notes\n"
    (target / "notes.txt").unlink()
    assert_previous_whole(target)
