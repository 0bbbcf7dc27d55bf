"""Wall time per stage of a run, and the progress callback that announces each stage.

Nothing in the library prints: the command line (or a notebook, or a benchmark) passes a
callback and decides how to show progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ProgressCallback = Callable[[str, int, int], None]
"""Called as progress(stage, index, total) when a stage starts."""

STAGES = (
    "read villages",
    "read households",
    "open hazard sources",
    "overlay layers",
    "household risk",
    "village risk",
    "simulate years",
    "interventions",
    "write outputs",
)


@dataclass
class StageClock:
    """Wall time per stage (summed when a stage runs more than once)."""

    progress: ProgressCallback | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, STAGES.index(name), len(STAGES))
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
