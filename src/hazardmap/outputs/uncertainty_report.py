"""report.html of an uncertainty analysis."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hazardmap.uncertainty.pipeline import UncertaintyResult


def write_uncertainty_report(result: UncertaintyResult, folder: Path, created: str) -> None:
    """report.html into ``folder``."""
    found = result.uncertainty
    body = found.indices.to_html(index=False)
    title = html.escape(result.config.settings.project.name)
    (folder / "report.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>{title}</title>"
        f"<h1>How sure are we?</h1><p>{created}</p>{body}",
        encoding="utf-8",
    )
