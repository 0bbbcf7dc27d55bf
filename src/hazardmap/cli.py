"""The command line: parse, call the library, turn its errors into one-line messages.

Exit codes: 0 success, 1 bad input or configuration, 2 wrong usage (click's own).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hazardmap.errors import HazardmapError


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _progress_display(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is piped or captured."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def report(stage: str, index: int, total: int) -> None:
            bar.update(task, description=stage, completed=index, total=total)

        yield report


def _fail(exc: HazardmapError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _warn(messages: Sequence[str]) -> None:
    for message in messages:
        click.echo(f"warning: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hazardmap", prog_name="hazardmap")
def main() -> None:
    """hazardmap: which households may fall back into poverty because of landslides,
    droughts and hail, and where an intervention avoids most of it."""


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("hazardmap.toml"),
    show_default=True,
    help="The project file.",
)


MAX_DEMO_HOUSEHOLDS = 2_000_000
"""demo-data's --households bound: more than any county has. Past 1,048,574 the table is
CSV, not a workbook (1,100,000 households: 23 s and 1.4 GB to write, measured)."""


@main.command("demo-data")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/raw"),
    show_default=True,
    help="Folder for the demo county's raw data. Files of the same names are overwritten "
    "only if an earlier demo-data run wrote them (its .hazardmap-demo-data marker is there).",
)
@click.option(
    "--households",
    type=click.IntRange(min=1, max=MAX_DEMO_HOUSEHOLDS),
    default=30_000,
    show_default=True,
    help="Number of households.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=620826,
    show_default=True,
    help="Random seed (0 or more).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write the files even when OUT holds them already, unchanged, as these options "
    "and this version write them (without it, nothing is written then).",
)
def demo_data(out: Path, households: int, seed: int, force: bool) -> None:
    """Write the demo county's raw data.

    Villages (EPSG:4544); the households as the poverty-monitoring system exports them
    (households.xlsx: a title row, Chinese headers and labels, income amounts, one GCJ-02
    经纬度 column; households.csv past a worksheet's 1,048,576 rows); business_split.csv;
    and hazard rasters in three CRSs and grids. The same seed gives the same files.
    Refuses to overwrite files it did not write. When OUT already holds this demo data,
    unchanged, nothing is written (--force writes it again)."""
    from hazardmap.demo import write_demo_data, written_before

    before = None if force else written_before(out, households=households, seed=seed)
    try:
        written = before or write_demo_data(out, households=households, seed=seed, force=True)
    except HazardmapError as exc:
        _fail(exc)
    if before:
        click.echo(
            f"{out} holds this demo data already (seed {seed}, {households:,} households, "
            "each file unchanged): nothing written; --force writes it again",
            err=True,
        )
    for path in written.values():
        click.echo(str(path))
    if written["households"].suffix == ".csv":
        click.echo(
            f"note: {households:,} households are more rows than a worksheet holds, so they "
            f"are in {written['households'].name}: in the project file set [households] "
            f'path = "{written["households"].as_posix()}" and remove the sheet key',
            err=True,
        )


@main.command("init")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="The county's name, for the map and the report.")
def init(folder: Path, name: str | None) -> None:
    """Write a new county's project folder into DIR (created if need be).

    The project file, layer files for landslide, drought and hail, an example event file
    (events/hail-example.toml) and data/raw/README.md
    on what to put there; every key described, optional keys commented out. --name
    defaults to DIR's name. Refuses a folder that holds any of these files already."""
    from hazardmap.scaffold import init_project, next_step

    try:
        written = init_project(folder, name)
    except HazardmapError as exc:
        _fail(exc)
    for path in written:
        click.echo(str(path))
    click.echo(next_step(folder))


compare_option = click.option(
    "--compare-to",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder of an earlier run to compare with, e.g. outputs/2023 (default: the "
    "project file's [changes] baseline, else the previous run in the output folder).",
)


@main.command()
@config_option
@compare_option
@click.option(
    "--event",
    "event_file",
    type=click.Path(path_type=Path),
    default=None,
    help="An event file: check it, its footprint and the villages and households it "
    "reads (instead of the project's layers).",
)
def validate(config_path: Path, compare_to: Path | None, event_file: Path | None) -> None:
    """Check the project and every input, and report every problem at once.

    Nothing is written and no risk is computed. Exits 0 when everything can be used
    (warnings are printed), 1 when there is any error. The baseline a run would compare
    with (--compare-to, else [changes] baseline) is checked too; with --event, the event
    file and its footprint instead of the layers."""
    from hazardmap.event.pipeline import validate_event
    from hazardmap.pipeline import validate as validate_inputs

    if event_file is not None:
        report = validate_event(event_file, config_path)
    else:
        report = validate_inputs(config_path, compare_to=compare_to)
    for problem in report.errors:
        click.echo(f"error: {problem}", err=True)
    _warn(report.warnings)
    click.echo(
        f"{config_path}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        + ("" if report.errors else "; valid")
    )
    if report.errors:
        sys.exit(1)


@main.command()
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default: [outputs] dir of the project file). It must be new, "
    "empty, or one an earlier run wrote: a run replaces it whole.",
)
@compare_option
def run(config_path: Path, out: Path | None, compare_to: Path | None) -> None:
    """Run the pipeline: risk tables, priorities, changes, manifest and map.

    Writes villages.gpkg, villages.csv, households.csv, priorities.csv, changes.csv,
    household_changes.csv, manifest.json, map.html and report.html (with its figures) into
    a new folder, and moves it into place only when every file is complete. changes.csv
    and household_changes.csv compare the run with --compare-to, else with [changes]
    baseline, else with the previous run in the output folder. Bad input stops the run
    with one line before anything is written."""
    from hazardmap.outputs.summary import run_summary
    from hazardmap.pipeline import run as run_pipeline

    try:
        with _progress_display(_stderr_is_terminal()) as progress:
            result: Any = run_pipeline(config_path, out, compare_to=compare_to, progress=progress)
    except HazardmapError as exc:
        _fail(exc)
    _warn(result.warnings)
    for line in run_summary(result):
        click.echo(line)
    click.echo(f"map: {result.out_dir / 'map.html'}")


@contextmanager
def _runs_display(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar of the model runs done, with the time left; nothing when
    output is piped or captured."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("model runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("runs", total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield report


@main.command()
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default: uncertainty beside the project's [outputs] folder). It "
    "must be new, empty, or one an earlier uncertainty run wrote.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=None,
    help="Base samples (Sobol: a power of 2; N (D + 2) model runs for D parameters) or "
    "Morris trajectories, over [uncertainty] samples.",
)
@click.option(
    "--method",
    type=click.Choice(["sobol", "morris"]),
    default=None,
    help="Sobol indices (S1, ST) or Morris screening (mu*, sigma), over [uncertainty] method.",
)
def uncertainty(
    config_path: Path, out: Path | None, samples: int | None, method: str | None
) -> None:
    """How sure are we: the model re-run on the stored overlays for samples of the
    parameters [uncertainty.parameters] declares uncertain.

    Writes villages_uncertainty.csv (each village's expected returns at the 5th, 50th and
    95th percentiles, and p_top_k: how often it is among the top_k villages),
    priorities_robustness.csv (with a budget: how often the greedy choice takes each pair,
    p_chosen, beside chosen), sensitivity.csv (Sobol S1 and ST, or Morris mu* and sigma,
    of the county's expected returns and of the returns the chosen portfolio avoids),
    report.html and manifest.json. The rasters are read once; the runs use every core, or
    a dask.distributed cluster when a client is active."""
    from hazardmap.uncertainty.pipeline import run_uncertainty

    try:
        with _runs_display(_stderr_is_terminal()) as progress:
            result: Any = run_uncertainty(
                config_path, out, samples=samples, method=method, progress=progress
            )
    except HazardmapError as exc:
        _fail(exc)
    _warn(result.warnings)
    found = result.uncertainty
    p5, p50, p95 = result.uncertainty.spread_percentiles()
    runs, varied = result.uncertainty.model_runs(), len(found.design.varied)
    click.echo(
        f"{runs:,} model run{'' if runs == 1 else 's'} ({found.design.method}, "
        f"{varied} parameter{'' if varied == 1 else 's'} varied); "
        f"expected returns a year: {found.point.village_returns.sum():.1f} as configured, "
        f"{p5:.1f} / {p50:.1f} / {p95:.1f} at the 5th / 50th / 95th percentile"
    )
    click.echo(f"report: {result.out_dir / 'report.html'}")


@main.command()
@click.argument("event_file", metavar="EVENT_FILE", type=click.Path(path_type=Path))
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default: events/<name> beside the project's [outputs] folder). It "
    "must be new, empty, or one an earlier event run wrote.",
)
def event(event_file: Path, config_path: Path, out: Path | None) -> None:
    """One event that has happened: the households to check today, and the villages.

    EVENT_FILE names the hazard (a layer of the project), the date and the footprint
    (polygons, optionally with an intensity field, or a raster of intensity). Writes
    leads.xlsx and leads.csv (households whose risk of falling back given this event
    reaches lead_threshold, best first), event_households.csv, event_villages.csv and
    .gpkg, map.html, summary.html (one printable page) and manifest.json. Every figure
    is given this event, never per year."""
    from hazardmap.event.pipeline import run_event

    try:
        result: Any = run_event(event_file, config_path, out)
    except HazardmapError as exc:
        _fail(exc)
    _warn(result.warnings)
    villages = result.villages
    click.echo(
        f"{result.event.spec.caption}: {int(villages['households_in_footprint'].sum()):,} "
        f"households in the footprint; expected returns given this event: "
        f"{villages['expected_returns'].sum():.1f}; leads: {len(result.leads):,}; need: "
        f"{villages['need_cny'].sum():,.0f} CNY; villages at scale: "
        f"{int(villages['at_scale'].sum())}"
    )
    click.echo(f"leads: {result.out_dir / 'leads.xlsx'}")
    click.echo(f"map: {result.out_dir / 'map.html'}")
