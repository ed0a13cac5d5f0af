"""Every Python block of the README runs (the shell commands at its top are what CI runs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_starts_with_the_two_commands() -> None:
    first = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert first is not None
    lines = first.group(1).strip().splitlines()
    assert lines == [
        "./scripts/install.sh && .venv/bin/offline-iq benchmark",
        "./scripts/install.sh && .venv/bin/python -m pytest -q",
    ]
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[1] in ci


def test_readme_python_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks form one session, as a reader would run them."""
    assert len(BLOCKS) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for block in BLOCKS:
        exec(compile(block, str(README), "exec"), namespace)
