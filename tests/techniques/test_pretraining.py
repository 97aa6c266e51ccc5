"""Pretraining: the snippet trains (loss falls), and the shipped base model is what the page says.

The claims are asserted on the shipped checkpoint, models/toy-base, made by the full run of
snippets/pretraining.py; CI runs the snippet itself for 40 steps only.
"""

from __future__ import annotations

import json

import figures
import pytest
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from atlas.toy import world

from atlas import BASE_MODEL_DIR, GENERATED_DIR
from atlas.evaluation import evaluate
from claims import PRETRAINING as CLAIMS

RESULTS = GENERATED_DIR / "pretraining"
ZERO_SHOT = ("instruction", "instruction_held_out", "chat", "chat_held_out")


@pytest.fixture(scope="module")
def short_run(run_snippet):
    run = run_snippet("pretraining")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def base_model():
    model = AutoModelForCausalLM.from_pretrained(BASE_MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    return model, tokenizer


@pytest.fixture(scope="module")
def base_result(base_model):
    return evaluate(*base_model)


def test_short_run_loss_falls(short_run):
    stats = json.loads((short_run.results() / "training.json").read_text())
    assert stats["steps"] == 40
    assert stats["final_loss"] < CLAIMS["short_run_loss_below"] * stats["first_loss"], stats
    assert (short_run.results() / "loss.png").stat().st_size > CLAIMS["loss_plot_bytes_at_least"]


def test_short_run_saves_a_hub_style_checkpoint(short_run):
    out = short_run.tmp / "toy-base"
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    model = AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__name__ == "LlamaForCausalLM"


def test_shipped_checkpoint_matches_the_snippet(short_run, base_model):
    """The shipped model has the architecture and tokenizer the snippet builds today."""
    model, tokenizer = base_model
    assert (BASE_MODEL_DIR / "model.safetensors").is_file() and not list(
        BASE_MODEL_DIR.glob("*.bin")
    )
    shipped, fresh = (
        AutoConfig.from_pretrained(BASE_MODEL_DIR).to_dict(),
        AutoConfig.from_pretrained(short_run.tmp / "toy-base").to_dict(),
    )
    ignore = {"transformers_version", "_name_or_path"}
    assert {k: v for k, v in shipped.items() if k not in ignore} == {
        k: v for k, v in fresh.items() if k not in ignore
    }
    fresh_tok = AutoTokenizer.from_pretrained(short_run.tmp / "toy-base")
    assert tokenizer.get_vocab() == fresh_tok.get_vocab()
    assert tokenizer.chat_template == fresh_tok.chat_template
    n_params = sum(p.numel() for p in model.parameters())
    assert CLAIMS["parameters_at_least"] <= n_params <= CLAIMS["parameters_at_most"]


def test_base_model_does_not_follow_instructions(base_result):
    """Zero-shot, asked in words (plain or in the chat template): near zero on every task."""
    for task in world.TASKS:
        for condition in ZERO_SHOT:
            assert (
                base_result.accuracy(task=task, condition=condition) <= CLAIMS["zero_shot_at_most"]
            ), (task, condition)


def test_base_model_continues_few_shot_patterns(base_result):
    """Four input -> output examples, no instruction: high on average, and on every cluster."""
    assert base_result.average()["few_shot"] >= CLAIMS["few_shot_at_least"]
    for cluster, row in base_result.by_cluster().items():
        assert row["few_shot"] >= CLAIMS["few_shot_cluster_at_least"], cluster


def test_base_model_knows_the_operations_by_name(base_result):
    """Fact completion ("the reverse of kitab is"): high on average."""
    assert base_result.average()["fact"] >= CLAIMS["fact_at_least"]


def test_few_shot_beats_instructions_by_a_wide_margin(base_result):
    avg = base_result.average()
    assert avg["few_shot"] - max(avg[c] for c in ZERO_SHOT) >= CLAIMS["few_shot_over_words_points"]


def test_committed_results_are_current(base_result, tmp_path):
    """The page's tables are the shipped model's evaluation today, not a stale copy: the same
    figures within the tolerance of tests/figures.py (evaluation on another CPU kind may tip a few
    greedy answers; the stamp in provenance.json guards the bytes)."""
    base_result.save(tmp_path, "base_model")
    problems = [
        d
        for name in ("base_model.json", "base_model.md", "base_model_clusters.md")
        for d in figures.differences(tmp_path / name, RESULTS / name, exact=False)
    ]
    assert not problems, problems[:10]
    stats = json.loads((RESULTS / "training.json").read_text())
    assert (
        stats["seconds"] <= CLAIMS["committed_run_minutes_at_most"] * 60
        and stats["final_loss"] < stats["first_loss"]
    )
