"""Households as the model sees them: aligned numpy arrays, one entry per household."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazardmap.vocabulary import INCOME_COMPONENTS


@dataclass(frozen=True)
class HouseholdArrays:
    """income: net income per person per year (CNY, > 0); shares: (n, components);
    insured: crops/orchard insured; housing: index into HOUSING_TYPES."""

    income: np.ndarray
    shares: np.ndarray
    insured: np.ndarray
    housing: np.ndarray

    def __post_init__(self) -> None:
        n = self.income.shape[0]
        if self.shares.shape != (n, len(INCOME_COMPONENTS)):
            raise ValueError(
                f"shares must be ({n}, {len(INCOME_COMPONENTS)}), got {self.shares.shape}"
            )
        if self.insured.shape != (n,) or self.housing.shape != (n,):
            raise ValueError("insured and housing must have one entry per household")

    def __len__(self) -> int:
        return int(self.income.shape[0])
