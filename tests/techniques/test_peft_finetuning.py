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
import sys

import pytest
from safetensors.torch import load_file

from atlas import GENERATED_DIR, ROOT, jobs, protocol
from claims import PEFT_FINETUNING as CLAIMS

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
        compile("from atlas import data, world\nimport random\n" + section, snippet, "exec"),
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
