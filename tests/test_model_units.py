"""The model's small decisions on frames built by hand, each expectation worked out in the
comments: the budget choice and the ranking of interventions, the changes between two runs,
a village's hazard level and its dominant hazard. End-to-end runs cover these only through
whatever the tiny project and the demo county happen to contain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazardmap.model.changes import change_columns, compare_runs
from hazardmap.model.interventions import (
    PRIORITY_COLUMNS,
    Intervention,
    choose_within_budget,
    rank_interventions,
)
from hazardmap.model.villages import dominant_hazard, hazard_level


# ------------------------------------------------------------------ the budget choice
def ranked(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """A ranked list as choose_within_budget reads it: (village, hazard, cost), best first."""
    return pd.DataFrame(rows, columns=["village_code", "hazard", "cost_cny"])


def test_the_budget_is_spent_greedily_down_the_ranked_list() -> None:
    table = ranked(
        ("A", "slope", 400.0),  # 400 <= 1000: taken, 600 left
        ("B", "slope", 600.01),  # a cent more than the 600 left: skipped
        ("A", "hail", 250.0),  # cheaper and later: taken, 350 left
        ("A", "slope", 100.0),  # fits, but A has a slope measure already: skipped
        ("C", "slope", 350.0),  # exactly the 350 left: taken, 0 left
        ("D", "hail", 0.01),  # nothing left: skipped
    )
    chosen = choose_within_budget(table, 1000.0)
    assert chosen.dtype == bool
    assert chosen.tolist() == [True, False, True, False, True, False]


def test_a_measure_costing_exactly_the_whole_budget_is_taken() -> None:
    # 5000 <= 5000: taken; the next one (1 CNY) no longer fits in the 0 left
    table = ranked(("A", "slope", 5000.0), ("B", "slope", 1.0))
    assert choose_within_budget(table, 5000).tolist() == [True, False]


def test_a_skipped_measure_spends_nothing() -> None:
    # 700 > 600: skipped, and the 600 stay for the next, which costs exactly that
    table = ranked(("A", "slope", 700.0), ("B", "hail", 600.0))
    assert choose_within_budget(table, 600.0).tolist() == [False, True]


def test_a_measure_costing_exactly_the_remaining_budget_in_fen_is_taken() -> None:
    # 1000.30 of 3000.70: taken, 2000.40 left; 2000.40 is exactly what is left: taken
    table = ranked(("A", "slope", 1000.30), ("B", "slope", 2000.40))
    assert choose_within_budget(table, 3000.70).tolist() == [True, True]


def test_without_a_budget_nothing_is_chosen() -> None:
    table = ranked(("A", "slope", 1.0), ("B", "hail", 2.0))
    assert choose_within_budget(table, None).tolist() == [False, False]
    assert choose_within_budget(ranked(), None).tolist() == []
    # a budget of 0 is a budget: nothing fits (1 > 0), nothing is chosen either
    assert choose_within_budget(table, 0.0).tolist() == [False, False]


# ------------------------------------------------------------------ the ranking
VILLAGES = pd.DataFrame(
    {
        "village_code": ["A", "B", "C"],
        "name": ["甲村", "乙村", "丙村"],
        "n_households": [10, 20, 5],
    }
)
WALLS = Intervention(name="walls", hazard="slope", cost_per_household=1000.0)
TERRACES = Intervention(name="terraces", hazard="slope", cost_per_household=500.0)
NETS = Intervention(name="nets", hazard="hail", cost_per_household=2000.0)


def avoided(**columns: list[float]) -> pd.DataFrame:
    """Returns avoided per village (rows A, B, C) and intervention (one column each)."""
    return pd.DataFrame(columns, index=range(3))


def test_interventions_are_ranked_by_effectiveness_then_as_the_code_breaks_ties() -> None:
    # cost = cost per household x households; effectiveness = avoided / (cost / 1e6):
    #   walls A    30 / (10 x 1000 = 10,000 / 1e6) = 3000
    #   walls B    60 / (20 x 1000 = 20,000 / 1e6) = 3000  same; more returns avoided: first
    #   walls C     0                                       not listed
    #   terraces A  5 / (10 x  500 =  5,000 / 1e6) = 1000
    #   terraces B  0.5 / (20 x 500 = 10,000 / 1e6) = 50
    #   terraces C  1 / ( 5 x  500 =  2,500 / 1e6) =  400
    #   nets A     20 / (10 x 2000 = 20,000 / 1e6) = 1000  before terraces A: 20 > 5 avoided
    #   nets B     -3                                      not listed (not > 0)
    #   nets C      5 / ( 5 x 2000 = 10,000 / 1e6) =  500
    # ties on effectiveness go to more returns avoided, then the village code, then the
    # intervention's name (both ascending)
    table = rank_interventions(
        avoided(walls=[30.0, 60.0, 0.0], terraces=[5.0, 0.5, 1.0], nets=[20.0, -3.0, 5.0]),
        [WALLS, TERRACES, NETS],
        VILLAGES,
        None,
    )
    assert list(table.columns) == PRIORITY_COLUMNS
    assert table["rank"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    pairs = list(zip(table["village_code"], table["intervention"], strict=True))
    assert pairs == [
        ("B", "walls"),
        ("A", "walls"),
        ("A", "nets"),
        ("A", "terraces"),
        ("C", "nets"),
        ("C", "terraces"),
        ("B", "terraces"),
    ]
    assert table["effectiveness"].tolist() == pytest.approx([3000, 3000, 1000, 1000, 500, 400, 50])
    assert table["cost_cny"].tolist() == [20000, 10000, 20000, 5000, 10000, 2500, 10000]
    assert table["households"].tolist() == [20, 10, 10, 10, 5, 5, 20]
    assert table["hazard"].tolist() == ["slope", "slope", "hail", "slope", "hail", "slope", "slope"]
    assert table["name"].tolist() == ["乙村", "甲村", "甲村", "甲村", "丙村", "丙村", "乙村"]
    assert not table["chosen"].any()  # no budget: nothing chosen


def test_equal_effectiveness_and_returns_go_by_village_code_then_intervention() -> None:
    # every pair: 10 / (10 households x 1000 / 1e6) = 1000, 10 avoided: a full tie, broken by
    # the village code (A before B), then the intervention's name (nets before walls)
    villages = VILLAGES.assign(n_households=[10, 10, 10])
    nets = Intervention(name="nets", hazard="hail", cost_per_household=1000.0)
    table = rank_interventions(
        avoided(walls=[10.0, 10.0, 0.0], nets=[10.0, 10.0, 0.0]),
        [WALLS, nets],
        villages,
        None,
    )
    pairs = list(zip(table["village_code"], table["intervention"], strict=True))
    assert pairs == [("A", "nets"), ("A", "walls"), ("B", "nets"), ("B", "walls")]


def test_the_budget_takes_one_measure_per_village_and_hazard_down_the_ranking() -> None:
    # ranked as in the test above: walls B 20,000, walls A 10,000, nets A 20,000,
    # terraces A 5,000, nets C 10,000, terraces C 2,500, terraces B 10,000
    # budget 42,500:
    #   walls B     20,000 <= 42,500: chosen, 22,500 left
    #   walls A     10,000 <= 22,500: chosen, 12,500 left
    #   nets A      20,000 >  12,500: not chosen
    #   terraces A   5,000 fits, but A has a slope measure (walls): not chosen
    #   nets C      10,000 <= 12,500: chosen, 2,500 left
    #   terraces C   2,500 == 2,500 left: chosen, 0 left
    #   terraces B  B has walls on slope, and nothing is left: not chosen
    table = rank_interventions(
        avoided(walls=[30.0, 60.0, 0.0], terraces=[5.0, 0.5, 1.0], nets=[20.0, -3.0, 5.0]),
        [WALLS, TERRACES, NETS],
        VILLAGES,
        42_500.0,
    )
    chosen = table.loc[table["chosen"], ["village_code", "intervention"]]
    assert list(map(tuple, chosen.to_numpy())) == [
        ("B", "walls"),
        ("A", "walls"),
        ("C", "nets"),
        ("C", "terraces"),
    ]
    assert table["chosen"].tolist() == [True, True, False, False, True, True, False]
    assert table.loc[table["chosen"], "cost_cny"].sum() == 42_500


def test_nothing_avoided_is_not_listed() -> None:
    # 0, negative and NaN returns avoided are all "not > 0": an empty table with the columns
    table = rank_interventions(avoided(walls=[0.0, -1.0, np.nan]), [WALLS], VILLAGES, budget=1e9)
    assert list(table.columns) == PRIORITY_COLUMNS
    assert len(table) == 0


# ------------------------------------------------------------------ changes between runs
HAZARDS = ("slope", "dry")


def villages_table(*rows: tuple[str, str, int, int, int, float]) -> pd.DataFrame:
    """(code, name, risk class, slope level, dry level, expected returns) per village."""
    columns = ["village_code", "name", "risk_class", "slope_level", "dry_level"]
    return pd.DataFrame(rows, columns=[*columns, "expected_returns"])


PREVIOUS = villages_table(
    ("A", "甲村", 2, 1, 1, 10.0),
    ("B", "乙村", 1, 2, 1, 10.0),
    ("C", "丙村", 3, 3, 2, 20.0),
    ("D", "丁村", 1, 1, 1, 2.0),
)
CURRENT = villages_table(
    ("A", "甲村新", 3, 1, 1, 14.0),  # class 2 -> 3 (renamed too): changed, +4
    ("B", "乙村", 1, 3, 1, 4.0),  # slope level 2 -> 3: changed, -6
    ("C", "丙村", 3, 3, 2, 25.0),  # class and levels as before: not listed, whatever its +5
    ("E", "戊村", 2, 2, 1, 7.0),  # new: old values NaN, change NaN
)  # D is gone: removed, new values NaN, change NaN


def values(rows: pd.DataFrame, code: str, columns: list[str]) -> list[object]:
    """One village's values in ``columns`` of a change table indexed by village_code."""
    return [rows.at[code, column] for column in columns]


def test_changed_new_and_removed_villages_are_listed_and_unchanged_ones_are_not() -> None:
    table = compare_runs(PREVIOUS, CURRENT, HAZARDS)
    assert list(table.columns) == change_columns(HAZARDS)
    # sorted by the absolute change: B (-6) before A (+4); NaN changes last, in the order
    # the codes were met (the current table's first, then the previous table's): E, D
    assert table["village_code"].tolist() == ["B", "A", "E", "D"]
    assert table["status"].tolist() == ["changed", "changed", "new", "removed"]
    rows = table.set_index("village_code")
    assert rows.at["A", "name"] == "甲村新"  # the current name of a village in both
    assert rows.at["D", "name"] == "丁村"  # the last name of a removed one
    assert values(rows, "A", ["old_risk_class", "new_risk_class"]) == [2, 3]
    assert values(rows, "B", ["old_slope_level", "new_slope_level"]) == [2, 3]
    assert values(rows, "B", ["old_dry_level", "new_dry_level"]) == [1, 1]
    assert rows.at["A", "change_expected_returns"] == 4.0  # 14 - 10
    assert rows.at["B", "change_expected_returns"] == -6.0  # 4 - 10


def test_new_and_removed_villages_have_nan_on_the_side_they_are_missing() -> None:
    rows = compare_runs(PREVIOUS, CURRENT, HAZARDS).set_index("village_code")
    tracked = ["risk_class", "slope_level", "dry_level", "expected_returns"]
    # E is new: every old value NaN, every new one as in the current table; its change NaN
    assert all(pd.isna(values(rows, "E", [f"old_{c}" for c in tracked])))
    assert values(rows, "E", [f"new_{c}" for c in tracked]) == [2, 2, 1, 7.0]
    # D was removed: the other way round
    assert values(rows, "D", [f"old_{c}" for c in tracked]) == [1, 1, 1, 2.0]
    assert all(pd.isna(values(rows, "D", [f"new_{c}" for c in tracked])))
    assert all(pd.isna(rows.at[code, "change_expected_returns"]) for code in ("E", "D"))


def test_nothing_changed_gives_an_empty_table_with_the_columns() -> None:
    table = compare_runs(PREVIOUS, PREVIOUS.copy(), HAZARDS)
    assert len(table) == 0
    assert list(table.columns) == change_columns(HAZARDS)


def test_a_hazard_added_since_shows_no_old_level() -> None:
    # the previous run had no dry layer: its table lacks dry_level. A's class changed, so A
    # is listed, with the old dry level NaN (blank) beside the new one
    previous = PREVIOUS.drop(columns="dry_level")
    rows = compare_runs(previous, CURRENT, HAZARDS).set_index("village_code")
    assert rows.at["A", "status"] == "changed"
    assert pd.isna(rows.at["A", "old_dry_level"]) and rows.at["A", "new_dry_level"] == 1


def test_a_hazard_added_since_does_not_by_itself_change_every_village() -> None:
    # C's class and slope level are as before; only the dry level is new (no previous value
    # to differ from): C should not be listed
    previous = PREVIOUS.drop(columns="dry_level")
    table = compare_runs(previous, CURRENT, HAZARDS)
    assert "C" not in table["village_code"].tolist()
    assert table["village_code"].tolist() == ["B", "A", "E", "D"]


# ------------------------------------------------------------------ hazard levels
def test_hazard_level_is_the_highest_break_covering_the_minimum_share() -> None:
    shares = np.array(
        [
            [0.10, 0.00, 0.00],  # exactly min_share at or above break 1: level 2
            [np.nextafter(0.10, 0), 0.0, 0.0],  # just below it: nothing reached, level 1
            [0.00, 0.00, 0.50],  # only the highest break reached (not possible in real
            #                      shares, which fall with the break): level 4 all the same
            [0.60, 0.30, 0.10],  # all three reached, the last exactly: level 4
            [0.60, 0.30, 0.05],  # breaks 1 and 2: level 3
            [0.60, 0.30, 0.10],  # as row 3, but no data: 0
            [0.00, 0.00, 0.00],  # data, nothing reached: level 1 (the lowest, not 0)
        ]
    )
    has_data = np.array([True, True, True, True, True, False, True])
    level = hazard_level(shares, has_data, 0.10)
    assert level.dtype == np.int8
    assert level.tolist() == [2, 1, 4, 4, 3, 0, 1]


def test_hazard_level_without_data_is_zero_whatever_the_shares() -> None:
    shares = np.ones((2, 3))
    assert hazard_level(shares, np.array([False, False]), 0.5).tolist() == [0, 0]
    assert hazard_level(np.zeros((0, 3)), np.zeros(0, dtype=bool), 0.1).tolist() == []


# ------------------------------------------------------------------ the dominant hazard
def test_the_dominant_hazard_has_the_largest_expected_returns() -> None:
    names = ["slope", "dry", "hail"]
    expected = np.array(
        [
            [1.0, 3.0, 2.0],  # dry
            [0.0, 0.0, 0.5],  # hail, the others zero
            [2.0, 2.0, 1.0],  # a tie: np.argmax takes the first, i.e. the hazard named
            #                   first (the configuration's order): slope
            [0.0, 4.0, 4.0],  # a tie again: dry, the first of the two
            [0.0, 0.0, 0.0],  # no expected returns at all: ''
        ]
    )
    assert dominant_hazard(expected, names).tolist() == ["dry", "hail", "slope", "dry", ""]


def test_without_hazards_no_village_has_a_dominant_one() -> None:
    assert dominant_hazard(np.zeros((3, 0)), []).tolist() == ["", "", ""]
    assert dominant_hazard(np.zeros((0, 2)), ["slope", "dry"]).tolist() == []
