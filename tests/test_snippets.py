"""Every script in snippets/ runs as a reader runs it, and its committed outputs are not stale."""

from __future__ import annotations

import pytest

from conftest import ROOT, SNIPPETS, ci_args

GENERATED = ROOT / "docs" / "generated"


@pytest.mark.parametrize("path", SNIPPETS, ids=[p.stem for p in SNIPPETS])
def test_snippet_runs(path, run_snippet):
    run = run_snippet(path.stem)
    assert run.returncode == 0, f"{path.name} failed:\n{run.stderr[-4000:]}"
    assert run.stdout.strip(), f"{path.name} printed nothing: a snippet prints its results"


# Snippets that CI runs with fewer steps (`--max-steps` in their ci-args) write other numbers than
# the full run; their technique test checks the committed results against the shipped model instead.
FULL_IN_CI = [p for p in SNIPPETS if "--max-steps" not in ci_args(p)]


@pytest.mark.parametrize("path", FULL_IN_CI, ids=[p.stem for p in FULL_IN_CI])
def test_committed_outputs_are_current(path, run_snippet):
    """What a snippet writes for the pages equals what is committed."""
    run = run_snippet(path.stem)
    assert run.returncode == 0, run.stderr[-2000:]
    # Text files only: figures are compared through the numbers they plot, which are in the text.
    written = sorted(p for p in run.results().rglob("*") if p.suffix in {".md", ".json", ".jsonl"})
    for new in written:
        committed = GENERATED / path.stem / new.relative_to(run.results())
        assert committed.is_file(), f"{path.name} writes {new.name}, but {committed} is not committed"
        assert new.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run `python snippets/{path.name}` and commit the result")
