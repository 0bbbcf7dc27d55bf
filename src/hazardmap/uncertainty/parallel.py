"""Where the chunks of model runs are computed: the machine's cores (one process each:
a run is many short numpy calls, which threads would serialize on the GIL), or a
dask.distributed cluster when a client is active. The chunks come back in their order,
so the files do not depend on what computed them."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from hazardmap.cluster import map_on_cluster
from hazardmap.cores import usable_cores
from hazardmap.errors import HazardmapError
from hazardmap.uncertainty.compute import Outcomes, SampleTask, in_process

Progress = Callable[[int, int], None]
"""Called as progress(runs done, runs in all) as chunks finish."""

_TASK: SampleTask | None = None
"""The task a worker process was given once (its initializer), not with every chunk."""


def _install(task: SampleTask) -> None:
    global _TASK
    _TASK = task
    # Ctrl-C reaches every process of the terminal's group: the parent alone answers it
    # (cancelling what is queued), so the workers print no traceback of their own
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(rows: np.ndarray) -> Outcomes:
    assert _TASK is not None
    return _TASK(rows)


def on_cores(
    task: SampleTask, chunks: list[np.ndarray], progress: Progress | None = None
) -> list[Outcomes]:
    """The chunks on the usable cores, one worker process each (in this process when
    there is one core or one chunk)."""
    total = sum(len(chunk) for chunk in chunks)
    workers = min(usable_cores(), len(chunks))
    if workers <= 1:
        done, results = 0, []
        for chunk in chunks:
            results.append(task(chunk))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return results
    context = multiprocessing.get_context("forkserver" if "forkserver" in _methods() else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_install, initargs=(task,))
    try:
        futures = [pool.submit(_run_chunk, chunk) for chunk in chunks]
        done = 0
        results = []
        for future, chunk in zip(futures, chunks, strict=True):
            results.append(future.result())
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return results
    except BrokenProcessPool:
        raise HazardmapError(
            "a worker process of the model runs ended abruptly (out of memory, or killed); "
            "nothing was written; free some memory or lower [uncertainty] samples"
        ) from None
    finally:
        # on an error or Ctrl-C, what is queued is dropped: only the chunks running finish
        pool.shutdown(wait=True, cancel_futures=True)


def _methods() -> list[str]:
    return multiprocessing.get_all_start_methods()


def on_cluster(
    client: Any, task: SampleTask, chunks: list[np.ndarray], progress: Progress | None = None
) -> list[Outcomes]:
    """The chunks as tasks of a dask.distributed cluster, gathered in chunk order."""
    results = map_on_cluster(client, task, chunks)
    if progress is not None:
        total = sum(len(chunk) for chunk in chunks)
        progress(total, total)
    return results


__all__ = ["Progress", "in_process", "on_cluster", "on_cores"]
