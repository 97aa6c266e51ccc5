"""The comparison table from the swept settings: every method of the two jobs of atlas/jobs.py at
the learning rate its own search chose by one rule, three seeds each, with the answers that need
no model (atlas.evaluation.trivial_baselines) as rows beside them.

It trains nothing and runs in seconds. It reads the runs of two benchmarks:

* full fine-tuning from benchmarks/learning_forgetting.py (four rates, three seeds each: the rate
  is chosen on the seeds' mean);
* every parameter-efficient method from benchmarks/peft_sweep.py (three seeds at the rate its
  family's search kept, three rates on one seed).

Both choose by peft_sweep.best_rate: the best target accuracy, and among the rates within one
evaluation word of it, the one that keeps the most few-shot accuracy. Every row of a job trains
the same steps of the same batch.

    python benchmarks/swept_table.py

Writes docs/generated/swept_table/: summary.json, spell.md, flan.md.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.evaluation import trivial_baselines  # noqa: E402
from atlas.jobs import JOBS, summary  # noqa: E402
from atlas.site.protocol import at_edge, differs  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from atlas.training import cpu_settings  # noqa: E402
from benchmarks.learning_forgetting import grid  # noqa: E402
from benchmarks.peft_sweep import LEARNING_RATE_GRID, SEARCHED, best_rate, methods  # noqa: E402

OUT = GENERATED_DIR / "swept_table"
COLUMNS = {  # summary key -> header (the target's header is the job's own)
    "target": None,
    "other_seen_instruction": "other seen tasks, by instruction",
    "held_out_templates": "seen tasks, held-out templates",
    "held_out_cluster": "held-out cluster, by instruction",
    "few_shot": "few-shot, all tasks",
}
FULL = "full fine-tuning"
LEARNS_AT_LEAST = 0.9  # the single-task rows that learn the task: spell this share or more
# the rows per step of every run the two sweeps made (the training settings' default)
BATCH = inspect.signature(cpu_settings).parameters["batch_size"].default


def mean_by_task(runs: list[dict]) -> dict:
    """The seeds' mean accuracy per task and condition (every column is a mean over tasks, so the
    columns of this are the seeds' mean columns)."""
    first = runs[0]["by_task"]
    return {
        t: {c: sum(r["by_task"][t][c] for r in runs) / len(runs) for c in first[t]} for t in first
    }


def rows_of(job: str, full_runs: dict, sweep: dict) -> dict:
    """Every row of one job: its rate, how the rate was chosen, its figures over the seeds."""
    rows: dict = {}
    by_rate = {float(rate): list(seeds.values()) for rate, seeds in full_runs[job].items()}
    rate = best_rate({r: {"by_task": mean_by_task(runs)} for r, runs in by_rate.items()}, job)
    rows[FULL] = {
        "rate": rate,
        "grid": list(grid(job)),
        "searched_on": FULL,
        "search_seeds": len(by_rate[rate]),
        "runs": by_rate[rate],
    }
    for label, (*_, family) in methods(job).items():
        if family == "full":  # the sweep's full fine-tuning row: the page's rate, not searched
            continue
        rows[label] = {
            "rate": sweep["search"][job][family]["best"],
            "grid": list(LEARNING_RATE_GRID[family]),
            "searched_on": SEARCHED[family],
            "search_seeds": 1,
            "runs": list(sweep["runs"][job][label].values()),
        }
    for label, row in rows.items():
        figures = [summary(r["by_task"], job) for r in row.pop("runs")]
        row["seeds"] = len(figures)
        row["at_edge"] = at_edge(tuple(row["grid"]), row["rate"])
        row["figures"] = {k: ranged([f[k] for f in figures]) for k in COLUMNS}
    for name, result in trivial_baselines().items():
        figures = summary(result.by_task(), job)
        rows[name] = {"baseline": True, "figures": {k: figures[k] for k in COLUMNS}}
    return rows


def reading(jobs: dict) -> dict:
    """The figures the comparison page reads off the two tables (tests/test_comparison.py checks
    each against the rows)."""
    spell, flan = jobs["spell"], jobs["flan"]
    models = {
        job: {k: r for k, r in rows.items() if not r.get("baseline")} for job, rows in jobs.items()
    }

    def values(row: dict, key: str) -> list[float]:
        return row["figures"][key]["values"]

    def mean_of(row: dict, key: str) -> float:
        return row["figures"][key]["mean"]

    full_s = spell[FULL]
    others = {k: r for k, r in models["spell"].items() if k != FULL}
    # the rows that learn the task, and the rows that keep more few-shot than full fine-tuning
    learners = {k: r for k, r in others.items() if mean_of(r, "target") >= LEARNS_AT_LEAST}
    kept = mean_of(full_s, "few_shot")
    keepers = {k: r for k, r in others.items() if mean_of(r, "few_shot") > kept}
    full_f = flan[FULL]
    loras = {k: r for k, r in models["flan"].items() if k.startswith("LoRA")}
    best_lora = max(loras, key=lambda k: mean_of(loras[k], "target"))
    lora = loras[best_lora]
    equal = json.loads((GENERATED_DIR / "learning_forgetting" / "summary.json").read_text())
    at_equal = equal["equal_learning"]["flan"][best_lora]
    cluster = {
        (job, label): mean_of(row, "held_out_cluster")
        for job in models
        for label, row in models[job].items()
    }
    best_cluster = max(cluster, key=cluster.get)
    return {
        "spell": {
            "full_target": mean_of(full_s, "target"),
            "full_few_shot": mean_of(full_s, "few_shot"),
            "learners": sorted(learners),
            "learners_best_few_shot": max(mean_of(r, "few_shot") for r in learners.values()),
            "full_keeps_more_than_every_learner": all(
                differs(values(full_s, "few_shot"), values(r, "few_shot"))
                and mean_of(full_s, "few_shot") > mean_of(r, "few_shot")
                for r in learners.values()
            ),
            "keepers": sorted(keepers),
            "keepers_best_target": max(mean_of(r, "target") for r in keepers.values()),
        },
        "flan": {
            "full_target": mean_of(full_f, "target"),
            "full_few_shot": mean_of(full_f, "few_shot"),
            "best_lora": best_lora,
            "best_lora_target": mean_of(lora, "target"),
            "best_lora_few_shot": mean_of(lora, "few_shot"),
            "learning_differs": differs(values(full_f, "target"), values(lora, "target")),
            "few_shot_differs": differs(values(full_f, "few_shot"), values(lora, "few_shot")),
            # its few-shot over full fine-tuning's at the same learning (on full's rate curve)
            "at_equal_learning": at_equal["few_shot"] - at_equal["full_few_shot"],
            "smaller_loras_learn_less": all(
                differs(values(full_f, "target"), values(r, "target"))
                and mean_of(r, "target") < mean_of(full_f, "target")
                for k, r in loras.items()
                if k != best_lora
            ),
        },
        "held_out_cluster": {
            "best_row": list(best_cluster),
            "best_mean": cluster[best_cluster],
            "constant_answer": spell["constant answer"]["figures"]["held_out_cluster"],
        },
        "at_edge": [
            [job, label, "top" if row["rate"] == max(row["grid"]) else "lowest"]
            for job in models
            for label, row in models[job].items()
            if row["at_edge"] and row["searched_on"] == label
        ],
    }


def how_chosen(label: str, row: dict) -> str:
    searched = "" if row["searched_on"] == label else f", searched on {row['searched_on']}"
    seeds = "the seeds' mean" if row["search_seeds"] > 1 else "seed 0"
    edge = ""
    if row["at_edge"]:
        edge = (
            ", **the grid's top**" if row["rate"] == max(row["grid"]) else ", **the grid's lowest**"
        )
    return f"best of {len(row['grid'])} ({seeds}{searched}){edge}"


def write_tables(summary_: dict) -> None:
    for job, rows in summary_["jobs"].items():
        header = ["method", "learning rate", "how the rate was chosen", JOBS[job].target_label]
        header += [h for h in COLUMNS.values() if h]
        table = []
        for label, row in rows.items():
            if row.get("baseline"):
                cells = [f"{100 * row['figures'][k]:.0f}" for k in COLUMNS]
                table.append([f"*{label}* (no model)", "n/a", "n/a", *cells])
                continue
            cells = [spread(row["figures"][k]["values"]) for k in COLUMNS]
            table.append([label, f"{row['rate']:g}", how_chosen(label, row), *cells])
        (OUT / f"{job}.md").write_text(
            markdown_table(header, table, align="llll" + "r" * (len(header) - 4))
        )


def main() -> None:
    full_runs = json.loads((GENERATED_DIR / "learning_forgetting" / "runs.json").read_text())
    sweep = json.loads((GENERATED_DIR / "peft_sweep" / "sweep.json").read_text())
    words = {e.word for e in next(iter(trivial_baselines().values())).examples}
    summary_ = {
        "eval_words": len(words),  # the harness's evaluation words, every row's
        "budget": {job: {"steps": JOBS[job].steps, "batch": BATCH} for job in JOBS},
        "jobs": {job: rows_of(job, full_runs, sweep) for job in JOBS},
    }
    summary_["reading"] = reading(summary_["jobs"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary_, indent=1) + "\n")
    write_tables(summary_)
    for job in JOBS:
        print((OUT / f"{job}.md").read_text())


if __name__ == "__main__":
    main()
