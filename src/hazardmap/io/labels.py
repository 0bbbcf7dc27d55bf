"""The labels household files use for the fixed vocabularies, mapped onto them.

Built in: the English names, and the labels of the national poverty-monitoring system
(全国防返贫监测信息系统) and the county offices' own spreadsheets. A project adds its file's
labels under ``[households.values]``; they take precedence. Labels are compared as text,
after Unicode NFKC folding (full-width letters and brackets), trimming and case folding.

脱贫户 (lifted out of poverty) and 一般农户 (ordinary farm household) are household types,
not monitoring categories: such a household is monitored only when the system also gives
it a category, so both map to ``none``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

CATEGORY_LABELS: dict[str, str] = {
    "none": "none",
    "": "none",
    "一般户": "none",
    "一般农户": "none",
    "普通农户": "none",
    "脱贫户": "none",
    "非监测户": "none",
    "非监测对象": "none",
    "unstable": "unstable",
    "脱贫不稳定户": "unstable",
    "不稳定户": "unstable",
    "marginal": "marginal",
    "边缘易致贫户": "marginal",
    "边缘户": "marginal",
    "hardship": "hardship",
    "突发严重困难户": "hardship",
    "突发困难户": "hardship",
}

HOUSING_LABELS: dict[str, str] = {
    "earth": "earth",
    "土坯房": "earth",
    "土坯": "earth",
    "土木": "earth",
    "土木结构": "earth",
    "土房": "earth",
    "brick_wood": "brick_wood",
    "砖木": "brick_wood",
    "砖木结构": "brick_wood",
    "brick_concrete": "brick_concrete",
    "砖混": "brick_concrete",
    "砖混结构": "brick_concrete",
    "frame": "frame",
    "框架": "frame",
    "框架结构": "frame",
    "钢混": "frame",
    "钢混结构": "frame",
    "钢筋混凝土结构": "frame",
    "cave": "cave",
    "窑洞": "cave",
    "土窑": "cave",
    "土窑洞": "cave",
    "砖窑": "cave",
    "砖窑洞": "cave",
    "石窑": "cave",
    "石窑洞": "cave",
    "靠崖窑": "cave",
}

INSURED_LABELS: dict[str, bool] = {
    **dict.fromkeys(
        ["true", "1", "yes", "y", "是", "已参保", "参保", "已参加", "已投保", "有"], True
    ),
    **dict.fromkeys(["false", "0", "no", "n", "否", "未参保", "未参加", "未投保", "无"], False),
}
"""An empty cell is not here: it is counted as not insured, with a warning."""

BUILT_IN: dict[str, Mapping[str, Any]] = {
    "category": CATEGORY_LABELS,
    "housing": HOUSING_LABELS,
    "insured": INSURED_LABELS,
}


def fold(label: str) -> str:
    """The form labels are compared in: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", label).strip().casefold()


def vocabulary(field: str, own: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Folded label -> value for ``field`` (category, housing or insured): the built-in
    labels, then the project's own (``[households.values]``), which win."""
    labels = {fold(k): v for k, v in BUILT_IN[field].items()}
    labels |= {fold(k): v for k, v in (own or {}).items()}
    return labels
