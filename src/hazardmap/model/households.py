"""Households as the model sees them: aligned numpy arrays, one entry per household."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS


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

    @classmethod
    def from_table(cls, households: pd.DataFrame) -> HouseholdArrays:
        """The arrays of a household table with the standard columns."""
        return cls(
            income=households["income_pc"].to_numpy(dtype=np.float64),
            shares=households[[f"share_{c}" for c in INCOME_COMPONENTS]].to_numpy(dtype=np.float64),
            insured=households["insured"].to_numpy(dtype=bool),
            housing=pd.Categorical(households["housing"], categories=HOUSING_TYPES).codes.astype(
                np.int64
            ),
        )
