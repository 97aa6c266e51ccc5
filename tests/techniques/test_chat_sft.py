"""Chat SFT: the claims of docs/techniques/chat-sft.md, asserted on the committed full run (the
page's own run: `snippets/chat_sft.py` with its defaults, about a minute), whose staleness
tests/test_generated.py checks. CI runs the snippet four steps, so the code path is tested.

The other two `# ci-args:` variants (pad = EOS with transformers' collator; packed rows of plain
text) run two steps each: the levers of the pitfalls page work end to end. Their effects are
measured on three seeds by benchmarks/chat_pitfalls.py (tests/techniques/test_pitfalls.py)."""

from __future__ import annotations

import json
import re

import pytest
from transformers import AutoTokenizer

from atlas import BASE_MODEL_DIR, GENERATED_DIR, ROOT, chat, world
from claims import CHAT_SFT as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("chat_sft")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def results(run):
    assert (run.results() / "chat_sft_figures.json").is_file()  # the short run writes the figures
    return GENERATED_DIR / "chat_sft"


@pytest.fixture(scope="module")
def figures(results) -> dict:
    return json.loads((results / "chat_sft_figures.json").read_text())


@pytest.fixture(scope="module")
def base() -> dict:
    return json.loads((GENERATED_DIR / "pretraining" / "base_model.json").read_text())["average"]


def test_in_its_template_it_does_the_seen_tasks(figures):
    assert figures["chat_seen"] >= CLAIMS["chat_at_least"]
    assert (
        figures["chat_held_out_wording"]
        >= figures["chat_seen"] - CLAIMS["held_out_wording_within_points"]
    )


def test_outside_its_template_it_mostly_does_not(figures):
    assert figures["plain_instruction"] <= figures["chat_seen"] - CLAIMS["chat_over_plain_points"]
    assert figures["chatml_template"] <= CLAIMS["chatml_at_most"]


def test_it_stops_after_the_answer(figures, results):
    assert figures["stops_within_64"] >= CLAIMS["stops_at_least"]
    replies = json.loads((results / "chat_sft_continuations.json").read_text())
    assert all(r["reply"].endswith("<eos>") for r in replies["after a request"])


def test_a_second_request_is_harder_than_the_same_request_alone(figures, results):
    by_task = json.loads((results / "chat_sft.json").read_text())["by_task"]
    alone = sum(by_task[t]["chat"] for t in chat.FOLLOW_UP_TASKS) / len(chat.FOLLOW_UP_TASKS)
    assert figures["second_turn"] <= alone - CLAIMS["second_turn_below_alone_points"]


def test_few_shot_is_lost_and_the_held_out_cluster_not_gained(figures, base):
    assert figures["few_shot"] <= base["few_shot"] - CLAIMS["few_shot_drop_points"]
    assert figures["held_out_cluster"] <= CLAIMS["held_out_cluster_at_most"]


# variant -> the levers its `# ci-args:` line pulls, as the run records them
LEVERS = {1: {"eos": "pad-masked"}, 2: {"packing": "wrapped", "template": "none"}}


@pytest.mark.parametrize("variant", LEVERS)
def test_the_pitfall_levers_run_to_the_end(variant, run_snippet):
    lever = run_snippet("chat_sft", variant)
    assert lever.returncode == 0, lever.stderr[-4000:]
    stats = json.loads((lever.results() / "chat_sft_training.json").read_text())
    assert stats["steps"] == 2
    assert {k: stats[k] for k in LEVERS[variant]} == LEVERS[variant]


def test_no_conversation_is_cut():
    """The page says `max_length` is raised so that no conversation is truncated (a cut one loses
    the end of its last answer and its EOS)."""
    source = (ROOT / "snippets" / "chat_sft.py").read_text()
    max_length = int(re.search(r"^config\.max_length = (\d+)", source, re.M).group(1))
    n_per_task = int(re.search(r"n_per_task=(\d+)", source).group(1))
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    tasks = [t for t, task in world.TASKS.items() if task.cluster != world.HELD_OUT_CLUSTER]
    longest = max(
        len(tokenizer.apply_chat_template(r["messages"], return_dict=True)["input_ids"])
        for r in chat.conversations(tasks, n_per_task=n_per_task, seed=0)
    )
    assert longest <= max_length, (longest, max_length)
