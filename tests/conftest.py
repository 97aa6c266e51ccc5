"""Shared fixtures: run a snippet exactly as a reader would (`python snippets/x.py`), once per session.

A snippet may declare the arguments the tests run it with in a line `# ci-args: ...`, where `{tmp}`
is a fresh temporary directory: fewer steps, and output folders outside the repository. Several
`# ci-args:` lines are several runs (variants 0, 1, ...), e.g. an experiment and its ablations.
`{smollm2}` is the local path of SmolLM2-135M-Instruct (atlas.real_model): a variant with
`--model {smollm2}` runs the snippet on the real model, the one-line change a reader makes.
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


def ci_variants(path: Path) -> list[str]:
    """The argument strings of every `# ci-args:` line (one empty string if there is none)."""
    return [m.strip() for m in CI_ARGS.findall(path.read_text())] or [""]


def ci_args(path: Path, variant: int = 0) -> str:
    return ci_variants(path)[variant]


def format_args(template: str, tmp: Path) -> str:
    """Fill in `{tmp}` and, only where it is used, `{smollm2}` (made on first use: a de-quantized copy)."""
    fields = {"tmp": tmp}
    if "{smollm2}" in template:
        from atlas.real_model import smollm2

        fields["smollm2"] = smollm2()
    return template.format(**fields)


def on_real_model(args: str) -> bool:
    return "{smollm2}" in args


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
    runs: dict[tuple[str, int], SnippetRun] = {}

    def run(name: str, variant: int = 0) -> SnippetRun:
        if (name, variant) not in runs:
            path = ROOT / "snippets" / f"{name}.py"
            assert path.is_file(), f"no snippet {path}"
            tmp = tmp_path_factory.mktemp(f"{name}-{variant}")
            args = shlex.split(format_args(ci_args(path, variant), tmp))
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            proc = subprocess.run([sys.executable, str(path), *args], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=1200)
            runs[name, variant] = SnippetRun(name, tmp, proc.returncode, proc.stdout, proc.stderr)
        return runs[name, variant]

    return run
