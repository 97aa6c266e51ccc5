"""LoRA on SmolLM2-135M-Instruct: the claims of docs/techniques/lora-finetuning.md.

CI runs both variants with 2 steps and 4 reviews (the code works end to end and saves a small
adapter); the claims are asserted on the figures the full runs wrote, as for pretraining."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from atlas import GENERATED_DIR
from claims import LORA as CLAIMS
from claims import REAL_LORA_VS_FULL as REAL_CLAIMS

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


def test_full_fine_tuning_saves_the_whole_model_and_trains_every_weight(run_snippet):
    """`--method full`, the real-model comparison's other arm (benchmarks/real_lora_vs_full.py):
    no adapter, every weight trained and saved as a model `from_pretrained` loads."""
    run = run_snippet("lora_finetuning", 2)
    assert run.returncode == 0, run.stderr[-4000:]
    assert (run.tmp / "model" / "model.safetensors").is_file()
    assert not (run.tmp / "model" / "adapter_config.json").exists()
    stats = json.loads((run.results() / "full_bare_training.json").read_text())
    assert stats["trainable_parameters"] == stats["base_parameters"]
    assert "lora_rank" not in stats


# -- #real-full-vs-lora: full fine-tuning against LoRA on SmolLM2, each over its rates -----------


@pytest.fixture(scope="module")
def real() -> dict:
    return json.loads((GENERATED_DIR / "real_lora_vs_full" / "summary.json").read_text())


@pytest.fixture(scope="module")
def real_runs() -> dict:
    return json.loads((GENERATED_DIR / "real_lora_vs_full" / "runs.json").read_text())


def test_real_comparison_follows_the_protocol(real, real_runs):
    """Each method at four rates around its own default, three seeds a rate, the same snippet and
    steps; the untuned model measured alike in every run (the runs share the one baseline)."""
    from atlas.site import protocol
    from conftest import assert_whole_grid, load_script

    bench = load_script("benchmarks/real_lora_vs_full.py")
    for label, by_rate in real_runs.items():
        assert_whole_grid(list(bench.grid(label)), {label: by_rate})
        entry = real["methods"][label]
        assert entry["best_at_edge"] == protocol.at_edge(bench.grid(label), entry["best_rate"])
        means = {r: c[bench.LEARNED]["mean"] for r, c in entry["rates"].items()}
        assert means[str(entry["best_rate"])] >= max(means.values()) - bench.TIE
    assert real["untuned_the_same_in_every_run"]
    for by_rate in real_runs.values():  # one method, one set of trained weights in every run
        assert len({r["trainable_parameters"] for s in by_rate.values() for r in s.values()}) == 1
    full, lora = (m["trainable_parameters"] for m in real["methods"].values())
    assert lora <= CLAIMS["adapter_share_at_most"] * full


def test_real_comparison_verdicts_follow_the_seed_ranges(real, real_runs):
    from atlas.site import protocol

    picked = [real_runs[label][str(entry["best_rate"])] for label, entry in real["methods"].items()]
    for key in ("target_bare", "others_chat"):
        a, b = ([r["after"][key] for r in p.values()] for p in picked)
        assert real["at_kept_rates_differ"][key] == protocol.differs(a, b)


def _cells(real: dict) -> tuple[dict, dict, dict, dict]:
    full, lora = real["methods"].values()
    return full, lora, full["rates"][str(full["best_rate"])], lora["rates"][str(lora["best_rate"])]


def test_real_full_fine_tuning_at_a_lower_rate_keeps_more_at_equal_learning(real):
    """#real-full-vs-lora: both learn the task on every seed at their kept rates; full fine-tuning
    keeps more of the other tasks, seed ranges apart, within a few points of the untuned model."""
    c = REAL_CLAIMS
    full, lora, at_full, at_lora = _cells(real)
    assert at_full["target_bare"]["min"] >= c["learned_at_least"]
    assert at_lora["target_bare"]["min"] >= c["learned_at_least"]
    assert at_full["others_chat"]["min"] > at_lora["others_chat"]["max"]
    assert real["at_kept_rates_differ"]["others_chat"]
    untuned = real["untuned"]["others_chat"]
    assert untuned - at_full["others_chat"]["mean"] <= c["full_within_untuned_points"]
    assert not full["best_at_edge"] and not lora["best_at_edge"]


def test_real_lora_needs_larger_steps(real):
    """#real-full-vs-lora: LoRA learns nothing at its grid's two lower rates; full fine-tuning
    learns the task from its second rate, lower than LoRA's kept one."""
    c = REAL_CLAIMS
    full, lora, _, _ = _cells(real)
    lora_rates, full_rates = list(lora["rates"].values()), list(full["rates"])
    for cell in lora_rates[:2]:
        assert cell["target_bare"]["mean"] <= c["lora_low_rates_learn_at_most"]
    assert full["rates"][full_rates[1]]["target_bare"]["min"] >= c["learned_at_least"]
    assert float(full_rates[1]) < lora["best_rate"]


def test_real_the_rate_decides_more_than_the_method(real):
    """#real-full-vs-lora: each grid's top rate keeps almost nothing of the other tasks, and full
    fine-tuning at the snippet's default rate (the grid's third) keeps less than at its kept rate,
    seed ranges apart."""
    from atlas.site import protocol

    c = REAL_CLAIMS
    full, lora, at_full, _ = _cells(real)
    for method in (full, lora):
        top = list(method["rates"].values())[-1]
        assert top["others_chat"]["mean"] <= c["top_rate_keeps_at_most"]
    rates = list(full["rates"])
    assert float(rates[2]) == 1e-4  # the snippet's DEFAULT_RATE["full"]
    default = full["rates"][rates[2]]["others_chat"]
    assert default["max"] < at_full["others_chat"]["min"]
    assert protocol.at_edge(tuple(float(r) for r in rates), full["best_rate"]) is False
