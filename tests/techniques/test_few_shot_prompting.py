"""Few-shot prompting of the base model: the claims of docs/techniques/few-shot-prompting.md.

Reads what `python snippets/few_shot_prompting.py` wrote when the tests ran it."""

from __future__ import annotations

import ast
import json

import pytest

from atlas.toy.tokenizer import build_tokenizer

from atlas import ROOT
from atlas.evaluation import build_examples
from claims import FEW_SHOT_PROMPTING as CLAIMS


def snippet_constant(snippet: str, name: str):
    """A constant of a snippet, read from its syntax tree (`BLOCK, BATCH = 128, 32` gives BLOCK
    128)."""
    for node in ast.walk(ast.parse((ROOT / "snippets" / f"{snippet}.py").read_text())):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    names, values = target.elts, node.value.elts
                else:
                    names, values = [target], [node.value]
                for t, v in zip(names, values):
                    if isinstance(t, ast.Name) and t.id == name:
                        return ast.literal_eval(v)
    raise KeyError(f"snippets/{snippet}.py assigns no {name}")


PRETRAINING_BLOCK = snippet_constant(
    "pretraining", "BLOCK"
)  # tokens per block the base model was trained on


@pytest.fixture(scope="module")
def shots(run_snippet):
    run = run_snippet("few_shot_prompting")
    assert run.returncode == 0, run.stderr[-4000:]
    return {int(k): v for k, v in json.loads((run.results() / "by_shots.json").read_text()).items()}


def test_one_example_does_most_of_the_work(shots):
    acc = {k: v["clusters"]["all tasks"] for k, v in shots.items()}
    assert acc[0] <= CLAIMS["no_example_at_most"]
    assert acc[1] >= acc[0] + CLAIMS["one_example_gain_at_least"]
    assert (
        acc[4] - acc[2] < (acc[1] - acc[0]) * CLAIMS["later_gain_below_share"]
    )  # diminishing returns
    assert acc[4] >= CLAIMS["four_examples_at_least"]


def test_similar_operations_get_confused(shots):
    """The order cluster (four reorderings) is the lowest cluster with 2 and 4 examples."""
    for k in (2, 4):
        clusters = {c: a for c, a in shots[k]["clusters"].items() if c != "all tasks"}
        assert min(clusters, key=clusters.get) == "order", (k, clusters)


def test_prompts_longer_than_the_pretraining_blocks_break(shots):
    """With the most examples, doubled-letter prompts exceed the pretraining blocks and accuracy on
    them collapses."""
    tokenizer = build_tokenizer()
    most = max(shots)
    prompts = [
        e.prompt for e in build_examples(tokenizer, ["few_shot"], tasks=["double"], n_shots=most)
    ]
    assert min(len(tokenizer(p)["input_ids"]) for p in prompts) > PRETRAINING_BLOCK
    assert (
        shots[most]["tasks"]["double"]
        <= shots[4]["tasks"]["double"] - CLAIMS["double_drop_at_least"]
    )
    assert (
        shots[most]["clusters"]["transform"]
        <= shots[4]["clusters"]["transform"] - CLAIMS["transform_drop_at_least"]
    )
