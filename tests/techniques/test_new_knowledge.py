"""New facts, trained in or given in the prompt: the claims of docs/techniques/new-knowledge.md.

The runs start from the instruction-tuned model, which a clean clone does not have, so CI runs each
method for one pass over eight facts from the base model (the code path: rows built, trained,
measured, figures written); the three-seed comparison is asserted on the committed benchmark
(benchmarks/new_knowledge.py), which tests/test_generated.py checks for staleness."""

from __future__ import annotations

import json
import shlex

import pytest

from atlas import GENERATED_DIR, ROOT
from atlas.ci import ci_variants
from atlas.site import protocol
from claims import NEW_KNOWLEDGE as CLAIMS

SUMMARY = GENERATED_DIR / "new_knowledge" / "summary.json"
SNIPPET = ROOT / "snippets" / "new_knowledge.py"
METHODS = {"cpt", "sft", "lora", "reader"}


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads(SUMMARY.read_text())


@pytest.fixture(scope="module")
def runs() -> dict:
    return json.loads((GENERATED_DIR / "new_knowledge" / "runs.json").read_text())


@pytest.mark.parametrize("variant", range(len(ci_variants(SNIPPET))))
def test_each_method_runs_and_writes_what_the_benchmark_reads(run_snippet, runs, variant):
    run = run_snippet("new_knowledge", variant)
    assert run.returncode == 0, run.stderr[-4000:]
    args = shlex.split(ci_variants(SNIPPET)[variant])
    method = args[args.index("--method") + 1] if "--method" in args else "sft"  # the default
    short = json.loads((run.results() / f"facts_{method}.json").read_text())
    committed = next(iter(next(iter(runs[method].values())).values()))
    assert short["before"].keys() == committed["before"].keys()
    assert short["after"].keys() == committed["after"].keys()


def test_every_method_on_four_rates_and_three_seeds_with_the_same_steps(runs):
    for method, by_rate in runs.items():
        assert len(by_rate) >= protocol.GRID_WIDTH, method
        assert all(len(seeds) == len(protocol.SEEDS) for seeds in by_rate.values()), method
    assert set(runs) == METHODS
    in_ci = {m for v in ci_variants(SNIPPET) for m in METHODS if f"--method {m}" in v}
    assert in_ci | {"sft"} == METHODS  # CI runs every method (sft is the default)
    source = SNIPPET.read_text()
    assert "max_steps=math.ceil(args.epochs * args.facts * 4 / BATCH)" in source


def test_the_facts_are_new_to_every_model(summary):
    """Before any run, no question about the facts is answered beyond what one thing for every
    word scores."""
    chance = summary["constant_answer"]["max"]
    for key in ("question", "question_new", "statement", "statement_new"):
        assert summary["before"][key]["max"] <= chance, key


def test_the_start_model_cannot_read_a_fact_from_its_prompt(summary):
    assert summary["before"]["in_prompt"]["max"] <= CLAIMS["start_in_prompt_at_most"]


def picked(summary, method):
    return summary["picked"][method]


def rates(summary, method) -> list[dict]:
    return list(summary["methods"][method]["rates"].values())


def test_sft_answers_the_facts_in_a_wording_it_never_trained_on(summary):
    sft = picked(summary, "sft")
    assert sft["question_new"]["min"] >= CLAIMS["sft_new_wording_at_least"]
    assert sft["question"]["mean"] >= sft["question_new"]["mean"]
    # its fact in the prompt is the stored fact, not reading
    assert sft["question_new"]["mean"] >= sft["in_prompt"]["mean"]


def test_continued_pretraining_stores_the_sentences_not_the_answers(summary):
    cpt = picked(summary, "cpt")
    chance = summary["constant_answer"]["mean"]
    assert cpt["statement"]["mean"] >= CLAIMS["cpt_trained_phrasing_at_least"]
    assert cpt["statement_new"]["mean"] <= CLAIMS["cpt_new_phrasing_at_most"]
    for cell in rates(summary, "cpt"):  # below the one-thing answer at every rate
        assert cell["question_new"]["mean"] < chance
    for cell in rates(summary, "cpt")[:-1]:
        assert cell["question_new"]["mean"] <= CLAIMS["cpt_question_at_most"]
    # picked at the top edge; past it the old tasks are gone already
    assert summary["methods"]["cpt"]["picked_at_edge"]
    assert cpt["old_instruction"]["mean"] <= 0.05


def test_lora_stores_as_much_as_sft_and_keeps_less_few_shot(summary):
    lora, sft = picked(summary, "lora"), picked(summary, "sft")
    assert lora["question_new"]["mean"] >= CLAIMS["lora_new_wording_at_least"]
    assert not protocol.differs(lora["question_new"]["values"], sft["question_new"]["values"])
    assert protocol.differs(lora["old_few_shot"]["values"], sft["old_few_shot"]["values"])
    assert lora["old_few_shot"]["mean"] < sft["old_few_shot"]["mean"]
    # picked at the top edge, by a mean the rate below lies inside the seed range of
    method = summary["methods"]["lora"]
    assert method["picked_at_edge"] and method["picked"] == max(map(float, method["rates"]))
    below = rates(summary, "lora")[-2]["question_new"]["mean"]
    assert lora["question_new"]["min"] <= below <= lora["question_new"]["max"]


def test_the_reader_copies_a_thing_from_its_prompt_without_finding_the_fact(summary):
    from atlas.toy.data import THINGS

    reader = picked(summary, "reader")["in_prompt"]["mean"]
    random_copy = 0.5 + 0.5 / len(THINGS)  # either passage's thing, at random
    assert reader <= random_copy - CLAIMS["reader_below_random_copy_points"]
    assert reader >= summary["constant_answer"]["mean"] + CLAIMS["reader_over_constant_points"]


def test_every_way_costs_the_old_tasks_and_lower_rates_trade_storage_for_them(summary):
    start = summary["before"]["old_instruction"]["mean"]
    for method in summary["picked"]:
        kept = picked(summary, method)["old_instruction"]["mean"]
        assert kept <= start - CLAIMS["old_tasks_cost_points"], method
        cells = rates(summary, method)
        old = [c["old_instruction"]["mean"] for c in cells]
        assert old == sorted(old, reverse=True), method  # a higher rate keeps less
        stored = {"cpt": "statement", "reader": "in_prompt"}.get(method, "question_new")
        assert cells[-1][stored]["mean"] > cells[0][stored]["mean"], method
    low = rates(summary, "sft")[0]
    assert low["old_instruction"]["mean"] > picked(summary, "sft")["old_instruction"]["mean"]
    assert low["question_new"]["mean"] < picked(summary, "sft")["question_new"]["mean"]


def test_sft_on_questions_completes_the_statements_too(summary):
    """At SFT's page rate the question rows also answer the trained statement; no rate of
    continued pretraining makes its statements answer a question (above)."""
    page = rates(summary, "sft")[2]
    assert page["statement"]["mean"] >= CLAIMS["sft_statement_at_least"]
