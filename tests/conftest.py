"""Shared fixtures: run a snippet exactly as a reader would (`python snippets/x.py`), once per session.

A snippet may declare the arguments the tests run it with in a line `# ci-args: ...`, where `{tmp}`
is a fresh temporary directory: fewer steps, and output folders outside the repository.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = sorted((ROOT / "snippets").glob("*.py"))
CI_ARGS = re.compile(r"^# ci-args:(.*)$", re.MULTILINE)


def ci_args(path: Path) -> str:
    m = CI_ARGS.search(path.read_text())
    return m.group(1).strip() if m else ""


@dataclass
class SnippetRun:
    name: str
    tmp: Path
    returncode: int
    stdout: str
    stderr: str

    def results(self) -> Path:
        return self.tmp / "results"


@pytest.fixture(scope="session")
def run_snippet(tmp_path_factory):
    runs: dict[str, SnippetRun] = {}

    def run(name: str) -> SnippetRun:
        if name not in runs:
            path = ROOT / "snippets" / f"{name}.py"
            assert path.is_file(), f"no snippet {path}"
            tmp = tmp_path_factory.mktemp(name)
            args = shlex.split(ci_args(path).format(tmp=tmp))
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            proc = subprocess.run([sys.executable, str(path), *args], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=1200)
            runs[name] = SnippetRun(name, tmp, proc.returncode, proc.stdout, proc.stderr)
        return runs[name]

    return run
