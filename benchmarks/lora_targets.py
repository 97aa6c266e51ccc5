"""Where LoRA goes, at an equal parameter count: beside the attention projections only, or beside
every linear layer?

The LoRA paper adapts the attention projections; QLoRA and most recipes since put adapters beside
every linear layer (PEFT's `target_modules="all-linear"`), and report that this matters more than
the rank. Compared at one rank, all-linear trains about three times the parameters, so the
comparison says little. Here both places get the same budget: rank 9 beside the four attention
projections and rank 3 beside all seven linear layers of each block train within a few percent of
the same number of parameters. Each runs over the same four learning rates around LoRA's page rate
(atlas.site.protocol.rate_grid), three seeds, on the spell job, with the snippet a reader runs
(snippets/peft_finetuning.py); each is read at its own best rate.

    python benchmarks/lora_targets.py                # ~12 min on 2 cores
    python benchmarks/lora_targets.py --tables-only  # re-render from runs.json

Writes docs/generated/lora_targets/: runs.json, summary.json, targets.md, targets.png.
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

OUT = GENERATED_DIR / "lora_targets"
JOB = "spell"
PAGE_RATE = 3e-3  # LoRA's rate on the PEFT page (snippets/peft_finetuning.py)
EVAL_WORDS = 20  # held-out words per task: half the snippet's default, as in the alpha benchmark
# label: (--targets, rank); alpha stays 2r (the site's scale of 2) in both
VARIANTS = {
    "attention only, r=9": ("attention", 9),
    "all linear layers, r=3": ("all-linear", 3),
}
NAME = f"lora_{JOB}"  # what the snippet writes its results under
TIE = 0.026  # within one word in 40 of the best mean: a tie, broken by more few-shot kept


def grid() -> tuple[float, ...]:
    return rate_grid(PAGE_RATE)


def read(point: Point, folder: Path) -> dict:
    results = folder / "results"
    return {
        "by_task": json.loads((results / f"{NAME}.json").read_text())["by_task"],
        "trainable_parameters": json.loads((results / f"{NAME}_training.json").read_text())[
            "trainable_parameters"
        ],
    }


def points() -> list[Point]:
    out = []
    for label, (targets, rank) in VARIANTS.items():
        for rate in grid():
            args = ("--job", JOB, "--targets", targets, "--rank", str(rank))
            args += ("--learning-rate", str(rate), "--eval-words", str(EVAL_WORDS))
            out += [Point("peft_finetuning", args, s, key=(label, rate)) for s in SEEDS]
    return out


def main() -> None:
    todo = points()
    runs: dict = {}
    for point, result in zip(todo, run_points(todo, read)):
        label, rate = point.key
        runs.setdefault(label, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def values(by_seed: dict, key: str) -> list[float]:
    return [summary(r["by_task"], JOB)[key] for r in by_seed.values()]


def ranged(v: list[float]) -> dict:
    return {"mean": mean(v), "min": min(v), "max": max(v)}


def write_tables(runs: dict) -> None:
    """Per place: each rate's target and few-shot kept, the best rate (the PEFT sweep's rule), and
    whether the two places differ at their best rates (seed ranges apart)."""
    report: dict = {"job": JOB, "rates": list(grid()), "variants": {}}
    rows, bests = [], {}
    for label, by_rate in runs.items():
        cells = {
            rate: {k: values(by_seed, k) for k in ("target", "few_shot")}
            for rate, by_seed in by_rate.items()
        }
        top = max(mean(c["target"]) for c in cells.values())
        best = max(
            (r for r, c in cells.items() if mean(c["target"]) >= top - TIE),
            key=lambda r: (mean(cells[r]["few_shot"]), -float(r)),
        )
        bests[label] = cells[best]
        parameters = {r["trainable_parameters"] for b in by_rate.values() for r in b.values()}
        (trainable,) = parameters
        targets, rank = VARIANTS[label]
        report["variants"][label] = {
            "targets": targets,
            "rank": rank,
            "trainable_parameters": trainable,
            "rates": {rate: {k: ranged(v) for k, v in c.items()} for rate, c in cells.items()},
            "best_rate": float(best),
            "best_at_edge": at_edge(grid(), float(best)),
        }
        rows.append(
            [
                label,
                f"{trainable:,}",
                *(
                    f"{spread(c['target'])} / {spread(c['few_shot'])}"
                    + (" **(best)**" if rate == best else "")
                    for rate, c in cells.items()
                ),
            ]
        )
    (a, b) = bests.values()
    report["best_differ"] = {k: differs(a[k], b[k]) for k in ("target", "few_shot")}
    counts = [v["trainable_parameters"] for v in report["variants"].values()]
    report["parameter_ratio"] = max(counts) / min(counts)
    (OUT / "targets.md").write_text(
        markdown_table(
            [
                "LoRA beside",
                "trainable parameters",
                *(f"rate {r:g}: {JOBS[JOB].target_label} / few-shot kept" for r in grid()),
            ],
            rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report)
    print((OUT / "targets.md").read_text())


def plot(report: dict) -> None:
    """Two panels, the target and the few-shot kept over the learning rates, one line per place;
    the bars are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharey=True)
    titles = {"target": JOBS[JOB].target_label, "few_shot": "few-shot kept"}
    for ax, (key, title) in zip(axes, titles.items()):
        for (label, entry), style in zip(report["variants"].items(), ("o-", "s--")):
            rates = [float(r) for r in entry["rates"]]
            v = [c[key] for c in entry["rates"].values()]
            ax.errorbar(
                rates,
                [100 * x["mean"] for x in v],
                yerr=[
                    [100 * (x["mean"] - x["min"]) for x in v],
                    [100 * (x["max"] - x["mean"]) for x in v],
                ],
                fmt=style,
                capsize=3,
                label=f"{label} ({entry['trainable_parameters']:,} parameters)",
            )
        ax.set_xscale("log")
        ax.set_xticks(list(report["rates"]), [f"{r:g}" for r in report["rates"]])
        ax.set_xlabel("learning rate (log scale)")
        ax.set_title(f"{title}, spell job, three seeds", fontsize=10)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("%")
    axes[1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(OUT / "targets.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
