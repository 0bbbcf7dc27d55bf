"""Income as the monitoring system records it: net amounts per household (or person), by
source, turned into the model's per-person income and income shares.

income_pc is the sum of the amounts per person; each share is the positive part of an
amount over the sum of the positive amounts (a net business loss takes no share, but
lowers the income). Property income counts as ``other``. Business income (生产经营性收入)
is split into crop, orchard, livestock and other by the county's own estimate: one split
for the county, or one per village from a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hazardmap.config import SPLIT_TOLERANCE
from hazardmap.errors import InputError
from hazardmap.io.tables import TableLayout, read_table
from hazardmap.problems import names_summary, rows_summary
from hazardmap.vocabulary import BUSINESS_PARTS, INCOME_COMPONENTS, INCOME_FIELDS

KEY = "[households.income] business_split_path"


def read_business_split(path: Path) -> pd.DataFrame:
    """A per-village business split: village_code and the parts crop, orchard, livestock,
    other (a missing part column is 0), each row summing to 1; indexed by village_code."""
    table = read_table(path, role="business split", key=KEY, layout=TableLayout(section=None))
    frame = table.frame
    missing = [c for c in ("village_code",) if c not in frame.columns]
    parts = [p for p in BUSINESS_PARTS if p in frame.columns]
    if missing or not parts:
        raise InputError(
            f"{path}: expected the columns village_code and some of {list(BUSINESS_PARTS)} "
            f"(the file has {names_summary(list(frame.columns))}); rename the columns"
        )
    problems = []
    values = np.zeros((len(frame), len(BUSINESS_PARTS)))
    for j, part in enumerate(BUSINESS_PARTS):
        if part not in frame.columns:
            continue
        column = pd.to_numeric(frame[part], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(column) | (column < 0) | (column > 1)
        if bad.any():
            problems.append(
                f"{path}: column '{part}': expected a share between 0 and 1 at "
                f"{rows_summary(table.lines[bad], frame[part][bad].tolist())}; correct them"
            )
        values[:, j] = column
    sums = values.sum(axis=1)
    off = np.isfinite(sums) & (np.abs(sums - 1.0) > SPLIT_TOLERANCE)
    if off.any():
        problems.append(
            f"{path}: the parts add up to {sums[off][0]:g}, not 1, at "
            f"{rows_summary(table.lines[off], [round(float(s), 4) for s in sums[off]])}; "
            "each village's crop, orchard, livestock and other shares must sum to 1"
        )
    codes = frame["village_code"].str.strip()
    repeated = codes.duplicated(keep=False).to_numpy()
    if repeated.any():
        problems.append(
            f"{path}: village_code repeated at "
            f"{rows_summary(table.lines[repeated], codes[repeated].tolist())}; give each "
            "village one row"
        )
    if problems:
        raise InputError(*problems)
    return pd.DataFrame(values, index=pd.Index(codes, name="village_code"), columns=BUSINESS_PARTS)


def household_splits(
    village_code: np.ndarray,
    county: Mapping[str, float] | None,
    by_village: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each household's business split (n x 4, in BUSINESS_PARTS order): its village's row
    of ``by_village`` where there is one, else the county's split. Also the mask of
    households that have neither."""
    splits = np.full((len(village_code), len(BUSINESS_PARTS)), np.nan)
    if county is not None:
        splits[:] = [county.get(part, 0.0) for part in BUSINESS_PARTS]
    if by_village is not None:
        row = by_village.index.get_indexer(pd.Index(village_code))
        listed = row >= 0
        splits[listed] = by_village.to_numpy()[row[listed]]
    return splits, np.isnan(splits).any(axis=1)


def derive_income(
    amounts: Mapping[str, np.ndarray],
    members: np.ndarray,
    per: str,
    splits: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """income_pc and the share_* columns from net amounts (``amounts`` by INCOME_FIELDS
    name; a missing source is 0). ``per`` says whether the amounts are per household or
    per person. Callers ensure the total is positive."""
    n = len(members)
    full = {k: np.asarray(amounts.get(k, np.zeros(n)), dtype=np.float64) for k in INCOME_FIELDS}
    total = np.sum([full[k] for k in INCOME_FIELDS], axis=0)
    income_pc = total / members if per == "household" else total
    positive = {k: np.maximum(full[k], 0.0) for k in INCOME_FIELDS}
    gross = np.sum(list(positive.values()), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = {k: positive[k] / gross for k in INCOME_FIELDS}
    business = fraction["business"][:, None] * splits
    part = dict(zip(BUSINESS_PARTS, business.T, strict=True))
    shares = {
        "crop": part["crop"],
        "orchard": part["orchard"],
        "livestock": part["livestock"],
        "wage": fraction["wage"],
        "transfer": fraction["transfer"],
        "other": part["other"] + fraction["property"],
    }
    assert set(shares) == set(INCOME_COMPONENTS)
    return income_pc, {f"share_{c}": shares[c] for c in INCOME_COMPONENTS}
