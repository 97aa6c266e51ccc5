"""The tables of benchmarks/rate_selection.py, from its runs.json (seconds, trains nothing).

* `choices.md`: per job and method, the rates tried and the rate each set of words chooses by the
  same rule (validation words, and the evaluation words the older searches chose on), with the
  target accuracy each choice reports on seed 0;
* `spell.md`, `flan.md`: every method at its rate chosen on validation words, three seeds,
  reported on the evaluation words, with the answers that need no model as rows;
* `summary.json`: all of it, and the figures docs/comparison.md#validated reads off the tables
  (tests/test_comparison.py checks each against the rows).

    python benchmarks/rate_selection_tables.py
"""

from __future__ import annotations

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
from benchmarks.peft_sweep import TIE, best_rate  # noqa: E402
from benchmarks.swept_table import COLUMNS  # noqa: E402

OUT = GENERATED_DIR / "rate_selection"
FULL = "full"


def rate_label(rate: float) -> str:
    return f"{rate:g}"


def choice(job: str, entry: dict, swept: dict) -> dict:
    """One method of one job: what was tried, what each set of words chooses, and its figures at
    the rate the validation words chose (three seeds)."""
    tried = {float(rate): run for rate, run in entry["tried"].items()}
    chosen = float(entry["chosen"])
    on_eval = best_rate(tried, job)

    def seed0(rate: float, words: str) -> dict:
        by_task = tried[rate]["validation_by_task" if words == "validation" else "by_task"]
        return summary(by_task, job)

    runs = [tried[chosen], *entry["seeds"].values()]
    figures = [summary(r["by_task"], job) for r in runs]
    on_validation = [seed0(rate, "validation")["target"] for rate in tried]
    return {
        "label": entry["label"],
        "tried": sorted(tried),
        # more than one rate within one word of the best: the few-shot tie-break chooses
        "tie_break_chooses": sum(t >= max(on_validation) - TIE for t in on_validation) > 1,
        "chosen": chosen,
        "chosen_on_evaluation_words": on_eval,
        "same_choice": chosen == on_eval,
        "earlier_rate": swept[entry["label"]]["rate"],
        "earlier_at_edge": swept[entry["label"]]["at_edge"],
        "at_edge": at_edge(tuple(sorted(tried)), chosen),
        "seed0": {
            "validation_target": seed0(chosen, "validation")["target"],
            "evaluation_target": seed0(chosen, "evaluation")["target"],
            "evaluation_target_if_chosen_on_it": seed0(on_eval, "evaluation")["target"],
            "best_evaluation_target": max(seed0(r, "evaluation")["target"] for r in tried),
            "evaluation_few_shot": seed0(chosen, "evaluation")["few_shot"],
            "evaluation_few_shot_if_chosen_on_it": seed0(on_eval, "evaluation")["few_shot"],
        },
        "seeds": len(runs),
        "figures": {k: ranged([f[k] for f in figures]) for k in COLUMNS},
    }


def reading(jobs: dict) -> dict:
    """The figures the page reads off the tables."""

    def values(row: dict, key: str) -> list[float]:
        return row["figures"][key]["values"]

    def mean_of(row: dict, key: str) -> float:
        return row["figures"][key]["mean"]

    methods = [(job, f, row) for job, rows in jobs.items() for f, row in rows["methods"].items()]
    gains = [
        r["seed0"]["evaluation_target_if_chosen_on_it"] - r["seed0"]["evaluation_target"]
        for _, _, r in methods
    ]
    out: dict = {
        "methods": len(methods),
        "same_choice": sum(r["same_choice"] for _, _, r in methods),
        "chosen_apart": [
            [
                job,
                r["label"],
                r["chosen"],
                r["chosen_on_evaluation_words"],
                r["seed0"]["evaluation_few_shot"],
                r["seed0"]["evaluation_few_shot_if_chosen_on_it"],
            ]
            for job, _, r in methods
            if not r["same_choice"]
        ],
        "largest_gain_from_choosing_on_evaluation_words": max(gains),
        "tie_break_chooses": sum(r["tie_break_chooses"] for _, _, r in methods),
        # the rule without its tie-break: the best target on the evaluation words
        "largest_gain_from_the_best_evaluation_target": max(
            r["seed0"]["best_evaluation_target"] - r["seed0"]["evaluation_target"]
            for _, _, r in methods
        ),
        "same_as_earlier": sum(r["chosen"] == r["earlier_rate"] for _, _, r in methods),
        "peft_pairs": sum(f != FULL for _, f, _ in methods),
        "peft_same_as_earlier": sum(
            r["chosen"] == r["earlier_rate"] for _, f, r in methods if f != FULL
        ),
        "moved": [
            [job, r["label"], r["earlier_rate"], r["chosen"], r["earlier_at_edge"]]
            for job, _, r in methods
            if r["chosen"] != r["earlier_rate"]
        ],
        "at_edge": [[job, r["label"]] for job, _, r in methods if r["at_edge"]],
        "extended": [[job, r["label"]] for job, _, r in methods if len(r["tried"]) > 4],
        # methods whose target is zero at every rate tried, on both sets of words
        "never_learn": [
            [job, r["label"]]
            for job, fam, r in methods
            if not any(
                summary(run[words], job)["target"]
                for run in jobs[job]["runs"][fam].values()
                for words in ("by_task", "validation_by_task")
            )
        ],
    }
    for job, rows in jobs.items():
        full = rows["methods"][FULL]
        others = {row["label"]: row for fam, row in rows["methods"].items() if fam != FULL}
        # +1: full fine-tuning's seed range above the method's, -1 below, 0: the ranges overlap
        learns = {
            k: compare(values(full, "target"), values(r, "target")) for k, r in others.items()
        }
        keeps = {
            k: compare(values(full, "few_shot"), values(r, "few_shot")) for k, r in others.items()
        }
        apart = [k for k, c in learns.items() if c > 0]
        out[job] = {
            # the closest of the ranges full fine-tuning's target is above
            "closest_learning_gap": min(
                full["figures"]["target"]["min"] - others[k]["figures"]["target"]["max"]
                for k in apart
            ),
            "full_target": mean_of(full, "target"),
            "full_few_shot": mean_of(full, "few_shot"),
            "full_learns_more_than": [k for k, c in learns.items() if c > 0],
            "learn_as_much_as_full": [k for k, c in learns.items() if c == 0],
            "learn_more_than_full": [k for k, c in learns.items() if c < 0],
            "full_keeps_more_than": [k for k, c in keeps.items() if c > 0],
            "keep_as_much_as_full": [k for k, c in keeps.items() if c == 0],
            "keep_more_than_full": [k for k, c in keeps.items() if c < 0],
            "others": {
                k: {"target": mean_of(r, "target"), "few_shot": mean_of(r, "few_shot")}
                for k, r in others.items()
            },
        }
    cluster = [mean_of(r, "held_out_cluster") for _, _, r in methods]
    out["held_out_cluster"] = {
        "best_mean": max(cluster),
        "constant_answer": jobs["spell"]["baselines"]["constant answer"]["held_out_cluster"],
    }
    return out


def compare(a: list[float], b: list[float]) -> int:
    if not differs(a, b):
        return 0
    return 1 if min(a) > max(b) else -1


def write_tables(summary_: dict) -> None:
    choices = []
    for job, rows in summary_["jobs"].items():
        for row in rows["methods"].values():
            s0 = row["seed0"]
            edge = " (**at the edge**)" if row["at_edge"] else ""
            choices.append(
                [
                    job,
                    row["label"],
                    ", ".join(rate_label(r) for r in row["tried"]),
                    rate_label(row["chosen"]) + edge,
                    f"{100 * s0['validation_target']:.0f} / {100 * s0['evaluation_target']:.0f}",
                    rate_label(row["chosen_on_evaluation_words"]),
                    f"{100 * s0['evaluation_target_if_chosen_on_it']:.0f}",
                    rate_label(row["earlier_rate"]),
                ]
            )
    header = [
        "job",
        "method",
        "rates tried (seed 0)",
        "chosen on validation words",
        "its target: validation / evaluation words",
        "the evaluation words would choose",
        "its target",
        "the older search's rate",
    ]
    (OUT / "choices.md").write_text(markdown_table(header, choices, align="lllrrrrr"))
    for job, rows in summary_["jobs"].items():
        header = ["method", "learning rate", JOBS[job].target_label]
        header += [h for h in COLUMNS.values() if h]
        table = []
        for row in rows["methods"].values():
            cells = [spread(row["figures"][k]["values"]) for k in COLUMNS]
            table.append([row["label"], rate_label(row["chosen"]), *cells])
        for name, figures in rows["baselines"].items():
            cells = [f"{100 * figures[k]:.0f}" for k in COLUMNS]
            table.append([f"*{name}* (no model)", "n/a", *cells])
        (OUT / f"{job}.md").write_text(
            markdown_table(header, table, align="ll" + "r" * (len(header) - 2))
        )


def main() -> None:
    runs = json.loads((OUT / "runs.json").read_text())
    swept = json.loads((GENERATED_DIR / "swept_table" / "summary.json").read_text())["jobs"]
    baselines = {name: r.by_task() for name, r in trivial_baselines().items()}
    jobs = {
        job: {
            "methods": {fam: choice(job, entry, swept[job]) for fam, entry in families.items()},
            "runs": {fam: entry["tried"] for fam, entry in families.items()},
            "baselines": {
                name: {k: summary(by_task, job)[k] for k in COLUMNS}
                for name, by_task in baselines.items()
            },
        }
        for job, families in runs.items()
    }
    summary_ = {"jobs": jobs, "reading": reading(jobs)}
    for rows in jobs.values():
        del rows["runs"]  # runs.json keeps them
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary_, indent=1) + "\n")
    write_tables(summary_)
    for name in ("choices", *JOBS):
        print((OUT / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
