"""Reading villages and households: every problem is one line naming file, field, lines."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from hazardmap import errors
from hazardmap.config import HouseholdsSection
from hazardmap.io import read_households, read_villages
from hazardmap.problems import Problems
from tests.helpers import HOUSEHOLD_COLUMNS

GOOD_ROW = "h1,A,3,9000,none,0.5,0.2,0,0.3,0,0,earth,false,105.7,35.5"


def households_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "households.csv"
    path.write_text(HOUSEHOLD_COLUMNS + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_households_are_typed_and_labels_mapped(tmp_path: Path) -> None:
    path = households_file(
        tmp_path,
        GOOD_ROW,
        "h2,A,2,8000,边缘易致贫户,0.6,0,0,0.4,0,0,砖混,是,,",
    )
    table = read_households(path)
    assert table["category"].tolist() == ["none", "marginal"]
    assert table["housing"].tolist() == ["earth", "brick_concrete"]
    assert table["insured"].tolist() == [False, True]
    assert table["x"].tolist()[0] == 105.7 and table["x"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            GOOD_ROW.replace("9000", "abc"),
            "column 'income_pc': expected a number > 0 at line 3 ('abc')",
        ),
        (GOOD_ROW.replace("9000", "0"), "column 'income_pc': expected a number > 0"),
        (GOOD_ROW.replace(",3,", ",2.5,"), "column 'members': expected a whole number"),
        (GOOD_ROW.replace("none", "poor"), "column 'category': expected one of"),
        (GOOD_ROW.replace("earth", "tent"), "column 'housing': expected one of"),
        (GOOD_ROW.replace("false", "maybe"), "column 'insured': expected true or false"),
        (
            GOOD_ROW.replace("0.5,0.2", "0.9,0.2"),
            "income shares add up to more than 1 at line 3 (1.4)",
        ),
        (GOOD_ROW.replace("0.5,0.2", "-0.1,0.2"), "column 'share_crop'"),
        (GOOD_ROW.replace("105.7", "east"), "column 'lon': expected a number or an empty cell"),
        (GOOD_ROW.replace("h1", "h0"), "column 'household_id': expected unique values at line 2"),
    ],
)
def test_household_problems_name_the_column_and_line(
    tmp_path: Path, row: str, expected: str
) -> None:
    rows = ["h0,A,3,9000,none,0.5,0.2,0,0.3,0,0,earth,false,105.7,35.5", row]
    with pytest.raises(errors.InputError) as info:
        read_households(households_file(tmp_path, *rows))
    message = str(info.value)
    assert expected in message
    assert str(tmp_path / "households.csv") in message and "\n" not in message


def test_missing_columns_and_field_mapping(tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    path.write_text(
        HOUSEHOLD_COLUMNS.replace("income_pc", "人均纯收入") + "\n" + GOOD_ROW + "\n",
        encoding="utf-8",
    )
    with pytest.raises(errors.InputError, match=r"column\(s\) \['income_pc'\] not found"):
        read_households(path)
    table = read_households(path, HouseholdsSection(path=path, fields={"income_pc": "人均纯收入"}))
    assert table["income_pc"].tolist() == [9000.0]


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    path.write_text(HOUSEHOLD_COLUMNS + "\n" + GOOD_ROW + "\n", encoding="utf-8-sig")
    assert read_households(path)["household_id"].tolist() == ["h1"]


def villages_file(
    tmp_path: Path, codes: list[str], geoms: list[shapely.Geometry], crs: str | None = "EPSG:4544"
) -> Path:
    path = tmp_path / "villages.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": codes, "name": [f"村{c}" for c in codes]}, geometry=geoms, crs=crs
    )
    frame.to_file(path, driver="GPKG")
    return path


def test_villages_are_read_and_invalid_geometries_repaired(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    path = villages_file(tmp_path, ["A", "B"], [shapely.box(0, 0, 1, 1), bowtie])
    problems = Problems()
    villages = read_villages(path, id_field="code", name_field="name", problems=problems)
    assert villages["village_code"].tolist() == ["A", "B"]
    assert villages.geometry.is_valid.all()
    assert villages.geometry.area.tolist() == pytest.approx([1.0, 2.0])
    assert "repaired 1 invalid village geometry (feature 2 ('B'))" in problems.warnings[0]


def test_village_problems(tmp_path: Path) -> None:
    box = shapely.box(0, 0, 1, 1)
    dup = villages_file(tmp_path, ["A", "A"], [box, box])
    with pytest.raises(
        errors.InputError, match=r"village code repeated at feature 1 \('A'\), feature 2"
    ):
        read_villages(dup, id_field="code", name_field="name")
    with pytest.raises(errors.InputError, match=r"field\(s\) \['vcode'\] not found"):
        read_villages(dup, id_field="vcode", name_field="name")
    empty = villages_file(tmp_path, ["A", "B"], [box, shapely.Polygon()])
    with pytest.raises(errors.InputError, match="empty geometry at feature 2"):
        read_villages(empty, id_field="code", name_field="name")
    with pytest.raises(errors.InputFileNotFoundError, match="villages file not found"):
        read_villages(tmp_path / "none.gpkg", id_field="code", name_field="name")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "households.csv"
    header = HOUSEHOLD_COLUMNS.replace("income_pc", "人均纯收入")
    row = "户1,A,3,9000,脱贫不稳定户,0.5,0.2,0,0.3,0,0,砖混,是,105.7,35.5"
    path.write_bytes((header + "\n" + row + "\n").encode(encoding))
    table = read_households(path, HouseholdsSection(path=path, fields={"income_pc": "人均纯收入"}))
    assert table["household_id"].tolist() == ["户1"]
    assert table["category"].tolist() == ["unstable"] and table["housing"].tolist() == [
        "brick_concrete"
    ]


def test_excel_households(tmp_path: Path) -> None:
    import pandas as pd

    rows = [GOOD_ROW.split(","), GOOD_ROW.replace("h1", "h2").split(",")]
    frame = pd.DataFrame(rows, columns=HOUSEHOLD_COLUMNS.split(","))
    frame.to_excel(tmp_path / "households.xlsx", index=False)
    table = read_households(tmp_path / "households.xlsx")
    assert table["household_id"].tolist() == ["h1", "h2"]
    assert table["income_pc"].tolist() == [9000.0, 9000.0]


def test_undecodable_and_unreadable_tables(tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    path.write_bytes(b"household_id\n\x81\x30\x81\xff\xfe\n")
    with pytest.raises(errors.InputError, match="neither UTF-8 nor GB18030"):
        read_households(path)
    broken = tmp_path / "households.xlsx"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(errors.InputError, match=r"not an Excel workbook"):
        read_households(broken)


@pytest.mark.parametrize(
    ("text", "village", "kind"),
    [
        ("11010519491231002X", "", "a resident ID number"),
        ("户主11010519491231002x号", "", "a resident ID number"),
        ("110105194912310021", "", ""),  # wrong check character
        ("110105194913310028", "", ""),  # no 13th month
        ("110105209912310023", "", ""),  # born in the future
        ("620826201012000001", "620826201012", ""),  # village code + serial
        ("13812345678", "", "a mobile number"),
        ("王-13812345678-1", "", "a mobile number"),
        ("1381234567890", "", ""),  # 13 digits: not a phone number
        ("12812345678", "", ""),  # 12x is no mobile prefix
        ("620826001001-0001", "620826001001", ""),
    ],
)
def test_personal_numbers_are_recognised(text: str, village: str, kind: str) -> None:
    from hazardmap.io.text import personal_number

    assert personal_number(text, village) == kind


def test_lines_are_counted_as_in_the_file(tmp_path: Path) -> None:
    """Blank lines and a cell spanning lines (a note with a line break) come before the bad
    value: the message names the line an editor shows."""
    path = tmp_path / "households.csv"
    bad = GOOD_ROW.replace("h1", "h3").replace("9000", "lots")
    text = HOUSEHOLD_COLUMNS + ",note\n" + GOOD_ROW + ',"two\nlines"\n\n\n' + bad + ",\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"at line 6 \('lots'\)"):
        read_households(path)


def test_village_codes_stored_as_numbers_read_as_codes(tmp_path: Path) -> None:
    box = shapely.box(0, 0, 1, 1)
    path = tmp_path / "villages.gpkg"
    gpd.GeoDataFrame(
        {"code": [620826001001.0, 620826001002.0], "name": ["a", "b"]},
        geometry=[box, shapely.box(1, 0, 2, 1)],
        crs="EPSG:4544",
    ).to_file(path)
    villages = read_villages(path, id_field="code", name_field="name")
    assert villages["village_code"].tolist() == ["620826001001", "620826001002"]
