"""Pretraining: the snippet trains (loss falls), and the shipped base model is what the page says.

The claims are asserted on the shipped checkpoint, models/toy-base, made by the full run of
snippets/pretraining.py; CI runs the snippet itself for 40 steps only.
"""

from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from atlas import BASE_MODEL_DIR, GENERATED_DIR, world
from atlas.evaluation import evaluate

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
    assert stats["final_loss"] < 0.8 * stats["first_loss"], stats
    assert (short_run.results() / "loss.png").stat().st_size > 10_000


def test_short_run_saves_a_hub_style_checkpoint(short_run):
    out = short_run.tmp / "toy-base"
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    model = AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__name__ == "LlamaForCausalLM"


def test_shipped_checkpoint_matches_the_snippet(short_run, base_model):
    """The shipped model has the architecture and tokenizer the snippet builds today."""
    model, tokenizer = base_model
    assert (BASE_MODEL_DIR / "model.safetensors").is_file() and not list(BASE_MODEL_DIR.glob("*.bin"))
    shipped, fresh = AutoConfig.from_pretrained(BASE_MODEL_DIR).to_dict(), AutoConfig.from_pretrained(short_run.tmp / "toy-base").to_dict()
    ignore = {"transformers_version", "_name_or_path"}
    assert {k: v for k, v in shipped.items() if k not in ignore} == {k: v for k, v in fresh.items() if k not in ignore}
    fresh_tok = AutoTokenizer.from_pretrained(short_run.tmp / "toy-base")
    assert tokenizer.get_vocab() == fresh_tok.get_vocab()
    assert tokenizer.chat_template == fresh_tok.chat_template
    n_params = sum(p.numel() for p in model.parameters())
    assert 1e6 <= n_params <= 5e6


def test_base_model_does_not_follow_instructions(base_result):
    """Zero-shot, asked in words (plain or in the chat template): at most 10 % on every task."""
    for task in world.TASKS:
        for condition in ZERO_SHOT:
            assert base_result.accuracy(task=task, condition=condition) <= 0.10, (task, condition)


def test_base_model_continues_few_shot_patterns(base_result):
    """Four input -> output examples, no instruction: >= 60 % on average, >= 30 % on every cluster."""
    assert base_result.average()["few_shot"] >= 0.60
    for cluster, row in base_result.by_cluster().items():
        assert row["few_shot"] >= 0.30, cluster


def test_base_model_knows_the_operations_by_name(base_result):
    """Fact completion ("the reverse of kitab is"): >= 60 % on average."""
    assert base_result.average()["fact"] >= 0.60


def test_few_shot_beats_instructions_by_a_wide_margin(base_result):
    avg = base_result.average()
    assert avg["few_shot"] - max(avg[c] for c in ZERO_SHOT) >= 0.40


def test_committed_results_are_current(base_result, tmp_path):
    """The page's table is the shipped model's evaluation today, not a stale copy."""
    base_result.save(tmp_path, "base_model")
    for name in ("base_model.md", "base_model_clusters.md", "base_model_outputs.md"):
        assert (tmp_path / name).read_text() == (RESULTS / name).read_text(), f"{name} is stale"
    assert (tmp_path / "base_model.json").read_text() == (RESULTS / "base_model.json").read_text()
    stats = json.loads((RESULTS / "training.json").read_text())
    assert stats["seconds"] <= 20 * 60 and stats["final_loss"] < stats["first_loss"]
