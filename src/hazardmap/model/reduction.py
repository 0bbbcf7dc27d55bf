"""A cube's reduction to one value a year and cell: the months and years kept, the
aggregate within a year, the reduction across years (docs/model.md, "Hazard sources")."""

from __future__ import annotations

import re
from dataclasses import dataclass

ACROSS = re.compile(
    r"^(?P<kind>share_below|share_above)\((?P<t>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\)$"
)


@dataclass(frozen=True)
class Reduction:
    """How a cube becomes one value per cell: the months and years kept, the aggregate
    within a year, and the reduction across years (``mean``, ``share_below(t)``,
    ``share_above(t)``)."""

    within_year: str
    across_years: str
    months: tuple[int, ...] | None = None
    years: tuple[int, int] | None = None

    def across(self) -> tuple[str, float | None]:
        """The reduction across years and its threshold (None for the mean)."""
        if self.across_years == "mean":
            return "mean", None
        match = ACROSS.match(self.across_years.replace(" ", ""))
        if match is None:
            raise ValueError(
                f"across_years = '{self.across_years}': expected mean, share_below(t) or "
                "share_above(t), e.g. share_below(-1.5)"
            )
        return match["kind"], float(match["t"])

    def describe(self, variable: str) -> str:
        """One sentence on how the layer's values were derived."""
        months = (
            "every month"
            if self.months is None
            else "months " + ", ".join(str(m) for m in self.months)
        )
        years = "every complete year" if self.years is None else f"{self.years[0]}-{self.years[1]}"
        kind, t = self.across()
        across = (
            "the mean over the years"
            if kind == "mean"
            else f"the share of years with a value {'<=' if kind == 'share_below' else '>='} {t:g}"
        )
        return (
            f"{variable}: {months} of {years}, the {self.within_year} within each year, "
            f"then {across}"
        )
