"""The fixed vocabulary of household data: income components, housing types, categories.

Shared by the configuration (to check layer files) and the model (to index arrays).
"""

from __future__ import annotations

INCOME_COMPONENTS: tuple[str, ...] = ("crop", "orchard", "livestock", "wage", "transfer", "other")
"""Components of household income; the household field for component c is ``share_{c}``."""

INSURABLE_COMPONENTS: frozenset[str] = frozenset({"crop", "orchard"})
"""Components whose losses agricultural insurance pays (in part, by ``insurance_cover``)."""

HOUSING_TYPES: tuple[str, ...] = ("earth", "brick_wood", "brick_concrete", "frame", "cave")
"""Housing types; ``cave`` is 窑洞, the loess cave dwellings of the Loess Plateau."""

HOUSING_TITLES: dict[str, str] = {
    "earth": "Earth 土木",
    "brick_wood": "Brick and wood 砖木",
    "brick_concrete": "Brick and concrete 砖混",
    "frame": "Concrete frame 框架",
    "cave": "Cave dwelling 窑洞",
}
"""How the report names each housing type."""

INCOME_FIELDS: tuple[str, ...] = ("wage", "business", "transfer", "property")
"""The monitoring system's net income amounts ([households.income])."""

BUSINESS_PARTS: tuple[str, ...] = ("crop", "orchard", "livestock", "other")
"""The parts of net business income (生产经营性收入) a business split divides it into."""

CATEGORIES: tuple[str, ...] = ("none", "unstable", "marginal", "hardship")
"""Monitoring categories; the labels files use for them are in ``io/labels.py``."""


INCOME_SHARE_FIELDS: tuple[str, ...] = tuple(f"share_{c}" for c in INCOME_COMPONENTS)

HOUSEHOLD_FIELDS: tuple[str, ...] = (
    "household_id",
    "village_code",
    "members",
    "income_pc",
    "category",
    *INCOME_SHARE_FIELDS,
    "housing",
    "insured",
)
"""Standard household fields (coordinates are configured separately and are optional)."""
