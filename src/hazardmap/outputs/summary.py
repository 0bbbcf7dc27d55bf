"""A run told in a few lines: the figures, the overlay cache, the comparison.

The command line prints these; the wording keeps the cache (which overlays were reused
because their raster and settings are the same as before) apart from the comparison
(which inputs differ from the run compared with), so that the two never read as a
contradiction.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from pathlib import Path

from hazardmap.results import RunResult

VILLAGE_STATUSES = ("changed", "returns_moved", "new", "removed")


def when(created: str | None) -> str:
    """A manifest's ``created`` (ISO 8601, UTC) as a reader writes it."""
    if created is None:
        return "at a time its manifest does not record"
    return created.replace("T", " ").replace("+00:00", " UTC")


def short_path(folder: Path) -> str:
    """``folder`` relative to the current folder when it lies below it, else whole."""
    try:
        relative = os.path.relpath(folder)
    except ValueError:  # another drive
        return str(folder)
    return str(folder) if relative.startswith("..") else relative


def headline(result: RunResult) -> str:
    villages = result.villages
    return (
        f"{len(villages)} villages, {len(result.households)} households; "
        f"expected returns to poverty per year: {villages['expected_returns'].sum():.1f}; "
        f"high-risk households: {int(villages['n_high_risk'].sum())}"
    )


def cache_line(result: RunResult) -> str | None:
    """Which overlays came from the cache; None when none did."""
    if not result.reused_layers:
        return None
    computed = [n for n in result.config.hazard_names if n not in result.reused_layers]
    return (
        f"overlay cache: reused for {', '.join(result.reused_layers)} (the raster's content "
        "and settings are identical to those of an overlay computed before); computed now: "
        f"{', '.join(computed) or 'nothing'}"
    )


def _counted(counts: Mapping[Hashable, int], statuses: tuple[str, ...]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in statuses if counts.get(s))


def comparison_line(result: RunResult) -> str:
    """What the run was compared with, what changed, and which inputs differ."""
    comparison = result.comparison
    if comparison is None:
        return (
            "no earlier run to compare with: changes.csv and household_changes.csv hold "
            "only their headers"
        )
    which = "the previous run" if comparison.previous_run else "the baseline"
    changes = result.changes
    counts = {} if changes is None else changes["status"].value_counts().to_dict()
    listed = len(changes) if changes is not None else 0
    villages = f"{listed} villages listed in changes.csv"
    if listed:
        villages += f" ({_counted(counts, VILLAGE_STATUSES)})"
    households = result.household_changes
    if households is None:
        moved = "households not compared (no usable households.csv there)"
    else:
        status = households["status"].value_counts().to_dict()
        moved = f"{status.get('changed', 0)} households changed risk class"
        extra = _counted(status, ("new", "removed"))
        moved += (f", {extra}" if extra else "") + " (household_changes.csv)"
    if comparison.inputs is None:
        differ = "not recorded by that run"
    else:
        differ = ", ".join(item.role for item in comparison.inputs) or "none"
    return (
        f"compared with {short_path(comparison.folder)} ({which}, run "
        f"{when(comparison.created)}): {villages}; {moved}; inputs that differ: {differ}"
    )


def run_summary(result: RunResult) -> list[str]:
    """The lines the command line prints after a run (before the map's path)."""
    lines = [headline(result), cache_line(result), comparison_line(result)]
    return [line for line in lines if line is not None]
