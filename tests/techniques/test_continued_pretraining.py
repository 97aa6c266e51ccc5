"""Continued pretraining: the claims of docs/techniques/continued-pretraining.md.

CI runs the snippet four steps (the code path); what the default run shows is asserted on its
committed figures, and the three-seed claims, the run without the old text and the
instruction-tuning recipes on the committed benchmark (benchmarks/stages.py);
tests/test_generated.py checks both for staleness."""

from __future__ import annotations

import json

import pytest
from figures import seed_mean as mean

from atlas import GENERATED_DIR
from claims import CONTINUED_PRETRAINING as CLAIMS


@pytest.fixture(scope="module")
def run(run_snippet):
    run = run_snippet("continued_pretraining")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def stages() -> dict:
    return json.loads((GENERATED_DIR / "stages" / "stages.json").read_text())


def test_the_default_run_learns_the_cipher_from_text_and_still_answers_no_request(run):
    assert (run.results() / "continued_figures.json").is_file()  # the short run writes them too
    committed = GENERATED_DIR / "continued_pretraining"
    figures = json.loads((committed / "continued_figures.json").read_text())
    before, after = figures["before"], figures["after"]
    assert before["domain_few_shot"] <= CLAIMS["base_domain_at_most"]
    assert (
        after["domain_few_shot"] >= before["domain_few_shot"] + CLAIMS["default_run_learns_points"]
    )
    assert after["domain_instruction"] <= CLAIMS["instruction_at_most"]
    assert after["general_instruction"] <= CLAIMS["instruction_at_most"]
    table = (committed / "continued_before_after.md").read_text()
    assert "cipher tasks, few-shot" in table


def test_the_cipher_is_learned_few_shot_and_as_facts(stages):
    base = stages["continued"]["base model"]
    mixed = stages["continued"]["continued pretraining, a quarter old text"]
    for key in ("domain_few_shot", "domain_fact"):
        assert mean(base, key) <= CLAIMS["base_domain_at_most"], key
        assert mean(mixed, key) >= mean(base, key) + CLAIMS["learns_points"], key


def test_it_still_answers_no_request(stages):
    for label, runs in stages["continued"].items():
        assert mean(runs, "domain_instruction") <= CLAIMS["instruction_at_most"], label
        assert mean(runs, "general_instruction") <= CLAIMS["instruction_at_most"], label


def test_without_the_old_text_the_old_domain_is_overwritten_and_the_mix_saves_much_not_all(stages):
    base = mean(stages["continued"]["base model"], "general_few_shot")
    alone = mean(stages["continued"]["continued pretraining, domain text only"], "general_few_shot")
    mixed = mean(
        stages["continued"]["continued pretraining, a quarter old text"], "general_few_shot"
    )
    assert alone <= base - CLAIMS["no_mix_forgets_points"]
    assert mixed >= alone + CLAIMS["mix_saves_points"]
    assert mixed <= base - CLAIMS["mix_still_loses_points"]
    facts = {
        label: mean(stages["continued"][label], "general_fact")
        for label in ("base model", "continued pretraining, a quarter old text")
    }
    assert facts["continued pretraining, a quarter old text"] <= (
        facts["base model"] - CLAIMS["mix_still_loses_points"]
    )
    # and the mix costs some of the new domain: fewer steps on its text
    cipher_alone = mean(
        stages["continued"]["continued pretraining, domain text only"], "domain_few_shot"
    )
    cipher_mixed = mean(
        stages["continued"]["continued pretraining, a quarter old text"], "domain_few_shot"
    )
    assert cipher_alone >= cipher_mixed + CLAIMS["mix_costs_domain_points"]


def test_instruction_tuning_alone_answers_its_tasks_but_cannot_do_the_cipher(stages):
    it = stages["which_stage"]["instruction tuning only"]
    assert mean(it, "general_instruction") >= CLAIMS["instruction_tuning_trained_at_least"]
    assert mean(it, "domain_instruction") <= CLAIMS["instruction_tuning_alone_domain_at_most"]
    assert mean(it, "domain_few_shot") <= CLAIMS["instruction_tuning_alone_domain_at_most"]


def test_instruction_tuning_after_continued_pretraining_erases_the_domain(stages):
    """The recipe's instruction data (and its replay) holds nothing of the cipher: the later stage
    overwrites what the earlier one added, and keeps answering the toy web's tasks."""
    after = stages["which_stage"]["continued pretraining, then instruction tuning"]
    assert mean(after, "domain_few_shot") <= CLAIMS["after_instruction_tuning_domain_at_most"]
    assert mean(after, "domain_instruction") <= CLAIMS["after_instruction_tuning_domain_at_most"]
    assert mean(after, "general_instruction") >= CLAIMS["instruction_tuning_trained_at_least"]
    alone = mean(stages["which_stage"]["instruction tuning only"], "general_instruction")
    assert (
        abs(mean(after, "general_instruction") - alone)
        <= CLAIMS["after_instruction_tuning_same_within_points"]
    )
