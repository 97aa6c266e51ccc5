"""Prefix tuning: the claims of docs/techniques/prefix-tuning.md.

CI runs the snippet for ten steps (the code path works: the prefix is saved and has the shape the
page shows); the claims are asserted on the committed full run and on the three-seed sweep of
benchmarks/peft_sweep.py (tests/test_generated.py checks both for staleness)."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from atlas import BASE_MODEL_DIR, GENERATED_DIR
from claims import PREFIX_TUNING as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("prefix_tuning")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def sweep() -> dict:
    return json.loads((GENERATED_DIR / "peft_sweep" / "summary.json").read_text())["figures"]


def test_the_prefix_is_a_key_and_a_value_per_layer_per_virtual_token(run):
    config = json.loads((BASE_MODEL_DIR / "config.json").read_text())
    stats = json.loads((run.results() / "prefix_spell_training.json").read_text())
    (tensor,) = load_file(run.tmp / "model" / "adapter_model.safetensors").values()
    layers, hidden, heads = (
        config["num_hidden_layers"],
        config["hidden_size"],
        config["num_attention_heads"],
    )
    n = stats["virtual_tokens"]
    assert list(tensor.shape) == [n, layers * 2 * hidden] == stats["added_tensors"]["prefix"]
    assert stats["added_tensors"]["key or value, per layer"] == [1, heads, n, hidden // heads]


def test_prefix_tuning_learns_more_than_prompt_tuning_with_as_many_virtual_tokens(sweep):
    for job in ("spell", "flan"):
        prefix = sweep[job]["prefix tuning, 16 tokens"]["target"]["mean"]
        prompt = sweep[job]["prompt tuning, 16 tokens from text"]["target"]["mean"]
        assert prefix >= prompt + CLAIMS["over_prompt_tuning_points"], job


def test_batched_generate_does_not_give_the_trained_answers():
    stats = json.loads((GENERATED_DIR / "prefix_tuning" / "prefix_spell_training.json").read_text())
    assert stats["generate_agrees"] <= CLAIMS["generate_agrees_at_most"]


def test_it_learns_the_single_task_at_a_cost_to_few_shot(sweep):
    base = json.loads((GENERATED_DIR / "pretraining" / "base_model.json").read_text())["average"]
    prefix = sweep["spell"]["prefix tuning, 16 tokens"]
    assert prefix["target"]["mean"] >= CLAIMS["spell_at_least"]
    assert prefix["few_shot"]["mean"] <= base["few_shot"] - CLAIMS["few_shot_drop_points"]


def test_on_many_tasks_it_stays_far_below_lora_and_full_fine_tuning(sweep):
    prefix = sweep["flan"]["prefix tuning, 16 tokens"]["target"]["mean"]
    for label in ("LoRA r=1, all linear layers", "full fine-tuning"):
        assert prefix <= sweep["flan"][label]["target"]["mean"] - CLAIMS["flan_below_points"], label
