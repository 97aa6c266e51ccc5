"""Preference tuning with DPO: the claims of docs/techniques/dpo.md.

DPO starts from the instruction-tuned model, which a clean clone does not have, so CI runs the
snippet for four steps from the base model (the code path works: pairs built, DPO and SFT trained,
figures written); the default run's pairs and figures are checked as committed, and the three-seed
claims (three betas, SFT on the chosen answers) on the committed benchmark (benchmarks/stages.py;
tests/test_generated.py checks both for staleness)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from figures import seed_mean as mean

from atlas.toy import world

from atlas import GENERATED_DIR, ROOT
from atlas.site import protocol
from claims import DPO as CLAIMS
from conftest import load_script

macros = load_script("tools/macros.py")  # the page's own `default()`: a snippet's argparse default


@pytest.fixture(scope="module")
def smoke(run_snippet):
    run = run_snippet("dpo")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def dpo() -> dict:
    return json.loads((GENERATED_DIR / "stages" / "stages.json").read_text())["dpo"]


def test_the_short_run_writes_the_figures_the_page_reads(smoke):
    figures = json.loads((smoke.results() / "dpo_beta0.1_figures.json").read_text())
    committed = json.loads((GENERATED_DIR / "dpo" / "dpo_beta0.1_figures.json").read_text())
    assert figures.keys() == committed.keys() and figures["pairs"] > 0
    assert figures["preference"].keys() == committed["preference"].keys()


def test_the_pairs_are_the_model_s_own_wrong_answers_against_the_right_one():
    figures = json.loads((GENERATED_DIR / "dpo" / "dpo_beta0.1_figures.json").read_text())
    pairs = json.loads((GENERATED_DIR / "dpo" / "dpo_beta0.1_pairs.json").read_text())
    assert figures["pairs"] > 0 and pairs
    for p in pairs:  # the chosen answer is the asked task's answer for a word of the request
        assert p["chosen"] != p["rejected"]
        words = re.findall(r"[a-z]+", p["prompt"])
        assert any(world.answer(p["task"], w) == p["chosen"] for w in words), p
    # the start model's wrong answers are rarely a sibling task's answer
    assert (
        figures["sibling_answers_before"]
        <= CLAIMS["sibling_share_at_most"] * figures["wrong_before"]
    )


def test_dpo_learns_the_preference_at_every_beta(dpo):
    for label, runs in dpo.items():
        if label.startswith("DPO"):
            assert mean(runs, "preference", "accuracy") >= CLAIMS["ranked_right_at_least"], label


def test_dpo_costs_exact_match_and_a_small_beta_drifts_further(dpo):
    start = mean(dpo["instruction-tuned model (start)"], "after", "seen_instruction")
    betas = [label for label in dpo if label.startswith("DPO")]
    tight, mid, loose = (dpo[b] for b in betas)  # largest beta first
    assert mean(mid, "after", "seen_instruction") <= start - CLAIMS["exact_match_cost_points"]
    assert mean(tight, "after", "seen_instruction") <= start - CLAIMS["largest_beta_cost_points"]
    assert (
        mean(loose, "preference", "chosen_logp_change")
        <= mean(tight, "preference", "chosen_logp_change") - CLAIMS["small_beta_drift_nats"]
    )
    assert (
        mean(loose, "after", "seen_instruction")
        <= mean(tight, "after", "seen_instruction") - CLAIMS["small_beta_cost_points"]
    )


def test_sft_on_the_chosen_answers_keeps_exact_match_better_than_dpo(dpo):
    start = mean(dpo["instruction-tuned model (start)"], "after", "seen_instruction")
    sft = mean(dpo["SFT on the chosen answers"], "after", "seen_instruction")
    mid = mean(
        dpo[[label for label in dpo if label.startswith("DPO")][1]], "after", "seen_instruction"
    )
    assert sft >= mid + CLAIMS["sft_over_dpo_points"]
    assert (
        start - CLAIMS["sft_kept_within_points"] <= sft <= start + CLAIMS["sft_gain_at_most_points"]
    )
    # it ranks the held-out pairs about as well as DPO does
    sft_ranked = mean(dpo["SFT on the chosen answers"], "preference", "accuracy")
    dpo_ranked = mean(
        dpo[[label for label in dpo if label.startswith("DPO")][1]], "preference", "accuracy"
    )
    assert sft_ranked >= dpo_ranked - CLAIMS["sft_ranks_within_points"]


def test_without_an_instruction_tuned_model_it_says_how_to_make_one(tmp_path):
    """The default model is the repository's models/instruction-tuned, wherever the run starts:
    set aside for the test where an earlier run made it."""
    made = ROOT / "models" / "instruction-tuned"
    aside = ROOT / "models" / f".instruction-tuned.aside-{os.getpid()}"
    if made.exists():
        made.rename(aside)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "snippets" / "dpo.py"),
                "--results-dir",
                str(tmp_path / "r"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        if aside.exists():
            aside.rename(made)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("dpo.py: error:") and "snippets/instruction_tuning.py" in line, line


@pytest.fixture(scope="module")
def grid() -> dict:
    return json.loads((GENERATED_DIR / "dpo_grid" / "summary.json").read_text())


def test_the_grid_holds_every_loss_at_four_rates_on_three_seeds():
    runs = json.loads((GENERATED_DIR / "dpo_grid" / "runs.json").read_text())
    betas = [row for row in runs if row.startswith("DPO, beta")]
    assert len(betas) >= 3
    assert any(row.startswith("IPO") for row in runs) and any(row.startswith("RPO") for row in runs)
    assert "SFT on the chosen answers" in runs
    for row, by_rate in runs.items():
        assert len(by_rate) >= protocol.GRID_WIDTH, row
        assert all(len(by_seed) >= len(protocol.SEEDS) for by_seed in by_rate.values()), row


def test_the_page_names_the_absolute_measure():
    page = (ROOT / "docs" / "techniques" / "dpo.md").read_text()
    assert "prefers_chosen" in page and "docs/generated/dpo_grid/prefers_chosen.md" in page


def test_the_step_size_decides_most_of_dpo_s_cost(grid):
    start = grid["start"]["seen_instruction"]
    rates = list(grid["rows"]["DPO, beta 0.1"])
    for row in (r for r in grid["rows"] if r.startswith("DPO")):
        low = grid["rows"][row][rates[0]]["seen_instruction"]["mean"]
        high = grid["rows"][row][rates[-1]]["seen_instruction"]["mean"]
        assert low >= start - CLAIMS["lowest_rate_within_points"], row
        assert high <= start - CLAIMS["highest_rate_cost_points"], row


def test_at_the_page_rate_a_larger_beta_costs_less(grid):
    rates = list(grid["rows"]["DPO, beta 0.1"])
    page = rates[2]
    assert float(page) == 2e-4  # the snippet's default rate
    seen = {
        row: grid["rows"][row][page]["seen_instruction"]
        for row in ("DPO, beta 0.5", "DPO, beta 0.1")
    }
    loose, tight = seen["DPO, beta 0.1"], seen["DPO, beta 0.5"]
    assert tight["mean"] > loose["mean"]
    assert protocol.differs([tight["min"], tight["max"]], [loose["min"], loose["max"]])


def test_no_row_raises_exact_match_at_its_best_rate(grid):
    start = grid["start"]["seen_instruction"]
    for row, rate in grid["best"].items():
        best = grid["rows"][row][str(rate)]["seen_instruction"]["mean"]
        assert best <= start + CLAIMS["no_row_gains_points"], row


def test_prefers_chosen_climbs_with_the_rate(grid):
    row = grid["rows"]["DPO, beta 0.1"]
    rates = list(row)
    assert (
        row[rates[-1]]["prefers_chosen"]["mean"]
        >= row[rates[0]]["prefers_chosen"]["mean"] + CLAIMS["prefers_chosen_climbs_points"]
    )


def test_the_sft_term_protects_and_ipo_falls_like_dpo(grid):
    rates = list(grid["rows"]["DPO, beta 0.1"])
    top = {row: cells[rates[-1]]["seen_instruction"] for row, cells in grid["rows"].items()}
    rpo = next(v for row, v in top.items() if row.startswith("RPO"))
    ipo = next(v for row, v in top.items() if row.startswith("IPO"))
    dpo = top["DPO, beta 0.1"]
    assert rpo["mean"] >= dpo["mean"] + CLAIMS["sft_term_protects_points"]
    assert protocol.differs([rpo["min"], rpo["max"]], [dpo["min"], dpo["max"]])
    assert not protocol.differs([ipo["min"], ipo["max"]], [dpo["min"], dpo["max"]])


def test_every_preference_row_is_best_at_the_lowest_rate_of_the_grid(grid):
    """The page says so, and that this is the grid's edge (atlas.site.protocol.at_edge)."""
    for row, rate in grid["best"].items():
        if not row.startswith("SFT"):
            assert rate == min(grid["rates"]), row
            assert protocol.at_edge(tuple(grid["rates"]), rate), row


def test_reward_accuracy_climbs_at_every_rate_and_the_loss_falls_further_the_higher_the_rate():
    runs = json.loads((GENERATED_DIR / "dpo_grid" / "runs.json").read_text())["DPO, beta 0.1"]
    final_losses = []
    for rate, by_seed in runs.items():
        curve = by_seed["0"]["curve"]
        later = [c["rewards/accuracies"] for c in curve if c["step"] >= 10]
        assert sum(later) / len(later) >= CLAIMS["reward_accuracy_after_ten_steps"], rate
        final_losses.append(curve[-1]["loss"])
    assert final_losses == sorted(final_losses, reverse=True)  # rates in grid order, low to high


@pytest.fixture(scope="module")
def from_base() -> dict:
    return json.loads((GENERATED_DIR / "dpo_start" / "summary.json").read_text())


def test_from_the_base_model_every_request_becomes_a_pair(from_base):
    """The base model answers none of the requests right: each becomes a pair ("every one")."""
    requests = macros.default("dpo", "--requests")
    seen_tasks = [t for t in world.TASKS.values() if t.cluster != world.HELD_OUT_CLUSTER]
    assert from_base["pairs"]["values"] == [requests * len(seen_tasks)] * len(protocol.SEEDS)


def test_dpo_from_the_base_model_learns_the_preference_and_not_the_task(from_base):
    from claims import DPO_START

    rows = list(from_base["rows"].values())
    dpo, sft = rows[0], rows[1]
    rates = list(dpo)
    assert len(rates) >= protocol.GRID_WIDTH
    assert all(len(c["seen_instruction"]["values"]) == len(protocol.SEEDS) for c in dpo.values())
    for rate in rates:
        assert dpo[rate]["seen_instruction"]["mean"] <= DPO_START["dpo_from_base_at_most"]
    for rate in rates[1:]:
        assert dpo[rate]["prefers_chosen"]["mean"] >= DPO_START["prefers_chosen_at_least"]
    top = rates[-1]
    gain = sft[top]["seen_instruction"]["mean"] - dpo[top]["seen_instruction"]["mean"]
    assert gain >= DPO_START["sft_from_base_over_dpo_points"]
    assert protocol.differs(
        sft[top]["seen_instruction"]["values"], dpo[top]["seen_instruction"]["values"]
    )
    # after instruction tuning, with "far more steps", the same DPO starts far above both
    assert from_base["after_sft"]["start"]["seen_instruction"] > sft[top]["seen_instruction"]["max"]
    steps = macros.default("instruction_tuning", "--max-steps") / macros.default(
        "dpo", "--max-steps"
    )
    assert steps >= DPO_START["instruction_tuning_steps_over_dpo_at_least"]


@pytest.fixture(scope="module")
def sources() -> dict:
    return json.loads((GENERATED_DIR / "preference_sources" / "summary.json").read_text())


OWN = "DPO, its own mistakes rejected (the DPO grid)"
OFF_POLICY = ("DPO, another model's mistakes rejected", "DPO, the base model's answers rejected")
KTO_ROW = "KTO, its own answers labelled"


def test_preference_sources_run_every_row_on_the_grid_from_the_same_start(sources):
    from conftest import assert_whole_grid

    runs = json.loads((GENERATED_DIR / "preference_sources" / "runs.json").read_text())
    assert_whole_grid(sources["rates"], runs)
    assert (
        sources["rates"]
        == json.loads((GENERATED_DIR / "dpo_grid" / "summary.json").read_text())["rates"]
    )
    assert set(sources["rows"]) == {OWN, *OFF_POLICY, KTO_ROW}
    assert sources["same_start"]  # every run starts from the models the DPO grid's row did
    from claims import PREFERENCE_SOURCES as C

    start = sources["start"]["seen_instruction"]  # the other-model row's answerer is another seed's
    assert start["max"] - start["min"] <= C["starts_within_points"]  # start: "about as strong"


def _cells(sources, row, key):
    return [sources["rows"][row][r][key] for r in map(str, sources["rates"])]


def test_the_model_s_own_mistakes_teach_it_most_and_off_policy_pairs_cost_less(sources):
    from claims import PREFERENCE_SOURCES as C

    top = slice(-C["top_rates"], None)
    for row in (*OFF_POLICY, KTO_ROW):
        for own, other in zip(
            _cells(sources, OWN, "prefers_chosen")[top], _cells(sources, row, "prefers_chosen")[top]
        ):
            assert own["min"] > other["max"], row  # learned more: the ranges apart
    for row in OFF_POLICY:
        for own, other in zip(
            _cells(sources, OWN, "seen_instruction")[top],
            _cells(sources, row, "seen_instruction")[top],
        ):
            assert other["min"] > own["max"], row  # cost less at the same rate: ranges apart
    for own, kto in zip(
        _cells(sources, OWN, "seen_instruction")[top],
        _cells(sources, KTO_ROW, "seen_instruction")[top],
    ):  # KTO's cost: no measured difference from DPO's
        assert not protocol.differs(own["values"], kto["values"])


def test_at_equal_learning_no_row_keeps_more_than_dpo_on_its_own_mistakes(sources):
    """The plane: own-mistake DPO's curve (kept against learned, through its rates) is the outer
    edge; every other point within its span of learning sits on or under it."""
    from claims import PREFERENCE_SOURCES as C

    own = sorted(
        (c["prefers_chosen"]["mean"], c["seen_instruction"]["mean"])
        for c in sources["rows"][OWN].values()
    )
    top = str(sources["rates"][-1])
    checked = 0
    for row in (*OFF_POLICY, KTO_ROW):
        for rate, cell in sources["rows"][row].items():
            x, y = cell["prefers_chosen"]["mean"], cell["seen_instruction"]["mean"]
            for (x0, y0), (x1, y1) in zip(own, own[1:]):
                if x0 <= x <= x1:
                    edge = y0 + (y1 - y0) * (x - x0) / (x1 - x0)
                    assert y <= edge + C["own_curve_edge_points"], (row, x, y, edge)
                    if rate == top:  # "costs more than the own pairs would"
                        assert y <= edge - C["top_rate_under_own_curve_points"], (row, y, edge)
                    checked += 1
    assert checked >= C["top_rates"] * (len(OFF_POLICY) + 1)  # at least every top-rate point


def test_no_preference_source_raises_exact_match(sources):
    from claims import PREFERENCE_SOURCES as C

    start = sources["start"]["seen_instruction"]["mean"]
    lowest = str(sources["rates"][0])
    for row, cells in sources["rows"].items():  # "at the lowest, both stay at the start"
        assert (
            abs(cells[lowest]["seen_instruction"]["mean"] - start) <= C["lowest_rate_within_points"]
        ), row
    for row, cells in sources["rows"].items():
        for rate, cell in cells.items():
            assert cell["seen_instruction"]["mean"] <= start + C["no_row_gains_points"], (row, rate)
