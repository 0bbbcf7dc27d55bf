"""`hazardmap demo-data` writes only where it may: it never overwrites a file it did not write
(its default --out, data/raw, is where a real project keeps its inputs), and its options are
checked by click, not by a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazardmap.demo import DEMO_FILES, DEMO_MARKER, check_demo_folder
from hazardmap.errors import OutputError
from tests.helpers import invoke, tree_digest


@pytest.mark.parametrize("name", DEMO_FILES)
def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path, name: str) -> None:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / name).write_text("real survey\n", encoding="utf-8")
    (raw / "README.md").write_text("# data/raw\n", encoding="utf-8")
    before = tree_digest(tmp_path)
    code, out, err = invoke("demo-data", "--out", str(raw), "--households", "5")
    assert code == 1 and "Traceback" not in out + err, err
    assert err == (
        f"error: {raw}: demo-data would overwrite {name}, and this folder has no "
        f"{DEMO_MARKER} marker, so they may be real data; give another --out, or delete "
        "them if they are demo data\n"
    )
    assert tree_digest(tmp_path) == before


def test_names_every_file_it_would_overwrite(tmp_path: Path) -> None:
    for name in ("hail.tif", "households.csv", "villages.gpkg"):
        (tmp_path / name).write_bytes(b"real")
    with pytest.raises(OutputError, match=r"overwrite villages\.gpkg, households\.csv, hail"):
        check_demo_folder(tmp_path)


def test_a_symlink_in_its_place_counts_as_a_file(tmp_path: Path) -> None:
    (tmp_path / "households.csv").symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(OutputError, match=r"would overwrite households\.csv"):
        check_demo_folder(tmp_path)


def test_a_folder_of_other_files_or_marked_is_fine(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# data/raw\n", encoding="utf-8")
    check_demo_folder(tmp_path)
    check_demo_folder(tmp_path / "missing")
    (tmp_path / "households.csv").write_text("demo\n", encoding="utf-8")
    (tmp_path / DEMO_MARKER).write_text("", encoding="utf-8")
    check_demo_folder(tmp_path)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--seed", "-1"), ("--households", "0"), ("--households", "2000001")],
)
def test_out_of_range_options_are_usage_errors(tmp_path: Path, option: str, value: str) -> None:
    code, out, err = invoke("demo-data", "--out", str(tmp_path / "raw"), option, value)
    assert code == 2 and "Traceback" not in out + err, err
    assert f"Invalid value for '{option}'" in err
    assert not (tmp_path / "raw").exists()


@pytest.mark.slow  # the demo county's data, generated twice
def test_twice_in_a_row_beside_a_readme_as_make_demo_does(tmp_path: Path) -> None:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "README.md").write_text("# data/raw\n", encoding="utf-8")
    code, _, err = invoke("demo-data", "--out", str(raw), "--households", "5", "--seed", "0")
    assert code == 0, err
    expected = [DEMO_MARKER, "README.md", *(f for f in DEMO_FILES if f != "households.csv")]
    assert sorted(p.name for p in raw.iterdir()) == sorted(expected)  # 5 rows: a workbook
    first = tree_digest(raw)  # the GeoPackages too: GDAL writes a fixed date into them
    # the second run rewrites its own files, even one a symlink replaced, never through it
    real = tmp_path / "survey.csv"
    real.write_text("real survey\n", encoding="utf-8")
    (raw / "households.xlsx").unlink()
    (raw / "households.xlsx").symlink_to(real)
    code, _, err = invoke("demo-data", "--out", str(raw), "--households", "5", "--seed", "0")
    assert code == 0, err
    assert tree_digest(raw) == first
    assert not (raw / "households.xlsx").is_symlink()
    assert real.read_text(encoding="utf-8") == "real survey\n"


@pytest.mark.slow  # the demo county's data, generated twice
def test_a_repeated_run_writes_nothing_unless_a_file_or_an_option_changed(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    args = ("demo-data", "--out", str(raw), "--households", "5", "--seed", "0")
    code, _, err = invoke(*args)
    assert code == 0 and "nothing written" not in err, err
    first = tree_digest(raw)
    versions = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    code, out, err = invoke(*args)
    assert code == 0 and "holds this demo data already" in err and "--force" in err, err
    assert "villages.gpkg" in out  # the paths, as when written
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == versions
    # a file changed, or another option: written again, as the options say
    (raw / "hazard_sites.csv").write_text("edited\n", encoding="utf-8")
    code, _, err = invoke(*args)
    assert code == 0 and "nothing written" not in err and tree_digest(raw) == first
    code, _, err = invoke(*args, "--force")
    assert code == 0 and "nothing written" not in err and tree_digest(raw) == first
    code, _, err = invoke("demo-data", "--out", str(raw), "--households", "6", "--seed", "0")
    assert code == 0 and "nothing written" not in err and tree_digest(raw) != first
