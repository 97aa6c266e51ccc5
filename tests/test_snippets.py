"""Every script in snippets/ runs as a reader runs it, and its committed outputs are not stale."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, SNIPPETS, ci_variants, on_real_model

GENERATED = ROOT / "docs" / "generated"


RUNS = [(p, v) for p in SNIPPETS for v in range(len(ci_variants(p)))]


@pytest.mark.parametrize("path,variant", RUNS, ids=[f"{p.stem}-{v}" for p, v in RUNS])
def test_snippet_runs(path, variant, run_snippet):
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, f"{path.name} {ci_variants(path)[variant]} failed:\n{run.stderr[-4000:]}"
    assert run.stdout.strip(), f"{path.name} printed nothing: a snippet prints its results"


# Snippets that CI runs with fewer steps (`--max-steps` in their ci-args) write other numbers than
# the full run; their technique test checks the committed results against the shipped model instead.
# Variants on the real model (`--model {smollm2}`) test the one-variable promise, not the pages.
FULL_IN_CI = [(p, v) for p, v in RUNS if "--max-steps" not in ci_variants(p)[v] and not on_real_model(ci_variants(p)[v])]


@pytest.mark.parametrize("path,variant", FULL_IN_CI, ids=[f"{p.stem}-{v}" for p, v in FULL_IN_CI])
def test_committed_outputs_are_current(path, variant, run_snippet):
    """What a snippet writes for the pages equals what is committed."""
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, run.stderr[-2000:]
    # Text files only: figures are compared through the numbers they plot, which are in the text.
    # Wall-clock times (`*_timing.json`) differ on every run; the page shows the committed ones.
    written = sorted(p for p in run.results().rglob("*")
                     if p.suffix in {".md", ".json", ".jsonl"} and not p.name.endswith("_timing.json"))
    for new in written:
        committed = GENERATED / path.stem / new.relative_to(run.results())
        assert committed.is_file(), f"{path.name} writes {new.name}, but {committed} is not committed"
        assert new.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run `python snippets/{path.name}` and commit the result")


ON_REAL_MODEL = [(p, v) for p, v in RUNS if on_real_model(ci_variants(p)[v])]


@pytest.mark.parametrize("path,variant", ON_REAL_MODEL, ids=[f"{p.stem}-{v}" for p, v in ON_REAL_MODEL])
def test_one_variable_runs_it_on_the_real_model(path, variant, run_snippet):
    """The one-line change a reader makes (MODEL = the real model) works: the snippet runs end to end
    on SmolLM2-135M-Instruct, with its BPE tokenizer and chat template, and writes its results."""
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, run.stderr[-4000:]
    written = {p.name: json.loads(p.read_text()) for p in run.results().rglob("*.json")}
    assert written, f"{path.name} on the real model wrote no results"
    evaluated = [w["n_examples"] for w in written.values() if isinstance(w, dict) and "n_examples" in w]
    assert all(n > 0 for n in evaluated), written.keys()
