"""hazardmap uncertainty on the demo county: the command with the shipped dozen parameters
(Sobol, 256 base samples) and with Morris (20 trajectories), one model run taken apart,
and the runs in one process beside the worker processes.

    python benchmarks/bench_uncertainty.py [--repeat 3] [--calls 200]

The data: the demo county (``write_demo_data``, 30,000 households, 340 villages) written
once as a project under benchmarks/data/uncertainty-30k (the repo's hazardmap.toml, with
its [uncertainty] section of 12 illustrative parameters, and layers/ beside it), so that
the repo's own outputs are not touched. The command's output folders and its overlay
cache (.hazardmap-cache, beside the output folder) are under
benchmarks/data/uncertainty-30k/runs.

Four measurements:

  command   ``hazardmap uncertainty --config hazardmap.toml --out <new folder>`` in a fresh
            process, the shipped settings (Sobol, 256 base samples: N (D + 2) = 3,584
            model runs) and ``--method morris --samples 20`` (r (D + 1) = 260 runs for the
            indices and 20 Monte Carlo runs for the percentiles). The overlay cache is
            emptied first and one Morris run fills it (reported apart, "cache cold");
            every measured run then takes the overlays and the household table from the
            cache. Wall time from the parent (interpreter start and imports included),
            the model runs and the command's own split (manifest.json's timings: reading
            and overlaying, then the runs and their analysis). Memory: the command's own
            peak resident memory (VmHWM, told at its exit); every process under it (the
            forkserver, the resource tracker, the worker processes forked from the
            forkserver) polled every 50 ms from /proc by this script (its CPU kept
            apart), each one's VmHWM as last seen (VmHWM never falls, so the last value is
            its peak, up to the last 50 ms of its life), and the highest sum of the tree's
            resident memory seen at one poll (pages shared between the forked workers
            count once per process). A short-lived subprocess, perhaps seen between its
            fork and its exec with its parent's memory, is left out. CPU: the command's
            own user and system seconds (told at its exit) and each worker's
            (/proc/<pid>/stat, as last seen): on a shared machine the CPU a run takes
            says more than the wall time, which other people's work stretches.
  model     one model run: ``hazardmap.model.scenarios.evaluate(exposure, parameters)``
            at the configured parameters, the exposure built as run_uncertainty builds it
            (``exposure_of``, ``configured_parameters``; inputs and overlays from the
            cache), ``--calls`` calls after 3 warm-up calls, median; and evaluate's parts
            timed the same way: the household model (``assess_households``), the
            interventions (``avoided_by_village``, and each intervention's
            ``returns_avoided`` with its sum per village), the costs
            (``intervention_costs``), the greedy choice (``choose``), the sums per village;
            besides, ``SampleTask.parameters`` (a design row made into Parameters), and a
            ``SampleTask`` over the Sobol design's first SAMPLED_ROWS rows (5 times,
            median, per run): a run at sampled values, as the chunks make them.
  analyse   ``analyse(...)`` on the same exposure for the 3,584 Sobol runs, with
            ``run_chunks=in_process`` (the chunks one after the other in this process) and
            with ``on_cores`` (one worker process per usable core: 2 here), each in a
            fresh process after one warm-up ``evaluate``; its time and the time of the
            runs alone (``run_chunks`` wrapped with a clock). The arrays of the runs
            (villages' returns per run, the portfolio's returns avoided, the times each
            pair was chosen) and the tables (villages, pairs, indices) are hashed: both
            routes must give the same bytes. Peak memory as VmHWM and the rise during the
            call sampled with bench_demo.RssSampler; for on_cores also the workers' peaks.
            CPU per run: the process's CPU during ``analyse`` (in_process), the workers'
            (on_cores).
  big       one model run on 300,000 and 3,000,000 households (copies of the demo county
            side by side, villages renumbered per copy): ``evaluate`` BIG_CALLS times after
            a warm-up call, median, once each; the rise of memory during one call; the
            ``SampleTask`` pickled (what each worker process or cluster worker is sent).
            Measured once, after the rounds. With it, a province (an extrapolation): the
            Sobol runs x one run's seconds on its households, in one process, and in
            worker processes by the workers' CPU per run against the process's own.

Every measurement is a fresh process; they are repeated ``--repeat`` times in rounds
(each measurement once per round, so a slow spell of the shared machine hits them alike)
and the median is reported. The machine is shared: with each measurement are kept the
load average (1 minute) before it and the CPU seconds other processes took while it ran
(the machine's busy CPU seconds from /proc/stat, less the measured process's and its
workers').
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_demo import RssSampler, demo_project  # noqa: E402

DEMO_HOUSEHOLDS = 30_000
PROJECT = HERE / "data" / "uncertainty-30k"
RUNS = PROJECT / "runs"
"""The output folders; the overlay cache is RUNS/.hazardmap-cache."""
METHODS: dict[str, list[str]] = {
    "sobol": [],  # the shipped settings: sobol, samples = 256
    "morris": ["--method", "morris", "--samples", "20"],
}
PROVINCE = {"name": "Gansu", "counties": 86, "households": 3_000_000}
BIG = (300_000, 3_000_000)
"""Households of the one-run measurements beyond the demo county (copies of it)."""
BIG_CALLS = 5
POLL = 0.05
"""Seconds between polls of the processes under a command."""
SAMPLED_ROWS = 64
"""Rows of the Sobol design a SampleTask runs, 5 times, for a run's cost at sampled values."""

PEAK = """
import atexit, os, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write(f"\\nVmHWM_kB {line.split()[1]}\\n")
    used = os.times()
    sys.stderr.write(f"\\nCPU_s {used.user + used.system}\\n")
atexit.register(_peak)
sys.argv = ["hazardmap", *ARGV]
from hazardmap.cli import main
main()
"""
"""The command as its console script runs it, with the process's peak RSS and its own CPU
seconds told at exit."""


# --- data ------------------------------------------------------------------------------


def prepare_project() -> dict[str, Any]:
    """The demo county as a project under benchmarks/data (its raw data written once)."""
    known = demo_project(PROJECT, DEMO_HOUSEHOLDS)
    shutil.copyfile(REPO / "hazardmap.toml", PROJECT / "hazardmap.toml")
    RUNS.mkdir(exist_ok=True)
    return known


def cache_folder() -> Path:
    from hazardmap.pipeline import CACHE_FOLDER

    return RUNS / CACHE_FOLDER


# --- memory of a process tree ----------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (kB) of a process; empty once it is gone."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    found[line[:5]] = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return found


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a process so far (its own, not its children's)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(p) for p in fh.read().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def _role(pid: int, depth: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline:  # the workers are forked from the forkserver, not exec'd
        return "forkserver" if depth == 1 else "worker"
    if "spawn_main" in cmdline:
        return "worker"
    return "other"  # a short-lived subprocess (seen, perhaps, between its fork and exec)


class TreePeaks:
    """The processes under ``pid`` polled every POLL seconds: each one's VmHWM and CPU
    seconds as last seen, and the highest sum of resident memory over the tree (``pid``
    included unless ``own`` is False) at one poll."""

    def __init__(self, pid: int, own: bool = True) -> None:
        self.pid, self.own = pid, own
        self.seen: dict[int, dict[str, Any]] = {}
        self.tree_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def poll(self) -> None:
        total = _status(self.pid).get("VmRSS", 0) if self.own else 0
        stack = [(child, 1) for child in _children(self.pid)]
        while stack:
            pid, depth = stack.pop()
            status = _status(pid)
            if not status:
                continue
            # the role read again each poll: a process forked from another shows the
            # other's command line until it runs its own
            self.seen.setdefault(pid, {})
            self.seen[pid] |= {"role": _role(pid, depth), "depth": depth}
            self.seen[pid]["hwm_kb"] = status.get("VmHWM", 0)
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.seen[pid]["cpu_s"] = cpu
            if self.seen[pid]["role"] != "other":
                total += status.get("VmRSS", 0)
            stack += [(child, depth + 1) for child in _children(pid)]
        self.tree_rss_kb = max(self.tree_rss_kb, total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            time.sleep(POLL)

    def start(self) -> TreePeaks:
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        processes = sorted(self.seen.values(), key=lambda p: (p["depth"], p["role"]))
        return {
            "workers_peak_mb": [p["hwm_kb"] / 1024 for p in processes if p["role"] == "worker"],
            "helpers_peak_mb": {
                p["role"]: p["hwm_kb"] / 1024
                for p in processes
                if p["role"] in ("forkserver", "resource tracker")
            },
            "other_processes": sum(p["role"] == "other" for p in processes),
            "tree_rss_peak_mb": self.tree_rss_kb / 1024,
            "workers_cpu_seconds": sum(
                p.get("cpu_s", 0.0) for p in processes if p["role"] == "worker"
            ),
            "tree_cpu_seconds": sum(p.get("cpu_s", 0.0) for p in processes),
        }


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def vmhwm_mb() -> float:
    return _status(os.getpid()).get("VmHWM", 0) / 1024


# --- the command -----------------------------------------------------------------------


def run_command(method: str) -> dict[str, Any]:
    """``hazardmap uncertainty`` in a fresh process: wall seconds, model runs, memory."""
    out = RUNS / f"out-{method}-{uuid.uuid4().hex[:8]}"
    argv = ["uncertainty", "--config", str(PROJECT / "hazardmap.toml"), "--out", str(out)]
    argv += METHODS[method]
    load = os.getloadavg()[0]
    busy, polling = busy_seconds(), time.process_time()
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", PEAK.replace("ARGV", repr(argv))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        tree = TreePeaks(proc.pid).start()
        stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - start
        busy = busy_seconds() - busy
        memory = tree.stop()
        polling = time.process_time() - polling
    if proc.returncode != 0 or not (out / "manifest.json").is_file():
        sys.exit(f"hazardmap uncertainty failed:\n{stdout}\n{stderr}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    shutil.rmtree(out)
    (RUNS / f".{out.name}.lock").unlink(missing_ok=True)  # output_lock's, beside the folder
    peak_kb = [line for line in stderr.splitlines() if line.startswith("VmHWM_kB")]
    cpu = [line for line in stderr.splitlines() if line.startswith("CPU_s")]
    runs = int(manifest["uncertainty"]["model_runs"])
    return {
        "method": method,
        "seconds": seconds,
        "model_runs": runs,
        "runs_per_second": runs / seconds,
        "timings": manifest["timings_seconds"],
        "peak_mb": int(peak_kb[-1].split()[1]) / 1024,
        "cpu_seconds": float(cpu[-1].split()[1]),
        **memory,
        "polling_cpu_seconds": polling,
        "others_cpu_seconds": busy
        - float(cpu[-1].split()[1])
        - memory["tree_cpu_seconds"]
        - polling,
        "said": stdout.strip().splitlines()[0],
        "load_before": load,
    }


# --- in-process measurements -----------------------------------------------------------


def load_case() -> dict[str, Any]:
    """What run_uncertainty hands to ``analyse``, read as it reads it (the household
    table and the overlays from the command's cache)."""
    from hazardmap import load_config
    from hazardmap.cache import OverlayCache, PendingCache
    from hazardmap.compute import configured_parameters, exposure_of
    from hazardmap.config.uncertainty import check_paths
    from hazardmap.inputs import assemble, config_draft, read_inputs
    from hazardmap.overlay import overlay_layers
    from hazardmap.problems import Problems
    from hazardmap.uncertainty.pipeline import settings_of
    from hazardmap.uncertainty.sampling import design

    config = load_config(PROJECT / "hazardmap.toml")
    settings = settings_of(config)
    problems = Problems()
    cache = PendingCache(OverlayCache(cache_folder()))
    with tempfile.TemporaryDirectory(prefix="bench-uncertainty-") as work:
        read = read_inputs(config_draft(config), problems, None, cache, Path(work))
        problems.raise_errors()
        inputs = assemble(config, read)
        interventions = [item.name for item in config.settings.interventions]
        paths, found = check_paths(
            settings, config.hazard_names, interventions, villages=len(inputs.villages)
        )
        assert not found, found
        overlays, _ = overlay_layers(inputs, problems, cache.cache)
        problems.raise_errors()
    villages = inputs.villages
    return {
        "exposure": exposure_of(inputs, {name: o.value for name, o in overlays.items()}),
        "parameters": configured_parameters(config),
        "design": design(settings, paths),
        "codes": villages["village_code"].astype(str).tolist(),
        "names": villages["name"].astype(str).tolist(),
        "settings": settings,
    }


def _timed(fn: Callable[[], object], calls: int) -> dict[str, Any]:
    runs = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs)}


def child_model(calls: int) -> dict[str, Any]:
    """One model run and its parts, each timed ``calls`` times (median)."""
    import numpy as np

    from hazardmap.model.interventions import returns_avoided
    from hazardmap.model.risk import assess_households
    from hazardmap.model.scenarios import avoided_by_village, choose, evaluate
    from hazardmap.model.scenarios import intervention_costs as costs_of
    from hazardmap.uncertainty.compute import SampleTask

    case = load_case()
    exposure, p = case["exposure"], case["parameters"]
    terms = p.poverty_terms()
    for _ in range(3):
        point = evaluate(exposure, p)
    risk = assess_households(exposure.households, p.hazards, exposure.intensities, **terms)
    avoided = avoided_by_village(exposure, p, risk)
    cost = costs_of(exposure, p.interventions)
    task = SampleTask(
        exposure,
        p,
        case["design"].held,
        tuple(v.path for v in case["design"].varied),
        point.chosen,
    )
    row = case["design"].values[0]
    parts: dict[str, Callable[[], object]] = {
        "evaluate": lambda: evaluate(exposure, p),
        "assess_households": lambda: assess_households(
            exposure.households, p.hazards, exposure.intensities, **terms
        ),
        "avoided_by_village": lambda: avoided_by_village(exposure, p, risk),
    }

    def avoided_of(item: Any) -> Callable[[], object]:
        return lambda: exposure.by_village(
            returns_avoided(
                item, exposure.households, p.hazards, exposure.intensities, risk, **terms
            )
        )

    for item in p.interventions:
        parts[f"returns_avoided {item.name}"] = avoided_of(item)
    parts |= {
        "intervention_costs": lambda: costs_of(exposure, p.interventions),
        "choose": lambda: choose(exposure, p.interventions, avoided, cost, p.budget),
        "village sums": lambda: (
            exposure.by_village(risk.risk),
            exposure.by_village(np.isfinite(risk.risk).astype(float)) > 0,
        ),
        "SampleTask.parameters (a row)": lambda: task.parameters(row),
    }
    times = {name: _timed(fn, calls) for name, fn in parts.items()}
    rows = case["design"].values[:SAMPLED_ROWS]
    chunk = _timed(lambda: task(rows), 5)
    return {
        "calls": calls,
        "households": len(exposure.village),
        "villages": exposure.n_villages,
        "interventions": [item.name for item in p.interventions],
        "hazards": [h.name for h in p.hazards],
        "pairs_chosen": int(point.chosen.sum()),
        "pairs_ranked": int((avoided > 0).sum()),
        "times": times,
        "sampled_rows_per_run": chunk["median"] / len(rows),
    }


def copies(exposure: Any, households: int) -> Any:
    """The demo county's exposure with ``households``: copies of it side by side (villages
    renumbered per copy, each copy's villages after the one before in code order)."""
    import numpy as np

    from hazardmap.model import HouseholdArrays
    from hazardmap.model.scenarios import Exposure

    n, villages = len(exposure.village), exposure.n_villages
    pick = np.arange(households) % n
    copy = np.arange(households) // n
    count = int(copy[-1]) + 1
    hh = exposure.households
    return Exposure(
        households=HouseholdArrays(
            income=hh.income[pick],
            shares=hh.shares[pick],
            insured=hh.insured[pick],
            housing=hh.housing[pick],
        ),
        intensities={name: value[pick] for name, value in exposure.intensities.items()},
        village=exposure.village[pick] + copy * villages,
        village_order=np.concatenate([exposure.village_order + k * villages for k in range(count)]),
    )


def child_big(households: int, calls: int) -> dict[str, Any]:
    """One model run on ``households`` (copies of the demo county): ``calls`` calls after
    a warm-up, median; the rise of memory during one; the task pickled."""
    import gc

    from hazardmap.model.scenarios import evaluate
    from hazardmap.uncertainty.compute import SampleTask

    case = load_case()
    exposure, p, design = copies(case["exposure"], households), case["parameters"], case["design"]
    point = evaluate(exposure, p)
    sampler = RssSampler().start()
    gc.collect()
    sampler.mark()
    before = sampler.rss()
    evaluate(exposure, p)
    rise = (sampler.mark() - before) / 2**20
    sampler.stop()
    task = SampleTask(exposure, p, design.held, tuple(v.path for v in design.varied), point.chosen)
    return {
        "households": households,
        "villages": exposure.n_villages,
        "calls": calls,
        "evaluate": _timed(lambda: evaluate(exposure, p), calls),
        "rise_mb": rise,
        "peak_mb": vmhwm_mb(),
        "task_pickle_mb": len(pickle.dumps(task)) / 2**20,
    }


def _sha(array: Any) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def child_analyse(route: str) -> dict[str, Any]:
    """``analyse`` for the Sobol design, its chunks in this process or on the cores."""
    import gc

    from hazardmap.model.scenarios import evaluate
    from hazardmap.uncertainty.compute import SampleTask, analyse, in_process
    from hazardmap.uncertainty.parallel import on_cores

    case = load_case()
    settings, design = case["settings"], case["design"]
    evaluate(case["exposure"], case["parameters"])  # warm-up
    runner = {"in_process": in_process, "on_cores": on_cores}[route]
    runs_seconds = []

    def clocked(task: SampleTask, chunks: list[Any]) -> list[Any]:
        start = time.perf_counter()
        try:
            return runner(task, chunks)
        finally:
            runs_seconds.append(time.perf_counter() - start)

    sampler = RssSampler().start()
    tree = TreePeaks(os.getpid(), own=True).start() if route == "on_cores" else None
    gc.collect()
    sampler.mark()
    before = sampler.rss()
    cpu = time.process_time()
    start = time.perf_counter()
    found = analyse(
        case["exposure"],
        case["parameters"],
        design,
        codes=case["codes"],
        names=case["names"],
        top_k=settings.top_k,
        seed=settings.seed,
        run_chunks=clocked,
    )
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    rise = (sampler.mark() - before) / 2**20
    sampler.stop()
    memory = tree.stop() if tree is not None else {}
    point = found.point
    task = SampleTask(
        case["exposure"],
        case["parameters"],
        design.held,
        tuple(v.path for v in design.varied),
        point.chosen,
    )
    return {
        "route": route,
        "runs": len(found.runs.portfolio),
        "seconds": seconds,
        "runs_seconds": sum(runs_seconds),
        "cpu_seconds": cpu,
        "runs_per_second": len(found.runs.portfolio) / sum(runs_seconds),
        "peak_mb": vmhwm_mb(),
        "rise_mb": rise,
        **memory,
        "task_pickle_mb": len(pickle.dumps(task)) / 2**20,
        "runs_sha256": {
            "village_returns": _sha(found.runs.village_returns),
            "portfolio": _sha(found.runs.portfolio),
            "chosen": _sha(found.runs.chosen),
        },
        "tables_sha256": {
            name: hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
            for name, table in (
                ("villages", found.villages),
                ("pairs", found.pairs),
                ("indices", found.indices),
            )
        },
        "outcomes_mb": found.runs.village_returns.nbytes / 2**20,
        "expected_returns_median": float(statistics.median(found.runs.expected_returns)),
    }


def process_cpu() -> dict[str, float]:
    """This process's user and system CPU seconds so far (a child's, told to the parent)."""
    used = os.times()
    return {"process_cpu_seconds": used.user + used.system}


def run_child(*args: str) -> dict[str, Any]:
    load = os.getloadavg()[0]
    busy = busy_seconds()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True
    )
    busy = busy_seconds() - busy
    if done.returncode != 0:
        sys.exit(f"benchmark child {args} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    ours = result["process_cpu_seconds"] + result.get("tree_cpu_seconds", 0.0)
    return result | {"load_before": load, "others_cpu_seconds": busy - ours}


# --- report ----------------------------------------------------------------------------


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = statistics.median(r["seconds"] for r in runs)
    figures = {
        "seconds": seconds,
        "all_seconds": [r["seconds"] for r in runs],
        "others_cpu_seconds": [r["others_cpu_seconds"] for r in runs],
        "peak_mb": max(r["peak_mb"] for r in runs),
    }
    if "model_runs" in runs[0]:  # the command
        figures |= {
            "model_runs": runs[0]["model_runs"],
            "runs_per_second": runs[0]["model_runs"] / seconds,
            "read_and_overlay": statistics.median(r["timings"]["read and overlay"] for r in runs),
            "model_runs_seconds": statistics.median(r["timings"]["model runs"] for r in runs),
            "cpu_seconds": statistics.median(
                r["cpu_seconds"] + r["workers_cpu_seconds"] for r in runs
            ),
            "workers_cpu_ms_per_run": statistics.median(
                r["workers_cpu_seconds"] / r["model_runs"] * 1e3 for r in runs
            ),
        }
    else:  # analyse
        runs_seconds = statistics.median(r["runs_seconds"] for r in runs)
        figures |= {
            "runs_seconds": runs_seconds,
            "runs_per_second": runs[0]["runs"] / runs_seconds,
            "rise_mb": max(r["rise_mb"] for r in runs),
            # in_process: the process's CPU; on_cores: the workers' (where the runs are)
            "cpu_ms_per_run": statistics.median(
                r.get("workers_cpu_seconds", r["cpu_seconds"]) / r["runs"] * 1e3 for r in runs
            ),
        }
    if "workers_peak_mb" in runs[0]:
        figures |= {
            "workers_peak_mb": max(max(r["workers_peak_mb"], default=0.0) for r in runs),
            "tree_rss_peak_mb": max(r["tree_rss_peak_mb"] for r in runs),
        }
    return figures


def province(figures: dict[str, Any]) -> dict[str, Any]:
    """A province from the measured figures (an extrapolation, not a measurement): the
    Sobol runs, each taking what one run took on as many households (copies of the demo
    county), one after the other in one process; in worker processes each run costs what
    the workers' CPU per run says against the process's own (the CPU, not the wall time:
    the machine is shared), and W workers, each with a core of its own, share the chunks."""
    big = figures["big"][str(PROVINCE["households"])]
    runs = figures["analyse"]["runs"]["in_process"][0]["runs"]
    a = figures["analyse"]["summary"]
    worker_cost = a["on_cores"]["cpu_ms_per_run"] / a["in_process"]["cpu_ms_per_run"]
    one_run = big["evaluate"]["median"]
    chunks = -(-runs // 32)  # analyse's chunks of 32 runs: a cluster's tasks
    worker_hours = runs * one_run * worker_cost / 3600
    return {
        **PROVINCE,
        "runs": runs,
        "villages_at_demo_density": big["villages"],
        "one_run_seconds": one_run,
        "one_process_hours": runs * one_run / 3600,
        "worker_cost": worker_cost,
        "worker_hours": worker_hours,
        "hours_with_workers": {w: worker_hours / w for w in (2, 16, chunks)},
        "chunks": chunks,
        "chunk_seconds": 32 * one_run * worker_cost,
        "task_mb": big["task_pickle_mb"],
        "run_rise_mb": big["rise_mb"],
        "outcomes_gb": runs * big["villages"] * 8 / 1e9,
    }


def rounds(figures: dict[str, Any]) -> str:
    return "; ".join(
        f"{kind} "
        + ", ".join(
            f"{s:.2f} ({o:.0f})"
            for s, o in zip(found["all_seconds"], found["others_cpu_seconds"], strict=True)
        )
        for kind, found in figures["summary"].items()
    )


def report(figures: dict[str, Any]) -> None:
    command, repeat = figures["command"], figures["repeat"]
    first = command["first"]
    print(
        f"\nhazardmap uncertainty on the demo county ({figures['model']['households']:,} "
        f"households, {figures['model']['villages']} villages, 12 parameters), the command in "
        f"a fresh process, overlay cache warm; median of {repeat}"
    )
    print(
        f"{'method':<22}{'runs':>7}{'seconds':>9}{'runs/s':>8}{'read s':>8}{'runs s':>8}"
        f"{'CPU s':>7}{'ms/run':>8}{'peak MB':>9}{'workers MB':>12}{'tree MB':>9}"
    )
    for method, label in (("sobol", "Sobol, N = 256"), ("morris", "Morris, r = 20")):
        s = command["summary"][method]
        print(
            f"{label:<22}{s['model_runs']:>7,}{s['seconds']:>9.2f}{s['runs_per_second']:>8.0f}"
            f"{s['read_and_overlay']:>8.2f}{s['model_runs_seconds']:>8.2f}{s['cpu_seconds']:>7.1f}"
            f"{s['workers_cpu_ms_per_run']:>8.2f}{s['peak_mb']:>9.0f}{s['workers_peak_mb']:>12.0f}{s['tree_rss_peak_mb']:>9.0f}"
        )
    print(
        "read s / runs s: the command's own timings (manifest.json): reading and overlaying; "
        "the runs with their analysis.\nCPU s: the command's and its workers'; ms/run: the "
        "workers' CPU per model run\npeak MB: the command's VmHWM; workers MB: the highest "
        "worker process's VmHWM; tree MB: the highest sum of the tree's RSS at one poll"
    )
    print(
        f"first run, cache cold (Morris): {first['seconds']:.2f} s, reading and overlaying "
        f"{first['timings']['read and overlay']:.2f} s"
    )
    print(f"each run, seconds (other processes' CPU seconds meanwhile): {rounds(command)}")

    a = figures["analyse"]
    one, cores = a["summary"]["in_process"], a["summary"]["on_cores"]
    runs = a["runs"]["in_process"][0]["runs"]
    print(f"\nanalyse(...), the {runs:,} Sobol runs; median of {repeat}")
    print(
        f"{'route':<28}{'analyse s':>10}{'runs s':>8}{'runs/s':>8}{'CPU ms/run':>11}"
        f"{'peak MB':>9}{'+MB':>6}"
    )
    for label, s in (("in_process", one), ("on_cores (2 processes)", cores)):
        print(
            f"{label:<28}{s['seconds']:>10.2f}{s['runs_seconds']:>8.2f}"
            f"{s['runs_per_second']:>8.0f}{s['cpu_ms_per_run']:>11.2f}{s['peak_mb']:>9.0f}"
            f"{s['rise_mb']:>+6.0f}"
        )
    print(f"each run, seconds (other processes' CPU seconds meanwhile): {rounds(a)}")
    print(
        f"speed-up of the runs {one['runs_seconds'] / cores['runs_seconds']:.2f}x; workers' "
        f"peak {cores['workers_peak_mb']:.0f} MB, tree {cores['tree_rss_peak_mb']:.0f} MB; "
        f"the same arrays and tables on both routes and every round: "
        f"{'yes' if a['identical'] else 'NO'}; the task "
        f"{a['runs']['in_process'][0]['task_pickle_mb']:.1f} MB pickled"
    )

    m = figures["model"]
    total = m["times"]["evaluate"]["median"]
    print(
        f"\none model run (median of {m['calls']} calls; {len(m['interventions'])} "
        f"interventions, {m['pairs_ranked']} pairs with returns avoided, "
        f"{m['pairs_chosen']} chosen)"
    )
    for name, t in m["times"].items():
        indent = "    " if name.startswith("returns_avoided") else "  "
        print(f"{indent}{name:<36}{t['median'] * 1e3:>8.2f} ms {t['median'] / total:>5.0%}")
    print(
        f"a run at the design's values (SampleTask over its first {SAMPLED_ROWS} rows, "
        f"parameters and portfolio included): {m['sampled_rows_per_run'] * 1e3:.2f} ms"
    )
    print(f"\none model run beyond the demo county (copies of it; median of {BIG_CALLS} calls)")
    print(
        f"{'households':>11}{'villages':>10}{'seconds':>9}{'ns/household':>14}{'+MB':>7}"
        f"{'task MB':>9}"
    )
    for n, b in figures["big"].items():
        seconds = b["evaluate"]["median"]
        print(
            f"{int(n):>11,}{b['villages']:>10,}{seconds:>9.3f}{seconds / int(n) * 1e9:>14.0f}"
            f"{b['rise_mb']:>+7.0f}{b['task_pickle_mb']:>9.0f}"
        )
    p = figures["province"]
    print(
        f"{p['name']} (an extrapolation): {p['households']:,} households, {p['runs']:,} runs "
        f"x {p['one_run_seconds']:.2f} s: {p['one_process_hours']:.2f} h in one process; "
        f"{p['worker_hours']:.2f} worker-hours (a worker's run {p['worker_cost']:.2f}x the "
        f"process's, by CPU): "
        + ", ".join(f"{h:.2f} h on {w} workers" for w, h in p["hours_with_workers"].items())
        + f"; {p['chunks']} chunks of 32 runs ({p['chunk_seconds']:.0f} s each); task "
        f"{p['task_mb']:.0f} MB; outcomes {p['outcomes_gb']:.2f} GB "
        f"({p['villages_at_demo_density']:,} villages)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--child-model", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-analyse", help=argparse.SUPPRESS)
    parser.add_argument("--child-big", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_model:
        print(json.dumps(child_model(args.child_model) | process_cpu()))
        return
    if args.child_analyse:
        print(json.dumps(child_analyse(args.child_analyse) | process_cpu()))
        return
    if args.child_big:
        print(json.dumps(child_big(args.child_big, BIG_CALLS) | process_cpu()))
        return

    started = time.perf_counter()
    prepared = prepare_project()
    print(
        f"demo county: {prepared['households']:,} households in "
        f"{PROJECT.relative_to(REPO)} (demo-data {prepared['seconds']:.0f} s when written)",
        flush=True,
    )
    shutil.rmtree(cache_folder(), ignore_errors=True)
    first = run_command("morris")
    print(f"  first run, cache cold: {first['seconds']:.2f} s", flush=True)
    commands: dict[str, list[dict[str, Any]]] = {method: [] for method in METHODS}
    routes: dict[str, list[dict[str, Any]]] = {"in_process": [], "on_cores": []}
    models = []
    for round_ in range(args.repeat):
        for method in METHODS:
            commands[method].append(run_command(method))
            print(f"  round {round_ + 1}: {method} {commands[method][-1]['seconds']:.2f} s")
        for route in routes:
            routes[route].append(run_child("--child-analyse", route))
            print(f"  round {round_ + 1}: analyse {route} {routes[route][-1]['seconds']:.2f} s")
        models.append(run_child("--child-model", str(args.calls)))
        print(
            f"  round {round_ + 1}: evaluate "
            f"{models[-1]['times']['evaluate']['median'] * 1e3:.2f} ms",
            flush=True,
        )
    hashes = {
        json.dumps([r["runs_sha256"], r["tables_sha256"]], sort_keys=True)
        for r in routes["in_process"] + routes["on_cores"]
    }
    model = dict(models[0])
    model["times"] = {
        name: {"median": statistics.median(m["times"][name]["median"] for m in models)}
        for name in models[0]["times"]
    }
    model["sampled_rows_per_run"] = statistics.median(m["sampled_rows_per_run"] for m in models)
    model["rounds"] = [m["times"] for m in models]
    figures: dict[str, Any] = {
        "repeat": args.repeat,
        "prepared": prepared,
        "command": {
            "first": first,
            "runs": commands,
            "summary": {method: summary(runs) for method, runs in commands.items()},
        },
        "analyse": {
            "runs": routes,
            "summary": {route: summary(runs) for route, runs in routes.items()},
            "identical": len(hashes) == 1,
        },
        "model": model,
    }
    figures["big"] = {}
    for n in BIG:
        figures["big"][str(n)] = run_child("--child-big", str(n))
        print(f"  {n:,} households: evaluate {figures['big'][str(n)]['evaluate']['median']:.3f} s")
    figures["province"] = province(figures)
    figures["total_seconds"] = time.perf_counter() - started
    report(figures)

    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = results / f"uncertainty-{stamp}.json"
    path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(f"\ntotal {figures['total_seconds']:.0f} s; raw figures in {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
