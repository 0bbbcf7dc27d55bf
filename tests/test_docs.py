"""The examples in the README run as written (on the tiny project)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.helpers import REPO

EXAMPLE = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("document", ["README.md"])
def test_python_examples_run(
    document: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = EXAMPLE.findall((REPO / document).read_text(encoding="utf-8"))
    assert blocks
    here = Path.cwd()
    os.chdir(tiny_project.parent)
    try:
        for block in blocks:
            exec(compile(block, document, "exec"), {})
    finally:
        os.chdir(here)
    assert "outputs/latest" in capsys.readouterr().out
