"""Soft prompts judged fairly: prompt and prefix tuning over step budgets, a parameter-matched pair,
and their learning-rate grids extended past the edge the PEFT sweep kept.

The PEFT sweep (benchmarks/peft_sweep.py) trains every method for the job's steps (150 on the spell
job), far less than prompt tuning was trained in its paper (Lester et al., 2021: 30,000 steps), and
its prefix-tuning search kept the highest rate of its grid. Three measurements, each with the
snippets a reader runs, on three seeds (atlas.site.protocol):

- budget: on the spell job, prompt tuning (16 soft tokens), prefix tuning (16 tokens) and prefix
  tuning with 2 tokens (as many trainable numbers as the 16-token prompt: a prefix holds a key and
  a value per layer), each at 150, 500 and 1,500 steps, at the rate the sweep kept; and prompt
  tuning with 128 tokens (as many numbers as the 16-token prefix) at 150 steps;
- edges: where the sweep kept a rate at the edge of its grid, the rate half a decade past it, at
  the job's steps.

    python benchmarks/soft_prompt_budget.py                # ~55 min on 2 cores
    python benchmarks/soft_prompt_budget.py --tables-only  # re-render from runs.json

Writes docs/generated/soft_prompt_budget/: runs.json, summary.json, budget.md, edges.md,
budget.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.jobs import JOBS, summary  # noqa: E402
from atlas.site.protocol import SEEDS, Point, differs, run_points  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "soft_prompt_budget"
SWEEP = GENERATED_DIR / "peft_sweep" / "sweep.json"
BUDGET_JOB = "spell"
BUDGETS = (150, 500, 1500)  # steps of 32 rows; 150 is the job's, as in the PEFT sweep
# label: (snippet, the method's name in the sweep's search, extra arguments)
# label: (snippet, the method's name in the sweep's search, extra arguments, budgets)
SETTINGS = {
    "prompt tuning, 16 tokens": ("prompt_tuning", "prompt", (), BUDGETS),
    "prefix tuning, 16 tokens": ("prefix_tuning", "prefix", (), BUDGETS),
    # The parameter-matched pairs: a prefix holds a key and a value per layer, so 2 prefix tokens
    # are as many numbers as 16 soft-prompt tokens, and 128 soft-prompt tokens as 16 prefix tokens
    # (at the job's budget only: 128 extra positions make every step several times slower).
    "prefix tuning, 2 tokens (as many numbers as the 16-token prompt)": (
        "prefix_tuning",
        "prefix",
        ("--virtual-tokens", "2"),
        BUDGETS,
    ),
    "prompt tuning, 128 tokens (as many numbers as the 16-token prefix)": (
        "prompt_tuning",
        "prompt",
        ("--virtual-tokens", "128"),
        BUDGETS[:1],
    ),
}
SNIPPET = {"prompt": "prompt_tuning", "prefix": "prefix_tuning"}
HALF_DECADE = 10**0.5


def result_name(snippet: str, job: str) -> str:
    return f"prompt_text_{job}" if snippet == "prompt_tuning" else f"prefix_{job}"


def sweep() -> dict:
    """The PEFT sweep's learning-rate search: per job and method, its grid and the kept rate."""
    search = json.loads(SWEEP.read_text())["search"]
    return {
        job: {
            method: {"grid": sorted(float(r) for r in s["runs"]), "kept": float(s["best"])}
            for method, s in by_method.items()
            if method in SNIPPET
        }
        for job, by_method in search.items()
    }


def past_edge(grid: list[float], kept: float) -> float | None:
    """The rate half a decade past the grid's edge where the kept rate sits at that edge."""
    if kept == max(grid):
        return float(f"{kept * HALF_DECADE:.0e}")
    if kept == min(grid):
        return float(f"{kept / HALF_DECADE:.0e}")
    return None


def read(point: Point, folder: Path) -> dict:
    name = result_name(point.snippet, point.key[1])
    results = folder / "results"
    training = json.loads((results / f"{name}_training.json").read_text())
    return {
        "by_task": json.loads((results / f"{name}.json").read_text())["by_task"],
        "seconds": json.loads((results / f"{name}_timing.json").read_text())["seconds"],
        "trainable_parameters": training["trainable_parameters"],
        "final_loss": training["final_loss"],
    }


def points() -> list[Point]:
    rates = sweep()
    out = []
    for label, (snippet, method, extra, budgets) in SETTINGS.items():
        rate = rates[BUDGET_JOB][method]["kept"]
        for steps in budgets:
            args = ("--job", BUDGET_JOB, *extra, "--learning-rate", str(rate))
            args += ("--max-steps", str(steps))
            out += [
                Point(snippet, args, s, key=("budget", BUDGET_JOB, label, steps)) for s in SEEDS
            ]
    for job, by_method in rates.items():
        for method, s in by_method.items():
            rate = past_edge(s["grid"], s["kept"])
            if rate is None:
                continue
            args = ("--job", job, "--learning-rate", str(rate))
            out += [
                Point(SNIPPET[method], args, seed, key=("edge", job, method, rate))
                for seed in SEEDS
            ]
    return out


def main() -> None:
    todo = points()
    runs: dict = {"budget": {}, "edge": {}}
    for point, result in zip(todo, run_points(todo, read)):
        part, job, name, setting = point.key
        runs[part].setdefault(job, {}).setdefault(name, {}).setdefault(str(setting), {})[
            str(point.seed)
        ] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def figures(by_seed: dict, job: str) -> dict[str, list[float]]:
    """Each figure's seed values: the job's target and few-shot kept on every task."""
    values = [summary(r["by_task"], job) for r in by_seed.values()]
    return {k: [v[k] for v in values] for k in ("target", "few_shot")}


def ranged(values: list[float]) -> dict[str, float]:
    return {"mean": mean(values), "min": min(values), "max": max(values)}


def write_tables(runs: dict) -> None:
    rates = sweep()
    swept = json.loads(SWEEP.read_text())
    report: dict = {"job": BUDGET_JOB, "budgets": list(BUDGETS), "budget": {}, "edges": {}}
    rows = []
    for label, by_steps in runs["budget"][BUDGET_JOB].items():
        method = SETTINGS[label][1]
        first = next(iter(next(iter(by_steps.values())).values()))
        entry = {
            "learning_rate": rates[BUDGET_JOB][method]["kept"],
            "trainable_parameters": first["trainable_parameters"],
            "steps": {},
        }
        for steps, by_seed in by_steps.items():
            f = figures(by_seed, BUDGET_JOB)
            entry["steps"][steps] = {
                **{k: ranged(v) for k, v in f.items()},
                "seconds": mean([r["seconds"] for r in by_seed.values()]),
            }
        report["budget"][label] = entry
        cells = {
            steps: f"{spread(f['target'])} / {spread(f['few_shot'])}"
            for steps, f in ((s, figures(b, BUDGET_JOB)) for s, b in by_steps.items())
        }
        rows.append(
            [
                label,
                f"{entry['trainable_parameters']:,}",
                f"{entry['learning_rate']:g}",
                *(cells.get(str(steps), "not run") for steps in BUDGETS),
                " / ".join(f"{e['seconds']:.0f}" for e in entry["steps"].values()),
            ]
        )
    (OUT / "budget.md").write_text(
        markdown_table(
            [
                "method (spell job)",
                "trainable numbers",
                "learning rate (the sweep's)",
                *(f"{s:,} steps: spelled / few-shot kept" for s in BUDGETS),
                "seconds of training a run (one thread), per budget",
            ],
            rows,
        )
    )
    edge_rows = []
    for job, by_method in runs["edge"].items():
        for method, by_rate in by_method.items():
            ((rate, by_seed),) = by_rate.items()
            past = figures(by_seed, job)
            kept_rate = rates[job][method]["kept"]
            label = swept["search"][job][method]["label"]
            # the sweep's three seeds at its kept rate (its search ran on one seed)
            kept = figures(swept["runs"][job][label], job)
            past_better = differs(past["target"], kept["target"]) and mean(past["target"]) > mean(
                kept["target"]
            )
            report["edges"].setdefault(job, {})[method] = {
                "grid": rates[job][method]["grid"],
                "kept": kept_rate,
                "past_edge": float(rate),
                "kept_figures": {k: ranged(v) for k, v in kept.items()},
                "past_edge_figures": {k: ranged(v) for k, v in past.items()},
                "past_edge_learns_more": past_better,
            }
            edge_rows.append(
                [
                    job,
                    label,
                    ", ".join(f"{r:g}" for r in rates[job][method]["grid"]),
                    f"{kept_rate:g}: {spread(kept['target'])} / {spread(kept['few_shot'])}",
                    f"{float(rate):g}: {spread(past['target'])} / {spread(past['few_shot'])}",
                    "yes" if past_better else "no measured difference or less",
                ]
            )
    labels = " / ".join(JOBS[j].target_label for j in runs["edge"])
    (OUT / "edges.md").write_text(
        markdown_table(
            [
                "job",
                "method",
                "the sweep's grid",
                f"kept rate: {labels} / few-shot kept",
                "half a decade past the edge",
                "learns more past the edge?",
            ],
            edge_rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report)
    for name in ("budget.md", "edges.md"):
        print((OUT / name).read_text())


def plot(report: dict) -> None:
    """Two panels over the step budget (log scale): what the job trains, and few-shot kept; the
    bars are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    styles = ["o-", "s--", "D-"]
    for (label, entry), style in zip(report["budget"].items(), styles):
        steps = [int(s) for s in entry["steps"]]
        for ax, key in zip(axes, ("target", "few_shot")):
            f = [entry["steps"][str(s)][key] for s in steps]
            ax.errorbar(
                steps,
                [100 * v["mean"] for v in f],
                yerr=[
                    [100 * (v["mean"] - v["min"]) for v in f],
                    [100 * (v["max"] - v["mean"]) for v in f],
                ],
                fmt=style,
                capsize=3,
                label=f"{label}: {entry['trainable_parameters']:,} numbers",
            )
    for ax, title in zip(
        axes,
        (
            f"what the job trains: {JOBS[BUDGET_JOB].target_label} (%)",
            "few-shot kept, all tasks (%)",
        ),
    ):
        ax.set_xscale("log")
        ax.set_xticks(list(BUDGETS), [f"{s:,}" for s in BUDGETS])
        ax.set_xlabel("training steps of 32 rows (log scale)")
        ax.set_ylabel(title)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Soft prompts over training budgets, spell job, three seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "budget.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
