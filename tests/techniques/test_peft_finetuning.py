"""Parameter-efficient fine-tuning: the claims of docs/techniques/peft-finetuning.md and of the toy
rank sweep on docs/techniques/lora-finetuning.md.

CI runs the page's default run in full (LoRA r=8 on the spell job, under a minute; its figures are
compared with the committed ones by tests/test_snippets.py) and checks the adapter and the merge
here; IA³ on the instruction-tuning job runs ten steps (the code path works). The sweep's claims
are asserted on the summary benchmarks/peft_sweep.py committed (three seeds per method), whose
staleness tests/test_generated.py checks."""

from __future__ import annotations

import ast
import json
import re
import sys

import pytest
from safetensors.torch import load_file

from atlas import GENERATED_DIR, ROOT, jobs
from atlas.site import protocol
from claims import PEFT_FINETUNING as CLAIMS
from conftest import assert_whole_grid

SWEEP = GENERATED_DIR / "peft_sweep"
RANKS = [1, 2, 4, 8, 16, 64]


@pytest.fixture(scope="module")
def lora_run(run_snippet):
    run = run_snippet("peft_finetuning")
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def sweep() -> dict:
    return json.loads((SWEEP / "summary.json").read_text())


def lora(figures: dict, job: str, rank: int) -> dict:
    return figures["figures"][job][f"LoRA r={rank}, all linear layers"]


def test_the_adapter_file_holds_only_the_low_rank_matrices(lora_run):
    stats = json.loads((lora_run.results() / "lora_spell_training.json").read_text())
    adapter = load_file(lora_run.tmp / "model" / "adapter_model.safetensors")
    assert sum(t.numel() for t in adapter.values()) == stats["trainable_parameters"]
    assert all("lora_A" in name or "lora_B" in name for name in adapter)
    # A is (r, in), B is (out, r): the page shows these shapes
    for name, shape in stats["added_tensors"].items():
        assert shape[0 if "lora_A" in name else 1] == stats["rank"]
    share = stats["trainable_parameters"] / stats["base_parameters"]
    assert share <= CLAIMS["lora_r8_share_at_most"]


def test_the_merged_model_gives_the_adapter_model_s_answers(lora_run):
    stats = json.loads((lora_run.results() / "lora_spell_training.json").read_text())
    assert stats["merged_same_answers"] is True
    committed = json.loads(
        (GENERATED_DIR / "peft_finetuning" / "lora_flan_training.json").read_text()
    )
    assert committed["merged_same_answers"] is True


def test_ia3_learns_one_scale_per_channel(run_snippet):
    run = run_snippet("peft_finetuning", 1)
    assert run.returncode == 0, run.stderr[-4000:]
    stats = json.loads((run.results() / "ia3_flan_training.json").read_text())
    assert all(1 in shape for shape in stats["added_tensors"].values())
    assert stats["trainable_parameters"] / stats["base_parameters"] <= CLAIMS["ia3_share_at_most"]


def test_the_sweep_holds_three_seeds_of_every_method(sweep):
    for job, rows in sweep["figures"].items():
        assert len(rows) >= 12, job
        assert all(row["seeds"] == 3 for row in rows.values()), job
        assert [lora(sweep, job, r)["trainable_parameters"] for r in RANKS] == sorted(
            lora(sweep, job, r)["trainable_parameters"] for r in RANKS
        )


def test_the_snippets_default_learning_rates_are_in_the_searched_grid(sweep):
    """The sweep searched each method's rate; the snippets' defaults are rates of that grid."""
    grids = json.loads((SWEEP / "sweep.json").read_text())["search"]
    for snippet, family in [
        ("peft_finetuning", "lora"),
        ("peft_finetuning", "ia3"),
        ("prompt_tuning", "prompt"),
        ("prefix_tuning", "prefix"),
    ]:
        tree = ast.parse((ROOT / "snippets" / f"{snippet}.py").read_text())
        rates = next(
            ast.literal_eval(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "LEARNING_RATES"
        )
        rates = rates.get(family, rates)
        for job in ("spell", "flan"):
            assert rates[job] in [float(lr) for lr in grids[job][family]["runs"]], (snippet, job)


def test_on_one_task_the_rank_trades_learning_for_keeping(sweep):
    low, high = lora(sweep, "spell", RANKS[0]), lora(sweep, "spell", RANKS[-1])
    assert high["target"]["mean"] >= low["target"]["mean"] + CLAIMS["rank_learns_points"]
    assert low["few_shot"]["mean"] >= high["few_shot"]["mean"] + CLAIMS["rank_keeps_points"]
    full = sweep["figures"]["spell"]["full fine-tuning"]["few_shot"]["mean"]
    full_target = sweep["figures"]["spell"]["full fine-tuning"]["target"]["mean"]
    assert high["few_shot"]["mean"] <= full + CLAIMS["highest_rank_like_full_points"]
    assert high["target"]["mean"] >= full_target - CLAIMS["highest_rank_like_full_points"]


def test_on_many_tasks_no_rank_reaches_full_fine_tuning_and_every_rank_keeps_more(sweep):
    full = sweep["figures"]["flan"]["full fine-tuning"]
    climb = [lora(sweep, "flan", rank)["target"]["mean"] for rank in RANKS]
    assert climb == sorted(climb)  # it climbs with the rank
    for rank in RANKS:
        row = lora(sweep, "flan", rank)
        assert (
            row["target"]["mean"] <= full["target"]["mean"] - CLAIMS["flan_lora_below_full_points"]
        ), rank
        assert (
            row["few_shot"]["mean"] >= full["few_shot"]["mean"] + CLAIMS["flan_lora_keeps_points"]
        ), rank


@pytest.fixture(scope="module")
def plane() -> dict:
    return json.loads((GENERATED_DIR / "learning_forgetting" / "summary.json").read_text())


def test_full_fine_tuning_ran_at_four_rates_on_three_seeds_each():
    runs = json.loads((GENERATED_DIR / "learning_forgetting" / "runs.json").read_text())
    for job in ("spell", "flan"):
        assert len(runs[job]) >= protocol.GRID_WIDTH, job
        assert float(jobs.JOBS[job].full_learning_rate) in [float(r) for r in runs[job]]
        assert all(len(by_seed) >= len(protocol.SEEDS) for by_seed in runs[job].values()), job


def test_at_full_fine_tuning_s_page_rate_lora_keeps_more_few_shot_on_the_single_task(sweep):
    """The comparison table's reading: the LoRA row keeps more than the full fine-tuning row, whose
    rate is too high for one task (the next test)."""
    full = sweep["figures"]["spell"]["full fine-tuning"]["few_shot"]["mean"]
    kept = lora(sweep, "spell", 8)["few_shot"]["mean"]
    assert kept >= full + CLAIMS["page_rate_lora_keeps_points"]


def test_on_one_task_full_fine_tuning_at_a_lower_rate_learns_as_much_and_keeps_more(plane):
    rates = list(plane["full"]["spell"])
    page = rates.index(str(jobs.JOBS["spell"].full_learning_rate))
    lower, at_page = plane["full"]["spell"][rates[page - 1]], plane["full"]["spell"][rates[page]]
    assert lower["target"]["min"] >= 0.99 and at_page["target"]["min"] >= 0.99
    assert (
        lower["few_shot"]["mean"] >= at_page["few_shot"]["mean"] + CLAIMS["lower_rate_keeps_points"]
    )


def test_on_one_task_every_adapter_keeps_less_than_full_fine_tuning_at_equal_learning(plane):
    """No page may say LoRA forgets less than full fine-tuning: at equal spelling accuracy it
    keeps less, for every rank, LoRA on the attention, IA³ and prefix tuning."""
    compared = {k: e for k, e in plane["equal_learning"]["spell"].items() if e["full_few_shot"]}
    assert {f"LoRA r={r}, all linear layers" for r in RANKS} | {"IA³"} <= set(compared)
    for label, e in compared.items():
        gap = e["full_few_shot"] - e["few_shot"]
        assert gap >= CLAIMS["full_keeps_more_at_equal_learning_points"], label


def test_on_many_tasks_lora_sits_on_full_fine_tuning_s_curve(plane):
    compared = {
        k: e
        for k, e in plane["equal_learning"]["flan"].items()
        if e["full_few_shot"] and k.startswith("LoRA")
    }
    assert len(compared) >= 3
    for label, e in compared.items():
        assert abs(e["full_few_shot"] - e["few_shot"]) <= CLAIMS["flan_same_curve_points"], label


def test_no_page_says_lora_forgets_less():
    for page in ("techniques/peft-finetuning.md", "faq.md", "comparison.md", "glossary.md"):
        text = (ROOT / "docs" / page).read_text().lower()
        for phrase in (
            "lora learns less and forgets less",
            "lora forgets less",
            "keeps more of the rest",
        ):
            if phrase == "lora learns less and forgets less":  # the paper's title may be cited
                text = text.replace("lora learns less and forgets less ([biderman", "")
            assert phrase not in text, (page, phrase)


def test_ia3_learns_the_single_task_and_forgets_as_much_as_full_fine_tuning(sweep):
    ia3, full = sweep["figures"]["spell"]["IA³"], sweep["figures"]["spell"]["full fine-tuning"]
    assert ia3["target"]["mean"] >= CLAIMS["ia3_spell_at_least"]
    assert ia3["few_shot"]["mean"] <= full["few_shot"]["mean"] + CLAIMS["ia3_like_full_points"]
    ia3_flan = sweep["figures"]["flan"]["IA³"]["target"]["mean"]
    assert (
        ia3_flan
        <= lora(sweep, "flan", RANKS[0])["target"]["mean"] - CLAIMS["ia3_below_lora_points"]
    )


def test_soft_prompts_fall_far_short_of_full_fine_tuning(sweep):
    for job in ("spell", "flan"):
        full = sweep["figures"][job]["full fine-tuning"]["target"]["mean"]
        prompt = sweep["figures"][job]["prompt tuning, 16 tokens from text"]["target"]["mean"]
        assert prompt <= full - CLAIMS["prompt_below_full_points"], job


def _snippet_rows(snippet: str, tmp_path) -> list[dict]:
    """The training rows a technique snippet builds by default: its argument block and its
    `data` section, run as written (the training that follows is not run)."""
    source = (ROOT / "snippets" / snippet).read_text()
    arguments = source.split("# The heavy imports come after the arguments")[0]
    section = source.split("# --8<-- [start:data]")[1].split("# --8<-- [end:data]")[0]

    class Dataset(list):  # datasets.Dataset.from_list, without the Arrow copy
        from_list = classmethod(lambda cls, rows: cls(rows))

    namespace = {"__doc__": "x", "__name__": "rows", "Dataset": Dataset}
    argv = sys.argv
    sys.argv = [snippet, "--results-dir", str(tmp_path / "r"), "--output-dir", str(tmp_path / "m")]
    try:
        exec(compile(arguments, snippet, "exec"), namespace)
    finally:
        sys.argv = argv
    exec(
        compile("from atlas.toy import data, world\nimport random\n" + section, snippet, "exec"),
        namespace,
    )
    return list(namespace["rows"])


@pytest.mark.parametrize(
    "job,snippet", [("spell", "single_task_finetuning.py"), ("flan", "instruction_tuning.py")]
)
def test_a_peft_job_trains_on_the_rows_its_full_fine_tuning_snippet_builds(job, snippet, tmp_path):
    """atlas.jobs builds each PEFT job's rows for the sweeps; the technique snippets build their own
    in sight of the reader. Every PEFT-against-full comparison rests on the two being the same."""
    assert jobs.training_rows(job, seed=0) == _snippet_rows(snippet, tmp_path)


@pytest.fixture(scope="module")
def budget() -> dict:
    return json.loads((GENERATED_DIR / "soft_prompt_budget" / "summary.json").read_text())


PROMPT_16 = "prompt tuning, 16 tokens"
PREFIX_16 = "prefix tuning, 16 tokens"
PREFIX_2 = "prefix tuning, 2 tokens (as many numbers as the 16-token prompt)"
PROMPT_128 = "prompt tuning, 128 tokens (as many numbers as the 16-token prefix)"


def test_soft_prompts_ran_over_budgets_from_150_to_1500_steps_on_three_seeds(budget):
    runs = json.loads((GENERATED_DIR / "soft_prompt_budget" / "runs.json").read_text())
    assert budget["budgets"][0] == jobs.JOBS["spell"].steps and budget["budgets"][-1] >= 1500
    for label in (PROMPT_16, PREFIX_16, PREFIX_2):
        assert list(runs["budget"]["spell"][label]) == [str(s) for s in budget["budgets"]]
        assert all(len(r) >= len(protocol.SEEDS) for r in runs["budget"]["spell"][label].values())


def test_the_parameter_matched_pairs_hold_as_many_numbers(budget):
    b = budget["budget"]
    assert b[PREFIX_2]["trainable_parameters"] == b[PROMPT_16]["trainable_parameters"]
    assert b[PROMPT_128]["trainable_parameters"] == b[PREFIX_16]["trainable_parameters"]


def test_prompt_tuning_learns_more_with_more_steps_but_stays_below_the_others(budget, sweep):
    steps = budget["budget"][PROMPT_16]["steps"]
    first, last = steps[str(budget["budgets"][0])], steps[str(budget["budgets"][-1])]
    assert last["target"]["mean"] >= first["target"]["mean"] + CLAIMS["prompt_budget_gain_points"]
    others = [
        f["target"]["mean"]
        for label, f in sweep["figures"]["spell"].items()
        if not label.startswith("prompt")
    ]
    assert last["target"]["mean"] < min(others)  # "ten times the steps do not bring it to ..."


def test_at_equal_numbers_a_prefix_learns_more_than_a_prompt(budget):
    b = budget["budget"]
    for steps in budget["budgets"][:2]:
        prefix, prompt = b[PREFIX_2]["steps"][str(steps)], b[PROMPT_16]["steps"][str(steps)]
        gap = prefix["target"]["mean"] - prompt["target"]["mean"]
        assert gap >= CLAIMS["prefix_over_prompt_equal_numbers_points"], steps
        assert protocol.differs(
            *([x["target"]["min"], x["target"]["max"]] for x in (prefix, prompt))
        )
    first = str(budget["budgets"][0])
    long_prompt, short_prompt = b[PROMPT_128]["steps"][first], b[PROMPT_16]["steps"][first]
    assert not (
        protocol.differs(
            [long_prompt["target"]["min"], long_prompt["target"]["max"]],
            [short_prompt["target"]["min"], short_prompt["target"]["max"]],
        )
        and long_prompt["target"]["mean"] > short_prompt["target"]["mean"]
    )
    assert (
        long_prompt["few_shot"]["mean"]
        <= short_prompt["few_shot"]["mean"] - CLAIMS["long_prompt_few_shot_cost_points"]
    )


def test_a_prefix_learns_the_whole_task_with_more_steps(budget):
    steps = budget["budget"][PREFIX_16]["steps"]
    for n in budget["budgets"][1:]:
        assert steps[str(n)]["target"]["min"] >= CLAIMS["prefix_learns_fully_at_least"], n


def test_past_the_edges_the_sweep_kept_no_rate_learns_more(budget):
    edges = budget["edges"]
    assert {"prefix"} <= set(edges["spell"]) and {"prefix", "prompt"} <= set(edges["flan"])
    for job, by_method in edges.items():
        for method, e in by_method.items():
            assert protocol.at_edge(tuple(e["grid"]), e["kept"]), (job, method)
            assert not e["past_edge_learns_more"], (job, method)
    prompt = edges["flan"]["prompt"]  # "answers no request at either end of its grid"
    assert (
        prompt["kept_figures"]["target"]["max"] == prompt["past_edge_figures"]["target"]["max"] == 0
    )
    spell = edges["spell"]["prefix"]
    assert (
        spell["past_edge_figures"]["few_shot"]["mean"]
        <= spell["kept_figures"]["few_shot"]["mean"] - CLAIMS["past_edge_few_shot_cost_points"]
    )


@pytest.fixture(scope="module")
def alpha() -> dict:
    return json.loads((GENERATED_DIR / "lora_alpha" / "summary.json").read_text())


def _first_rate_learning_half(entry: dict) -> float:
    """The lowest rate of the grid whose mean spelling accuracy is at least half (inf if none)."""
    rates = [float(r) for r, f in entry["rates"].items() if f["target"]["mean"] >= 0.5]
    return min(rates, default=float("inf"))


def test_alpha_ran_at_three_scales_two_ranks_four_rates_three_seeds(alpha):
    runs = json.loads((GENERATED_DIR / "lora_alpha" / "runs.json").read_text())
    ranks = [r for r in runs if r != "rslora"]
    assert len(ranks) >= 2 and len(alpha["rates"]) >= protocol.GRID_WIDTH
    for rank in ranks:
        assert len(runs[rank]) >= 3
        for by_rate in runs[rank].values():
            assert len(by_rate) == len(alpha["rates"])
            assert all(len(by_seed) >= len(protocol.SEEDS) for by_seed in by_rate.values())


def test_a_larger_alpha_learns_the_task_at_a_lower_learning_rate(alpha):
    """docs/techniques/peft-finetuning.md#lora-alpha: alpha is a second learning rate."""
    for rank, by_label in alpha["ranks"].items():
        scales = sorted(by_label, key=lambda label: float(re.search(r"scale ([\d.]+)", label)[1]))
        firsts = [_first_rate_learning_half(by_label[label]) for label in scales]
        assert firsts == sorted(firsts, reverse=True), (rank, firsts)
        assert firsts[-1] < firsts[0], (rank, firsts)


def test_rslora_is_alpha_with_another_scale(alpha):
    assert alpha["rslora"]["by_task_identical"]


def test_a_picked_rate_at_the_grid_s_edge_is_flagged(alpha):
    for by_label in alpha["ranks"].values():
        for entry in by_label.values():
            assert entry["best_at_edge"] == protocol.at_edge(
                tuple(alpha["rates"]), entry["best_rate"]
            )


def test_too_large_an_alpha_at_the_highest_rate_breaks_training(alpha):
    """#lora-alpha: at least one (rank, alpha) diverges at the grid's highest rate, and each that
    does learns the task at a lower rate."""
    top = str(alpha["rates"][-1])
    broke = [
        e
        for by in alpha["ranks"].values()
        for e in by.values()
        if e["rates"][top]["target"]["mean"] < 0.05
    ]
    assert broke
    for e in broke:
        assert max(f["target"]["mean"] for f in e["rates"].values()) >= 0.9


# -- #lora-targets: attention only or every linear layer, at equal parameters ---------------------


@pytest.fixture(scope="module")
def targets() -> dict:
    return json.loads((GENERATED_DIR / "lora_targets" / "summary.json").read_text())


def test_targets_ran_both_places_at_four_rates_three_seeds(targets):
    runs = json.loads((GENERATED_DIR / "lora_targets" / "runs.json").read_text())
    assert {v["targets"] for v in targets["variants"].values()} == {"attention", "all-linear"}
    assert_whole_grid(targets["rates"], runs)


def test_targets_train_the_same_number_of_parameters(targets):
    """#lora-targets: 'the same budget': within five percent."""
    counts = [v["trainable_parameters"] for v in targets["variants"].values()]
    assert max(counts) / min(counts) <= 1.05
    assert targets["parameter_ratio"] == max(counts) / min(counts)


def test_targets_verdicts_follow_the_seed_ranges(targets):
    """The page's 'seed ranges apart' or 'no measured difference' is the protocol's rule applied
    to each place's picked rate, and a picked rate at the grid's edge is flagged."""
    runs = json.loads((GENERATED_DIR / "lora_targets" / "runs.json").read_text())
    picked = []
    for label, entry in targets["variants"].items():
        assert entry["best_at_edge"] == protocol.at_edge(
            tuple(targets["rates"]), entry["best_rate"]
        )
        by_seed = runs[label][str(entry["best_rate"])]
        picked.append(
            {
                k: [jobs.summary(r["by_task"], targets["job"])[k] for r in by_seed.values()]
                for k in ("target", "few_shot")
            }
        )
        # the picked rate is the best mean target, or within the tie of it with more few-shot
        means = {r: c["target"]["mean"] for r, c in entry["rates"].items()}
        assert means[str(entry["best_rate"])] >= max(means.values()) - 0.026
    for key in ("target", "few_shot"):
        assert targets["best_differ"][key] == protocol.differs(picked[0][key], picked[1][key])


def test_targets_baseline_spells_nothing_and_every_run_lost_few_shot(targets):
    """#lora-targets: 'every spelled word in the table was learned' (the base model spells no
    bare word) and 'every few-shot point below that baseline was lost' (no run keeps
    as much few-shot as the base model has)."""
    rows = json.loads((GENERATED_DIR / "comparison" / "comparison.json").read_text())["rows"]
    assert rows["base model, zero-shot"]["target_bare"] == 0
    baseline = rows["base model, few-shot"]["few_shot"]
    for entry in targets["variants"].values():
        for cell in entry["rates"].values():
            assert cell["few_shot"]["max"] < baseline, (cell, baseline)
