"""DPO on a grid: every preference loss and its SFT baseline at the same four learning rates, three
seeds each, so that beta and the loss are compared at equal step sizes, not at one rate that suits
one of them.

Rows: DPO at three betas, IPO (TRL's loss_type="ipo", beta its tau), RPO (DPO plus an SFT term on
the chosen answers: loss_type=["sigmoid", "sft"]) and SFT on the chosen answers; columns: the four
rates of atlas.site.protocol.rate_grid around the DPO page's 2e-4. Per seed, every run starts from
that seed's instruction-tuned model and trains on the pairs it makes (snippets/dpo.py, as a reader
runs it). Measured: exact match on the seen tasks by instruction (what the model is for), the
held-out pairs ranked right relative to the start (DPO's own measure), the held-out pairs whose
chosen answer the model now prefers outright (`prefers_chosen`), and the requests fixed and broken.

    python benchmarks/dpo_grid.py                # ~45 min on 2 cores
    python benchmarks/dpo_grid.py --tables-only  # re-render from runs.json

Writes docs/generated/dpo_grid/: runs.json, summary.json, seen.md, prefers_chosen.md, best.md,
grid.png, curve.png.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, read_model, run_points  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "dpo_grid"
RATES = rate_grid(2e-4)  # the DPO page's rate, two half-decades under it and one over
# row label -> (dpo.py arguments, the name its results are written under)
ROWS = {
    "DPO, beta 0.5": (("--beta", "0.5"), "dpo_beta0.5"),
    "DPO, beta 0.1": (("--beta", "0.1"), "dpo_beta0.1"),
    "DPO, beta 0.01": (("--beta", "0.01"), "dpo_beta0.01"),
    "IPO, beta (tau) 0.1": (("--method", "ipo", "--beta", "0.1"), "ipo_beta0.1"),
    "RPO: DPO beta 0.1 + SFT term": (("--method", "rpo", "--beta", "0.1"), "rpo_beta0.1"),
    "SFT on the chosen answers": (("--method", "sft"), "sft"),
}
CURVE_ROW = "DPO, beta 0.1"  # the row whose training curve is drawn (seed 0, at the page's rate)


def read_run(point: Point, folder: Path) -> dict:
    name = ROWS[point.key[0]][1]
    results = folder / "results"
    return {
        "figures": json.loads((results / f"{name}_figures.json").read_text()),
        "curve": json.loads((results / f"{name}_curve.json").read_text()),
        "seconds": json.loads((results / f"{name}_timing.json").read_text())["seconds"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        starts = [
            Point("instruction_tuning", ("--eval-words", "1"), seed, key=("start", seed))
            for seed in SEEDS
        ]
        models = {
            p.seed: r["model"] for p, r in zip(starts, run_points(starts, read_model, tmp / "it"))
        }
        points = [
            Point(
                "dpo",
                ("--model", models[seed], *args, "--learning-rate", str(rate)),
                seed,
                key=(row, rate),
            )
            for row, (args, _) in ROWS.items()
            for rate in RATES
            for seed in SEEDS
        ]
        runs: dict = {}
        for point, result in zip(points, run_points(points, read_run)):
            row, rate = point.key
            runs.setdefault(row, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


# figure -> (label, how it is read from a run's figures)
MEASURES = {
    "seen_instruction": ("seen tasks, by instruction", lambda f: f["after"]["seen_instruction"]),
    "held_out_templates": ("held-out templates", lambda f: f["after"]["held_out_templates"]),
    "few_shot": ("few-shot", lambda f: f["after"]["few_shot"]),
    "ranked_right": ("held-out pairs ranked right", lambda f: f["preference"]["accuracy"]),
    "prefers_chosen": (
        "held-out pairs, chosen answer preferred outright (prefers_chosen)",
        lambda f: f["preference"]["prefers_chosen"],
    ),
}


def values(runs: dict, row: str, rate: str, key: str) -> list[float]:
    return [MEASURES[key][1](r["figures"]) for r in runs[row][rate].values()]


def write_tables(runs: dict) -> None:
    rates = list(next(iter(runs.values())))
    any_row = next(iter(runs.values()))
    start = [r["figures"]["before"] for r in any_row[rates[0]].values()]
    summary: dict = {
        "rates": [float(r) for r in rates],
        "start": {k: mean([s[k] for s in start]) for k in ("seen_instruction", "few_shot")},
        "rows": {},
        "best": {},
    }
    for key, name in (("seen_instruction", "seen.md"), ("prefers_chosen", "prefers_chosen.md")):
        table = [[row, *(spread(values(runs, row, rate, key)) for rate in rates)] for row in runs]
        (OUT / name).write_text(
            markdown_table(
                [f"{MEASURES[key][0]} (%)", *(f"rate {float(r):g}" for r in rates)], table
            )
        )
    best_rows = [
        [
            "instruction-tuned model (start)",
            "–",
            spread([s["seen_instruction"] for s in start]),
            spread([s["held_out_templates"] for s in start]),
            spread([s["few_shot"] for s in start]),
            "–",
            "–",
            "–",
        ]
    ]
    for row in runs:
        summary["rows"][row] = {
            rate: {
                key: {
                    "mean": mean(values(runs, row, rate, key)),
                    "min": min(values(runs, row, rate, key)),
                    "max": max(values(runs, row, rate, key)),
                }
                for key in MEASURES
            }
            | {
                "fixed": mean([r["figures"]["fixed"] for r in runs[row][rate].values()]),
                "broken": mean([r["figures"]["broken"] for r in runs[row][rate].values()]),
            }
            for rate in rates
        }
        # each row at the rate where it answers the seen tasks best (mean of three seeds)
        rate = max(rates, key=lambda r: summary["rows"][row][r]["seen_instruction"]["mean"])
        summary["best"][row] = float(rate)
        cells = summary["rows"][row][rate]
        best_rows.append(
            [
                row,
                f"{float(rate):g}",
                *(spread(values(runs, row, rate, k)) for k in MEASURES),
                f"{cells['fixed']:.0f} / {cells['broken']:.0f}",
            ]
        )
    (OUT / "best.md").write_text(
        markdown_table(
            [
                "model",
                "its best rate",
                "seen tasks, by instruction",
                "held-out templates",
                "few-shot",
                "held-out pairs ranked right",
                "prefers_chosen",
                "requests fixed / broken",
            ],
            best_rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot_grid(runs, summary)
    plot_curve(runs)
    for name in ("seen.md", "prefers_chosen.md", "best.md"):
        print((OUT / name).read_text())


def plot_grid(runs: dict, summary: dict) -> None:
    """Two panels against the learning rate: seen tasks by instruction, and prefers_chosen; one
    line per row, the start model dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = list(next(iter(runs.values())))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    for ax, key in zip(axes, ("seen_instruction", "prefers_chosen")):
        for row in runs:
            cells = [summary["rows"][row][r][key] for r in rates]
            ax.errorbar(
                [float(r) for r in rates],
                [100 * c["mean"] for c in cells],
                yerr=[
                    [100 * (c["mean"] - c["min"]) for c in cells],
                    [100 * (c["max"] - c["mean"]) for c in cells],
                ],
                marker="o",
                capsize=2,
                label=row,
                linestyle="--" if row.startswith("SFT") else "-",
            )
        if key == "seen_instruction":
            ax.axhline(100 * summary["start"][key], color="grey", linestyle=":", label="start")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("%, mean and range of 3 seeds")
        ax.set_title(MEASURES[key][0], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "grid.png")


def plot_curve(runs: dict) -> None:
    """The training curve of one DPO run: loss and TRL's reward accuracy per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=120)
    for rate in runs[CURVE_ROW]:
        curve = runs[CURVE_ROW][rate]["0"]["curve"]
        steps = [c["step"] for c in curve]
        axes[0].plot(steps, [c["loss"] for c in curve], label=f"rate {float(rate):g}")
        axes[1].plot(steps, [100 * c["rewards/accuracies"] for c in curve])
    axes[0].axhline(0.6931, color="grey", linestyle=":", label="log 2 (no preference yet)")
    axes[0].set_title(f"{CURVE_ROW}, seed 0: training loss", fontsize=10)
    axes[1].set_title("reward accuracy in the batch (%)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("step (32 pairs)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "curve.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
