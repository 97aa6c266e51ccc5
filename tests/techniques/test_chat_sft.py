"""Chat SFT: the claims of docs/techniques/chat-sft.md, asserted on the committed full run (the
page's own run: `snippets/chat_sft.py` with its defaults, about a minute), whose staleness
tests/test_generated.py checks. CI runs the snippet four steps, so the code path is tested.

The other three `# ci-args:` variants (the loss on the last reply only; pad = EOS with
transformers' collator; packed rows of plain text) run two steps each: the levers work end to end.
Their effects are measured on three seeds by benchmarks/chat_loss_turns.py (the first) and
benchmarks/chat_pitfalls.py (the others: tests/techniques/test_pitfalls.py)."""

from __future__ import annotations

import json
import re

import pytest
from transformers import AutoTokenizer

from atlas.toy import world

from atlas import BASE_MODEL_DIR, GENERATED_DIR, ROOT, chat
from claims import CHAT_SFT as CLAIMS
from conftest import assert_whole_grid


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
LEVERS = {
    1: {"loss": "last"},
    2: {"eos": "pad-masked"},
    3: {"packing": "wrapped", "template": "none"},
}


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


# -- #loss-turns: the loss on every reply, or on the last one --------------------------------------


def trained_text(rows: list[dict], **config) -> str:
    """The tokens of the first row that get a loss, as TRL's SFTTrainer prepares and collates it
    with these SFTConfig settings, each trained span in [brackets]."""
    import tempfile

    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    from atlas.training import sft_config

    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        args = sft_config(tmp, max_steps=1, learning_rate=1e-3)  # the snippets' own settings
        args.max_length = 192
        for name, value in config.items():
            setattr(args, name, value)
        trainer = SFTTrainer(
            model=AutoModelForCausalLM.from_pretrained(BASE_MODEL_DIR),
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
        )
        batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    out, inside = [], False
    for token, label in zip(ids, labels):
        if (label != -100) != inside:
            out.append("[" if not inside else "]")
            inside = not inside
        out.append(tokenizer.decode([token]))
    return "".join(out) + ("]" if inside else "")


@pytest.fixture(scope="module")
def two_turns() -> list[dict]:
    """A two-turn conversation of the chat data (a request, its answer, a follow-up, its answer)."""
    tasks = [t for t, task in world.TASKS.items() if task.cluster != world.HELD_OUT_CLUSTER]
    rows = chat.conversations(tasks, n_per_task=20, seed=0)
    return next(r["messages"] for r in rows if len(r["messages"]) >= 4)


def test_the_recipe_trains_every_reply_and_last_only_the_last(two_turns):
    """#loss-turns: `assistant_only_loss=True` on messages rows puts the loss on both replies (and
    their EOS); the prompt-completion rows of `--loss last` on the last reply only."""
    replies = [m["content"] for m in two_turns if m["role"] == "assistant"]
    every = trained_text([{"messages": two_turns}], assistant_only_loss=True)
    last = trained_text(
        [{"prompt": two_turns[:-1], "completion": two_turns[-1:]}], completion_only_loss=True
    )
    assert re.findall(r"\[(.*?)\]", every) == [f"{r}<eos>" for r in replies], every
    assert re.findall(r"\[(.*?)\]", last) == [f"{replies[-1]}<eos>"], last


@pytest.fixture(scope="module")
def loss_turns() -> dict:
    return json.loads((GENERATED_DIR / "chat_loss_turns" / "summary.json").read_text())


def test_loss_turns_ran_both_at_four_rates_three_seeds(loss_turns):
    runs = json.loads((GENERATED_DIR / "chat_loss_turns" / "runs.json").read_text())
    assert {v["loss"] for v in loss_turns["variants"].values()} == {"assistant", "last"}
    assert_whole_grid(loss_turns["rates"], runs)


def test_loss_turns_verdicts_follow_the_seed_ranges(loss_turns):
    """The page's verdicts are the protocol's rule at each variant's picked rate; the picked rate
    is the best mean first turn (within the tie); the share of replies trained is the data's."""
    from atlas.site import protocol

    runs = json.loads((GENERATED_DIR / "chat_loss_turns" / "runs.json").read_text())
    picked = []
    for label, entry in loss_turns["variants"].items():
        by_seed = runs[label][str(entry["best_rate"])]
        picked.append({k: [r[k] for r in by_seed.values()] for k in loss_turns["measures"]})
        means = {r: c["chat_seen"]["mean"] for r, c in entry["rates"].items()}
        assert means[str(entry["best_rate"])] >= max(means.values()) - 0.026
        assert entry["best_at_edge"] == protocol.at_edge(
            tuple(loss_turns["rates"]), entry["best_rate"]
        )
    for key in loss_turns["measures"]:
        assert loss_turns["differ"][key] == protocol.differs(picked[0][key], picked[1][key])
    tasks = [t for t, task in world.TASKS.items() if task.cluster != world.HELD_OUT_CLUSTER]
    rows = chat.conversations(tasks, n_per_task=450, seed=0)
    replies = sum(sum(m["role"] == "assistant" for m in r["messages"]) for r in rows)
    shares = {v["loss"]: v["replies_with_loss"] for v in loss_turns["variants"].values()}
    assert shares == {"assistant": 1.0, "last": len(rows) / replies}
    assert shares["last"] < 0.9  # "first answers of two-turn conversations": a real share
