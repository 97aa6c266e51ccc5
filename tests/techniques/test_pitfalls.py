"""The pitfalls of chat SFT: the claims of docs/techniques/pitfalls.md.

Two sources. `snippets/pitfalls.py` runs in CI in full (no training: rendered templates, a base
model asked in a template, two collators, packed examples compared logit by logit), and its claims
are asserted on that run. The pitfalls that need training runs are levers of
`snippets/chat_sft.py` on three seeds, a benchmark (`benchmarks/chat_pitfalls.py`, ~35 minutes):
their claims are asserted on its committed summary, which tests/test_generated.py keeps current.
"""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from claims import PITFALLS as CLAIMS

BENCHMARK = GENERATED_DIR / "chat_pitfalls"
ALONE = "alone"
PADDING_FREE = "positions restart, no attention mask (TRL padding-free)"
MASK_OF_ONES = "positions restart, attention mask of ones"
LONG_ROW = "one long row (packing without boundaries)"

RECIPE = "the recipe (assistant-only loss, EOS trained, chat template)"
LOSS_ALL = "loss on the prompt too"
EOS_UNTRAINED = "EOS outside {% generation %}: never in the loss"
PAD_MASKED = "pad = EOS, masked by transformers' collator"
NO_TEMPLATE = "trained as plain text, no chat template"
BFD = "packing, each example apart (TRL bfd)"
WRAPPED = "packing, examples see each other (wrapped)"
INSTRUCT_START = "start from the instruction-tuned model"


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("pitfalls")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def read(run, name: str) -> dict:
    return json.loads((run.results() / name).read_text())


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads((BENCHMARK / "summary.json").read_text())


@pytest.fixture(scope="module")
def levers(summary) -> dict:
    return summary["levers"]


def mean(levers: dict, lever: str, figure: str) -> float:
    return levers[lever][figure]["mean"]


# --- measured by snippets/pitfalls.py, in CI ------------------------------------------------------


def test_padding_free_packing_leaves_each_example_alone(run):
    """TRL's padding-free rows (positions restart, no mask): B's logits as if A were not there."""
    ways = read(run, "packing.json")["ways"]
    assert ways[PADDING_FREE]["max_logit_change"] <= CLAIMS["padding_free_logit_change_at_most"]
    assert ways[PADDING_FREE]["answers_right"] == ways[ALONE]["answers_right"]


def test_packing_with_a_mask_of_ones_lets_examples_see_each_other(run):
    ways = read(run, "packing.json")["ways"]
    for how in (MASK_OF_ONES, LONG_ROW):
        assert ways[how]["max_logit_change"] >= CLAIMS["contaminated_logit_change_at_least"], how
        assert (
            ways[how]["answers_right"]
            <= ways[ALONE]["answers_right"] - CLAIMS["contaminated_answers_drop_points"]
        ), how


def test_only_transformers_collator_masks_eos_when_pad_is_eos(run):
    found = read(run, "collators.json")
    kept = found["eos_labels_kept"]
    assert kept["TRL's DataCollatorForLanguageModeling (SFTTrainer's)"] == found["eos_in_rows"] > 0
    assert kept["transformers' DataCollatorForLanguageModeling"] == 0


def test_another_models_template_is_spelt_out_in_characters(run):
    """The toy tokenizer knows its own role tokens; ChatML's markers are plain text to it."""
    rendered = read(run, "rendered.json")
    ours, chatml = rendered["this model's template"], rendered["ChatML (SmolLM2, Qwen)"]
    assert chatml["tokens"] >= CLAIMS["chatml_tokens_at_least_times"] * ours["tokens"]
    assert "<|assistant|>" in ours["text"] and "<|im_start|>assistant" in chatml["text"]


def test_a_base_model_in_a_template_rarely_stops(run):
    assert read(run, "template_on_model.json")["stops_within_64"] <= CLAIMS["base_stops_at_most"]


# --- measured by benchmarks/chat_pitfalls.py, three seeds, committed ------------------------------


def test_loss_on_the_prompt_costs_the_chat_model_its_requests(levers):
    assert (
        mean(levers, LOSS_ALL, "chat_seen")
        <= mean(levers, RECIPE, "chat_seen") - CLAIMS["whole_sequence_chat_below_points"]
    )
    assert (
        mean(levers, LOSS_ALL, "second_turn")
        <= mean(levers, RECIPE, "second_turn") - CLAIMS["whole_sequence_second_turn_below_points"]
    )


def test_on_instruction_tuning_the_held_out_cluster_does_not_separate_the_losses(summary):
    """The one-seed lead of the whole-sequence loss on the held-out cluster is within the seeds'
    range; the whole-sequence loss costs held-out wordings."""
    flan = summary["flan_loss"]
    whole, answer = flan["all"]["held_out_cluster"], flan["completion"]["held_out_cluster"]
    assert whole["min"] <= answer["max"] and answer["min"] <= whole["max"]
    assert (
        flan["all"]["held_out_templates"]["mean"]
        <= flan["completion"]["held_out_templates"]["mean"]
        - CLAIMS["whole_sequence_held_out_wordings_below_points"]
    )


def test_without_eos_in_the_loss_the_model_never_stops(levers):
    assert mean(levers, RECIPE, "stops_within_64") >= CLAIMS["recipe_stops_at_least"]
    for lever in (EOS_UNTRAINED, PAD_MASKED):
        assert levers[lever]["stops_within_64"]["max"] <= CLAIMS["no_eos_stops_at_most"], lever
        assert levers[lever]["chat_seen"]["max"] <= CLAIMS["no_eos_exact_match_at_most"], lever


def test_a_model_asked_outside_its_template_mostly_fails(levers):
    gap = CLAIMS["template_mismatch_drop_points"]
    assert mean(levers, RECIPE, "plain_instruction") <= mean(levers, RECIPE, "chat_seen") - gap
    assert (
        mean(levers, NO_TEMPLATE, "chat_seen")
        <= mean(levers, NO_TEMPLATE, "plain_instruction") - gap
    )
    for lever in levers:
        assert mean(levers, lever, "chatml_template") <= CLAIMS["chatml_at_most"], lever


def test_packing_costs_no_accuracy_in_training(levers):
    """Trained packed, either way, the model learns the requests about as well as without."""
    for lever in (BFD, WRAPPED):
        assert (
            mean(levers, lever, "chat_seen")
            >= mean(levers, RECIPE, "chat_seen") - CLAIMS["packing_within_points"]
        ), lever


def test_packing_does_not_pay_on_a_cpu(levers):
    """Padding-free packing is slower than length-grouped batches; wrapped rows no faster."""
    recipe = mean(levers, RECIPE, "seconds")
    assert mean(levers, BFD, "seconds") >= recipe
    assert mean(levers, WRAPPED, "seconds") >= (1 - CLAIMS["wrapped_seconds_within"]) * recipe


def test_an_instruction_tuned_start_gets_there_sooner_and_keeps_more(summary, levers):
    curve = summary["curve"]
    first = min(curve["base model"], key=int)
    assert (
        curve["instruction-tuned model"][first]["chat_seen"]["mean"]
        >= curve["base model"][first]["chat_seen"]["mean"] + CLAIMS["instruct_start_ahead_points"]
    )
    for start, by_steps in curve.items():  # few-shot falls as the budget grows
        few_shot = [by_steps[s]["few_shot"]["mean"] for s in sorted(by_steps, key=int)]
        full = levers[INSTRUCT_START if start.startswith("instruction") else RECIPE]
        few_shot.append(full["few_shot"]["mean"])
        assert few_shot == sorted(few_shot, reverse=True), (start, few_shot)
    for figure in ("chat_seen", "plain_instruction", "few_shot"):
        assert (
            mean(levers, INSTRUCT_START, figure)
            >= mean(levers, RECIPE, figure) + CLAIMS["instruct_start_keeps_points"]
        ), figure


def test_only_the_whole_sequence_model_writes_requests():
    """Asked to continue the first words of a request (first seed): the model trained on whole
    conversations completes it as a request ("... of ..."); the answer-only model does not."""
    runs = json.loads((BENCHMARK / "pitfalls.json").read_text())["levers"]

    def replies(lever: str) -> list[str]:
        return [
            r["reply"]
            for r in runs[lever]["0"]["continuations"]["after the first words of a request"]
        ]

    assert all(" of" in r for r in replies(LOSS_ALL)), replies(LOSS_ALL)
    assert not any(" of" in r for r in replies(RECIPE)), replies(RECIPE)
