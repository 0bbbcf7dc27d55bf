"""An event's tables: event_households.csv, event_villages.csv and .gpkg, leads.csv, and
leads.xlsx for the township cadres who verify each lead on site.

leads.xlsx holds the leads (one header row, each cell Chinese and English; labels in
Chinese; frozen header, filters, columns as wide as their text; numbers as numbers, text
as string cells, never formulas) and, on a second sheet, the villages the event reached.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from hazardmap.outputs.tables import write_csv

CATEGORY_ZH = {
    "none": "一般农户",
    "unstable": "脱贫不稳定户",
    "marginal": "边缘易致贫户",
    "hardship": "突发严重困难户",
}
"""The monitoring categories as the system names them."""

HOUSEHOLD_COLUMNS = (
    "household_id",
    "village_code",
    "in_footprint",
    "event_intensity",
    "event_loss",
    "q_event",
    "q0",
    "event_risk",
    "need_cny",
    "lead",
)
"""event_households.csv's columns (CONTRACT.md); the event's table holds more, for the map."""

LEAD_HEADERS = {
    "rank": "排序 rank",
    "township": "乡镇 township",
    "village_code": "村代码 village_code",
    "village": "行政村 village",
    "household_id": "户编号 household_id",
    "category": "监测类别 category",
    "hazard": "灾种 hazard",
    "date": "日期 date",
    "reason": "原因 reason",
    "event_risk": "因本次灾害返贫概率 event_risk",
    "need_cny": "资金缺口(元) need_cny",
}
VILLAGE_HEADERS = {
    "village_code": "村代码 village_code",
    "name": "行政村 village",
    "township": "乡镇 township",
    "households_in_footprint": "受灾范围内户数 households_in_footprint",
    "expected_returns": "预计返贫户数(发生本次灾害时) expected_returns",
    "leads": "需核实户数 leads",
    "need_cny": "资金缺口(元) need_cny",
    "at_scale": "规模性返贫风险 at_scale",
}
NUMBER_FORMATS = {"event_risk": "0.000", "need_cny": "#,##0", "expected_returns": "0.00"}


def write_event_tables(
    folder: Path,
    households: pd.DataFrame,
    leads: pd.DataFrame,
    villages: gpd.GeoDataFrame,
    hazard_zh: str,
) -> None:
    write_csv(households[list(HOUSEHOLD_COLUMNS)], folder / "event_households.csv")
    table = pd.DataFrame(villages.drop(columns="geometry"))
    write_csv(table, folder / "event_villages.csv")
    villages.to_file(folder / "event_villages.gpkg", layer="event_villages", driver="GPKG")
    write_csv(leads, folder / "leads.csv")
    hit = table[table["households_in_footprint"] > 0].sort_values(
        "expected_returns", ascending=False, kind="stable"
    )
    write_leads_workbook(folder / "leads.xlsx", leads, hit, hazard_zh)


def _sheet(workbook: object, name: str, frame: pd.DataFrame, headers: dict[str, str]) -> None:
    """One sheet: the header row, then every value as a number or a string cell."""
    sheet = workbook.add_worksheet(name)  # type: ignore[attr-defined]
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})  # type: ignore[attr-defined]
    formats = {
        column: workbook.add_format({"num_format": fmt})  # type: ignore[attr-defined]
        for column, fmt in NUMBER_FORMATS.items()
    }
    columns = list(frame.columns)
    for j, column in enumerate(columns):
        sheet.write_string(0, j, headers[column], bold)
        width = max([len(headers[column]) * 0.9, *(_width(v) for v in frame[column])])
        sheet.set_column(j, j, min(max(width, 6.0), 48.0))
        for i, value in enumerate(frame[column].tolist(), start=1):
            if isinstance(value, bool):
                sheet.write_string(i, j, "是" if value else "否")
            elif isinstance(value, int | float):
                sheet.write_number(i, j, value, formats.get(column))
            else:
                sheet.write_string(i, j, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    sheet.set_row(0, 32)


def _width(value: object) -> float:
    """Spreadsheet columns count characters; a Chinese character takes about two."""
    text = str(value)
    return float(sum(2 if ord(c) > 0x2E80 else 1 for c in text)) + 1.0


def write_leads_workbook(
    path: Path, leads: pd.DataFrame, villages: pd.DataFrame, hazard_zh: str
) -> None:
    import xlsxwriter  # type: ignore[import-untyped]

    shown = leads.assign(
        category=[CATEGORY_ZH.get(c, c) for c in leads["category"]], hazard=hazard_zh
    )
    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False}
    )
    workbook.set_properties({"created": pd.Timestamp("2000-01-01").to_pydatetime()})
    try:
        _sheet(workbook, "需核实户 leads", shown, LEAD_HEADERS)
        _sheet(workbook, "受灾村 villages", villages, VILLAGE_HEADERS)
    finally:
        workbook.close()
