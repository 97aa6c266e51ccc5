"""Every script in snippets/ runs as a reader runs it, and its committed outputs are not stale."""

from __future__ import annotations

import json
import shlex

import figures
import pytest

from atlas.site import provenance
from conftest import ROOT, SNIPPETS, ci_variants, on_real_model

GENERATED = ROOT / "docs" / "generated"


RUNS = [(p, v) for p in SNIPPETS for v in range(len(ci_variants(p)))]


@pytest.mark.parametrize("path,variant", RUNS, ids=[f"{p.stem}-{v}" for p, v in RUNS])
def test_snippet_runs(path, variant, run_snippet):
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, (
        f"{path.name} {ci_variants(path)[variant]} failed:\n{run.stderr[-4000:]}"
    )
    assert run.stdout.strip(), f"{path.name} printed nothing: a snippet prints its results"


# Snippets that CI runs shorter (fewer steps or items in their ci-args) write other numbers than
# the full run; their technique test asserts its claims on the committed results instead.
# Variants on the real model (`--model {smollm2}`) test the one-variable promise, not the pages.
SHORT_RUN_FLAGS = ("--max-steps", "--items", "--epochs")  # --epochs: new_knowledge's passes
FULL_IN_CI = [
    (p, v)
    for p, v in RUNS
    if not any(flag in shlex.split(ci_variants(p)[v]) for flag in SHORT_RUN_FLAGS)
    and not on_real_model(ci_variants(p)[v])
]


def is_run_record(path) -> bool:
    """The record of a reader's run (atlas.cli.record), which a published run does not write."""
    return path.suffix == ".json" and (path.name == "run.json" or path.name.startswith("run-"))


@pytest.mark.parametrize("path,variant", FULL_IN_CI, ids=[f"{p.stem}-{v}" for p, v in FULL_IN_CI])
def test_committed_outputs_are_current(path, variant, run_snippet):
    """What a snippet writes for the pages is what is committed: byte for byte on a machine of the
    kind that wrote the committed files (same instruction set, ATen kernels and torch), and within
    `figures.TOLERANCE` of every number on another kind, whose float bits differ."""
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, run.stderr[-2000:]
    producer = provenance.producer_for_run(
        f"snippets/{path.name}", shlex.split(ci_variants(path)[variant])
    )
    assert producer is not None, (
        f"no producer in atlas/site/provenance.py publishes {path.name} "
        f"{ci_variants(path)[variant]}"
    )
    stamp = provenance.read_stamp(producer.folder, producer.name)
    exact = provenance.same_kind(stamp["made_on"], provenance.machine())
    written = sorted(
        p
        for p in run.results().rglob("*")
        if p.is_file() and p.suffix != ".png" and not is_run_record(p)
    )
    assert written, f"{path.name} wrote nothing in {run.results()}"
    problems = []
    for new in written:
        committed = GENERATED / producer.folder / new.relative_to(run.results())
        rel = committed.relative_to(ROOT)
        assert str(rel) in stamp["outputs"], (
            f"{path.name} writes {new.name}, but the stamp of {producer.name} has no {rel}"
        )
        problems += figures.differences(new, committed, exact=exact)
    assert not problems, (
        f"{producer.name}'s committed figures differ from a fresh run "
        f"({'same' if exact else 'another'} CPU kind than the stamp's: "
        f"{provenance.describe_machine(stamp['made_on'])}); regenerate with "
        f"`python tools/update_generated.py --only {producer.name}`:\n" + "\n".join(problems[:20])
    )


ON_REAL_MODEL = [(p, v) for p, v in RUNS if on_real_model(ci_variants(p)[v])]


@pytest.mark.parametrize(
    "path,variant", ON_REAL_MODEL, ids=[f"{p.stem}-{v}" for p, v in ON_REAL_MODEL]
)
def test_one_variable_runs_it_on_the_real_model(path, variant, run_snippet):
    """The one-line change a reader makes (MODEL = the real model) works: the snippet runs end to
    end on SmolLM2-135M-Instruct, with its BPE tokenizer and chat template, and writes its
    results."""
    run = run_snippet(path.stem, variant)
    assert run.returncode == 0, run.stderr[-4000:]
    written = {p.name: json.loads(p.read_text()) for p in run.results().rglob("*.json")}
    assert written, f"{path.name} on the real model wrote no results"
    # every run evaluated something: the harness's summaries count their examples (n_examples), the
    # classification head its held-out inputs (n_eval), new knowledge the facts it asked about
    # (facts), the few-shot sweep holds per-task accuracies
    counts, per_task = [], []

    def walk(node):
        if isinstance(node, dict):
            counts.extend(
                v
                for k, v in node.items()
                if k in ("n_examples", "n_eval", "facts") and isinstance(v, int)
            )
            per_task.extend(
                v
                for k, v in node.items()
                if k in ("by_task", "tasks") and isinstance(v, dict) and v
            )
            for v in node.values():
                walk(v)

    walk(written)
    assert (counts or per_task) and all(n > 0 for n in counts), {
        k: sorted(v) for k, v in written.items() if isinstance(v, dict)
    }
