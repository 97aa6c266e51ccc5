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


# --- the domain kept by requests about it (benchmarks/domain_requests.py) ------------------------


@pytest.fixture(scope="module")
def domain_requests() -> dict:
    return json.loads((GENERATED_DIR / "domain_requests" / "summary.json").read_text())["rows"]


def test_requests_about_the_domain_keep_it_answerable_after_continued_pretraining():
    from atlas.site import protocol
    from claims import DOMAIN_REQUESTS as C

    summary = json.loads((GENERATED_DIR / "domain_requests" / "summary.json").read_text())
    assert summary["same_start"]  # its continued-pretraining models are the stages benchmark's
    rows = summary["rows"]
    alone = rows["instruction tuning with cipher requests"]["domain_instruction"]
    after = rows["continued pretraining, then instruction tuning with cipher requests"]
    assert C["requests_alone_at_least"] <= alone["mean"] <= C["requests_alone_at_most"]
    assert after["domain_instruction"]["mean"] >= C["after_continued_at_least"]
    assert after["domain_instruction"]["mean"] >= alone["mean"] + C["continued_adds_points"]
    assert protocol.differs(after["domain_instruction"]["values"], alone["values"])
    without = rows["continued pretraining, then instruction tuning"]
    assert after["domain_fact"]["mean"] >= without["domain_fact"]["mean"] + C["facts_kept_points"]


def test_what_the_requests_do_not_ask_is_still_lost(domain_requests):
    from atlas.site import protocol
    from claims import DOMAIN_REQUESTS as C

    for label, row in domain_requests.items():
        if "instruction tuning" in label:
            assert row["domain_few_shot"]["mean"] <= C["few_shot_lost_at_most"], label
    with_requests = "continued pretraining, then instruction tuning with cipher requests"
    without = "continued pretraining, then instruction tuning"
    assert not protocol.differs(  # the toy web by instruction: no measured cost after continued
        domain_requests[with_requests]["general_instruction"]["values"],
        domain_requests[without]["general_instruction"]["values"],
    )
    assert protocol.differs(  # from the base model, a measured cost
        domain_requests["instruction tuning with cipher requests"]["general_instruction"]["values"],
        domain_requests["instruction tuning only"]["general_instruction"]["values"],
    )


# --- the learning rate: a re-warm control (benchmarks/cpt_rates.py) -----------------------------


@pytest.fixture(scope="module")
def cpt_rates() -> dict:
    return json.loads((GENERATED_DIR / "cpt_rates" / "summary.json").read_text())


def test_the_rate_grid_is_the_protocol_s_around_the_snippet_s_rate(cpt_rates):
    from atlas.site import protocol
    from conftest import assert_whole_grid, load_script

    macros = load_script("tools/macros.py")  # the page's own `default()`: a snippet's default

    runs = json.loads((GENERATED_DIR / "cpt_rates" / "runs.json").read_text())
    assert_whole_grid(cpt_rates["rates"], {"continued pretraining": runs})
    page_rate = macros.default("continued_pretraining", "--learning-rate")
    assert cpt_rates["page_rate"] == page_rate
    assert tuple(cpt_rates["rates"]) == protocol.rate_grid(page_rate)
    assert cpt_rates["mix"] == macros.default("continued_pretraining", "--mix")
    assert load_script("benchmarks/cpt_rates.py").RATES == protocol.rate_grid(page_rate)


def test_the_rate_is_a_dial_between_the_new_domain_and_the_old(cpt_rates):
    """Up the grid the cipher is learned better and the old tasks are kept worse at every step,
    beyond the seed ranges (the protocol: overlapping ranges are no difference), and the grid's
    ends differ by a margin on both."""
    from atlas.site import protocol
    from claims import CPT_RATES

    after = [cpt_rates["after"][str(r)] for r in cpt_rates["rates"]]
    learned = [a["domain_few_shot"]["mean"] for a in after]
    kept = [a["general_few_shot"]["mean"] for a in after]
    assert learned == sorted(learned) and len(set(learned)) == len(learned), learned
    assert kept == sorted(kept, reverse=True) and len(set(kept)) == len(kept), kept
    low, high = after[0], after[-1]
    for key in ("domain_few_shot", "general_few_shot"):
        for lower, higher in zip(after, after[1:]):  # "at every step": no overlapping seed ranges
            assert protocol.differs(lower[key]["values"], higher[key]["values"]), key
        assert abs(high[key]["mean"] - low[key]["mean"]) >= CPT_RATES["ends_differ_points"], key


def test_no_rate_keeps_the_old_domain_whole(cpt_rates):
    """The lowest rate learns none of the cipher and still loses few-shot on the old tasks; so
    does every rate (the page's among them, in the middle of the grid)."""
    from claims import CPT_RATES

    base = cpt_rates["base"]["general_few_shot"]["mean"]
    rates = [str(r) for r in cpt_rates["rates"]]
    lowest = cpt_rates["after"][rates[0]]
    assert lowest["domain_few_shot"]["mean"] <= CPT_RATES["lowest_rate_domain_at_most"]
    for rate in rates:
        lost = base - cpt_rates["after"][rate]["general_few_shot"]["mean"]
        assert lost >= CPT_RATES["every_rate_loses_points"], rate
    page = str(cpt_rates["page_rate"])
    assert page in rates and page not in (rates[0], rates[-1])
    assert rates[2] == page  # the page reads the third rate as the snippet's


# --- text or rate: the same schedule on nearly old text (benchmarks/cpt_old_text.py) ------------


@pytest.fixture(scope="module")
def old_text() -> dict:
    return json.loads((GENERATED_DIR / "cpt_rates" / "old_text_summary.json").read_text())


def test_the_old_text_control_repeats_the_rate_benchmark_but_for_the_mix(cpt_rates, old_text):
    """The same rates and seeds as the page's mix, the most old text the snippet allows, and the
    same base model measured on both machines."""
    from atlas import cli
    from conftest import assert_whole_grid

    runs = json.loads((GENERATED_DIR / "cpt_rates" / "old_text_runs.json").read_text())
    assert_whole_grid(old_text["rates"], {"continued pretraining, old text": runs})
    assert old_text["rates"] == cpt_rates["rates"] and old_text["seeds"] == cpt_rates["seeds"]
    assert old_text["page_mix"] == cpt_rates["mix"] < old_text["mix"]
    assert old_text["mix"] == dict((b[0], b[1]) for b in cli.GENERAL_BOUNDS)["mix"]
    for key in ("general_few_shot", "general_fact", "domain_few_shot"):
        assert old_text["base"][key]["mean"] == cpt_rates["base"][key]["mean"], key


def test_most_of_continued_pretraining_s_loss_is_the_new_text_s(cpt_rates, old_text):
    """At every rate nearly old text keeps more of the old tasks than the page's mix, beyond the
    seed ranges and by a margin; at the page's rate the schedule on old text loses at most a share
    of what the page's recipe loses, on few-shot and on facts; a lower rate keeps more at either
    mix."""
    from atlas.site.protocol import differs
    from claims import CPT_OLD_TEXT

    rates = [str(r) for r in cpt_rates["rates"]]
    for rate in rates:
        mixed = cpt_rates["after"][rate]["general_few_shot"]
        old = old_text["after"][rate]["general_few_shot"]
        assert differs(mixed["values"], old["values"]), rate
        assert old["mean"] - mixed["mean"] >= CPT_OLD_TEXT["old_text_keeps_more_points"], rate
    page = str(cpt_rates["page_rate"])
    for key in ("general_few_shot", "general_fact"):
        base = cpt_rates["base"][key]["mean"]
        lost_mixed = base - cpt_rates["after"][page][key]["mean"]
        lost_old = base - old_text["after"][page][key]["mean"]
        assert lost_old <= CPT_OLD_TEXT["schedule_share_of_loss_at_most"] * lost_mixed, key
    for summary in (cpt_rates, old_text):
        kept = [summary["after"][r]["general_few_shot"]["mean"] for r in rates]
        assert kept == sorted(kept, reverse=True), kept


def test_the_top_rate_knocks_the_old_tasks_even_on_old_text(cpt_rates, old_text):
    """On nearly old text the lowest rate keeps the old tasks' few-shot whole and most of their
    facts; the highest loses few-shot and facts beyond the seed ranges of every lower rate; the
    cipher, a tenth of the rows, is learned little at any rate, far less than with the page's
    mix."""
    from atlas.site.protocol import differs
    from claims import CPT_OLD_TEXT

    rates = [str(r) for r in old_text["rates"]]
    base = old_text["base"]
    low, high = old_text["after"][rates[0]], old_text["after"][rates[-1]]
    lost_low = base["general_few_shot"]["mean"] - low["general_few_shot"]["mean"]
    assert lost_low <= CPT_OLD_TEXT["lowest_rate_whole_within"]
    lost_facts = base["general_fact"]["mean"] - low["general_fact"]["mean"]
    assert lost_facts <= CPT_OLD_TEXT["lowest_rate_facts_within"]
    assert (
        base["general_few_shot"]["mean"] - high["general_few_shot"]["mean"]
        >= CPT_OLD_TEXT["top_rate_loses_few_shot_points"]
    )
    assert (
        base["general_fact"]["mean"] - high["general_fact"]["mean"]
        >= CPT_OLD_TEXT["top_rate_loses_fact_points"]
    )
    for key in ("general_few_shot", "general_fact"):
        for rate in rates[:-1]:
            lower = old_text["after"][rate][key]["values"]
            assert differs(lower, high[key]["values"]) and min(lower) > max(high[key]["values"])
    for rate in rates:
        learned = old_text["after"][rate]["domain_few_shot"]["mean"]
        assert learned <= CPT_OLD_TEXT["domain_learned_at_most"], rate
    mixed_top = cpt_rates["after"][rates[-1]]["domain_few_shot"]["mean"]
    assert mixed_top - high["domain_few_shot"]["mean"] >= CPT_OLD_TEXT["mix_learns_more_points"]
