"""The outputs of an earlier run, read back for the comparison with this one: its village
table, its households' risk classes and its manifest (when it ran, on which inputs).

Two kinds of earlier run: the previous run in the output folder (the default), whose
tables may be missing or unusable (a warning, and nothing to compare with), and a folder
the user named (``[changes] baseline``, ``--compare-to``), which must be a hazardmap output
folder (else an error naming the key or option and the folder).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from hazardmap.errors import InputError, InputFileNotFoundError
from hazardmap.model.changes import HOUSEHOLD_COMPARED
from hazardmap.problems import Problems, names_summary
from hazardmap.results import Baseline
from hazardmap.spreadsheet import restore_formulas

COMPARED = ("village_code", "name", "risk_class", "expected_returns")
"""The columns the comparison needs (hazard levels are compared where both runs have them)."""

TEXT = {"village_code": str, "household_id": str, "name": str}
"""Columns read as text: codes such as 620826001001 or 0012 are not numbers."""

_UNREADABLE = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError)


def _read_csv(path: Path, columns: tuple[str, ...] | None) -> pd.DataFrame | str:
    """A CSV hazardmap wrote (UTF-8 with BOM), its text cells as written (the formula guard
    removed), or why it cannot be compared with. With ``columns``, only those are read
    (households.csv holds a row per household and dozens of columns)."""
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        missing = [c for c in columns or COMPARED if c not in header]
        if missing:
            return f"it lacks the column(s) {names_summary(missing)}"
        table = pd.read_csv(
            path,
            usecols=None if columns is None else list(columns),
            dtype={c: str for c in TEXT if c in header},
            encoding="utf-8-sig",
            keep_default_na=False,  # a code or a name 'NA' is text; blank cells are missing
            na_values=[""],
        )
    except _UNREADABLE:
        return "it is not the UTF-8 CSV hazardmap wrote"
    except OSError as exc:
        return f"it cannot be read: {exc.strerror or exc}"
    return restore_formulas(table)  # codes, ids and names as they were written


def read_previous(folder: Path, problems: Problems | None = None) -> pd.DataFrame | None:
    """The village table of the run that wrote ``folder``, if there is one to read. One
    that cannot be used (edited by hand, saved again by a spreadsheet) is a warning: the
    comparison then has nothing to compare with."""
    path = folder / "villages.csv"
    if not path.is_file():
        return None
    table = _read_csv(path, None)
    if isinstance(table, pd.DataFrame):
        return table
    if problems is not None:
        problems.warn(
            f"{path}: the previous run's village table cannot be compared with ({table}; "
            "edited or saved again by a spreadsheet?), so changes.csv and "
            "household_changes.csv list no changes this time; keep hazardmap's outputs as "
            "they were written"
        )
    return None


def _baseline_fix(source: str) -> str:
    fix = "give the folder an earlier run wrote (e.g. outputs/2023)"
    if "[changes] baseline" in source:
        fix += ", or remove the key to compare with the previous run in the output folder"
    return fix


def check_baseline(folder: Path, source: str, manifest: Manifest | None) -> None:
    """Raise unless ``folder`` is a hazardmap output folder: a manifest.json that hazardmap
    wrote and a villages.csv. ``source`` names where the folder was given (the project
    file's ``[changes] baseline`` or ``--compare-to``), for the message."""
    fix = _baseline_fix(source)
    if not folder.exists():
        raise InputFileNotFoundError(f"{source}: {folder} does not exist; {fix}")
    if not folder.is_dir():
        raise InputError(f"{source}: {folder} is a file, not an output folder; {fix}")
    missing = []
    if not _written_by_hazardmap(manifest):
        missing.append("manifest.json naming the hazardmap version")
    if not (folder / "villages.csv").is_file():
        missing.append("villages.csv")
    if missing:
        raise InputError(
            f"{source}: {folder} is not a hazardmap output folder (it holds no "
            f"{', and no '.join(missing)}); {fix}"
        )


Manifest = tuple[bytes, Any]
"""A manifest.json's bytes (for its digest) and its JSON."""


def _manifest_content(folder: Path) -> Manifest | None:
    """The bytes of ``folder``'s manifest.json and its JSON, or None if it has none that
    can be read."""
    try:
        data = (folder / "manifest.json").read_bytes()
        return data, json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _written_by_hazardmap(manifest: Manifest | None) -> bool:
    """Whether a manifest names the hazardmap version that wrote it."""
    content = None if manifest is None else manifest[1]
    versions = content.get("versions") if isinstance(content, dict) else None
    version = versions.get("hazardmap") if isinstance(versions, dict) else None
    return isinstance(version, str) and bool(version.strip())


def _manifest_facts(
    manifest: Manifest | None,
) -> tuple[str | None, str | None, tuple[dict[str, Any], ...] | None]:
    """When the run ran, its manifest's SHA-256, and its inputs (role, path, sha256); None
    for what its manifest does not say (or without one)."""
    if manifest is None:
        return None, None, None
    data, content = manifest
    digest = hashlib.sha256(data).hexdigest()
    if not isinstance(content, dict):
        return None, digest, None
    created = content.get("created")
    inputs = content.get("inputs")
    listed: tuple[dict[str, Any], ...] | None = None
    if isinstance(inputs, list) and all(
        isinstance(entry, dict) and isinstance(entry.get("role"), str) for entry in inputs
    ):
        listed = tuple(inputs)
    return (created if isinstance(created, str) else None), digest, listed


def _households(folder: Path, problems: Problems) -> pd.DataFrame | None:
    """The earlier run's households (ids, village codes, risk, risk class), or None with a
    warning saying why household_changes.csv lists nothing."""
    path = folder / "households.csv"
    if not path.is_file():
        reason = "it has no households.csv (written by an older hazardmap?)"
    else:
        table = _read_csv(path, HOUSEHOLD_COMPARED)
        if isinstance(table, pd.DataFrame):
            return table
        reason = f"its households.csv cannot be used: {table}"
    problems.warn(
        f"{folder}: the earlier run's households cannot be compared with ({reason}), so "
        "household_changes.csv lists no households this time; compare with an output "
        "folder that holds the households.csv hazardmap wrote"
    )
    return None


def _inconsistency(
    manifest: Manifest | None, villages: pd.DataFrame, households: pd.DataFrame | None
) -> str | None:
    """Why the tables read back are not those the run wrote (cut short, rows lost or
    codes mangled by a spreadsheet), judged by the counts its manifest recorded; None
    when they agree (or the manifest records none)."""
    if villages["village_code"].duplicated().any():
        return "its villages.csv repeats village codes (saved again by a spreadsheet?)"
    content = None if manifest is None else manifest[1]
    counts = content.get("counts") if isinstance(content, dict) else None
    if not isinstance(counts, dict):
        return None
    for name, table in (("villages", villages), ("households", households)):
        recorded = counts.get(name)
        if table is not None and isinstance(recorded, int) and recorded != len(table):
            return (
                f"its {name}.csv holds {len(table):,} rows where its manifest records "
                f"{recorded:,} (cut short or edited?)"
            )
    return None


def read_baseline(
    folder: Path, problems: Problems, *, previous_run: bool, source: str = ""
) -> Baseline | None:
    """The earlier run to compare with. ``previous_run``: the output folder's own previous
    outputs (None when there are none or they cannot be used, with a warning); else a
    folder given by ``source`` (``[changes] baseline`` or ``--compare-to``), which must be
    a hazardmap output folder with a usable villages.csv: else an :class:`InputError`."""
    manifest = _manifest_content(folder)  # None where there is none (or no folder)
    if previous_run:
        villages = read_previous(folder, problems)
        if villages is None:
            return None
    else:
        check_baseline(folder, source, manifest)
        table = _read_csv(folder / "villages.csv", None)
        if not isinstance(table, pd.DataFrame):
            raise InputError(
                f"{source}: {folder / 'villages.csv'} cannot be compared with ({table}; "
                "edited or saved again by a spreadsheet?); give an output folder as "
                "hazardmap wrote it"
            )
        villages = table
    households = _households(folder, problems)
    problem = _inconsistency(manifest, villages, households)
    if problem is not None and previous_run:
        problems.warn(
            f"{folder}: the previous run's outputs cannot be compared with ({problem}), so "
            "changes.csv and household_changes.csv list no changes this time; keep "
            "hazardmap's outputs as they were written"
        )
        return None
    if problem is not None:
        raise InputError(
            f"{source}: {folder} cannot be compared with ({problem}); give an output "
            "folder as hazardmap wrote it"
        )
    created, digest, inputs = _manifest_facts(manifest)
    return Baseline(
        folder=folder,
        previous_run=previous_run,
        villages=villages,
        households=households,
        created=created,
        manifest_sha256=digest,
        inputs=inputs,
    )
