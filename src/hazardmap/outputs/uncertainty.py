"""Write an uncertainty analysis's outputs into its folder, atomically: the villages'
percentiles and p_top_k, the pairs' p_chosen (with a budget), the indices, the report
and the manifest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hazardmap.outputs.manifest import configuration, write_manifest
from hazardmap.outputs.staging import staged_folder

if TYPE_CHECKING:
    from hazardmap.results import UncertaintyResult

VILLAGES_FILE = "villages_uncertainty.csv"
PAIRS_FILE = "priorities_robustness.csv"
INDICES_FILE = "sensitivity.csv"
PAIR_COLUMNS = [
    "village_code",
    "name",
    "intervention",
    "hazard",
    "chosen",
    "p_chosen",
    "returns_avoided",
]


def uncertainty_manifest(result: UncertaintyResult) -> dict[str, Any]:
    """The settings and distributions, the parameters varied and held, the runs, the point
    estimate, the inputs (with SHA-256), versions, timings and warnings."""
    config, settings, found = result.config, result.settings, result.uncertainty
    design = found.design
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.settings.project.name,
        "uncertainty": {
            "method": design.method,
            "samples": settings.samples,
            "top_k": settings.top_k,
            "seed": settings.seed,
            "model_runs": found.model_runs(),
            "runs_for_indices": len(found.runs.portfolio),
            "runs_for_percentiles": len(found.spread.portfolio),
            "varied": [v.path.key for v in design.varied],
            "held": {path.key: value for path, value in design.held},
            "parameters": {
                key: distribution.model_dump() for key, distribution in settings.parameters.items()
            },
            "point_estimate": {
                "expected_returns": float(found.point.village_returns.sum()),
                "returns_avoided": float(found.point.avoided[found.point.chosen].sum()),
                "pairs_chosen": int(found.point.chosen.sum()),
            },
            "expected_returns_p5_p50_p95": list(found.spread_percentiles()),
        },
        "inputs": result.recorded_inputs,
        "configuration": configuration(config),
        "versions": dict(result.versions),
        "timings_seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "warnings": list(result.warnings),
    }


def write_uncertainty_outputs(result: UncertaintyResult, target: Path) -> Path:
    """Every output of the analysis, into ``target`` (replaced only when all is written)."""
    from hazardmap.outputs.uncertainty_report import write_uncertainty_report

    found = result.uncertainty
    manifest = uncertainty_manifest(result)
    with staged_folder(target) as folder:
        found.villages.to_csv(folder / VILLAGES_FILE, index=False, encoding="utf-8-sig")
        if result.config.settings.planning.budget_cny is not None:
            found.pairs[PAIR_COLUMNS].to_csv(folder / PAIRS_FILE, index=False, encoding="utf-8-sig")
        found.indices.to_csv(folder / INDICES_FILE, index=False, encoding="utf-8-sig")
        write_uncertainty_report(result, folder, manifest["created"])
        write_manifest(manifest, folder)
    return target
