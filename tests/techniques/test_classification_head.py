"""Classification head: the claims of docs/techniques/classification-head.md."""

from __future__ import annotations

import json

import pytest
from transformers import AutoConfig

from atlas.toy import data

from claims import CLASSIFICATION_HEAD as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("classification_head")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def test_it_is_accurate_on_its_task(run):
    figures = json.loads((run.results() / "classification_head_training.json").read_text())
    assert (
        figures["accuracy"] >= CLAIMS["accuracy_at_least"]
        and figures["n_eval"] >= CLAIMS["eval_words_at_least"]
    )


def test_it_can_only_emit_its_labels(run):
    labels = data.label_names(data.CLASSIFICATION_TASK)
    config = AutoConfig.from_pretrained(run.tmp / "model")
    assert config.num_labels == len(labels) and list(config.id2label.values()) == labels
    answers = json.loads((run.results() / "other_inputs.json").read_text())
    assert len(answers) >= CLAIMS["other_inputs_at_least"] and set(answers.values()) <= set(labels)
