"""Zero-shot prompting of the base model: asked in words, it does not answer.

Reads what `python snippets/zero_shot_prompting.py` wrote when the tests ran it."""

from __future__ import annotations

import json

import pytest

from atlas.toy import world

from claims import ZERO_SHOT_PROMPTING as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("zero_shot_prompting")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def test_the_base_model_does_not_answer_the_request(run):
    replies = json.loads((run.results() / "replies.json").read_text())
    assert set(replies) == {"plain text", "chat template"}
    for reply in replies.values():
        assert world.answer("reverse", "kitab") not in reply["reply"]


def test_zero_shot_is_near_zero_for_every_cluster_and_template(run):
    summary = json.loads((run.results() / "zero_shot.json").read_text())
    assert set(summary["average"]) == {
        "instruction",
        "instruction_held_out",
        "chat",
        "chat_held_out",
    }
    for cluster, row in summary["by_cluster"].items():
        for condition, accuracy in row.items():
            assert accuracy <= CLAIMS["at_most"], (cluster, condition)
