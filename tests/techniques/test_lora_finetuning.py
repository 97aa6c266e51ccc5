"""LoRA on SmolLM2-135M-Instruct: the claims of docs/techniques/lora-finetuning.md.

CI runs both variants with 2 steps and 4 reviews (the code works end to end and saves a small
adapter); the claims are asserted on the figures the full runs wrote, as for pretraining."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from atlas import GENERATED_DIR
from claims import LORA as CLAIMS

RESULTS = GENERATED_DIR / "lora_finetuning"
VARIANTS = {"bare": 0, "chat": 1}


@pytest.fixture(scope="module")
def figures() -> dict[str, dict]:
    return {name: json.loads((RESULTS / f"lora_{name}.json").read_text()) for name in VARIANTS}


@pytest.mark.parametrize("name", VARIANTS)
def test_short_run_saves_only_a_small_adapter(name, run_snippet):
    run = run_snippet("lora_finetuning", VARIANTS[name])
    assert run.returncode == 0, run.stderr[-4000:]
    adapter = load_file(
        run.tmp / "model" / "adapter_model.safetensors"
    )  # the adapter, not the model
    n = sum(t.numel() for t in adapter.values())
    stats = json.loads((run.results() / f"lora_{name}_training.json").read_text())
    assert (
        n == stats["trainable_parameters"]
        and n <= CLAIMS["adapter_share_at_most"] * stats["base_parameters"]
    )
    # a Llama-style model names its attention projections: LoRA goes beside them (the page says so)
    assert stats["lora_targets"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert stats["model"] == "SmolLM2-135M-Instruct"


def test_before_the_chat_model_labels_reviews_only_when_asked(figures):
    before = figures["bare"]["before"]
    assert before["target_bare"] <= CLAIMS["bare_before_at_most"]
    assert before["target_chat"] >= CLAIMS["chat_before_at_least"]


@pytest.mark.parametrize("name,presentation", [("bare", "target_bare"), ("chat", "target_chat")])
def test_lora_learns_the_task_as_it_was_trained(figures, name, presentation):
    assert figures[name]["after"][presentation] >= CLAIMS["learned_at_least"]


def test_bare_pairs_leak_the_task_into_other_requests(figures):
    assert figures["bare"]["after"]["others_labelled"] >= CLAIMS["bare_leak_at_least"]


def test_the_chat_form_does_not_leak_labels(figures):
    assert figures["chat"]["after"]["others_labelled"] <= CLAIMS["chat_leak_at_most"]


@pytest.mark.parametrize("name", VARIANTS)
def test_one_narrow_task_costs_other_tasks_in_either_form(figures, name):
    assert (
        figures[name]["after"]["others_chat"]
        <= figures[name]["before"]["others_chat"] - CLAIMS["other_tasks_drop_points"]
    )
