"""How the tests and the benchmarks run a snippet: with the arguments of its `# ci-args:` lines.

A snippet may declare the arguments it is run with in CI in a line `# ci-args: ...`, where `{tmp}`
is a fresh temporary directory: fewer steps, and output folders outside the repository. Several
`# ci-args:` lines are several runs (variants 0, 1, ...), e.g. an experiment and its ablations.
`{smollm2}` is the local path of SmolLM2-135M-Instruct (atlas.real_model): a variant with
`--model {smollm2}` runs the snippet on the real model, the one-line change a reader makes.
"""

from __future__ import annotations

import re
from pathlib import Path

from atlas import ROOT

SNIPPETS = sorted((ROOT / "snippets").glob("*.py"))
# The flags that only say where a run writes: a run with other folders is the same run.
FOLDER_FLAGS = ("--results-dir", "--output-dir", "--data-dir")
# A long line may end with a noqa comment for E501 (the arguments of one run stay on one line).
CI_ARGS = re.compile(r"^# ci-args:(.*?)(?:\s+# noqa: E501)?$", re.MULTILINE)


def ci_variants(path: Path) -> list[str]:
    """The argument strings of every `# ci-args:` line (one empty string if there is none)."""
    return [m.strip() for m in CI_ARGS.findall(path.read_text())] or [""]


def ci_args(path: Path, variant: int = 0) -> str:
    return ci_variants(path)[variant]


def format_args(template: str, tmp: Path) -> str:
    """Fill in `{tmp}` and, only where it is used, `{smollm2}` (made on first use: a de-quantized
    copy)."""
    fields = {"tmp": tmp}
    if "{smollm2}" in template:
        from atlas.real_model import smollm2

        fields["smollm2"] = smollm2()
    return template.format(**fields)


def on_real_model(args: str) -> bool:
    return "{smollm2}" in args
