"""Suspicious household coordinates: found, reported by line, handled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import hazardmap


def add_rows(project: Path, rows: list[str]) -> None:
    path = project.parent / "data" / "households.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(rows) + "\n", encoding="utf-8")


def test_swapped_outside_astray_and_shared_coordinates(tiny_project: Path) -> None:
    table = pd.read_csv(
        tiny_project.parent / "data" / "households.csv", dtype=str, keep_default_na=False
    )
    lon_a, lat_a = table.loc[0, "lon"], table.loc[0, "lat"]  # h1, in village A
    add_rows(
        tiny_project,
        [
            f"h6,A,2,9000,none,0.5,0,0,0.5,0,0,earth,false,{lat_a},{lon_a}",  # swapped
            "h7,B,2,9000,none,0.5,0,0,0.5,0,0,earth,false,100.0,30.0",  # far outside
            f"h8,C,2,9000,none,0.5,0,0,0.5,0,0,earth,false,{lon_a},{lat_a}",  # in A, said C
            f"h9,A,2,9000,none,0.5,0,0,0.5,0,0,earth,false,{lon_a},{lat_a}",  # shares h1's point
        ],
    )
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace(
            'path = "data/households.csv"',
            'path = "data/households.csv"\nvillage_tolerance_m = 100\nduplicate_threshold = 3',
        ),
        encoding="utf-8",
    )
    result = hazardmap.run(tiny_project)
    flags = result.households.set_index("household_id")["location_flag"]
    assert flags["h6"] == "swapped;duplicate"  # swapped back, it lands on h1's point
    assert flags["h7"] == "outside_county"
    assert "outside_village" in flags["h8"]
    assert set(flags[["h1", "h9"]]) == {"duplicate"} and "duplicate" in flags["h8"]
    assert flags[["h2", "h3", "h4", "h5"]].tolist() == ["", "", "", ""]
    households = result.households.set_index("household_id")
    # swapped back: h6 reads the same cell as h1; h7 falls back to its village
    assert households.loc["h6", "slope_value"] == households.loc["h1", "slope_value"]
    assert households.loc["h6", "location_source"] == "gps"
    assert households.loc["h7", "location_source"] == "village"
    assert (
        households.loc["h7", "slope_value"]
        == result.villages.set_index("village_code").loc["B", "slope_mean"]
    )
    warnings = " | ".join(result.warnings)
    assert "1 households had longitude and latitude swapped; swapped back (line 7)" in warnings
    assert "1 households lie outside the county" in warnings and "(line 8)" in warnings
    assert "1 households lie more than 100 m outside their declared village" in warnings
    assert "4 households share 1 point(s)" in warnings
    assert np.isnan(households.loc["h7", "lon"])
