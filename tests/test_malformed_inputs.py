"""Property-based: whatever a malformed household row or project file holds, the user gets
exit code 1 and a one-line message (or a successful run), never a traceback, and the
earlier outputs stay as they were."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazardmap.cli import main
from tests.helpers import HOUSEHOLD_COLUMNS, build_tiny_project, copy_project

pytestmark = pytest.mark.slow  # 80 runs of the tiny project through the command line

FIELDS = HOUSEHOLD_COLUMNS.split(",")
SECTIONS = ["project", "villages", "households", "layers", "risk", "outputs", "planning", "map"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project, run once, to copy (without its overlay cache) for every example."""
    project = build_tiny_project(tmp_path_factory.mktemp("template") / "project")
    assert CliRunner().invoke(main, ["run", "--config", str(project)]).exit_code == 0
    return project.parent


def outputs_digest(project: Path) -> dict[str, str]:
    folder = project / "outputs" / "latest"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def check_outcome(project: Path, before: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["run", "--config", str(project / "hazardmap.toml")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        return
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert outputs_digest(project) == before


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
value = st.one_of(
    text,
    st.sampled_from(["", "nan", "inf", "-1", "1e400", "0", "1.5", "true", "是", "abc", '"', "1,2"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(0, 4), field=st.sampled_from(FIELDS), new=value)
def test_malformed_household_cell(template: Path, row: int, field: str, new: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        copy_project(template, project)
        before = outputs_digest(project)
        path = project / "data" / "households.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        cells = lines[row + 1].split(",")
        cells[FIELDS.index(field)] = new
        lines[row + 1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        check_outcome(project, before)


toml_value = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: repr(f).replace("inf", "inf").replace("nan", "nan")
    ),
    text.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(
        ["true", "[]", "[1, 2]", "{}", "[[0, 1]]", '"EPSG:99999"', '"GCJ-02"', "{ crop = 2 }"]
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    section=st.sampled_from(SECTIONS),
    key=st.sampled_from(
        [
            "name",
            "path",
            "crs",
            "classes",
            "monitoring_line",
            "min_area_share",
            "dir",
            "households",
            "budget_cny",
            "x",
        ]
    ),
    new=toml_value,
)
def test_malformed_project_file(template: Path, section: str, key: str, new: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        copy_project(template, project)
        before = outputs_digest(project)
        path = project / "hazardmap.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        header = f"[{section}]"
        if header in lines:
            index = lines.index(header) + 1
            lines = [
                ln for i, ln in enumerate(lines) if not (i >= index and ln.startswith(f"{key} ="))
            ]
            lines.insert(index, f"{key} = {new}")
        else:
            lines += [header, f"{key} = {new}"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        check_outcome(project, before)
