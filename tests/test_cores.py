"""Thread pools are sized by the cores the process may use, a container's quota included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hazardmap.cores import usable_cores


def _affinity() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("max 100000", None),
        ("100000 100000", 1),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("garbage", None),
        ("0 100000", None),
        ("", None),
    ],
)
def test_a_cgroup_quota_caps_the_cores(tmp_path: Path, text: str, cap: int | None) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(text + "\n", encoding="ascii")
    expected = _affinity() if cap is None else min(_affinity(), cap)
    assert usable_cores(cpu_max) == expected


def test_no_cgroup_file_leaves_the_affinity(tmp_path: Path) -> None:
    assert usable_cores(tmp_path / "missing") == _affinity() >= 1
