"""The comparison: the claims of docs/comparison.md, and that its table is read from the figures
each technique's snippet wrote (nothing retyped). The snippet trains nothing: CI runs it in full."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from atlas.comparison import COLUMNS, columns
from claims import COMPARISON as CLAIMS

# comparison row -> (folder, result name) of the snippet run behind it
TRAINED = {
    "single-task fine-tuning": ("single_task_finetuning", "single_task"),
    "hybrid (one task, with instructions)": ("hybrid_finetuning", "hybrid"),
    "instruction tuning (FLAN style)": ("instruction_tuning", "instruction_tuned"),
    "same data, no template": ("instruction_tuning", "no_template"),
    "same data, task tag": ("instruction_tuning", "task_tag"),
    "LoRA r=8 (single-task rows)": ("peft_finetuning", "lora_spell"),
    "LoRA r=8 (instruction-tuning rows)": ("peft_finetuning", "lora_flan"),
    "prompt tuning (single-task rows)": ("prompt_tuning", "prompt_text_spell"),
    "prefix tuning (single-task rows)": ("prefix_tuning", "prefix_spell"),
    "continued pretraining (domain text)": ("continued_pretraining", "continued"),
    "DPO after instruction tuning (beta 0.1)": ("dpo", "dpo_beta0.1"),
}
# The rows trained on the instruction-tuning data: all weights, LoRA beside them, or DPO after it
INSTRUCTION_TUNED = (
    "instruction tuning (FLAN style)",
    "LoRA r=8 (instruction-tuning rows)",
    "DPO after instruction tuning (beta 0.1)",
)


@pytest.fixture(scope="module")
def rows(run_snippet) -> dict[str, dict]:
    run = run_snippet("comparison")
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads((run.results() / "comparison.json").read_text())["rows"]


@pytest.mark.parametrize("row", TRAINED)
def test_each_row_is_read_from_its_technique_s_figures(rows, row):
    folder, name = TRAINED[row]
    by_task = json.loads((GENERATED_DIR / folder / f"{name}.json").read_text())["by_task"]
    training = json.loads((GENERATED_DIR / folder / f"{name}_training.json").read_text())
    expected = columns(by_task, target="spell")
    assert {k: rows[row][k] for k in COLUMNS} == expected
    assert rows[row]["trainable_parameters"] == training["trainable_parameters"]


@pytest.mark.parametrize("column", ["other_seen_instruction", "held_out_templates"])
def test_only_instruction_tuning_does_many_tasks_asked_in_words(rows, column):
    """Instruction tuning, by full fine-tuning or LoRA, beats every other row."""
    others = [
        r[column]
        for name, r in rows.items()
        if name not in INSTRUCTION_TUNED and isinstance(r[column], float)
    ]
    for name in INSTRUCTION_TUNED:
        tuned = rows[name][column]
        assert len(others) >= 7 and tuned >= max(others) + CLAIMS["instruction_tuning_lead_points"]


def test_dpo_keeps_instruction_tuning_s_shape_but_lower(rows):
    dpo, tuned = (
        rows["DPO after instruction tuning (beta 0.1)"],
        rows["instruction tuning (FLAN style)"],
    )
    assert dpo["target_bare"] <= CLAIMS["dpo_bare_at_most"]
    for column in ("target_instruction", "other_seen_instruction", "held_out_templates"):
        assert dpo[column] <= tuned[column] - CLAIMS["dpo_below_instruction_tuning_points"], column


def test_every_adaptation_trains_within_the_front_page_s_minutes(rows):
    """docs/index.md: "adapted N ways, each in under two minutes" (the rows' training seconds)."""
    seconds = {n: r["seconds"] for n, r in rows.items() if r["trainable_parameters"]}
    assert len(seconds) >= 10
    slow = {n: s for n, s in seconds.items() if s >= CLAIMS["training_minutes_at_most"] * 60}
    assert not slow, slow


# --- #swept: every method at the rate its own search chose ----------------------------------------


@pytest.fixture(scope="module")
def swept() -> dict:
    return json.loads((GENERATED_DIR / "swept_table" / "summary.json").read_text())


def test_swept_rows_are_the_sweeps_runs_at_the_rule_s_rate(swept):
    """Full fine-tuning's rate is the rule's choice over its grid's seed means (the best target,
    then the most few-shot within one evaluation word of it); every other row is the PEFT sweep's
    seeds at its family's kept rate, figure for figure."""
    from atlas.jobs import summary
    from benchmarks.peft_sweep import TIE, methods

    full_runs = json.loads((GENERATED_DIR / "learning_forgetting" / "runs.json").read_text())
    sweep = json.loads((GENERATED_DIR / "peft_sweep" / "sweep.json").read_text())
    for job, rows in swept["jobs"].items():
        means = {}
        for rate, seeds in full_runs[job].items():
            figures = [summary(r["by_task"], job) for r in seeds.values()]
            means[float(rate)] = {
                k: sum(f[k] for f in figures) / len(figures) for k in ("target", "few_shot")
            }
        chosen = means[rows["full fine-tuning"]["rate"]]
        assert len(means) >= 4
        assert all(m["target"] <= chosen["target"] + TIE for m in means.values())
        near = [
            m
            for m in means.values()
            if m["target"] >= max(x["target"] for x in means.values()) - TIE
        ]
        assert chosen["few_shot"] == max(m["few_shot"] for m in near)
        families = {label: family for label, (*_, family) in methods(job).items()}
        for label, row in rows.items():
            if row.get("baseline") or label == "full fine-tuning":
                continue
            assert row["rate"] == sweep["search"][job][families[label]]["best"], label
            runs = sweep["runs"][job][label].values()
            for key, figure in row["figures"].items():
                assert figure["values"] == [summary(r["by_task"], job)[key] for r in runs]


def test_swept_baselines_are_the_harness_s_trivial_answers(swept):
    """The constant answer scores on the held-out cluster what the unseen-tasks page says (one
    computation), and copying the input never spells."""
    from atlas.toy import world

    from conftest import load_script

    macros = load_script("tools/macros.py")

    for rows in swept["jobs"].values():
        constant = rows["constant answer"]["figures"]
        assert constant["held_out_cluster"] == macros.constant_baseline(world.HELD_OUT_CLUSTER)
    assert swept["jobs"]["spell"]["copy the input"]["figures"]["target"] == 0


def test_swept_reading_single_task(swept):
    """'Full fine-tuning at its chosen rate learns the most and keeps the most of what the others
    learn'; 'the rows that keep more, the soft prompts, spell at most ...'."""
    from atlas.site.protocol import differs
    from benchmarks.swept_table import LEARNS_AT_LEAST

    rows = {k: r for k, r in swept["jobs"]["spell"].items() if not r.get("baseline")}
    full = rows.pop("full fine-tuning")["figures"]
    reading = swept["reading"]["spell"]
    assert full["target"]["mean"] >= max(r["figures"]["target"]["mean"] for r in rows.values())
    learns = LEARNS_AT_LEAST
    learners = [r for r in rows.values() if r["figures"]["target"]["mean"] >= learns]
    assert len(learners) >= 5 and len(learners) == len(reading["learners"])
    for r in learners:
        assert differs(full["few_shot"]["values"], r["figures"]["few_shot"]["values"])
        assert r["figures"]["few_shot"]["max"] < full["few_shot"]["min"]
    keepers = [
        r for r in rows.values() if r["figures"]["few_shot"]["mean"] > full["few_shot"]["mean"]
    ]
    assert keepers and all(k.startswith("prompt tuning") for k in reading["keepers"])
    assert max(r["figures"]["target"]["mean"] for r in keepers) <= (
        full["target"]["mean"] - CLAIMS["swept_keepers_below_points"]
    )


def test_swept_reading_instruction_tuning(swept):
    """'The ranks line up behind full fine-tuning': the best LoRA level on the seen tasks (ranges
    overlap) with more few-shot (ranges apart), every smaller rank below; and at equal learning
    full fine-tuning keeps within a few points of that LoRA's few-shot."""
    from atlas.site.protocol import differs

    rows = swept["jobs"]["flan"]
    reading = swept["reading"]["flan"]
    full = rows["full fine-tuning"]["figures"]
    models = [r for r in rows.values() if not r.get("baseline")]
    assert full["target"]["mean"] == max(r["figures"]["target"]["mean"] for r in models)
    best = rows[reading["best_lora"]]["figures"]
    assert not differs(full["target"]["values"], best["target"]["values"])
    assert best["few_shot"]["min"] > full["few_shot"]["max"]
    loras = {k: r for k, r in rows.items() if k.startswith("LoRA") and k != reading["best_lora"]}
    assert len(loras) >= 5
    for label, r in loras.items():
        assert r["figures"]["target"]["max"] < full["target"]["min"], label
    assert abs(reading["at_equal_learning"]) <= CLAIMS["swept_equal_learning_within_points"]


def test_swept_no_row_beats_a_constant_answer_on_the_held_out_cluster(swept):
    constant = swept["reading"]["held_out_cluster"]["constant_answer"]
    for rows in swept["jobs"].values():
        for label, r in rows.items():
            if not r.get("baseline"):
                figure = r["figures"]["held_out_cluster"]["mean"]
                assert figure <= constant - CLAIMS["swept_cluster_below_constant_points"], label


def test_swept_edges_are_every_searched_rate_at_its_grid_s_end(swept):
    found = [
        [job, label, "top" if r["rate"] == max(r["grid"]) else "lowest"]
        for job, rows in swept["jobs"].items()
        for label, r in rows.items()
        if not r.get("baseline")
        and r["searched_on"] == label
        and r["rate"] in (min(r["grid"]), max(r["grid"]))
    ]
    assert found == swept["reading"]["at_edge"] and found


def test_the_no_model_rows_are_the_harness_s_trivial_answers(rows):
    """The table's last rows are atlas.evaluation.trivial_baselines through the same columns, and
    'every row is below what a constant answer scores' on the held-out cluster."""
    from atlas.evaluation import trivial_baselines

    baselines = trivial_baselines()
    for name, result in baselines.items():
        expected = columns(result.by_task(), target="spell")
        assert {k: rows[f"no model: {name}"][k] for k in COLUMNS} == expected
    constant = rows["no model: constant answer"]["held_out_cluster"]
    models = [r for n, r in rows.items() if not n.startswith("no model")]
    cluster = [r["held_out_cluster"] for r in models if isinstance(r["held_out_cluster"], float)]
    assert len(cluster) >= 10
    assert max(cluster) <= constant - CLAIMS["swept_cluster_below_constant_points"]


# --- #validated: every method's rate chosen on validation words ----------------------------------


@pytest.fixture(scope="module")
def validated() -> dict:
    folder = GENERATED_DIR / "rate_selection"
    return {
        "runs": json.loads((folder / "runs.json").read_text()),
        "summary": json.loads((folder / "summary.json").read_text()),
    }


def test_validated_rates_are_the_rule_s_choice_on_validation_words(validated):
    """Each chosen rate is peft_sweep's rule applied to the validation words of seed 0's runs, over
    at least four rates, inside the rates tried (a grid's edge was extended), and the tables'
    figures are the three seeds' runs at that rate, reported on the evaluation words."""
    from atlas.jobs import summary
    from atlas.site.protocol import GRID_WIDTH, SEEDS, at_edge
    from benchmarks.peft_sweep import best_rate

    for job, families in validated["runs"].items():
        rows = validated["summary"]["jobs"][job]["methods"]
        for family, entry in families.items():
            tried = {float(rate): run for rate, run in entry["tried"].items()}
            on_validation = {r: {"by_task": t["validation_by_task"]} for r, t in tried.items()}
            chosen = float(entry["chosen"])
            assert chosen == best_rate(on_validation, job) == rows[family]["chosen"]
            assert len(tried) >= GRID_WIDTH and not at_edge(tuple(sorted(tried)), chosen)
            runs = [tried[chosen], *entry["seeds"].values()]
            assert len(runs) == len(SEEDS)
            for key, figure in rows[family]["figures"].items():
                assert figure["values"] == [summary(r["by_task"], job)[key] for r in runs]
            assert rows[family]["chosen_on_evaluation_words"] == best_rate(tried, job)


def test_validated_choosing_on_the_evaluation_words_changed_little(validated):
    """'Validation words and evaluation words choose the same rate for most pairs'; 'in N pairs the
    few-shot tie-break chooses'; 'choosing by the best evaluation-word target alone would report at
    most a few points more on the first seed'; every chosen rate inside the rates tried, the
    searches extended in half-decade steps."""
    from atlas.jobs import summary
    from benchmarks.peft_sweep import TIE

    reading = validated["summary"]["reading"]
    rows = [
        (job, family, row)
        for job, by_job in validated["summary"]["jobs"].items()
        for family, row in by_job["methods"].items()
    ]
    assert reading["same_choice"] == sum(
        r["chosen"] == r["chosen_on_evaluation_words"] for *_, r in rows
    )
    assert reading["same_choice"] >= reading["methods"] - 2
    ties = 0
    gains = []
    for job, family, row in rows:
        tried = validated["runs"][job][family]["tried"]
        on_validation = [summary(r["validation_by_task"], job)["target"] for r in tried.values()]
        ties += sum(t >= max(on_validation) - TIE for t in on_validation) > 1
        on_evaluation = {float(k): summary(r["by_task"], job) for k, r in tried.items()}
        best = max(f["target"] for f in on_evaluation.values())
        gains.append(best - on_evaluation[row["chosen"]]["target"])
        rates = sorted(on_evaluation)
        assert all(2.5 < b / a < 3.7 for a, b in zip(rates, rates[1:])), (job, family)
    assert ties == reading["tie_break_chooses"]
    assert max(gains) == reading["largest_gain_from_the_best_evaluation_target"]
    assert max(gains) <= CLAIMS["validated_gain_at_most_points"]
    assert reading["at_edge"] == []
    for job, label, v, e, few_v, few_e in reading["chosen_apart"]:
        [row] = [r for j, _, r in rows if j == job and r["label"] == label]
        assert (row["chosen"], row["chosen_on_evaluation_words"]) == (v, e)
        assert (few_v, few_e) == (
            row["seed0"]["evaluation_few_shot"],
            row["seed0"]["evaluation_few_shot_if_chosen_on_it"],
        )


def test_validated_a_method_that_never_learns_is_chosen_by_its_few_shot(validated):
    """'<It> answers no seen task at any rate tried, on either set of words: its rate is chosen by
    the few-shot it keeps.'"""
    from atlas.jobs import summary

    families = {
        (job, row["label"]): family
        for job, by_job in validated["summary"]["jobs"].items()
        for family, row in by_job["methods"].items()
    }
    assert validated["summary"]["reading"]["never_learn"]
    for job, label in validated["summary"]["reading"]["never_learn"]:
        entry = validated["runs"][job][families[job, label]]
        figures = {
            float(rate): summary(run["validation_by_task"], job)
            for rate, run in entry["tried"].items()
        }
        assert all(f["target"] == 0 for f in figures.values())
        assert all(summary(run["by_task"], job)["target"] == 0 for run in entry["tried"].values())
        chosen = float(entry["chosen"])
        assert figures[chosen]["few_shot"] == max(f["few_shot"] for f in figures.values())


def test_validated_rates_that_moved_came_mostly_from_an_old_grid_s_edge(validated):
    """peft-finetuning#experiment: 'the others moved, most of them from the edge of the old grid';
    comparison#validated lists each with its old and new rate."""
    swept = json.loads((GENERATED_DIR / "swept_table" / "summary.json").read_text())["jobs"]
    moved = validated["summary"]["reading"]["moved"]
    found = [
        [job, row["label"], swept[job][row["label"]]["rate"], row["chosen"]]
        for job, rows in validated["summary"]["jobs"].items()
        for row in rows["methods"].values()
        if row["chosen"] != swept[job][row["label"]]["rate"]
    ]
    assert [m[:4] for m in moved] == found and moved
    assert sum(edge for *_, edge in moved) > len(moved) / 2


def test_validated_reading_single_task(validated):
    """'Full fine-tuning learns as much as any method and keeps more few-shot than every method
    that learns the task; only <one> keeps more, spelling far less.'"""
    from atlas.site.protocol import differs
    from benchmarks.swept_table import LEARNS_AT_LEAST

    rows = validated["summary"]["jobs"]["spell"]["methods"]
    reading = validated["summary"]["reading"]["spell"]
    full = rows.pop("full")["figures"]
    others = {r["label"]: r["figures"] for r in rows.values()}
    for label, f in others.items():
        assert f["target"]["max"] <= full["target"]["max"], label
        learns_apart = differs(full["target"]["values"], f["target"]["values"])
        assert (label in reading["full_learns_more_than"]) == learns_apart, label
        assert (label in reading["learn_as_much_as_full"]) == (not learns_apart), label
        if f["target"]["mean"] >= LEARNS_AT_LEAST:
            assert f["few_shot"]["max"] < full["few_shot"]["min"], label
            assert label in reading["full_keeps_more_than"]
    assert reading["learn_as_much_as_full"] and reading["full_learns_more_than"]
    gaps = [
        full["target"]["min"] - others[k]["target"]["max"] for k in reading["full_learns_more_than"]
    ]
    assert min(gaps) == reading["closest_learning_gap"] > 0
    [keeper] = reading["keep_more_than_full"]
    assert others[keeper]["few_shot"]["min"] > full["few_shot"]["max"]
    assert others[keeper]["target"]["mean"] <= (
        full["target"]["mean"] - CLAIMS["validated_keeper_below_points"]
    )


def test_validated_reading_instruction_tuning(validated):
    """'Full fine-tuning learns the most (ranges apart from every method), and the methods that keep
    more few-shot learn less.'"""
    rows = validated["summary"]["jobs"]["flan"]["methods"]
    reading = validated["summary"]["reading"]["flan"]
    full = rows.pop("full")["figures"]
    others = {r["label"]: r["figures"] for r in rows.values()}
    for label, f in others.items():
        assert f["target"]["max"] < full["target"]["min"], label
    assert sorted(reading["full_learns_more_than"]) == sorted(others)
    gaps = [full["target"]["min"] - f["target"]["max"] for f in others.values()]
    assert min(gaps) == reading["closest_learning_gap"] > 0
    assert reading["keep_more_than_full"]
    for label in reading["keep_more_than_full"]:
        assert others[label]["few_shot"]["min"] > full["few_shot"]["max"], label
    for label in reading["full_keeps_more_than"]:
        assert others[label]["few_shot"]["max"] < full["few_shot"]["min"], label


def test_validated_no_method_nears_a_constant_answer_on_the_held_out_cluster(validated):
    reading = validated["summary"]["reading"]["held_out_cluster"]
    best = max(
        row["figures"]["held_out_cluster"]["mean"]
        for rows in validated["summary"]["jobs"].values()
        for row in rows["methods"].values()
    )
    assert best == reading["best_mean"]
    assert best <= reading["constant_answer"] - CLAIMS["swept_cluster_below_constant_points"]
