"""Prompt tuning: the claims of docs/techniques/prompt-tuning.md.

CI runs the snippet for ten steps (the code path works: the soft prompt is saved and has the shape
the page shows); the claims are asserted on the committed full run and on the three-seed sweep of
benchmarks/peft_sweep.py (tests/test_generated.py checks both for staleness)."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from atlas import BASE_MODEL_DIR, GENERATED_DIR
from claims import PROMPT_TUNING as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("prompt_tuning")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def sweep() -> dict:
    return json.loads((GENERATED_DIR / "peft_sweep" / "summary.json").read_text())["figures"]


def test_the_only_trained_tensor_is_the_soft_prompt(run):
    stats = json.loads((run.results() / "prompt_text_spell_training.json").read_text())
    adapter = load_file(run.tmp / "model" / "adapter_model.safetensors")
    (tensor,) = adapter.values()  # one matrix: (virtual tokens, hidden size)
    hidden = json.loads((BASE_MODEL_DIR / "config.json").read_text())["hidden_size"]
    assert list(tensor.shape) == [stats["virtual_tokens"], hidden]
    assert stats["added_tensors"]["soft prompt"] == [stats["virtual_tokens"], hidden]
    assert tensor.numel() == stats["trainable_parameters"]


def test_the_frozen_model_keeps_most_of_its_few_shot_ability(sweep):
    base = json.loads((GENERATED_DIR / "pretraining" / "base_model.json").read_text())["average"]
    text = sweep["spell"]["prompt tuning, 16 tokens from text"]["few_shot"]["mean"]
    random = sweep["spell"]["prompt tuning, 16 random tokens"]["few_shot"]["mean"]
    full = sweep["spell"]["full fine-tuning"]["few_shot"]["mean"]
    assert text >= base["few_shot"] - CLAIMS["few_shot_within_base_points"]
    assert text >= full + CLAIMS["few_shot_over_full_points"]
    assert random <= text - CLAIMS["random_start_costs_points"]


def test_it_learns_little_of_the_task_however_it_starts(sweep):
    for label in (
        "prompt tuning, 16 tokens from text",
        "prompt tuning, 4 tokens from text",
        "prompt tuning, 16 random tokens",
    ):
        assert sweep["spell"][label]["target"]["max"] <= CLAIMS["spell_at_most"], label
    full = sweep["spell"]["full fine-tuning"]["target"]["mean"]
    assert (
        full - sweep["spell"]["prompt tuning, 16 tokens from text"]["target"]["mean"]
        >= CLAIMS["below_full_points"]
    )
    assert (
        sweep["flan"]["prompt tuning, 16 tokens from text"]["target"]["mean"]
        <= CLAIMS["flan_at_most"]
    )


def test_batched_generate_does_not_give_the_trained_answers():
    """Why the site decodes prompt-learning adapters with the forward pass (atlas/jobs.py)."""
    stats = json.loads(
        (GENERATED_DIR / "prompt_tuning" / "prompt_text_spell_training.json").read_text()
    )
    assert stats["generate_agrees"] <= CLAIMS["generate_agrees_at_most"]
