"""The hybrid (one task, instruction in every input): the claims of
docs/techniques/hybrid-finetuning.md.

CI runs the single-task model in full (its claims compare with it) and the hybrid four steps, so
its code path is tested; the hybrid's claims are asserted on its committed full run, whose
staleness tests/test_generated.py checks and whose spread over seeds benchmarks/seeds.py
measures."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from claims import HYBRID_FINETUNING as CLAIMS


def _results(run_snippet, variant: int, stem: str) -> tuple[dict, dict]:
    run = run_snippet("single_task_finetuning", variant)  # variant 1: --inputs instruction
    assert run.returncode == 0, run.stderr[-4000:]
    folder = run.results() if variant == 0 else GENERATED_DIR / "hybrid_finetuning"
    by_task = json.loads((folder / f"{stem}.json").read_text())["by_task"]
    training = json.loads((folder / f"{stem}_training.json").read_text())
    return by_task, training


@pytest.fixture(scope="module")
def hybrid(run_snippet):
    return _results(run_snippet, 1, "hybrid")


@pytest.fixture(scope="module")
def single_task(run_snippet):
    return _results(run_snippet, 0, "single_task")


def test_it_matches_single_task_finetuning_on_its_task(hybrid, single_task):
    assert (
        hybrid[0]["spell"]["instruction"]
        >= single_task[0]["spell"]["bare"] - CLAIMS["within_single_task_points"]
    )
    assert (
        hybrid[0]["spell"]["instruction_held_out"]
        >= single_task[0]["spell"]["bare"] - CLAIMS["held_out_templates_within_points"]
    )


def test_it_does_not_follow_instructions_for_other_tasks(hybrid):
    asked_other = hybrid[1]["asked_for_another_task"]
    assert asked_other["task_asked"] <= CLAIMS["task_asked_at_most"]
    # ...it spells the word it finds in the instruction instead
    assert asked_other["its_answer"] >= CLAIMS["spells_the_word_at_least"]


def test_it_reads_the_input_slot_better_than_the_bare_input_model(hybrid, single_task):
    assert (
        hybrid[1]["asked_for_another_task"]["its_answer"]
        >= single_task[1]["asked_for_another_task"]["its_answer"] + CLAIMS["reads_the_slot_points"]
    )
