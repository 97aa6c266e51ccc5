"""LoRA's alpha: what the scale of the update does, at two ranks, against the learning rate.

LoRA adds B·A beside a frozen weight and multiplies it by alpha / r (PEFT's `lora_alpha`); B starts
at zero, so the first steps leave the model as it was. Every page of this site keeps alpha = 2r, a
scale of 2 at every rank. Here the scale is 0.5, 2 and 8, at ranks 2 and 16, each over the same
four learning rates around LoRA's page rate (atlas.site.protocol.rate_grid), three seeds, on the
spell job, with the snippet a reader runs (snippets/peft_finetuning.py). The question it answers: is
alpha a knob of its own, or a second learning rate? Rank-stabilised LoRA (rsLoRA, Kalajdzievic
2023) only changes the scale, to alpha / sqrt(r): with alpha = 2r at rank 16 that is 8, so one
rsLoRA run per seed there must give the scale-8 run's figures exactly.

    python benchmarks/lora_alpha.py                # ~35 min on 2 cores
    python benchmarks/lora_alpha.py --tables-only  # re-render from runs.json

Writes docs/generated/lora_alpha/: runs.json, summary.json, alpha.md, alpha.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.jobs import JOBS, summary  # noqa: E402
from atlas.site.protocol import SEEDS, Point, at_edge, differs, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "lora_alpha"
JOB = "spell"
RANKS = (2, 16)
PAGE_RATE = 3e-3  # LoRA's rate on the PEFT page (snippets/peft_finetuning.py)
EVAL_WORDS = 20  # held-out words per task: half the snippet's default, for 96 runs
# label: alpha / r
VARIANTS = {
    "alpha = r/2 (scale 0.5)": 0.5,
    "alpha = 2r (scale 2, the site's)": 2.0,
    "alpha = 8r (scale 8)": 8.0,
}
RSLORA_RANK = 16  # rsLoRA with alpha = 2r: scale 2r / sqrt(r) = 8 at rank 16
NAME = f"lora_{JOB}"  # what the snippet writes its results under


def grid() -> tuple[float, ...]:
    return rate_grid(PAGE_RATE)


def read(point: Point, folder: Path) -> dict:
    results = folder / "results"
    return {
        "by_task": json.loads((results / f"{NAME}.json").read_text())["by_task"],
        "seconds": json.loads((results / f"{NAME}_timing.json").read_text())["seconds"],
    }


def arguments(rank: int, alpha: float, rate: float) -> tuple[str, ...]:
    return (
        "--job",
        JOB,
        "--rank",
        str(rank),
        "--alpha",
        f"{alpha:g}",
        "--learning-rate",
        str(rate),
    )


def points() -> list[Point]:
    out = []
    for rank in RANKS:
        for label, scale in VARIANTS.items():
            for rate in grid():
                args = (*arguments(rank, scale * rank, rate), "--eval-words", str(EVAL_WORDS))
                out += [Point("peft_finetuning", args, s, key=(rank, label, rate)) for s in SEEDS]
    args = (*arguments(RSLORA_RANK, 2 * RSLORA_RANK, PAGE_RATE), "--rslora")
    args += ("--eval-words", str(EVAL_WORDS))
    out += [
        Point("peft_finetuning", args, s, key=("rslora", RSLORA_RANK, PAGE_RATE)) for s in SEEDS
    ]
    return out


def main() -> None:
    todo = points()
    runs: dict = {}
    for point, result in zip(todo, run_points(todo, read)):
        rank, label, rate = point.key
        runs.setdefault(str(rank), {}).setdefault(str(label), {}).setdefault(str(rate), {})[
            str(point.seed)
        ] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def values(by_seed: dict, key: str) -> list[float]:
    return [summary(r["by_task"], JOB)[key] for r in by_seed.values()]


def write_tables(runs: dict) -> None:
    """Per rank and variant: each rate's target and few-shot, and the best rate by mean target
    (ties within one word in 40 to the one that keeps more few-shot, as the PEFT sweep chooses)."""
    report: dict = {"job": JOB, "rates": list(grid()), "ranks": {}, "best_differ": {}}
    # rsLoRA at rank 16, alpha 2r, against alpha = 8r there: the same scale, the same figures?
    ((rs_rate, rs_runs),) = runs["rslora"][str(RSLORA_RANK)].items()
    plain = runs[str(RSLORA_RANK)]["alpha = 8r (scale 8)"][rs_rate]
    report["rslora"] = {
        "rank": RSLORA_RANK,
        "rate": float(rs_rate),
        "by_task_identical": all(rs_runs[s]["by_task"] == plain[s]["by_task"] for s in rs_runs),
        "target": values(rs_runs, "target"),
    }
    rows = []
    for rank, by_label in ((r, b) for r, b in runs.items() if r != "rslora"):
        report["ranks"][rank] = {}
        for label, by_rate in by_label.items():
            cells = {
                rate: {k: values(by_seed, k) for k in ("target", "few_shot")}
                for rate, by_seed in by_rate.items()
            }
            top = max(mean(c["target"]) for c in cells.values())
            best = max(
                (r for r, c in cells.items() if mean(c["target"]) >= top - 0.026),
                key=lambda r: (mean(cells[r]["few_shot"]), -float(r)),
            )
            report["ranks"][rank][label] = {
                "rates": {
                    rate: {k: {"mean": mean(v), "min": min(v), "max": max(v)} for k, v in c.items()}
                    for rate, c in cells.items()
                },
                "best_rate": float(best),
                "best_at_edge": at_edge(grid(), float(best)),
            }
            rows.append(
                [
                    rank,
                    label,
                    *(
                        f"{spread(c['target'])} / {spread(c['few_shot'])}"
                        + (" **(best)**" if rate == best else "")
                        for rate, c in cells.items()
                    ),
                ]
            )
        # Does the scale matter once each variant has its best rate? Compared by seed ranges.
        bests = {
            label: values(by_label[label][str(report["ranks"][rank][label]["best_rate"])], "target")
            for label in by_label
        }
        report["best_differ"][rank] = any(
            differs(a, b) for a in bests.values() for b in bests.values()
        )
    (OUT / "alpha.md").write_text(
        markdown_table(
            [
                "rank",
                "alpha",
                *(f"rate {r:g}: {JOBS[JOB].target_label} / few-shot kept" for r in grid()),
            ],
            rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report)
    print((OUT / "alpha.md").read_text())


def plot(report: dict) -> None:
    """One panel per rank: the target accuracy over the learning rates, one line per alpha; the
    bars are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(report["ranks"]), figsize=(11, 4.2), dpi=120, sharey=True)
    for ax, (rank, by_label) in zip(axes, report["ranks"].items()):
        for (label, entry), style in zip(by_label.items(), ("o-", "s-", "D-", "^--")):
            rates = [float(r) for r in entry["rates"]]
            f = [c["target"] for c in entry["rates"].values()]
            ax.errorbar(
                rates,
                [100 * v["mean"] for v in f],
                yerr=[
                    [100 * (v["mean"] - v["min"]) for v in f],
                    [100 * (v["max"] - v["mean"]) for v in f],
                ],
                fmt=style,
                capsize=3,
                label=label,
            )
        ax.set_xscale("log")
        ax.set_xticks(list(report["rates"]), [f"{r:g}" for r in report["rates"]])
        ax.set_xlabel("learning rate (log scale)")
        ax.set_title(f"LoRA rank {rank}, spell job, three seeds", fontsize=10)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{JOBS[JOB].target_label} (%)")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / "alpha.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
