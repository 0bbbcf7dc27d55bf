"""Simulated years (MODEL.md, "Simulated years"): hazardmap's engine beside a plain numpy
implementation of the same model, and a million households on one process and on a
LocalCluster, with the extrapolation to a province.

    python benchmarks/bench_simulation.py [--years 10000] [--reference-years 10000]
        [--repeat 3] [--big-households 1000000] [--big-years 1000] [--profile-blocks 20]

The inputs are the real demo run's arrays, not synthetic ones: the demo county
(``write_demo_data``, 30,000 households, 340 villages) is written once as a project under
benchmarks/data/simulation-30k (the repo's hazardmap.toml and layers/ beside it), and a
fresh process reads it as the pipeline does, overlays the layers, runs the household
model and calls ``hazardmap.years.simulate_run`` with ``simulate`` wrapped, keeping the
``Population`` and ``HazardYears`` it is handed (households with a hazard missing already
left out, each hazard's correlation cells and correlations from its layer). They are
stored in benchmarks/data/simulation-30k/arrays.npz for the measuring processes.

What is measured, compound "sum" (the default), seed 1:

  hazardmap    ``simulate(population, hazards, years=, seed=)``: ``Shocks.of`` once (each
               hazard's strata, cell x threshold band, and the table of q per combination
               of events and household), then blocks of 50 years on threads
               (``on_threads``, the machine's cores), and again on one thread (the blocks
               one after the other), to tell the threads' share apart. In a block each
               hazard's strikes are drawn per stratum (``copula.struck``: hits of a
               Poisson process thinned to each household's probability, an own normal
               per household only in stratum-years with c_max > DENSE_ABOVE), kept as
               one byte of event bits per household-year; luck and q (looked up in the
               table) only where something struck.
  reference    the same model written plainly, as a careful analyst would: per block of
               50 years, numpy's default generator (``np.random.default_rng``) draws
               float64 county (B), cell (B x K) and own (B x N) normals for every
               household and hazard, an event is ``ndtr(U) < p`` (Phi(U) < p, as the
               model is written), losses add up (capped at 1), a uniform luck V (B x N)
               for every household, q = Phi((ln z - ln(y (1 - L))) / sigma) for every
               household-year, q0 <= V < q, and counts per year, per hazard and per
               village. One thread (numpy runs these on one core).

Every measurement is a fresh process: the arrays loaded and the code warmed up (a short
simulation) before the clock starts; the 10,000-year runs are repeated ``--repeat`` times
in rounds (each route once per round, so a slow spell of the shared machine hits them
alike) and the median is reported. "peak MB" is the process's peak resident memory
(VmHWM: interpreter, imports and arrays included), "+MB" the rise of the resident memory
during the call over just before it (sampled every 2 ms). The throughput is
household-hazard-years per second (households x hazards x years / seconds).

The mean of the yearly returns of both routes is checked against the exact expectation
(per household the 8 combinations of the 3 hazards' events, each with its probability,
times q(min(1, sum of their losses)) - q0; the hazards are independent of one another)
and against each other, within Monte Carlo error (the years are independent; the two
routes use different random streams, so their years differ).

The big run: ``--big-households`` households made of copies of the demo county side by
side (villages and correlation cells renumbered per copy; the county-wide normal shared
by all, as in a project), ``--big-years`` years, once on one process (threads) and once
on a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``
through ``hazardmap.years.on_cluster``; the same seed must give the same years. For the
cluster: the client process's peak and each worker's (``ru_maxrss`` via ``client.run``),
and the size of the task sent to each worker (the households' arrays, and the ``Shocks``:
strata and q table).

Where hazardmap's time goes: a cProfile of blocks of 50 years on one thread
(``simulate_block`` with the ``Shocks`` made once), and the same blocks' steps replayed
one by one with a clock, in their order: for each hazard ``copula.struck``'s (the county
and cell normals and each stratum-year's rate, the Poisson counts of hits, the hits'
positions, their acceptance, the dense stratum-years) and the setting of its event bit;
then ``simulate_block``'s (``flatnonzero`` of the event bits, the luck and the lookup of
q, the tallies per year, hazard and village). The replay draws the same random numbers
in the same order, and its yearly returns must equal ``simulate_block``'s. With it, per
hazard: its strata, its hits and the share kept, the dense stratum-years and the own
normals they draw, its strikes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_demo import RssSampler, demo_project  # noqa: E402

DEMO_HOUSEHOLDS = 30_000
PROJECT = HERE / "data" / "simulation-30k"
ARRAYS = PROJECT / "arrays.npz"
BLOCK = 50
"""Years per block of the reference (hazardmap's BLOCK_YEARS)."""
GOAL = 5.0
"""Times faster than the reference hazardmap should be on the demo county."""
PROVINCE = {"name": "Gansu", "counties": 86, "households": 3_000_000, "years": 10_000}
SEED = 1


# --- inputs ----------------------------------------------------------------------------


def prepare_project() -> dict[str, Any]:
    """The demo county as a project under benchmarks/data (its raw data written once)."""
    known = demo_project(PROJECT, DEMO_HOUSEHOLDS)
    text = (REPO / "hazardmap.toml").read_text(encoding="utf-8")
    if "[simulation]" not in text:  # simulate_run simulates only with the section
        text += "\n[simulation]\nyears = 100\n"
    (PROJECT / "hazardmap.toml").write_text(text, encoding="utf-8")
    return known


def child_capture() -> dict[str, Any]:
    """The demo run's simulation inputs, as ``simulate_run`` hands them to ``simulate``,
    into ARRAYS; what they are like."""
    import tempfile

    import numpy as np

    import hazardmap.years
    from hazardmap import load_config
    from hazardmap.cache import OverlayCache
    from hazardmap.inputs import assemble, config_draft, read_inputs
    from hazardmap.model import HouseholdArrays, assess_households
    from hazardmap.overlay import overlay_layers
    from hazardmap.problems import Problems

    captured: dict[str, Any] = {}
    simulate = hazardmap.years.simulate

    def keep(population: Any, hazards: Any, **kwargs: Any) -> Any:
        captured["population"], captured["hazards"] = population, list(hazards)
        return simulate(population, hazards, **{**kwargs, "years": BLOCK})

    hazardmap.years.simulate = keep  # type: ignore[assignment]
    config = load_config(PROJECT / "hazardmap.toml")
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="bench-simulation-") as work:
        read = read_inputs(config_draft(config), problems, workdir=Path(work))
        problems.raise_errors()
        inputs = assemble(config, read)
        overlays, _ = overlay_layers(inputs, problems, OverlayCache(None))
        arrays = HouseholdArrays.from_table(inputs.households)
        params = [layer.spec.hazard_params() for layer in config.layers]
        risk = assess_households(
            arrays,
            params,
            {name: overlay.value for name, overlay in overlays.items()},
            **config.settings.project.poverty_terms(),
        )
        simulated = hazardmap.years.simulate_run(inputs, arrays, risk, config)
    assert simulated is not None and "population" in captured
    population, hazards = captured["population"], captured["hazards"]
    stored: dict[str, Any] = {
        "income": population.income,
        "q0": population.q0,
        "village": population.village,
        "n_villages": population.n_villages,
        "line": population.line,
        "sigma": population.sigma,
        "names": np.array([h.name for h in hazards]),
        "correlation": np.array([[h.county, h.local] for h in hazards]),
    }
    for h in hazards:
        stored |= {f"{h.name}_p": h.probability, f"{h.name}_loss": h.loss, f"{h.name}_cell": h.cell}
    np.savez(ARRAYS, **stored)
    return {
        "households": len(population.income),
        "left_out": simulated.left_out,
        "villages": population.n_villages,
        "line": population.line,
        "sigma": population.sigma,
        "income_median": float(np.median(population.income)),
        "hazards": {
            h.name: {
                "p": [float(h.probability.min()), float(h.probability.max())],
                "p_mean": float(h.probability.mean()),
                "loss": [float(h.loss.min()), float(h.loss.max())],
                "loss_mean": float(h.loss.mean()),
                "cells": int(h.cell.max()) + 1,
                "county": h.county,
                "local": h.local,
            }
            for h in hazards
        },
    }


def load_inputs(households: int = DEMO_HOUSEHOLDS) -> tuple[Any, list[Any]]:
    """Population and hazards from ARRAYS; more households than the demo's as copies of
    the county side by side (villages and cells renumbered per copy)."""
    import numpy as np

    from hazardmap.model.simulation import HazardYears, Population

    d = np.load(ARRAYS)
    n = len(d["income"])
    pick = np.arange(households) % n
    copy = np.arange(households) // n
    copies = int(copy[-1]) + 1
    n_villages = int(d["n_villages"])
    population = Population(
        income=d["income"][pick],
        q0=d["q0"][pick],
        line=float(d["line"]),
        sigma=float(d["sigma"]),
        village=d["village"][pick] + copy * n_villages,
        n_villages=n_villages * copies,
    )
    hazards = []
    for name, (county, local) in zip(d["names"], d["correlation"], strict=True):
        cell = d[f"{name}_cell"]
        hazards.append(
            HazardYears(
                str(name),
                d[f"{name}_p"][pick],
                d[f"{name}_loss"][pick],
                cell[pick] + copy * (int(cell.max()) + 1),
                float(county),
                float(local),
            )
        )
    return population, hazards


def expected_returns() -> dict[str, float]:
    """The exact mean of the yearly returns (compound "sum"), in total and per hazard:
    per household the 2^H combinations of events, each with its probability, times
    q(min(1, their summed loss)) - q0."""
    import itertools

    import numpy as np

    from hazardmap.model.risk import poverty_probability

    population, hazards = load_inputs()
    total = 0.0
    per = dict.fromkeys((h.name for h in hazards), 0.0)
    for events in itertools.product((False, True), repeat=len(hazards)):
        chance = np.ones(len(population.income))
        loss = np.zeros(len(population.income))
        for hit, h in zip(events, hazards, strict=True):
            chance *= h.probability if hit else 1.0 - h.probability
            loss += h.loss if hit else 0.0
        q = poverty_probability(
            population.income, np.minimum(loss, 1.0), population.line, population.sigma
        )
        part = float((chance * (q - population.q0)).sum())
        total += part if any(events) else 0.0
        for hit, h in zip(events, hazards, strict=True):
            per[h.name] += part if hit else 0.0
    return {"returns": total, **per}


# --- the reference ---------------------------------------------------------------------


def reference(population: Any, hazards: list[Any], years: int, seed: int) -> dict[str, Any]:
    """The model written plainly with numpy: every draw for every household-year."""
    import numpy as np
    from scipy.special import ndtr

    rng = np.random.default_rng(seed)
    n = len(population.income)
    log_line = np.log(population.line)
    returns, by_hazard, by_village = [], {h.name: [] for h in hazards}, []
    for start in range(0, years, BLOCK):
        size = min(BLOCK, years - start)
        loss = np.zeros((size, n))
        struck = []
        for h in hazards:
            county = rng.standard_normal(size)
            local = rng.standard_normal((size, int(h.cell.max()) + 1))
            own = rng.standard_normal((size, n))
            u = (
                np.sqrt(h.county) * county[:, None]
                + np.sqrt(h.local) * local[:, h.cell]
                + np.sqrt(1.0 - h.county - h.local) * own
            )
            hit = ndtr(u) < h.probability
            loss += hit * h.loss
            struck.append(hit)
        luck = rng.random((size, n))
        remaining = population.income * (1.0 - np.minimum(loss, 1.0))
        with np.errstate(divide="ignore"):
            q = np.where(
                remaining <= 0.0, 1.0, ndtr((log_line - np.log(remaining)) / population.sigma)
            )
        back = (population.q0 <= luck) & (luck < q)
        returns.append(back.sum(axis=1))
        for h, hit in zip(hazards, struck, strict=True):
            by_hazard[h.name].append((back & hit).sum(axis=1))
        year, household = np.nonzero(back)
        villages = population.n_villages
        by_village.append(
            np.bincount(
                year * villages + population.village[household], minlength=size * villages
            ).reshape(size, villages)
        )
    return {
        "returns": np.concatenate(returns),
        "by_hazard": {name: np.concatenate(parts) for name, parts in by_hazard.items()},
        "by_village": np.concatenate(by_village),
    }


# --- measuring processes ---------------------------------------------------------------


def vmhwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


def one_thread(task: Any, blocks: list[int]) -> list[Any]:
    """The blocks one after the other on the calling thread."""
    return [task(block) for block in blocks]


def outcome(returns: Any, by_hazard: dict[str, Any], households: int, years: int) -> dict[str, Any]:
    import numpy as np

    returns = np.asarray(returns)
    return {
        "mean_returns": float(returns.mean()),
        "se_returns": float(returns.std(ddof=1) / np.sqrt(len(returns))),
        "mean_by_hazard": {h: float(np.mean(c)) for h, c in by_hazard.items()},
        "se_by_hazard": {
            h: float(np.std(c, ddof=1) / np.sqrt(len(c))) for h, c in by_hazard.items()
        },
        "returns_sha256": hashlib.sha256(returns.astype(np.int64).tobytes()).hexdigest(),
        "household_hazard_years": households * len(by_hazard) * years,
    }


def child_run(route: str, years: int, households: int) -> dict[str, Any]:
    """One measurement in this fresh process: ``route`` is hazardmap (threads),
    hazardmap-1 (one thread), reference or cluster."""
    import gc
    from functools import partial

    from hazardmap.model.simulation import Shocks, on_threads, simulate

    population, hazards = load_inputs(households)
    small_population, small_hazards = load_inputs()
    sampler = RssSampler().start()
    figures: dict[str, Any] = {"route": route, "years": years, "households": households}

    def measured(run: Any) -> tuple[Any, float]:
        gc.collect()
        sampler.mark()
        before = sampler.rss()
        start = time.perf_counter()
        result = run()
        figures["seconds"] = time.perf_counter() - start
        figures["rise_mb"] = (sampler.mark() - before) / 2**20
        return result, figures["seconds"]

    if route == "reference":
        reference(small_population, small_hazards, 2 * BLOCK, 0)  # warm-up
        result, _ = measured(lambda: reference(population, hazards, years, SEED))
        figures |= outcome(result["returns"], result["by_hazard"], households, years)
    elif route in ("hazardmap", "hazardmap-1"):
        blocks = on_threads if route == "hazardmap" else one_thread
        simulate(small_population, small_hazards, years=2 * BLOCK, seed=0, run_blocks=blocks)
        result, _ = measured(
            lambda: simulate(population, hazards, years=years, seed=SEED, run_blocks=blocks)
        )
        figures |= outcome(result.returns, result.by_hazard, households, years)
    elif route == "cluster":
        import resource

        from distributed import Client, LocalCluster

        from hazardmap.years import on_cluster

        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            figures["cluster_start_seconds"] = time.perf_counter() - start
            blocks = partial(on_cluster, client)
            simulate(small_population, small_hazards, years=2 * BLOCK, seed=0, run_blocks=blocks)
            client.run(gc.collect)
            rss = client.run(lambda: RssSampler.rss() / 2**20)
            figures["workers_before_mb"] = [rss[w] for w in sorted(rss)]
            result, _ = measured(
                lambda: simulate(population, hazards, years=years, seed=SEED, run_blocks=blocks)
            )
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            figures["workers_peak_mb"] = [peaks[w] for w in sorted(peaks)]
        figures |= outcome(result.returns, result.by_hazard, households, years)
    else:
        raise ValueError(route)
    sampler.stop()
    figures["peak_mb"] = vmhwm_mb()
    figures["inputs_mb"] = (
        sum(a.nbytes for a in (population.income, population.q0, population.village))
        + sum(h.probability.nbytes + h.loss.nbytes + h.cell.nbytes for h in hazards)
    ) / 2**20
    shocks = Shocks.of(population, hazards)  # the task sends them too
    figures["shocks_mb"] = (
        (0 if shocks.q is None else shocks.q.nbytes)
        + sum(
            p.household.nbytes + p.threshold.nbytes + p.start.nbytes + p.cell.nbytes
            for p in shocks.plans
        )
    ) / 2**20
    return figures


def child_profile(blocks: int) -> dict[str, Any]:
    """Where a block's time goes on one thread: cProfile of ``blocks`` blocks, and the
    same blocks' steps replayed one by one with a clock (``copula.struck`` for each
    hazard, then ``simulate_block``'s own steps, compound "sum"), checked against
    ``simulate_block``: the replay must give the same yearly returns."""
    import cProfile
    import io
    import pstats

    import numpy as np
    from scipy.special import log_ndtr, ndtr

    from hazardmap.model.copula import DENSE_ABOVE
    from hazardmap.model.simulation import Shocks, _bits, simulate_block

    population, hazards = load_inputs()
    start = time.perf_counter()
    shocks = Shocks.of(population, hazards)
    shocks_seconds = time.perf_counter() - start
    simulate_block(population, hazards, shocks, seed=0, block=0, years=BLOCK, compound="sum")
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    for block in range(blocks):
        simulate_block(
            population, hazards, shocks, seed=SEED, block=block, years=BLOCK, compound="sum"
        )
    profile.disable()
    profiled = time.perf_counter() - start
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(10)
    rows = [
        {
            "tottime": stats[2],
            "cumtime": stats[3],
            "calls": stats[1],
            "function": pstats.func_std_string(key),
        }
        for key, stats in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
    ]
    rows.sort(key=lambda row: -row["tottime"])

    steps = dict.fromkeys(
        (
            "shared normals, rates",
            "Poisson counts",
            "hit positions",
            "acceptance",
            "dense stratum-years",
            "event bits (set per hazard)",
            "flatnonzero, year and household",
            "luck, q lookup, compare",
            "tallies per year, hazard, village",
        ),
        0.0,
    )
    n = len(population.income)
    counts = {
        h.name: dict.fromkeys(("hits", "kept", "dense_stratum_years", "dense_draws", "strikes"), 0)
        for h in hazards
    }
    struck_share, same = [], True

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        steps[step] = steps.get(step, 0.0) + now - since
        return now

    for block in range(blocks):
        rng = np.random.default_rng(np.random.SeedSequence([SEED, block]))
        t = time.perf_counter()
        bits = _bits(len(hazards))
        which = np.zeros(BLOCK * n, dtype=bits)
        t = lap("event bits (set per hazard)", t)
        for bit, (h, plan) in enumerate(zip(hazards, shocks.plans, strict=True)):
            seen = counts[h.name]
            # copula.struck
            shared = np.sqrt(h.county) * rng.standard_normal(BLOCK)[:, None]
            shared = shared + np.sqrt(h.local) * rng.standard_normal((BLOCK, plan.n_cells))
            shift = shared[:, plan.cell]
            own = np.sqrt(max(0.0, 1.0 - h.county - h.local))
            if own == 0.0:
                parts = []
                dense = plan.top[None, :] > shift
                t = lap("shared normals, rates", t)
            else:
                x_top = (plan.top[None, :] - shift) / own
                dense = ndtr(x_top) > DENSE_ABOVE
                rate = np.where(dense, 0.0, -log_ndtr(-x_top))
                t = lap("shared normals, rates", t)
                hits = rng.poisson(rate * plan.size[None, :])
                t = lap("Poisson counts", t)
                pair = np.repeat(np.arange(hits.size), hits.ravel())
                year, stratum = np.divmod(pair, len(plan.size))
                position = plan.start[stratum] + (
                    rng.random(len(pair)) * plan.size[stratum]
                ).astype(np.int64)
                t = lap("hit positions", t)
                x = (plan.threshold[position] - shift.ravel()[pair]) / own
                kept = rng.random(len(pair)) * rate.ravel()[pair] < -log_ndtr(-x)
                parts = [year[kept] * n + plan.household[position[kept]]]
                t = lap("acceptance", t)
                seen["hits"] += len(pair)
                seen["kept"] += int(kept.sum())
            # copula._each: every household of the dense stratum-years draws its own normal
            year, stratum = np.nonzero(dense)
            size = plan.size[stratum]
            end = np.cumsum(size)
            position = np.repeat(plan.start[stratum] - (end - size), size) + np.arange(
                end[-1] if len(end) else 0
            )
            gap = plan.threshold[position] - np.repeat(shift[year, stratum], size)
            hit = gap > own * rng.standard_normal(len(gap)) if own > 0 else gap > 0
            parts.append(np.repeat(year, size)[hit] * n + plan.household[position[hit]])
            t = lap("dense stratum-years", t)
            seen["dense_stratum_years"] += len(year)
            seen["dense_draws"] += len(gap) if own > 0 else 0
            # simulate_block
            where = np.concatenate(parts)
            which[where] |= bits(1 << bit)
            t = lap("event bits (set per hazard)", t)
            seen["strikes"] += len(where)
        flat = np.flatnonzero(which != 0)
        events = which[flat].astype(np.int64)
        year, household = np.divmod(flat, n)
        t = lap("flatnonzero, year and household", t)
        struck_share.append(len(flat) / (BLOCK * n))
        q0 = population.q0[household]
        luck = rng.random(len(flat))
        q = shocks.poverty(population, hazards, events, household)
        fell = (q0 <= luck) & (luck < q)
        t = lap("luck, q lookup, compare", t)
        for bit in range(len(hazards)):
            mine = fell & ((events >> bit) & 1 == 1)
            np.bincount(year[mine], minlength=BLOCK)
        year, household = year[fell], household[fell]
        np.bincount(
            year * population.n_villages + population.village[household],
            minlength=BLOCK * population.n_villages,
        ).reshape(BLOCK, population.n_villages).astype(np.int32)
        returns = np.bincount(year, minlength=BLOCK)
        lap("tallies per year, hazard, village", t)
        done = simulate_block(
            population, hazards, shocks, seed=SEED, block=block, years=BLOCK, compound="sum"
        )
        same = same and bool(np.array_equal(returns, done.returns))
    return {
        "blocks": blocks,
        "shocks_seconds": shocks_seconds,
        "strata": {h.name: len(p.size) for h, p in zip(hazards, shocks.plans, strict=True)},
        "profiled_seconds": profiled,
        "cprofile_text": text.getvalue(),
        "cprofile_top": rows[:8],
        "steps": steps,
        "struck_share": float(np.mean(struck_share)),
        "per_hazard": counts,
        "replay_same_returns": same,
    }


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"benchmark child {args} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- report ----------------------------------------------------------------------------


def z_score(a: dict[str, Any], mean: float, se: float = 0.0) -> float:
    return (a["mean_returns"] - mean) / math.hypot(a["se_returns"], se)


def summary(runs: list[dict[str, Any]], scale: float = 1.0) -> dict[str, Any]:
    """Median seconds (scaled to the hazardmap years by ``scale``), throughput, memory."""
    seconds = statistics.median(r["seconds"] for r in runs) * scale
    return {
        "seconds": seconds,
        "all_seconds": [r["seconds"] for r in runs],
        "per_second": runs[0]["household_hazard_years"] * scale / seconds,
        "peak_mb": max(r["peak_mb"] for r in runs),
        "rise_mb": max(r["rise_mb"] for r in runs),
    }


def province(one: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    """Gansu from the measured throughput (an extrapolation, not a measurement)."""
    work = PROVINCE["households"] * 3 * PROVINCE["years"]
    one_rate = one["household_hazard_years"] / one["seconds"]
    worker_rate = cluster["household_hazard_years"] / cluster["seconds"] / 2
    scale = PROVINCE["households"] / one["households"]
    villages = PROVINCE["counties"] * 340
    return {
        **PROVINCE,
        "household_hazard_years": work,
        "one_process_seconds": work / one_rate,
        "worker_rate": worker_rate,
        "worker_hours": work / worker_rate / 3600,
        "workers_for_an_hour": math.ceil(work / worker_rate / 3600),
        "villages_at_demo_density": villages,
        # simulate_block's village counts are int32
        "client_by_village_gb": PROVINCE["years"] * villages * 4 / 1e9,
        "task_mb": (one["inputs_mb"] + one["shocks_mb"]) * scale,
        "worker_peak_mb": max(
            before + (peak - before) * scale
            for before, peak in zip(
                cluster["workers_before_mb"], cluster["workers_peak_mb"], strict=True
            )
        ),
    }


def report(figures: dict[str, Any]) -> None:
    inputs, demo, big = figures["inputs"], figures["demo"], figures["big"]
    exact = figures["expected"]
    years, ref_years = figures["years"], figures["reference_years"]
    print(
        f"\nSimulated years of the demo county: {inputs['households']:,} households x 3 hazards "
        f"x {years:,} years (compound 'sum', the real demo run's arrays); "
        f"median of {figures['repeat']} fresh processes"
    )
    scaled = "" if ref_years == years else f" (run {ref_years:,} years, time scaled)"
    print(
        f"{'route':<34}{'seconds':>9}{'hh-hazard-yr/s':>16}{'peak MB':>9}{'+MB':>7}"
        f"{'mean returns':>16}{'vs exact':>10}{'speed-up':>10}"
    )
    ref = demo["summary"]["reference"]
    for route, label in (
        ("hazardmap", "hazardmap, threads (2 cores)"),
        ("hazardmap-1", "hazardmap, one thread"),
        ("reference", "reference numpy, one thread" + ("*" if scaled else "")),
    ):
        s, first = demo["summary"][route], demo["runs"][route][0]
        mean = f"{first['mean_returns']:.1f}±{first['se_returns']:.1f}"
        print(
            f"{label:<34}{s['seconds']:>9.2f}{s['per_second']:>16.3g}{s['peak_mb']:>9.0f}"
            f"{s['rise_mb']:>+7.0f}{mean:>16}{z_score(first, exact['returns']):>+9.1f}σ"
            f"{ref['seconds'] / s['seconds']:>9.2f}x"
        )
    if scaled:
        print(f"* {scaled.strip(' ()')}")
    h, r = demo["runs"]["hazardmap"][0], demo["runs"]["reference"][0]
    ratio = ref["seconds"] / demo["summary"]["hazardmap"]["seconds"]
    threads = demo["summary"]["hazardmap-1"]["seconds"] / demo["summary"]["hazardmap"]["seconds"]
    apart = z_score(h, r["mean_returns"], r["se_returns"])
    print(
        f"exact expected returns {exact['returns']:.2f} a year; hazardmap - reference "
        f"{h['mean_returns'] - r['mean_returns']:+.2f} ({apart:+.1f}σ); "
        f"per hazard (hazardmap / reference / exact): "
        + ", ".join(
            f"{n} {h['mean_by_hazard'][n]:.1f}/{r['mean_by_hazard'][n]:.1f}/{exact[n]:.1f}"
            for n in h["mean_by_hazard"]
        )
    )
    same = len(
        {run["returns_sha256"] for run in demo["runs"]["hazardmap"] + demo["runs"]["hazardmap-1"]}
    )
    print(
        f"speed-up against the reference {ratio:.2f}x (goal {GOAL:g}x: "
        f"{'met' if ratio >= GOAL else 'NOT met'}); threads {threads:.2f}x "
        f"over one thread; same years on threads and one thread: {'yes' if same == 1 else 'NO'}"
    )

    one, cl = big["one"], big["cluster"]
    print(
        f"\n{one['households']:,} households x {one['years']:,} years "
        f"({one['households'] / inputs['households']:.1f} copies of the demo county), one run each"
    )
    print(f"{'where':<40}{'seconds':>9}{'hh-hazard-yr/s':>16}{'peak MB':>9}{'+MB':>7}", end="")
    print("  workers' peak MB")
    for label, run, workers in (
        ("one process, threads (2 cores)", one, "-"),
        (
            "LocalCluster, 2 workers x 1 thread",
            cl,
            ", ".join(f"{w:.0f}" for w in cl.get("workers_peak_mb", [])),
        ),
    ):
        rate = run["household_hazard_years"] / run["seconds"]
        print(
            f"{label:<40}{run['seconds']:>9.1f}{rate:>16.3g}{run['peak_mb']:>9.0f}"
            f"{run['rise_mb']:>+7.0f}  {workers}"
        )
    print(
        f"cluster start {cl['cluster_start_seconds']:.1f} s (not included); "
        f"same years on the cluster as in one process: "
        f"{'yes' if cl['returns_sha256'] == one['returns_sha256'] else 'NO'}; "
        f"the task sent to each worker {one['inputs_mb'] + one['shocks_mb']:.0f} MB "
        f"(households' arrays {one['inputs_mb']:.0f} MB, strata and q table "
        f"{one['shocks_mb']:.0f} MB)"
    )
    p = figures["province"]
    print(
        f"\n{p['name']} (an extrapolation): {p['counties']} counties, "
        f"{p['households']:,} households, {p['years']:,} years = "
        f"{p['household_hazard_years']:.2g} household-hazard-years:\n"
        f"  {p['one_process_seconds'] / 60:.1f} minutes on one process like this one (2 cores);\n"
        f"  {p['worker_hours']:.1f} worker-hours at {p['worker_rate']:.3g}/s per single-thread "
        f"worker: {p['workers_for_an_hour']} such worker"
        f"{'' if p['workers_for_an_hour'] == 1 else 's'} for an hour (scheduling aside);\n"
        f"  each worker about {p['worker_peak_mb'] / 1024:.1f} GB at its peak (the 1M peak's "
        f"rise scaled), the task sent to each {p['task_mb']:.0f} MB;\n"
        f"  the client gathers years x villages int32 counts: {p['client_by_village_gb']:.1f} GB "
        f"at the demo's density ({p['villages_at_demo_density']:,} villages)"
    )

    prof = figures["profile"]
    total = sum(prof["steps"].values())
    print(
        f"\nwhere a block's time goes (one thread, {prof['blocks']} blocks of {BLOCK} years x "
        f"{inputs['households']:,} households; something struck in "
        f"{prof['struck_share']:.1%} of household-years)"
    )
    print(
        "cProfile, by own time (numpy's calls inside a Python function count as that function's):"
    )
    for row in prof["cprofile_top"][:6]:
        print(f"  {row['tottime']:>7.3f} s  {row['calls']:>5}  {row['function']}")
    print(
        f"the steps replayed with a clock, in their order (total {total:.3f} s; the replay's "
        f"yearly returns equal simulate_block's: "
        f"{'yes' if prof['replay_same_returns'] else 'NO'}):"
    )
    for step, seconds in prof["steps"].items():
        print(f"  {seconds:>7.3f} s {seconds / total:>5.0%}  {step}")
    household_years = prof["blocks"] * BLOCK * inputs["households"]
    print(
        f"per hazard, per {prof['blocks'] * BLOCK:,} years (Shocks.of "
        f"{prof['shocks_seconds']:.3f} s once):"
    )
    for name, seen in prof["per_hazard"].items():
        kept = seen["kept"] / seen["hits"] if seen["hits"] else math.nan
        print(
            f"  {name}: {prof['strata'][name]} strata; {seen['hits']:,} hits "
            f"({seen['hits'] / household_years:.2%} of household-years), {kept:.0%} kept; "
            f"{seen['dense_stratum_years']:,} dense stratum-years drawing "
            f"{seen['dense_draws']:,} own normals ({seen['dense_draws'] / household_years:.2%}); "
            f"{seen['strikes']:,} strikes ({seen['strikes'] / household_years:.2%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=10_000)
    parser.add_argument("--reference-years", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big-households", type=int, default=1_000_000)
    parser.add_argument("--big-years", type=int, default=1_000)
    parser.add_argument("--profile-blocks", type=int, default=20)
    parser.add_argument(
        "--child", nargs=3, metavar=("ROUTE", "YEARS", "HOUSEHOLDS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-capture", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_run(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    if args.child_capture:
        print(json.dumps(child_capture()))
        return
    if args.child_profile:
        print(json.dumps(child_profile(args.child_profile)))
        return

    started = time.perf_counter()
    prepared = prepare_project()
    inputs = run_child("--child-capture")
    print(
        f"demo county: {inputs['households']:,} households ({inputs['left_out']} left out), "
        f"{inputs['villages']} villages, from {PROJECT.relative_to(REPO)} (demo-data "
        f"{prepared['seconds']:.0f} s when written)",
        flush=True,
    )
    figures: dict[str, Any] = {
        "years": args.years,
        "reference_years": args.reference_years,
        "repeat": args.repeat,
        "inputs": inputs,
        "expected": expected_returns(),
    }
    routes = {
        "hazardmap": args.years,
        "hazardmap-1": args.years,
        "reference": args.reference_years,
    }
    runs: dict[str, list[dict[str, Any]]] = {route: [] for route in routes}
    for round_ in range(args.repeat):
        for route, years in routes.items():
            runs[route].append(run_child("--child", route, str(years), str(DEMO_HOUSEHOLDS)))
            print(f"  round {round_ + 1}: {route} {runs[route][-1]['seconds']:.2f} s", flush=True)
    figures["demo"] = {
        "runs": runs,
        "summary": {
            route: summary(runs[route], args.years / years) for route, years in routes.items()
        },
    }
    big = [str(args.big_years), str(args.big_households)]
    figures["big"] = {
        "one": run_child("--child", "hazardmap", *big),
        "cluster": run_child("--child", "cluster", *big),
    }
    figures["province"] = province(figures["big"]["one"], figures["big"]["cluster"])
    figures["profile"] = run_child("--child-profile", str(args.profile_blocks))
    figures["total_seconds"] = time.perf_counter() - started
    report(figures)

    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = results / f"simulation-{stamp}.json"
    path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(f"\ntotal {figures['total_seconds']:.0f} s; raw figures in {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
