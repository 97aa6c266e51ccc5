"""Few-shot prompting of the base model: the claims of docs/techniques/few-shot-prompting.md.

Reads what `python snippets/few_shot_prompting.py` wrote when the tests ran it."""

from __future__ import annotations

import json

import pytest

from atlas import BASE_MODEL_DIR, world
from atlas.evaluation import build_examples
from atlas.tokenizer import build_tokenizer

PRETRAINING_BLOCK = 128  # tokens per block in snippets/pretraining.py


@pytest.fixture(scope="module")
def shots(run_snippet):
    run = run_snippet("few_shot_prompting")
    assert run.returncode == 0, run.stderr[-4000:]
    return {int(k): v for k, v in json.loads((run.results() / "by_shots.json").read_text()).items()}


def test_one_example_does_most_of_the_work(shots):
    acc = {k: v["clusters"]["all tasks"] for k, v in shots.items()}
    assert acc[0] <= 0.15
    assert acc[1] >= acc[0] + 0.40
    assert acc[4] - acc[2] < (acc[1] - acc[0]) / 4  # diminishing returns
    assert acc[4] >= 0.60


def test_similar_operations_get_confused(shots):
    """The order cluster (four reorderings) is the lowest cluster with 2 and 4 examples."""
    for k in (2, 4):
        clusters = {c: a for c, a in shots[k]["clusters"].items() if c != "all tasks"}
        assert min(clusters, key=clusters.get) == "order", (k, clusters)


def test_prompts_longer_than_the_pretraining_blocks_break(shots):
    """With 8 examples, doubled-letter prompts exceed 128 tokens and accuracy on them collapses."""
    tokenizer = build_tokenizer()
    prompts = [e.prompt for e in build_examples(tokenizer, ["few_shot"], tasks=["double"], n_shots=8)]
    assert min(len(tokenizer(p)["input_ids"]) for p in prompts) > PRETRAINING_BLOCK
    assert shots[8]["tasks"]["double"] <= shots[4]["tasks"]["double"] - 0.30
    assert shots[8]["clusters"]["transform"] <= shots[4]["clusters"]["transform"] - 0.15


def test_pretraining_block_is_what_the_snippet_uses():
    assert f"BLOCK, BATCH = {PRETRAINING_BLOCK}," in (BASE_MODEL_DIR.parents[1] / "snippets" / "pretraining.py").read_text()
    assert world.ARROW == " -> "
