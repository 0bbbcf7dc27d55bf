"""The demo households as the poverty-monitoring system exports them.

Chinese column names, the system's labels (监测对象类别, 住房结构, 是否参加农业保险), net
income amounts per household by source, one "lon,lat" column as AMap's coordinate picker
gives it (GCJ-02), a title row above the header, and the table on the workbook's second
sheet. A table longer than a worksheet holds is written as CSV with the same rows.
Also the per-village split of business income the demo project reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from hazardmap.chinese_crs import wgs84_to_gcj02
from hazardmap.vocabulary import BUSINESS_PARTS

TITLE = "静宁县防返贫监测对象信息表（演示数据，非真实信息）"
SHEET = "监测对象"
NOTES_SHEET = "说明"
NOTES = (
    "本表为 hazardmap 演示数据，由随机数生成，不涉及任何真实农户。",
    "收入为家庭年纯收入（元）；经纬度为高德坐标（GCJ-02）。",
)
EXCEL_MAX_ROWS = 1_048_576
FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)
ROWS_ABOVE_DATA = 2  # the title and the header

CATEGORY_LABELS = {
    "none": "",
    "unstable": "脱贫不稳定户",
    "marginal": "边缘易致贫户",
    "hardship": "突发严重困难户",
}
HOUSING_LABELS = {
    "earth": "土木结构",
    "brick_wood": "砖木结构",
    "brick_concrete": "砖混结构",
    "frame": "钢混结构",
    "cave": "窑洞",
}
OTHER_HOUSING = "其他结构"
"""A label the system uses that no housing type names: the demo project maps it
([households.values]), as a county would after checking what it covers."""
OTHER_HOUSING_SHARE = 0.01
LIFTED_SHARE = 0.35
"""Share of the households not monitored that were lifted out of poverty (脱贫户)."""
BUSINESS_LOSS_SHARE = 0.01
"""Households whose net business income was a loss that year (a negative amount)."""
PROPERTY_PART = 0.3
"""Part of the 'other' income that is property income (rent of land, dividends)."""
SPLIT_LISTED = 0.8
"""Share of villages the business-split table lists; the others take the county's split."""


def _amounts(rng: np.random.Generator, households: pd.DataFrame) -> dict[str, np.ndarray]:
    """Net income per household and source (CNY a year), from income_pc and the shares."""
    total = households["income_pc"].to_numpy(float) * households["members"].to_numpy(float)
    share = {c: households[f"share_{c}"].to_numpy(float) for c in ("crop", "orchard")}
    livestock = households["share_livestock"].to_numpy(float)
    other = households["share_other"].to_numpy(float)
    business = (share["crop"] + share["orchard"] + livestock + (1 - PROPERTY_PART) * other) * total
    wage = households["share_wage"].to_numpy(float) * total
    transfer = households["share_transfer"].to_numpy(float) * total
    property_income = PROPERTY_PART * other * total
    loss = rng.random(len(total)) < BUSINESS_LOSS_SHARE
    rest = wage + transfer + property_income  # a loss never takes the whole income
    business[loss] = -rng.uniform(0.05, 0.3, int(loss.sum())) * rest[loss]
    return {
        "工资性收入": np.round(wage),
        "生产经营性收入": np.round(business),
        "转移性收入": np.round(transfer),
        "财产性收入": np.round(property_income),
    }


def monitoring_export(rng: np.random.Generator, households: pd.DataFrame) -> pd.DataFrame:
    """The households (in the standard fields) as the monitoring system exports them."""
    category = households["category"].to_numpy(dtype=object)
    kind = np.where(rng.random(len(category)) < LIFTED_SHARE, "脱贫户", "一般农户")
    kind = np.where(np.isin(category, ["unstable", "hardship"]), "脱贫户", kind)
    kind = np.where(category == "marginal", "一般农户", kind)
    housing = households["housing"].map(HOUSING_LABELS).to_numpy(dtype=object)
    housing[rng.random(len(housing)) < OTHER_HOUSING_SHARE] = OTHER_HOUSING
    insured = households["insured"].astype(str).str.lower() == "true"
    lon, lat = wgs84_to_gcj02(households["lon"].to_numpy(float), households["lat"].to_numpy(float))
    located = np.isfinite(lon) & np.isfinite(lat)
    picked = np.where(located, [f"{a:.6f},{b:.6f}" for a, b in zip(lon, lat, strict=True)], "")
    return pd.DataFrame(
        {
            "序号": np.arange(1, len(households) + 1),
            "户编号": households["household_id"].to_numpy(),
            "村代码": households["village_code"].to_numpy(),
            "户类型": kind,
            "监测对象类别": [CATEGORY_LABELS[c] for c in category],
            "家庭人口数": households["members"].to_numpy(),
            "住房结构": housing,
            "是否参加农业保险": np.where(insured, "已参保", "未参保"),
            **{k: v.astype(np.int64) for k, v in _amounts(rng, households).items()},
            "经纬度": picked,
        }
    )


def business_split(rng: np.random.Generator, households: pd.DataFrame) -> pd.DataFrame:
    """A per-village split of business income (village_code, crop, orchard, livestock,
    other), from the villages' own mix, for most villages; rows sum to 1 exactly."""
    parts = households[["share_crop", "share_orchard", "share_livestock", "share_other"]]
    parts = parts.assign(share_other=parts["share_other"] * (1 - PROPERTY_PART))
    mix = parts.groupby(households["village_code"], sort=True).sum()
    mix = mix.div(mix.sum(axis=1), axis=0).round(2)
    mix.columns = list(BUSINESS_PARTS)
    mix["other"] = (1.0 - mix[["crop", "orchard", "livestock"]].sum(axis=1)).round(2)
    listed = rng.random(len(mix)) < SPLIT_LISTED
    return mix[listed & (mix["other"] >= 0)].reset_index()


def write_export(table: pd.DataFrame, folder: Path) -> Path:
    """households.xlsx (a notes sheet, then the table under a title row), or households.csv
    (UTF-8 with BOM, the same title row and header) when it has more rows than a
    worksheet holds."""
    if len(table) + ROWS_ABOVE_DATA > EXCEL_MAX_ROWS:
        path = folder / "households.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            fh.write(TITLE + "\r\n")
            table.to_csv(fh, index=False, lineterminator="\r\n")
        return path
    import xlsxwriter  # type: ignore[import-untyped]

    path = folder / "households.xlsx"
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    book.set_properties({"created": FIXED_DATE})  # the same seed writes the same bytes
    notes = book.add_worksheet(NOTES_SHEET)
    for row, line in enumerate(NOTES):
        notes.write_string(row, 0, line)
    sheet = book.add_worksheet(SHEET)
    sheet.write_string(0, 0, TITLE)
    sheet.write_row(1, 0, list(table.columns))
    for row, values in enumerate(table.itertuples(index=False, name=None), start=2):
        sheet.write_row(row, 0, values)
    book.close()
    return path
