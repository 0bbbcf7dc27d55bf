"""The household table as the poverty-monitoring system exports it: a title above the
header, the table on another sheet, Chinese labels, income as amounts, one "lon,lat"
column; and village codes of another length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hazardmap import errors
from hazardmap.config import HouseholdsSection
from hazardmap.inputs import code_mismatch_hint
from hazardmap.io import read_households
from hazardmap.io.income import read_business_split
from hazardmap.io.labels import CATEGORY_LABELS, HOUSING_LABELS, INSURED_LABELS
from hazardmap.problems import Problems
from hazardmap.vocabulary import CATEGORIES, HOUSING_TYPES
from tests.helpers import (
    households_table,
    invoke,
    monitoring_export,
    rewrite_villages,
    set_key,
    tree_digest,
    write_households,
)

TITLE = "静宁县防返贫监测对象信息表"
HEADER = (
    "户编号,村代码,家庭人口数,监测对象类别,住房结构,是否参保,"
    "工资性收入,生产经营性收入,转移性收入,财产性收入,经纬度"
)
FIELDS = {
    "household_id": "户编号",
    "village_code": "村代码",
    "members": "家庭人口数",
    "category": "监测对象类别",
    "housing": "住房结构",
    "insured": "是否参保",
}
INCOME = {
    "wage": "工资性收入",
    "business": "生产经营性收入",
    "transfer": "转移性收入",
    "property": "财产性收入",
    "business_split": {"crop": 0.5, "orchard": 0.3, "livestock": 0.15, "other": 0.05},
}
ROWS = [
    # members 4; 20000 + 16000 + 3000 + 1000 = 40000 a year: 10000 a person
    'V1-01,V1,4,脱贫不稳定户,砖混结构,已参保,20000,16000,3000,1000,"105.886224,35.418055"',
    # a net business loss: 12000 - 2000 + 4000 = 14000 for 2 persons, 7000 each
    "V2-01,V2,2,,窑洞,未参保,12000,-2000,4000,0,105.9，35.42",
    # no coordinates; empty property amount (0)
    "V2-02,V2,1,边缘易致贫户,土木结构,是,0,9000,1000,,",
]


def export_file(folder: Path, *rows: str, suffix: str = ".csv") -> Path:
    path = folder / f"households{suffix}"
    text = "\r\n".join([TITLE + ",,,,,,,,,,", HEADER, *rows]) + "\r\n"
    path.write_text(text, encoding="utf-8-sig")
    return path


def settings(path: Path, **changes: Any) -> HouseholdsSection:
    values: dict[str, Any] = {
        "path": path,
        "header_row": 2,
        "lonlat_field": "经纬度",
        "fields": FIELDS,
        "income": INCOME,
    }
    return HouseholdsSection(**(values | changes))


def test_amounts_become_income_pc_and_shares(tmp_path: Path) -> None:
    path = export_file(tmp_path, *ROWS)
    problems = Problems()
    table = read_households(path, settings(path), problems=problems).set_index("household_id")
    assert table["income_pc"].tolist() == [10000.0, 7000.0, 10000.0]
    first = table.loc["V1-01"]
    # positive amounts 40000: wage 0.5, transfer 0.075, property 0.025 (other);
    # business 0.4 split 0.5 / 0.3 / 0.15 / 0.05
    expected = {
        "share_crop": 0.2,
        "share_orchard": 0.12,
        "share_livestock": 0.06,
        "share_wage": 0.5,
        "share_transfer": 0.075,
        "share_other": 0.025 + 0.02,
    }
    assert first[list(expected)].to_dict() == pytest.approx(expected, abs=1e-12)
    loss = table.loc["V2-01"]  # the loss takes no share: wage 12000 / 16000, transfer 4000 / 16000
    assert loss["share_wage"] == pytest.approx(0.75) and loss["share_transfer"] == 0.25
    assert loss[["share_crop", "share_orchard", "share_livestock", "share_other"]].sum() == 0
    third = table.loc["V2-02"]
    assert third["share_crop"] == pytest.approx(0.9 * 0.5) and third["share_transfer"] == 0.1
    assert table["category"].tolist() == ["unstable", "none", "marginal"]
    assert table["housing"].tolist() == ["brick_concrete", "cave", "earth"]
    assert table["insured"].tolist() == [True, False, True]
    assert table["x"].tolist()[:2] == [105.886224, 105.9] and np.isnan(table["x"].iloc[2])
    assert table["y"].tolist()[:2] == [35.418055, 35.42]
    assert table["line"].tolist() == [3, 4, 5]  # the title is line 1, the header line 2
    assert any("1 households have an empty income amount (line 5)" in w for w in problems.warnings)


def test_amounts_per_person(tmp_path: Path) -> None:
    path = export_file(tmp_path, *ROWS)
    income = INCOME | {"per": "person"}
    table = read_households(path, settings(path, income=income))
    assert table["income_pc"].tolist() == [40000.0, 14000.0, 10000.0]


def test_business_split_per_village_falls_back_to_the_county(tmp_path: Path) -> None:
    path = export_file(tmp_path, *ROWS)
    split = tmp_path / "split.csv"
    split.write_text("village_code,crop,orchard,livestock,other\nV2,0.1,0.8,0.1,0\n", "utf-8")
    table = read_households(
        path, settings(path), village_splits=read_business_split(split)
    ).set_index("household_id")
    assert table.loc["V2-02", "share_orchard"] == pytest.approx(0.9 * 0.8)
    assert table.loc["V1-01", "share_orchard"] == pytest.approx(0.4 * 0.3)  # the county's
    only_table = INCOME | {"business_split": None, "business_split_path": split}
    with pytest.raises(errors.InputError, match=r"no business split for the village\(s\) \['V1'\]"):
        read_households(
            path, settings(path, income=only_table), village_splits=read_business_split(split)
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("village_code,crop,orchard,livestock,other\nV2,0.5,0.5,0.1,0\n", r"add up to 1\.1, not 1"),
        ("village_code,crop,orchard\nV2,0.5,0.5\nV2,0.5,0.5\n", r"village_code repeated"),
        ("code,crop\nV2,1\n", r"expected the columns village_code"),
        ("village_code,crop,orchard\nV2,half,0.5\n", r"column 'crop': expected a share"),
    ],
)
def test_a_bad_business_split_table_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    split = tmp_path / "split.csv"
    split.write_text(text, encoding="utf-8")
    with pytest.raises(errors.InputError, match=expected):
        read_business_split(split)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "V1-01,V1,4,,砖混结构,是,-100,16000,3000,0,",
            r"column '工资性收入': expected an amount in CNY, 0 or more at line 3 \('-100'\)",
        ),
        (
            "V1-01,V1,4,,砖混结构,是,0,0,0,0,",
            r"add up to 0 or less at line 3 \(0\.0\); a household's net income must be positive",
        ),
        (
            "V1-01,V1,4,,砖混结构,是,1000,-5000,0,0,",
            r"add up to 0 or less at line 3 \(-4000\.0\)",
        ),
        ("V1-01,V1,4,,砖混结构,是,lots,0,0,0,", r"column '工资性收入': expected an amount"),
        (
            "V1-01,V1,4,,帐篷,是,1000,0,0,0,",
            r"column '住房结构': expected one of \[.*'cave'\] or a label hazardmap knows .* at "
            r"line 3 \(\'帐篷\'\); map the file\'s own labels under \[households.values\], e.g. "
            r'housing = \{ "帐篷" = "cave" \}',
        ),
        ("V1-01,V1,4,,砖混结构,是,1000,0,0,0,105.9", r"expected two numbers 'lon,lat'"),
    ],
)
def test_bad_amounts_and_labels_name_the_column_and_line(
    tmp_path: Path, row: str, expected: str
) -> None:
    path = export_file(tmp_path, row)
    with pytest.raises(errors.InputError, match=expected):
        read_households(path, settings(path))


LABELS: list[tuple[str, str, Any]] = [
    *(("category", label, value) for label, value in CATEGORY_LABELS.items() if label),
    *(("housing", label, value) for label, value in HOUSING_LABELS.items()),
    *(("insured", label, value) for label, value in INSURED_LABELS.items()),
]


@pytest.mark.parametrize(("field", "label", "value"), LABELS)
def test_every_built_in_label(tmp_path: Path, field: str, label: str, value: Any) -> None:
    cells = {"category": "", "housing": "砖混结构", "insured": "是"} | {field: label}
    row = f"a,V1,1,{cells['category']},{cells['housing']},{cells['insured']},9000,0,0,0,"
    path = export_file(tmp_path, row)
    assert read_households(path, settings(path))[field].tolist() == [value]


def test_the_vocabularies_are_covered() -> None:
    assert set(CATEGORY_LABELS.values()) == set(CATEGORIES)
    assert set(HOUSING_LABELS.values()) == set(HOUSING_TYPES)
    assert CATEGORY_LABELS["脱贫户"] == "none"  # lifted out of poverty is not monitored


def test_own_labels_are_added_folded_and_win(tmp_path: Path) -> None:
    rows = [
        "a,V1,1,监测户（不稳定）,砖瓦房,已购买,9000,0,0,0,",
        "b,V1,1,Unstable,ＦＲＡＭＥ,  TRUE ,9000,0,0,0,",  # case and full-width letters fold
        "c,V1,1,脱贫户,其他结构,未购买,9000,0,0,0,",
    ]
    path = export_file(tmp_path, *rows)
    values = {
        "category": {"监测户（不稳定）": "unstable", "脱贫户": "marginal"},
        "housing": {"砖瓦房": "brick_wood", "其他结构": "cave"},
        "insured": {"已购买": True, "未购买": False},
    }
    table = read_households(path, settings(path, values=values))
    assert table["category"].tolist() == ["unstable", "unstable", "marginal"]
    assert table["housing"].tolist() == ["brick_wood", "frame", "cave"]
    assert table["insured"].tolist() == [True, True, False]


def test_an_alias_outside_the_vocabulary_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"housing\.砖瓦房"):
        HouseholdsSection(path=tmp_path, values={"housing": {"砖瓦房": "tent"}})


@pytest.mark.parametrize(
    "cell",
    [
        "105.886224,35.418055",
        "105.886224，35.418055",
        "105.886224 35.418055",
        " 105.886224 , 35.418055 ",
    ],
)
def test_lonlat_separators(tmp_path: Path, cell: str) -> None:
    path = export_file(tmp_path, f'a,V1,1,,砖混结构,是,9000,0,0,0,"{cell}"')
    table = read_households(path, settings(path))
    assert (table["x"].item(), table["y"].item()) == (105.886224, 35.418055)


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, rows in sheets.items():
            width = max(len(row) for row in rows)
            padded = [row + [None] * (width - len(row)) for row in rows]
            pd.DataFrame(padded).to_excel(writer, sheet_name=name, header=False, index=False)
    return path


def export_rows() -> list[list[Any]]:
    rows: list[list[Any]] = [[TITLE], HEADER.split(",")]
    rows.append(
        [
            "V1-01",
            "V1",
            4,
            "脱贫不稳定户",
            "砖混结构",
            "已参保",
            20000,
            16000,
            3000,
            1000,
            "105.9,35.4",
        ]
    )
    return rows


def test_a_workbook_on_its_second_sheet_under_a_title(tmp_path: Path) -> None:
    path = workbook(tmp_path / "h.xlsx", {"说明": [["notes"]], "监测对象": export_rows()})
    table = read_households(path, settings(path, sheet="监测对象"))
    assert table["income_pc"].tolist() == [10000.0] and table["line"].tolist() == [3]
    with pytest.raises(
        errors.InputError,
        match=r"no sheet '监测' in the workbook \(its sheets are \['说明', '监测对象'\]\)",
    ):
        read_households(path, settings(path, sheet="监测"))
    with pytest.raises(
        errors.InputError, match=r"sheets are \['说明', '监测对象'\]: set \[households\] sheet to"
    ):
        read_households(path, settings(path))


def test_the_header_row_is_found_when_it_is_wrong(tmp_path: Path) -> None:
    path = workbook(tmp_path / "h.xlsx", {"监测对象": export_rows()})
    with pytest.raises(
        errors.InputError,
        match=r"but line 2 holds the column names; set \[households\] header_row = 2",
    ):
        read_households(path, settings(path, header_row=1))
    with pytest.raises(errors.InputError, match=r"header_row = 9, but the table has only 3 row"):
        read_households(path, settings(path, header_row=9))
    csv = export_file(tmp_path, *ROWS)
    with pytest.raises(errors.InputError, match=r"header_row = 40, but the file has fewer lines"):
        read_households(csv, settings(csv, header_row=40))
    with pytest.raises(errors.InputError, match=r"sheet = '监测对象' is for workbooks"):
        read_households(csv, settings(csv, sheet="监测对象"))


def test_an_html_table_named_xls_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "households.xls"
    path.write_text("<html><body><table><tr><td>户编号</td></tr></table></body></html>", "utf-8")
    with pytest.raises(
        errors.InputError, match=r"a web page \(HTML table\) saved with an Excel suffix"
    ):
        read_households(path, settings(path))


# ----------------------------------------------------------------- village code lengths
LAND_SURVEY = {"A": "6208261010010000000", "B": "6208261010020000000", "C": "6208261010020010000"}
"""19-digit codes (坐落单位代码): B and C are two groups of one village."""


def _land_survey_codes(tiny_project: Path) -> None:
    rewrite_villages(tiny_project, lambda v: v.assign(code=v["code"].map(LAND_SURVEY)))
    table = households_table(tiny_project)
    table["village_code"] = table["village_code"].map(
        {"A": "620826101001", "B": "620826101002", "C": "620826101002"}
    )
    write_households(tiny_project, table)


def test_longer_village_codes_are_named_with_an_example_of_each(tiny_project: Path) -> None:
    _land_survey_codes(tiny_project)
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1
    assert (
        "the villages' codes look like '6208261010010000000' (19 characters), the "
        "households' like '620826101001' (12), and the villages' begin with the households': "
        "set [villages] code_digits = 12"
    ) in err


def test_code_digits_cuts_and_dissolves(tiny_project: Path, tmp_path: Path) -> None:
    _land_survey_codes(tiny_project)
    set_key(tiny_project, "villages", "code_digits", "12")
    before = gpd.read_file(tiny_project.parent / "data" / "villages.gpkg")
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert (
        "3 features share a code" not in err
        and "2 features share a code and are dissolved into 1 villages" in err
    )
    villages = gpd.read_file(tmp_path / "o" / "villages.gpkg")
    assert villages["village_code"].tolist() == ["620826101001", "620826101002"]
    merged = villages.to_crs(before.crs).geometry.area.tolist()
    assert merged[1] == pytest.approx(before.geometry.area[1:].sum(), rel=1e-6)
    assert villages["n_households"].tolist() == [2, 3]


def test_a_household_file_that_is_not_the_monitoring_export_is_untouched(
    tiny_project: Path,
) -> None:
    """Bad keys of the new sections: one line naming the key, nothing written."""
    set_key(tiny_project, "households.income", "business", '"生产经营性收入"')
    before = tree_digest(tiny_project.parent)
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and err.count("error:") == 1
    assert "households.income" in err and "business_split" in err
    assert tree_digest(tiny_project.parent) == before


def test_an_old_xls_workbook_is_read(tmp_path: Path) -> None:
    """tests/data/monitoring_export.xls: Excel 97-2003 (BIFF8), written once with xlwt."""
    path = tmp_path / "households.xls"
    path.write_bytes((Path(__file__).parent / "data" / "monitoring_export.xls").read_bytes())
    table = read_households(path, settings(path, sheet="监测对象"))
    assert table["income_pc"].tolist() == [10000.0, 7000.0]
    assert table["housing"].tolist() == ["brick_concrete", "cave"]
    assert table["line"].tolist() == [3, 4]
    truncated = tmp_path / "truncated.xls"
    truncated.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(errors.InputError, match=r"cannot read the workbook .* truncated, damaged"):
        read_households(truncated, settings(truncated, sheet="监测对象"))


# ------------------------------------------------------- found by a hostile-input pass
def test_formulas_never_calculated_are_an_error(tmp_path: Path) -> None:
    """A program that writes formulas without their results: the cells would read as
    empty (an amount of 0, a category 'none')."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    for row in export_rows():
        sheet.append(row)
    sheet["G3"] = "=6000+507"
    path = tmp_path / "h.xlsx"
    book.save(path)
    with pytest.raises(
        errors.InputError, match=r"cell\(s\) \['G3'\] hold formulas that were never calculated"
    ):
        read_households(path, settings(path))


def test_a_hidden_first_sheet_is_passed_over(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    stale = book.active
    stale.title = "旧表"
    stale.append(["stale"])
    stale.sheet_state = "hidden"
    current = book.create_sheet("监测对象")
    for row in export_rows():
        current.append(row)
    path = tmp_path / "h.xlsx"
    book.save(path)
    assert read_households(path, settings(path))["income_pc"].tolist() == [10000.0]


def test_one_column_for_two_sources_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"names the column\(s\) \['工资性收入'\] for more than one"
    ):
        settings(tmp_path, income=INCOME | {"transfer": "工资性收入"})
    with pytest.raises(ValueError, match=r"\['户编号'\] are named for more than one field"):
        settings(tmp_path, fields=FIELDS | {"village_code": "户编号"})


def test_an_empty_insured_cell_can_be_mapped(tmp_path: Path) -> None:
    path = export_file(tmp_path, "a,V1,1,,砖混结构,,9000,0,0,0,")
    problems = Problems()
    table = read_households(path, settings(path, values={"insured": {"": True}}), problems=problems)
    assert table["insured"].tolist() == [True] and not problems.warnings


def test_a_header_row_on_a_data_line_points_at_the_header(tmp_path: Path) -> None:
    path = workbook(tmp_path / "h.xlsx", {"监测对象": export_rows()})
    with pytest.raises(
        errors.InputError,
        match=r"not found on line 3 .* but line 2 holds the column names; set "
        r"\[households\] header_row = 2",
    ):
        read_households(path, settings(path, header_row=3))


def test_split_codes_that_are_no_village_are_an_error(tiny_project: Path) -> None:
    monitoring_export()(tiny_project)
    split = tiny_project.parent / "data" / "split.csv"
    split.write_text("village_code,crop,orchard\nA,0.5,0.5\nZ9,1,0\n", encoding="utf-8")
    set_key(tiny_project, "households.income", "business_split_path", '"data/split.csv"')
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "split.csv: village code(s) ['Z9'] not in villages.gpkg" in err, err
    set_key(tiny_project, "households.income", "business_split_path", '"data/households.csv"')
    code, _, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "business_split_path names the household file itself" in err, err


def test_code_digits_too_short_or_too_long(tiny_project: Path) -> None:
    _land_survey_codes(tiny_project)
    set_key(tiny_project, "villages", "code_digits", "9")
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1
    assert (
        "[villages] code_digits = 9 cuts the villages' codes shorter than the households'; "
        "set code_digits = 12" in err
    )
    set_key(tiny_project, "villages", "code_digits", "25")
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert "code_digits = 25 cuts nothing: the codes have at most 19 characters" in err


def test_features_of_different_townships_dissolved_are_named(tiny_project: Path) -> None:
    _land_survey_codes(tiny_project)
    rewrite_villages(tiny_project, lambda v: v.assign(town=["X镇", "X镇", "Y镇"]))
    set_key(tiny_project, "villages", "code_digits", "12")
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 0, err
    assert "features of different townships share the code(s) ['620826101002']" in err


def test_long_codes_stored_as_numbers_are_refused(tmp_path: Path) -> None:
    """An 18-digit id in a numeric cell comes back with other last digits."""
    rows = export_rows()
    rows[2][0] = 123456789012345678
    path = workbook(tmp_path / "h.xlsx", {"监测对象": rows})
    with pytest.raises(
        errors.InputError,
        match=r"sheet '监测对象', column A: numbers of more than 15 digits at row 3 .*store the "
        r"column as text",
    ):
        read_households(path, settings(path))


def test_a_split_table_with_a_title_is_told_to_start_with_its_header(tmp_path: Path) -> None:
    split = tmp_path / "split.csv"
    split.write_text("各村生产经营收入构成\nvillage_code,crop,orchard\nV2,0.5,0.5\n", "utf-8")
    with pytest.raises(errors.InputError, match=r"give a table whose first line holds the column"):
        read_business_split(split)


def test_the_code_length_hint_survives_a_typo() -> None:
    villages = pd.Series([f"62082610{i:04d}0000000" for i in range(10)])
    households = pd.Series([f"62082610{i:04d}" for i in range(9)] + ["620826999999"])
    hint = code_mismatch_hint(villages, households)
    assert "set [villages] code_digits = 12" in hint
    assert "(and correct ['620826999999'], which fit neither)" in hint
    mostly_wrong = pd.Series(["620826999999", "620826999998"])
    assert "use the same coding in both files" in code_mismatch_hint(villages, mostly_wrong)
