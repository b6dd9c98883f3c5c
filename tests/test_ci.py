"""The CI entry point builds a fresh virtual environment from the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"# 2\. the tests[^\n]*\n([^\n]+)\n", text)
    assert block is not None, "the README's second set-up command is missing"
    return block.group(1).strip()


def test_ci_runs_the_readme_command_in_a_fresh_venv() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]
    assert _readme_test_command() in lines
    assert any("-m venv" in ln for ln in lines)  # a new environment each run
    venv = next(i for i, ln in enumerate(lines) if "-m venv" in ln)
    activate = next(i for i, ln in enumerate(lines) if "bin/activate" in ln)
    command = lines.index(_readme_test_command())
    assert venv < activate < command
    # no other pip install: the environment is exactly what the README's command builds
    assert sum("pip install" in ln for ln in lines) == 1
