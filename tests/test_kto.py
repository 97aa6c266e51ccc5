"""Preference tuning without pairs (KTO): the claims of docs/techniques/dpo.md#kto.

KTO starts from the instruction-tuned model, which a clean clone does not have, so CI runs the
snippet for four steps from the base model (the code path works: answers labelled, KTO trained,
figures written); the default run's rows and figures are checked as committed
(tests/test_generated.py checks them for staleness)."""

from __future__ import annotations

import json
import re

import pytest

from atlas.toy import world

from atlas import GENERATED_DIR, ROOT
from claims import KTO as CLAIMS

KTO = GENERATED_DIR / "kto"


@pytest.fixture(scope="module")
def smoke(run_snippet):
    run = run_snippet("kto")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def figures() -> dict:
    return json.loads((KTO / "kto_beta0.1_figures.json").read_text())


def test_the_short_run_writes_the_figures_the_page_reads(smoke, figures):
    short = json.loads((smoke.results() / "kto_beta0.1_figures.json").read_text())
    assert short.keys() == figures.keys()
    assert short["preference"].keys() == figures["preference"].keys()
    assert short["labelled_good"] + short["labelled_bad"] > 0


def test_the_rows_are_the_model_s_own_answers_each_labelled(figures):
    """Unpaired: one answer per request, labelled good exactly when it is right; both labels."""
    rows = json.loads((KTO / "kto_beta0.1_rows.json").read_text())
    assert rows and {"prompt", "completion", "label"} <= set(rows[0])
    for r in rows:
        words = re.findall(r"[a-z]+", r["prompt"])
        assert any(world.answer(r["task"], w) == r["completion"] for w in words) == r["label"]
    assert figures["labelled_good"] > 0 and figures["labelled_bad"] > 0
    training = json.loads((KTO / "kto_beta0.1_training.json").read_text())
    assert training["rows"] == figures["labelled_good"] + figures["labelled_bad"]


def test_the_snippet_uses_trl_s_kto_trainer_on_the_unpaired_shape():
    source = (ROOT / "snippets" / "kto.py").read_text()
    assert "from trl import KTOConfig, KTOTrainer" in source
    assert "stages.feedback_rows" in source


def test_the_training_curve_is_written():
    curve = json.loads((KTO / "kto_beta0.1_curve.json").read_text())
    assert len(curve) >= 10 and {"loss", "kl"} <= set(curve[0])


def test_at_the_dpo_page_s_rate_kto_costs_right_answers_as_dpo_does(figures):
    dpo = json.loads((GENERATED_DIR / "dpo" / "dpo_beta0.1_figures.json").read_text())
    assert figures["before"] == dpo["before"]  # the same start, measured on the same requests
    start, after = figures["before"]["seen_instruction"], figures["after"]["seen_instruction"]
    assert after <= start - CLAIMS["seen_cost_points"]
    assert figures["broken"] >= CLAIMS["broken_per_fixed_at_least"] * max(1, figures["fixed"])


def test_labels_teach_the_preference_less_sharply_than_pairs_in_one_run_each(figures):
    dpo = json.loads((GENERATED_DIR / "dpo" / "dpo_beta0.1_figures.json").read_text())
    ranked = figures["preference"]["accuracy"]
    assert ranked >= CLAIMS["ranked_right_at_least"]
    assert ranked <= dpo["preference"]["accuracy"] - CLAIMS["below_dpo_points"]
    assert (
        figures["preference"]["prefers_chosen"]
        <= dpo["preference"]["prefers_chosen"] - CLAIMS["below_dpo_points"]
    )


def test_the_bad_answers_are_pushed_down_more_than_the_good_ones_up(figures):
    last = json.loads((KTO / "kto_beta0.1_curve.json").read_text())[-1]
    assert last["rewards/rejected"] < last["rewards/chosen"] < 0
    assert figures["preference"]["chosen_logp_change"] < 0
