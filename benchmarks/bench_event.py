"""One event over a third of the demo county: the command from start to leads.xlsx, and
its compute part alone.

    python benchmarks/bench_event.py [--sizes 30000 300000] [--repeat 3] [--compute-repeat 5]

The data: the demo county (``write_demo_data``) with each number of households, written
once to benchmarks/data/event-<n>k/data/raw as a project (the repo's hazardmap.toml,
layers/ and events/ beside it), and a hailstorm of our own: the demo's swath reaches far
less than a third of the county, so this one is three nested bands (hail of 30, 18 and
8 mm: core, flanks, fringe) around a bent track north-west to south-east through the
county's middle, as wide as makes the outer band cover SHARE of the villages' area. It is
written as the demo's swath is (GeoJSON in GCJ-02, as drawn on AMap) with an event file
like events/hail-2026-07-12.toml (events/hail-third.toml in each project).

Three measurements per size:

  command   ``hazardmap event events/hail-third.toml --config hazardmap.toml --out <new>``
            in a fresh process, wall time from the parent (interpreter start and imports
            included) and the process's own peak resident memory (VmHWM). First a run with
            no cache folder, then ``--repeat`` runs after it (median), which take the
            household table from the cache if the first run stored it there (the cache
            beside the [outputs] folder, shared with ``hazardmap run``: the table as read
            and checked, before its coordinates are checked and the villages joined, keyed
            by the file's bytes, the [households] settings and the business split table).
            Should the event store nothing, ``--repeat`` more runs with the table stored as
            ``hazardmap run`` stores it (read_inputs with a PendingCache, ``store_pending``).
  stages    one more run of ``run_event`` in a fresh process with its steps timed (the
            functions it calls wrapped with a clock): where the command's time goes.
  compute   in one process, the inputs read once as the pipeline reads them, then
            ``compute_event`` (the footprint overlay, the model and the tables) first and
            ``--compute-repeat`` times more (median), and its parts alone: the footprint
            overlay (``footprint_reach``, from a fresh Overlayer as compute_event makes it)
            and the model (``assess_event``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_demo import demo_project  # noqa: E402

EVENT_NAME = "hail-third"
FOOTPRINT = f"{EVENT_NAME}.geojson"
SHARE = 1 / 3
"""Share of the villages' area the footprint's outer band covers."""
BANDS = ((0.3, 30.0, "核心区"), (0.65, 18.0, "两翼"), (1.0, 8.0, "边缘"))
"""Each band's half-width as a share of the outer one's, its hail size (mm), its label."""
SWATH_CRS = "EPSG:32648"
GOAL_30K = 0.5
"""Seconds compute_event should stay under for 30,000 households ("a small fraction of a
second"); 300,000 within GOAL_300K."""
GOAL_300K = 5.0

EVENT_TOML = """\
# A hailstorm over about a third of the demo county (synthetic, for bench_event.py): three
# bands of hailstone size around a track north-west to south-east, drawn on AMap (GCJ-02).
name = "{name}"
hazard = "hail"
date = 2026-07-12
title = "Hailstorm over a third of the county (benchmark)"
path = "../data/raw/{footprint}"
intensity_field = "冰雹直径_mm"
crs = "GCJ-02"
lead_threshold = 0.10
at_scale_returns = 5

[damage]        # share of each income component lost, over hailstone size (mm)
crop = [[0, 0], [10, 0.2], [20, 0.5], [30, 0.8]]
orchard = [[0, 0], [10, 0.3], [20, 0.7], [30, 0.9]]
"""

PEAK = """
import atexit, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write(f"\\nVmHWM_kB {line.split()[1]}\\n")
atexit.register(_peak)
sys.argv = ["hazardmap", *ARGV]
from hazardmap.cli import main
main()
"""
"""The command as its console script runs it, with the process's peak RSS told at exit."""


# --- data ------------------------------------------------------------------------------


def label(households: int) -> str:
    return f"{households // 1000}k" if households % 1000 == 0 else str(households)


def prepare_project(households: int) -> tuple[Path, dict[str, Any]]:
    """The demo county with ``households`` as a project under benchmarks/data (the raw
    data written once), with the event and its footprint; the project file and what
    preparing it took."""
    root = HERE / "data" / f"event-{label(households)}"
    raw = root / "data" / "raw"
    known = demo_project(root, households, folders=("layers", "events"))
    project = root / "hazardmap.toml"
    text = (REPO / "hazardmap.toml").read_text(encoding="utf-8")
    if known["households_path"].endswith(".csv"):  # past a worksheet: CSV, no sheet
        text = text.replace('path = "data/raw/households.xlsx"', 'path = "data/raw/households.csv"')
        text = text.replace('sheet = "监测对象"\n', "")
    project.write_text(text, encoding="utf-8")
    event = root / "events" / f"{EVENT_NAME}.toml"
    event.write_text(EVENT_TOML.format(name=EVENT_NAME, footprint=FOOTPRINT), encoding="utf-8")
    known["footprint"] = write_footprint(raw / "villages.gpkg", raw / FOOTPRINT)
    return project, known


def write_footprint(villages_path: Path, path: Path) -> dict[str, float]:
    """The three bands, the outer one as wide as makes it cover SHARE of the villages'
    area, as GeoJSON in GCJ-02 (AMap's coordinates, labelled WGS84 as AMap exports do)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from hazardmap.chinese_crs import wgs84_to_gcj02

    villages = gpd.read_file(villages_path).to_crs(SWATH_CRS)
    county = shapely.union_all(villages.geometry.values)
    west, south, east, north = shapely.bounds(county)
    track = shapely.LineString(
        [
            (west - 0.1 * (east - west), south + 1.05 * (north - south)),
            (west + 0.50 * (east - west), south + 0.52 * (north - south)),
            (east + 0.1 * (east - west), south - 0.05 * (north - south)),
        ]
    )

    def covered(width: float) -> float:
        return float(shapely.area(shapely.intersection(shapely.buffer(track, width), county)))

    low, high = 0.0, 0.5 * max(east - west, north - south)
    for _ in range(40):  # bisection: the covered area grows with the width
        middle = 0.5 * (low + high)
        low, high = (middle, high) if covered(middle) < SHARE * county.area else (low, middle)
    width = 0.5 * (low + high)
    bands, inner = [], shapely.Polygon()
    for share, _, _ in BANDS:
        outer = shapely.buffer(track, share * width, quad_segs=8)
        bands.append(shapely.difference(outer, inner))
        inner = outer
    frame = shapely.box(*shapely.bounds(shapely.buffer(county, 3000.0)))  # drawn past the edge
    swath = gpd.GeoDataFrame(
        {"冰雹直径_mm": [size for _, size, _ in BANDS], "说明": [name for _, _, name in BANDS]},
        geometry=shapely.intersection(np.array(bands, dtype=object), frame),
        crs=SWATH_CRS,
    ).to_crs(4326)

    def to_gcj(xy: Any) -> Any:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(lon, 6), np.round(lat, 6)])

    drawn = swath.set_geometry(shapely.transform(np.asarray(swath.geometry.values), to_gcj))
    path.unlink(missing_ok=True)
    drawn.to_file(path, driver="GeoJSON")
    return {
        "outer_half_width_m": width,
        "area_share": covered(width) / county.area,
        "vertices": int(shapely.get_num_coordinates(np.asarray(drawn.geometry.values)).sum()),
    }


def cache_folder(project: Path) -> Path:
    """Where the event looks for the household table: beside the [outputs] folder."""
    from hazardmap import load_config
    from hazardmap.event.pipeline import CACHE_FOLDER

    return load_config(project).outputs_dir.parent / CACHE_FOLDER


def cache_entries(folder: Path) -> int:
    return len(list(folder.glob("*.npz"))) if folder.is_dir() else 0


# --- the command -----------------------------------------------------------------------


def run_command(project: Path, tmp: Path) -> dict[str, Any]:
    """``hazardmap event`` in a fresh process: wall seconds and peak RSS (MB)."""
    out = Path(tempfile.mkdtemp(dir=tmp)) / "out"
    event = project.parent / "events" / f"{EVENT_NAME}.toml"
    argv = ["event", str(event), "--config", str(project), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK.replace("ARGV", repr(argv))], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not (out / "leads.xlsx").is_file():
        sys.exit(f"hazardmap event failed:\n{done.stdout}\n{done.stderr}")
    peak_kb = [line for line in done.stderr.splitlines() if line.startswith("VmHWM_kB")]
    shutil.rmtree(out.parent)
    return {"seconds": seconds, "peak_mb": int(peak_kb[-1].split()[1]) / 1024}


def fill_cache(project: Path) -> int:
    """The household table stored in the cache as ``hazardmap run`` stores it (read_inputs
    with a PendingCache, then store_pending); the entries the folder then holds."""
    from dataclasses import replace

    from hazardmap import load_config
    from hazardmap.cache import OverlayCache, PendingCache
    from hazardmap.inputs import config_draft, read_inputs
    from hazardmap.problems import Problems

    config = load_config(project)
    folder = cache_folder(project)
    cache = PendingCache(OverlayCache(folder))
    problems = Problems()
    read_inputs(replace(config_draft(config), layers=()), problems, cache=cache)  # households only
    problems.raise_errors()
    cache.store_pending()
    return cache_entries(folder)


def measure_command(project: Path, repeat: int) -> dict[str, Any]:
    folder = cache_folder(project)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="bench-event-") as tmp:
        first = run_command(project, Path(tmp))
        after_first = cache_entries(folder)
        again = [run_command(project, Path(tmp)) for _ in range(repeat)]
        after_again = cache_entries(folder)
        filled, cached = None, []
        if not after_first:  # the event stored nothing: the cache as `hazardmap run` leaves it
            filled = run_child("fill-cache", project)["entries"]
            cached = [run_command(project, Path(tmp)) for _ in range(repeat)]
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "first": first,
        "again": again,
        "cached": cached,
        "cache_entries": {
            "after_first_run": after_first,
            "after_repeated_runs": after_again,
            "after_filling": filled,
        },
    }


# --- where the command's time goes -----------------------------------------------------

STAGES: list[tuple[str, str, str, int]] = [
    # (module, function, label, depth): run_event's steps in the order they run
    ("hazardmap.event.pipeline", "read_project", "read project file", 1),
    ("hazardmap.event.pipeline", "load_event", "read event file", 1),
    ("hazardmap.event.pipeline", "read_footprint", "read footprint", 1),
    ("hazardmap.event.pipeline", "read_inputs", "read villages and households", 1),
    ("hazardmap.inputs", "read_village_input", "villages", 2),
    ("hazardmap.inputs", "read_households", "household table (workbook)", 2),
    ("hazardmap.inputs", "check_coordinates", "check coordinates", 2),
    ("hazardmap.event.pipeline", "check_target", "check output folder", 1),
    ("hazardmap.event.pipeline", "assemble", "assemble", 1),
    ("hazardmap.event.pipeline", "compute_event", "compute_event", 1),
    ("hazardmap.event.compute", "footprint_reach", "footprint overlay", 2),
    ("hazardmap.event.compute", "assess_event", "model (assess_event)", 2),
    ("hazardmap.event.compute", "household_table", "household table", 2),
    ("hazardmap.event.compute", "village_table", "village table", 2),
    ("hazardmap.event.compute", "lead_table", "lead table", 2),
    ("hazardmap.event.compute", "footprint_shapes", "footprint for the map", 2),
    ("hazardmap.event.compute", "versions", "package versions", 2),
    ("hazardmap.cache.PendingCache", "store_pending", "store household table in cache", 1),
    ("hazardmap.event.pipeline", "_recorded", "inputs' SHA-256", 1),
    ("hazardmap.event.pipeline", "write_event_outputs", "write outputs", 1),
    ("hazardmap.outputs.event", "event_manifest", "manifest (content)", 2),
    ("hazardmap.outputs.event", "write_event_tables", "tables", 2),
    ("hazardmap.outputs.event_tables", "write_csv", "CSV files", 3),
    ("geopandas.GeoDataFrame", "to_file", "event_villages.gpkg", 3),
    ("hazardmap.outputs.event_tables", "write_leads_workbook", "leads.xlsx", 3),
    ("hazardmap.outputs.event", "write_event_map", "map.html", 2),
    ("hazardmap.outputs.event", "_summary_html", "summary.html", 2),
    ("hazardmap.outputs.event", "write_manifest", "manifest.json", 2),
]


def _clocked(fn: Callable[..., Any], times: dict[str, float], key: str) -> Callable[..., Any]:
    def clocked(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[key] = times.get(key, 0.0) + time.perf_counter() - start

    return clocked


def child_stages(project: Path) -> dict[str, Any]:
    """run_event with its steps clocked, in a fresh process (imports timed apart); the
    household table read from the file (no cache)."""
    import importlib

    start = time.perf_counter()
    import geopandas  # noqa: F401

    import hazardmap.cli  # noqa: F401  (what the command imports first)
    from hazardmap.event.pipeline import run_event

    imports = time.perf_counter() - start
    shutil.rmtree(cache_folder(project), ignore_errors=True)
    times: dict[str, float] = {}
    for where, name, text, _ in STAGES:
        head, _, last = where.rpartition(".")
        owner: Any = importlib.import_module(head if last[0].isupper() else where)
        owner = getattr(owner, last) if last[0].isupper() else owner
        if hasattr(owner, name):  # a step the code no longer has stays out of the table
            setattr(owner, name, _clocked(getattr(owner, name), times, text))
    event = project.parent / "events" / f"{EVENT_NAME}.toml"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_event(event, project, Path(tmp) / "out")
        total = time.perf_counter() - start
    return {
        "imports": imports,
        "run_event": total,
        "stages": {text: times.get(text) for _, _, text, _ in STAGES},
        "leads": len(result.leads),
    }


# --- the compute part alone ------------------------------------------------------------


def _median_of(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def child_compute(project: Path, repeat: int) -> dict[str, Any]:
    """The inputs read once as run_event reads them, then compute_event and its parts."""
    from dataclasses import replace

    from hazardmap.config import load_event, read_project
    from hazardmap.event.compute import compute_event
    from hazardmap.inputs import assemble, read_inputs
    from hazardmap.io.footprint import read_footprint
    from hazardmap.model import HouseholdArrays
    from hazardmap.model.event import assess_event
    from hazardmap.overlay.footprint import footprint_reach
    from hazardmap.overlay.rasters import Overlayer
    from hazardmap.problems import Problems

    shutil.rmtree(cache_folder(project), ignore_errors=True)
    event_file = project.parent / "events" / f"{EVENT_NAME}.toml"
    problems = Problems()
    start = time.perf_counter()
    draft = read_project(project, problems)  # as run_event reads: no layer, no cache
    assert draft.config is not None
    event = load_event(event_file, draft.config)
    footprint = read_footprint(event)
    read = read_inputs(replace(draft, layers=()), problems)
    problems.raise_errors()
    inputs = assemble(draft.config, read)
    read_seconds = time.perf_counter() - start

    start = time.perf_counter()
    result = compute_event(inputs, event, footprint, problems)
    first = time.perf_counter() - start
    compute, compute_runs = _median_of(
        lambda: compute_event(inputs, event, footprint, problems), repeat
    )
    reach, reach_runs = _median_of(
        lambda: footprint_reach(footprint, Overlayer.of(inputs, problems).vectors), repeat
    )
    hh = inputs.households
    reached = footprint_reach(footprint, Overlayer.of(inputs, problems).vectors)
    arrays = HouseholdArrays.from_table(hh)
    members = hh["members"].to_numpy()
    terms = draft.config.settings.project.poverty_terms()

    def model() -> object:
        return assess_event(
            arrays,
            members,
            reached.inside,
            reached.intensity,
            damage=event.damage,
            housing=event.housing,
            lead_threshold=event.spec.lead_threshold,
            **terms,
        )

    assess, assess_runs = _median_of(model, repeat)
    from_table, _ = _median_of(lambda: HouseholdArrays.from_table(hh), repeat)
    inside = result.households["in_footprint"].to_numpy()
    located = result.households["lon"].notna().to_numpy()
    return {
        "households": len(hh),
        "in_footprint": int(inside.sum()),
        "in_footprint_located": int((inside & located).sum()),
        "unlocated": int((~located).sum()),
        "villages_reached": int((result.villages["households_in_footprint"] > 0).sum()),
        "leads": len(result.leads),
        "read_seconds": read_seconds,
        "compute_event_first": first,
        "compute_event": compute,
        "compute_event_runs": compute_runs,
        "footprint_reach": reach,
        "footprint_reach_runs": reach_runs,
        "assess_event": assess,
        "assess_event_runs": assess_runs,
        "household_arrays": from_table,
    }


def run_child(kind: str, project: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, f"--child-{kind}", str(project), *extra],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"benchmark child '{kind}' failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- report ----------------------------------------------------------------------------


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    command, compute = figures["command"], figures["compute"]
    cached = command["cached"]
    return {
        "first_seconds": command["first"]["seconds"],
        "again_seconds": statistics.median(r["seconds"] for r in command["again"]),
        "cached_seconds": statistics.median(r["seconds"] for r in cached) if cached else None,
        "first_peak_mb": command["first"]["peak_mb"],
        "again_peak_mb": max(r["peak_mb"] for r in [*command["again"], *cached]),
        "compute_event_seconds": compute["compute_event"],
        "footprint_reach_seconds": compute["footprint_reach"],
        "assess_event_seconds": compute["assess_event"],
        "in_footprint_share": compute["in_footprint"] / compute["households"],
    }


def report(sizes: dict[int, dict[str, Any]], repeat: int, compute_repeat: int) -> None:
    print(
        f"\nhazardmap event over a third of the demo county: the command in a fresh process "
        f"(median of {repeat}; the first run apart), compute_event in one process "
        f"(median of {compute_repeat})"
    )
    print(
        f"{'households':>11}{'in footprint':>16}{'first s':>9}{'again s':>9}{'cached s':>10}"
        f"{'peak MB':>9}{'again MB':>10}{'compute s':>11}{'overlay s':>11}{'model s':>9}"
    )
    for n, f in sizes.items():
        s, c = f["summary"], f["compute"]
        share = f"{c['in_footprint']:,} {s['in_footprint_share']:.0%}"
        cached = "-" if s["cached_seconds"] is None else f"{s['cached_seconds']:.2f}"
        print(
            f"{n:>11,}{share:>16}{s['first_seconds']:>9.2f}{s['again_seconds']:>9.2f}"
            f"{cached:>10}{s['first_peak_mb']:>9.0f}{s['again_peak_mb']:>10.0f}"
            f"{s['compute_event_seconds']:>11.3f}"
            f"{s['footprint_reach_seconds']:>11.3f}{s['assess_event_seconds']:>9.4f}"
        )
    print(
        "first: no cache folder; again: the runs after it; cached: the household table stored "
        "as `hazardmap run` stores it\n(measured only when the event stored none itself); "
        "compute = compute_event (overlay, model, tables); overlay = footprint_reach;\n"
        "model = assess_event; peak MB: the command's own peak resident memory (VmHWM), first run "
        "and the highest of the others"
    )
    for n, f in sizes.items():
        entries = f["command"]["cache_entries"]
        goal = GOAL_30K if n <= 30_000 else GOAL_300K
        verdict = "met" if f["summary"]["compute_event_seconds"] < goal else "NOT met"
        stored = (
            "the event stored the household table"
            if entries["after_first_run"]
            else "the event stored NO cache entry (the repeats read the workbook again)"
        )
        print(
            f"  {n:,}: footprint over {f['data']['footprint']['area_share']:.1%} of the area; "
            f"compute_event's first call {f['compute']['compute_event_first']:.3f} s; goal < "
            f"{goal:g} s: {verdict}; {stored} (cache entries after the first run: "
            f"{entries['after_first_run']})"
        )

    print("\nwhere the command's time goes (run_event in a fresh process, no cache; seconds)")
    names = list(sizes)
    print(f"{'step':<42}" + "".join(f"{label(n):>10}" for n in names))
    rows = [("imports (hazardmap.cli, geopandas)", 0, "imports"), ("run_event", 0, "run_event")]
    rows += [(text, depth, text) for _, _, text, depth in STAGES]
    for text, depth, key in rows:
        cells = []
        for n in names:
            st = sizes[n]["stages"]
            value = st[key] if key in ("imports", "run_event") else st["stages"][key]
            cells.append(f"{'-':>10}" if value is None else f"{value:>10.3f}")
        print(f"{'  ' * depth + text:<42}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compute-repeat", type=int, default=5)
    parser.add_argument("--child-stages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-compute", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-fill-cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_stages:
        print(json.dumps(child_stages(args.child_stages)))
        return
    if args.child_compute:
        print(json.dumps(child_compute(args.child_compute, args.compute_repeat)))
        return
    if args.child_fill_cache:
        print(json.dumps({"entries": fill_cache(args.child_fill_cache)}))
        return

    sizes: dict[int, dict[str, Any]] = {}
    for n in args.sizes:
        project, data = prepare_project(n)
        print(
            f"{n:,} households: project {project.parent.relative_to(REPO)} "
            f"(demo-data {data['seconds']:.0f} s when written), footprint over "
            f"{data['footprint']['area_share']:.1%} of the villages' area",
            flush=True,
        )
        figures: dict[str, Any] = {"data": data}
        figures["command"] = measure_command(project, args.repeat)
        figures["stages"] = run_child("stages", project)
        figures["compute"] = run_child(
            "compute", project, "--compute-repeat", str(args.compute_repeat)
        )
        figures["summary"] = summary(figures)
        sizes[n] = figures
    report(sizes, args.repeat, args.compute_repeat)

    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"repeat": args.repeat, "compute_repeat": args.compute_repeat, "sizes": sizes}
    (results / f"event-{stamp}.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(f"\nraw figures in benchmarks/results/event-{stamp}.json")


if __name__ == "__main__":
    main()
