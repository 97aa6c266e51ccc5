"""Single-task fine-tuning: the claims of docs/techniques/single-task-finetuning.md.

Reads what `python snippets/single_task_finetuning.py` (full run, about 20 s) wrote when the tests
ran it."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from claims import SINGLE_TASK_FINETUNING as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("single_task_finetuning")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def by_task(run):
    return json.loads((run.results() / "single_task.json").read_text())["by_task"]


@pytest.fixture(scope="module")
def asked_other(run):
    return json.loads((run.results() / "single_task_training.json").read_text())[
        "asked_for_another_task"
    ]


def test_it_learns_its_task_from_bare_input(by_task):
    assert by_task["spell"]["bare"] >= CLAIMS["bare_at_least"]


def test_the_task_lives_in_the_weights(asked_other):
    """Asked by instruction for another task, it spells (something) and does not do the task
    asked."""
    assert asked_other["its_form"] >= CLAIMS["spells_anything_at_least"]
    assert asked_other["task_asked"] <= CLAIMS["task_asked_at_most"]


def test_few_shot_ability_is_lost(by_task):
    base = json.loads((GENERATED_DIR / "pretraining" / "base_model.json").read_text())["average"][
        "few_shot"
    ]
    after = sum(row["few_shot"] for row in by_task.values()) / len(by_task)
    assert after <= base - CLAIMS["few_shot_drop_points"], (base, after)
