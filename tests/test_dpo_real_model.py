"""DPO on a real chat model: the claims of docs/techniques/dpo.md#real-model.

CI runs the snippet for one step on a few requests (the code path works on SmolLM2-135M-Instruct:
its answers judged, pairs made, DPOTrainer trained, figures written); the claims are asserted on
the committed results of benchmarks/real_dpo.py (four learning rates, three seeds), whose staleness
tests/test_generated.py checks."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR, ROOT
from claims import REAL_DPO as CLAIMS

FOLDER = GENERATED_DIR / "real_dpo"


@pytest.fixture(scope="module")
def smoke(run_snippet):
    run = run_snippet("dpo_real_model")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def runs() -> dict:
    return json.loads((FOLDER / "runs.json").read_text())


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads((FOLDER / "summary.json").read_text())


def test_the_short_run_writes_the_figures_the_benchmark_reads(smoke, runs):
    short = json.loads((smoke.results() / "dpo_beta0.1_figures.json").read_text())
    committed = next(iter(next(iter(runs.values())).values()))["figures"]
    assert short.keys() == committed.keys()
    assert short["preference"].keys() == committed["preference"].keys()
    pairs = json.loads((smoke.results() / "dpo_beta0.1_pairs.json").read_text())
    assert pairs and all(p["chosen"][0]["role"] == "assistant" for p in pairs)


def test_the_snippet_trains_conversations_with_trl_s_dpo_trainer():
    """The pairs are messages, which TRL renders with the model's own chat template."""
    source = (ROOT / "snippets" / "dpo_real_model.py").read_text()
    assert "from trl import DPOConfig, DPOTrainer, SFTTrainer" in source
    assert '"rejected": [{"role": "assistant"' in source


def test_every_rate_starts_from_the_same_untuned_answers(summary, runs):
    """A seed's held-out requests are the same at every rate and the untuned model answers them
    greedily: the same answers, so the rates of a seed are read against one starting point."""
    assert summary["untuned_the_same_at_every_rate"]
    assert len(runs) >= 4 and all(len(seeds) == 3 for seeds in runs.values())


def test_every_rate_separates_the_pairs_and_below_the_top_few_answers_change(summary, runs):
    """'At every rate DPO ranks at least N % of the held-out pairs right against the reference',
    TRL's reward accuracy in the last batch is the same in every run; under the top rate the
    letters asked and the other tasks stay near the untuned model's."""
    for rate, seeds in runs.items():
        for run in seeds.values():
            assert run["figures"]["preference"]["accuracy"] >= CLAIMS["ranked_right_at_least"]
            assert run["curve"][-1]["rewards/accuracies"] == 1.0
    untuned = summary["untuned"]
    for rate in list(summary["by_rate"])[:-1]:
        cell = summary["by_rate"][rate]
        assert (
            abs(cell["letters_after"]["mean"] - untuned["letters_before"]["mean"])
            <= CLAIMS["below_top_letters_within_points"]
        )
        assert (
            abs(cell["others_after"]["mean"] - untuned["others_before"]["mean"])
            <= CLAIMS["below_top_others_within_points"]
        )


def test_preferring_the_right_answer_outright_takes_the_top_rate_which_breaks_the_model(summary):
    by_rate = summary["by_rate"]
    means = [cell["prefers_chosen"]["mean"] for cell in by_rate.values()]
    assert means == sorted(means)  # it rises with the rate
    losses = [cell["final_loss"]["mean"] for cell in by_rate.values()]
    assert losses[-1] == min(losses)  # "the training loss is lowest in the run that broke it"
    top = by_rate[list(by_rate)[-1]]
    untuned = summary["untuned"]
    assert top["prefers_chosen"]["mean"] >= CLAIMS["top_prefers_chosen_at_least"]
    assert top["letters_after"]["mean"] <= (
        untuned["letters_before"]["mean"] - CLAIMS["top_letters_drop_points"]
    )
    assert top["others_after"]["mean"] <= (
        untuned["others_before"]["mean"] - CLAIMS["top_others_drop_points"]
    )


def test_the_chosen_answers_likelihood_rises_at_every_rate_unlike_the_toy(runs):
    """'on SmolLM2 the chosen answers' log-probability rises at every rate ... where on the toy it
    falls' (the toy's side: tests/techniques/test_dpo.py)."""
    for seeds in runs.values():
        for run in seeds.values():
            assert run["figures"]["preference"]["chosen_logp_change"] > 0
    stages = json.loads((GENERATED_DIR / "stages" / "stages.json").read_text())
    toy = [r["preference"]["chosen_logp_change"] for r in stages["dpo"]["DPO, beta 0.1"]]
    assert all(change < 0 for change in toy)
