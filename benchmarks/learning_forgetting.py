"""Learning against forgetting: full fine-tuning as a curve over its learning-rate grid, beside
every parameter-efficient method of the PEFT sweep, on both jobs of atlas/jobs.py.

A method that changes the model less may forget less only because it also learns less. So the
comparison is drawn as Biderman et al. (2024, "LoRA Learns Less and Forgets Less", their
learning-forgetting plots) draw it: what the job trains (x) against what the model keeps
(few-shot on every task, y). Full fine-tuning runs at four learning rates around its page's rate
(atlas.site.protocol.rate_grid), three seeds each, with the snippets a reader runs; the other
methods are the PEFT sweep's points (benchmarks/peft_sweep.py: three seeds each at the rate its
search kept). Then, for each of those points, full fine-tuning's few-shot accuracy at the same
target accuracy (on the line between the two neighbouring rates): forgetting at equal learning.

    python benchmarks/learning_forgetting.py                # ~20 min on 2 cores
    python benchmarks/learning_forgetting.py --tables-only  # re-render from runs.json

Writes docs/generated/learning_forgetting/: runs.json, summary.json, full_rates.md,
equal_learning.md, plane.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.jobs import JOBS, summary  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "learning_forgetting"
SWEEP = GENERATED_DIR / "peft_sweep" / "summary.json"
# The full fine-tuning snippet of each job and the name its results are written under.
FULL = {
    "spell": ("single_task_finetuning", "single_task"),
    "flan": ("instruction_tuning", "instruction_tuned"),
}
KEYS = ("target", "few_shot", "other_seen_instruction", "held_out_templates")


def grid(job: str) -> tuple[float, ...]:
    return rate_grid(JOBS[job].full_learning_rate)


def read(point: Point, folder: Path) -> dict:
    name = FULL[point.key[0]][1]
    return {
        "by_task": json.loads((folder / "results" / f"{name}.json").read_text())["by_task"],
        "seconds": json.loads((folder / "results" / f"{name}_timing.json").read_text())["seconds"],
    }


def main() -> None:
    points = [
        Point(FULL[job][0], ("--learning-rate", str(rate)), seed, key=(job, rate))
        for job in JOBS
        for rate in grid(job)
        for seed in SEEDS
    ]
    runs: dict = {}
    for point, result in zip(points, run_points(points, read)):
        job, rate = point.key
        runs.setdefault(job, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def full_curve(runs: dict, job: str) -> dict[str, dict[str, list[float]]]:
    """Per learning rate (as a string, in grid order): each figure's three seed values."""
    return {
        rate: {k: [summary(r["by_task"], job)[k] for r in by_seed.values()] for k in KEYS}
        for rate, by_seed in runs[job].items()
    }


def at_equal_learning(curve: dict, target: float) -> float | None:
    """Full fine-tuning's few-shot accuracy where its mean target accuracy equals `target`, on the
    straight line between two neighbouring rates of the grid; the most it keeps where the curve
    passes that accuracy more than once; None where no rate of the grid learns this little or
    this much."""
    points = [(mean(f["target"]), mean(f["few_shot"])) for f in curve.values()]
    kept = []
    for (t0, f0), (t1, f1) in zip(points, points[1:]):
        if min(t0, t1) <= target <= max(t0, t1):
            kept.append(f0 if t0 == t1 else f0 + (f1 - f0) * (target - t0) / (t1 - t0))
    return max(kept) if kept else None


def write_tables(runs: dict) -> None:
    sweep = json.loads(SWEEP.read_text())["figures"]
    rows, equal_rows, report = [], [], {"full": {}, "equal_learning": {}}
    for job in JOBS:
        curve = full_curve(runs, job)
        report["full"][job] = {
            rate: {k: {"mean": mean(v), "min": min(v), "max": max(v)} for k, v in f.items()}
            for rate, f in curve.items()
        }
        for rate, f in curve.items():
            page = " (the page's rate)" if float(rate) == JOBS[job].full_learning_rate else ""
            rows.append([job, f"{float(rate):g}{page}", *(spread(f[k]) for k in KEYS)])
        report["equal_learning"][job] = {}
        for label, f in sweep[job].items():
            if label == "full fine-tuning":
                continue
            target, few_shot = f["target"]["mean"], f["few_shot"]["mean"]
            full = at_equal_learning(curve, target)
            report["equal_learning"][job][label] = {
                "target": target,
                "few_shot": few_shot,
                "full_few_shot": full,
            }
            equal_rows.append(
                [
                    job,
                    label,
                    f"{100 * target:.0f}",
                    f"{100 * few_shot:.0f}",
                    "outside full fine-tuning's range" if full is None else f"{100 * full:.0f}",
                    "–" if full is None else f"{100 * (few_shot - full):+.0f}",
                ]
            )
    labels = [JOBS[j].target_label for j in JOBS]
    (OUT / "full_rates.md").write_text(
        markdown_table(
            [
                "job",
                "learning rate",
                f"what the job trains ({' / '.join(labels)})",
                "few-shot kept (all tasks)",
                "other seen tasks, by instruction",
                "seen tasks, held-out templates",
            ],
            rows,
        )
    )
    (OUT / "equal_learning.md").write_text(
        markdown_table(
            [
                "job",
                "method (PEFT sweep, its kept rate)",
                "what the job trains",
                "few-shot kept",
                "full fine-tuning's few-shot at the same training accuracy",
                "difference (points)",
            ],
            equal_rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(runs, sweep)
    for name in ("full_rates.md", "equal_learning.md"):
        print((OUT / name).read_text())


MARKERS = {"IA³": "s", "prompt": "^", "prefix": "D", "attention": "P"}


def plot(runs: dict, sweep: dict) -> None:
    """One panel per job: x what the job trains, y few-shot kept. Full fine-tuning's rates joined by
    a line, LoRA's ranks by another, the other methods as markers; bars are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), dpi=120)
    for ax, job in zip(axes, JOBS):
        curve = full_curve(runs, job)

        def bars(values):
            return [[100 * (mean(values) - min(values))], [100 * (max(values) - mean(values))]]

        xs = [100 * mean(f["target"]) for f in curve.values()]
        ys = [100 * mean(f["few_shot"]) for f in curve.values()]
        ax.plot(xs, ys, "-", color="black", label="full fine-tuning, 4 learning rates")
        for (rate, f), x, y in zip(curve.items(), xs, ys):
            ax.errorbar(
                x,
                y,
                xerr=bars(f["target"]),
                yerr=bars(f["few_shot"]),
                fmt="o",
                color="black",
                capsize=2,
            )
            ax.annotate(
                f"{float(rate):g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8
            )
        lora = [
            (label, f)
            for label, f in sweep[job].items()
            if label.startswith("LoRA r=") and "all linear" in label
        ]
        ax.plot(
            [100 * f["target"]["mean"] for _, f in lora],
            [100 * f["few_shot"]["mean"] for _, f in lora],
            "o-",
            color="#1e88e5",
            label="LoRA, ranks 1 to 64 (all linear layers)",
        )
        for label, f in lora:
            rank = label.split("=")[1].split(",")[0]
            ax.annotate(
                f"r={rank}",
                (100 * f["target"]["mean"], 100 * f["few_shot"]["mean"]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=8,
                color="#1e88e5",
            )
        for label, f in sweep[job].items():
            marker = next((m for name, m in MARKERS.items() if name in label), None)
            if marker:
                ax.plot(
                    100 * f["target"]["mean"],
                    100 * f["few_shot"]["mean"],
                    marker,
                    color="#d81b60",
                    markerfacecolor="white",
                    label=label,
                )
        ax.set_xlabel(f"what the job trains: {JOBS[job].target_label} (%)")
        ax.set_ylabel("few-shot kept, all tasks (%)")
        ax.set_title(f"{job} job: learning (right) against forgetting (down)", fontsize=10)
        ax.set_xlim(-3, 103)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(OUT / "plane.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
