"""FLAN's two curves at toy scale: unseen tasks against the number of training clusters, and
against model size.

FLAN (Wei et al., 2022) held one cluster of tasks out of instruction tuning and measured it as the
number of training clusters grew (its Figure 6) and as the model grew (its Figure 7). This script
draws both curves for the toy world by running the site's own snippets, exactly as a reader does,
and reading what they wrote; every point is three seeds.

    python benchmarks/flan_curves.py clusters            # ~70 min on 2 cores
    python benchmarks/flan_curves.py sizes --jobs 8      # pretrains three more sizes: hours on 2
                                                         # cores, minutes with a GPU
    python benchmarks/flan_curves.py levers              # the held-out levers, 600-step runs
    python benchmarks/flan_curves.py tables              # re-render tables and plots from the JSON

`clusters`: each cluster held out in turn; the model (the shipped 1 M base) instruction-tuned with
the page's recipe on 1, 2 and 3 of the other clusters, added in the world's order after the held-out
one (`instruction_tuning.py --train-clusters N`). Every run has the same number of steps.

`sizes`: the same architecture pretrained at other widths (`pretraining.py --hidden-size`, the same
text and the same 14.7 M tokens as the shipped model), then each size instruction-tuned with the
page's recipe and with FLAN's no-template ablation. Pretraining uses a GPU where one is present.

`--jobs N` runs N snippets at once, each on `--threads` threads. The number of jobs changes only
the wall time; the number of threads also changes the order of float sums, which moves the fragile
held-out figures of a run within their seed range (the producers table records it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import world  # noqa: E402

from atlas import BASE_MODEL_DIR, GENERATED_DIR  # noqa: E402
from atlas.runs import run_script  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "flan_curves"
SEEDS = (0, 1, 2)
N_TRAIN_CLUSTERS = (1, 2, 3)
SHIPPED_WIDTH = 128  # models/toy-base
WIDTHS = (64, 96, 128, 256)  # 0.27 M, 0.60 M, 1.06 M, 4.22 M parameters
# Held-out levers, 3 seeds on each of these held-out clusters, all three other clusters trained on.
LEVER_CLUSTERS = ("count", "position")
LEVERS = {
    "600 steps, loss on the whole sequence": ["--max-steps", "600", "--loss", "all"],
    "the same, and half the rows replay": [
        "--max-steps",
        "600",
        "--loss",
        "all",
        "--replay",
        "0.5",
    ],
}
METRICS = {
    "held_out_cluster": "held-out cluster, asked by instruction",
    "trained_tasks": "trained tasks, asked by instruction",
    "held_out_templates": "trained tasks, held-out templates",
    "few_shot": "few-shot, all tasks",
}


def mean_over(by_task: dict, tasks: list[str], condition: str) -> float:
    return sum(by_task[t][condition] for t in tasks) / len(tasks)


def instruction_tuning(args: list[str], seed: int, tmp: Path, threads: int | None) -> dict:
    """One run of the instruction-tuning snippet; the accuracies FLAN's curves plot."""
    results = tmp / "results"
    run = run_script(
        ROOT / "snippets" / "instruction_tuning.py",
        [*args, "--seed", str(seed), "--results-dir", str(results), "--output-dir", str(tmp / "m")],
        threads=threads,
    )
    if run["returncode"]:
        raise SystemExit(f"instruction_tuning.py {' '.join(args)} failed:\n{run['stderr'][-3000:]}")
    name = "no_template" if "none" in args else "instruction_tuned"
    stats = json.loads((results / f"{name}_training.json").read_text())
    by_task = json.loads((results / f"{name}.json").read_text())["by_task"]
    trained = stats["train_tasks"]
    return {
        "seed": seed,
        "held_out": stats["held_out_cluster"],
        "train_clusters": sorted({world.TASKS[t].cluster for t in trained}),
        "held_out_cluster": mean_over(
            by_task, world.CLUSTERS[stats["held_out_cluster"]], "instruction"
        ),
        "trained_tasks": mean_over(by_task, trained, "instruction"),
        "held_out_templates": mean_over(by_task, trained, "instruction_held_out"),
        "few_shot": mean_over(by_task, list(by_task), "few_shot"),
        "seconds": run["seconds"],
    }


def base_figures(results: Path) -> dict:
    """What a pretraining run wrote: size, time and the base-model bars."""
    training = json.loads((results / "training.json").read_text())
    by_task = json.loads((results / "base_model.json").read_text())["by_task"]
    tasks = list(by_task)
    return {
        "parameters": training["parameters"],
        "pretraining_seconds": training["seconds"],
        "tokens": training["tokens"],
        "final_loss": training["final_loss"],
        # zero-shot: the best way of asking in words, per task, averaged
        "zero_shot": max(mean_over(by_task, tasks, c) for c in ("instruction", "chat")),
        "zero_shot_worst_task": max(
            max(by_task[t][c] for c in ("instruction", "chat")) for t in tasks
        ),
        "few_shot": mean_over(by_task, tasks, "few_shot"),
        "fact": mean_over(by_task, tasks, "fact"),
    }


def pretrain(width: int, tmp: Path, threads: int | None) -> Path:
    model = tmp / f"base-{width}"
    run = run_script(
        ROOT / "snippets" / "pretraining.py",
        [
            "--hidden-size",
            str(width),
            "--output-dir",
            str(model),
            "--results-dir",
            str(tmp / f"pre-{width}"),
        ],
        threads=threads,
    )
    if run["returncode"]:
        raise SystemExit(f"pretraining.py --hidden-size {width} failed:\n{run['stderr'][-3000:]}")
    return model


def tune_all(configs: list[tuple[dict, list[str], int]], jobs: int, threads: int | None) -> list:
    """Instruction-tune every (labels, snippet arguments, seed), `jobs` at once; each run's
    figures filed under its labels."""
    runs = []
    with tempfile.TemporaryDirectory() as tmpdir, ThreadPoolExecutor(jobs) as pool:
        futures = {
            pool.submit(instruction_tuning, args, seed, Path(tmpdir) / str(i), threads): labels
            for i, (labels, args, seed) in enumerate(configs)
        }
        for future in as_completed(futures):
            runs.append({**futures[future], **future.result()})
            print(runs[-1], flush=True)
    return runs


def clusters(jobs: int, threads: int | None) -> dict:
    configs = [
        (
            {"n_train_clusters": n},
            ["--held-out-cluster", held_out, "--train-clusters", str(n)],
            seed,
        )
        for held_out in world.CLUSTERS
        for n in N_TRAIN_CLUSTERS
        for seed in SEEDS
    ]
    runs = tune_all(configs, jobs, threads)
    order = list(world.CLUSTERS)
    runs.sort(key=lambda r: (order.index(r["held_out"]), r["n_train_clusters"], r["seed"]))
    return {"runs": runs}


def levers(jobs: int, threads: int | None) -> dict:
    configs = [
        ({"lever": label}, [*extra, "--held-out-cluster", held_out], seed)
        for label, extra in LEVERS.items()
        for held_out in LEVER_CLUSTERS
        for seed in SEEDS
    ]
    runs = tune_all(configs, jobs, threads)
    runs.sort(key=lambda r: (list(LEVERS).index(r["lever"]), r["held_out"], r["seed"]))
    return {"runs": runs}


def sizes(jobs: int, threads: int | None) -> dict:
    report: dict = {"widths": {}}
    with tempfile.TemporaryDirectory() as tmpdir, ThreadPoolExecutor(jobs) as pool:
        tmp = Path(tmpdir)
        tunes = {}

        def tune(width: int, model: Path) -> None:
            for inputs in ("instructions", "none"):
                for seed in SEEDS:
                    future = pool.submit(
                        instruction_tuning,
                        ["--model", str(model), "--inputs", inputs],
                        seed,
                        tmp / f"tune-{width}-{inputs}-{seed}",
                        threads,
                    )
                    tunes[future] = (width, inputs)

        # The largest first (its fine-tuning takes longest); the shipped model's runs start beside
        # the pretraining of the other sizes.
        pretraining = {
            pool.submit(pretrain, width, tmp, threads): width
            for width in sorted(WIDTHS, reverse=True)
            if width != SHIPPED_WIDTH
        }
        tune(SHIPPED_WIDTH, BASE_MODEL_DIR)
        report["widths"][SHIPPED_WIDTH] = base_figures(GENERATED_DIR / "pretraining")
        for future in as_completed(pretraining):
            width = pretraining[future]
            report["widths"][width] = base_figures(tmp / f"pre-{width}")
            print(width, report["widths"][width], flush=True)
            tune(width, future.result())
        for future in as_completed(list(tunes)):
            width, inputs = tunes[future]
            report["widths"][width].setdefault(inputs, []).append(future.result())
            print(width, inputs, report["widths"][width][inputs][-1], flush=True)
    widths = dict(sorted(report["widths"].items()))
    for figures in widths.values():
        for inputs in ("instructions", "none"):
            figures[inputs].sort(key=lambda r: r["seed"])
    return {"widths": {str(w): f for w, f in widths.items()}}


def spread(values: list[float]) -> str:
    """ "mean (min–max)" in %."""
    pct = [100 * v for v in values]
    return f"{statistics.mean(pct):.0f} ({min(pct):.0f}–{max(pct):.0f})"


def clusters_table(report: dict) -> str:
    rows = []
    for n in N_TRAIN_CLUSTERS:
        runs = [r for r in report["runs"] if r["n_train_clusters"] == n]
        by_cluster = [
            spread([r["held_out_cluster"] for r in runs if r["held_out"] == c])
            for c in world.CLUSTERS
        ]
        rows.append(
            [
                str(n),
                spread([r["held_out_cluster"] for r in runs]),
                *by_cluster,
                spread([r["trained_tasks"] for r in runs]),
                spread([r["held_out_templates"] for r in runs]),
            ]
        )
    return markdown_table(
        [
            "training clusters",
            "held-out cluster, all 12 runs",
            *(f"{c} held out" for c in world.CLUSTERS),
            METRICS["trained_tasks"],
            METRICS["held_out_templates"],
        ],
        rows,
    )


def levers_table(report: dict, cluster_report: dict) -> str:
    page = [
        r
        for r in cluster_report["runs"]
        if r["n_train_clusters"] == max(N_TRAIN_CLUSTERS) and r["held_out"] in LEVER_CLUSTERS
    ]
    groups = {"the page's recipe (300 steps, answer-only loss)": page}
    for label in LEVERS:
        groups[label] = [r for r in report["runs"] if r["lever"] == label]
    rows = [
        [
            label,
            *(
                spread([r["held_out_cluster"] for r in runs if r["held_out"] == c])
                for c in LEVER_CLUSTERS
            ),
            spread([r["trained_tasks"] for r in runs]),
            spread([r["few_shot"] for r in runs]),
        ]
        for label, runs in groups.items()
    ]
    return markdown_table(
        [
            "instruction tuning",
            *(f"{c} held out" for c in LEVER_CLUSTERS),
            METRICS["trained_tasks"],
            METRICS["few_shot"],
        ],
        rows,
    )


def sizes_table(report: dict) -> str:
    rows = []
    for figures in report["widths"].values():
        tuned, none = figures["instructions"], figures["none"]
        rows.append(
            [
                f"{figures['parameters'] / 1e6:.2f} M",
                f"{100 * figures['zero_shot']:.0f} / {100 * figures['few_shot']:.0f} / "
                f"{100 * figures['fact']:.0f}",
                spread([r["held_out_cluster"] for r in tuned]),
                spread([r["held_out_templates"] for r in tuned]),
                spread([r["trained_tasks"] for r in tuned]),
                spread([r["held_out_cluster"] for r in none]),
                spread([r["trained_tasks"] for r in none]),
            ]
        )
    return markdown_table(
        [
            "parameters",
            "base model: zero-shot / few-shot / facts",
            "held-out cluster",
            "held-out templates",
            "trained tasks",
            "no template: held-out cluster",
            "no template: trained tasks",
        ],
        rows,
    )


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def finish(fig, ax, path: Path, xlabel: str, title: str) -> None:
    """The axes and legend both plots share, then the file."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(
        frameon=False, fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2
    )
    fig.tight_layout()
    fig.savefig(path)
    pyplot().close(fig)


def plot_clusters(report: dict, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    for key, style in (("held_out_cluster", "-"), ("trained_tasks", "--")):
        ax.plot(
            N_TRAIN_CLUSTERS,
            [
                statistics.mean(100 * r[key] for r in report["runs"] if r["n_train_clusters"] == n)
                for n in N_TRAIN_CLUSTERS
            ],
            style,
            marker="o",
            linewidth=2.5,
            color="black",
            label=METRICS[key] + " (mean of 12 runs)",
        )
    for cluster in world.CLUSTERS:
        ax.plot(
            N_TRAIN_CLUSTERS,
            [
                statistics.mean(
                    100 * r["held_out_cluster"]
                    for r in report["runs"]
                    if r["n_train_clusters"] == n and r["held_out"] == cluster
                )
                for n in N_TRAIN_CLUSTERS
            ],
            marker=".",
            linewidth=1,
            label=f"{cluster} held out (3 seeds)",
        )
    ax.set_xticks(N_TRAIN_CLUSTERS)
    finish(fig, ax, path, "clusters trained on", "Unseen cluster vs number of training clusters")


def plot_sizes(report: dict, path: Path) -> None:
    plt = pyplot()
    widths = list(report["widths"].values())
    params = [f["parameters"] for f in widths]
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    lines = (
        ("instructions", "held_out_cluster", "-", "C0", "held-out cluster"),
        ("instructions", "held_out_templates", "-", "C1", "held-out templates"),
        ("instructions", "trained_tasks", "-", "C2", "trained tasks"),
        ("none", "held_out_cluster", "--", "C0", "no template: held-out cluster"),
        ("none", "trained_tasks", "--", "C2", "no template: trained tasks"),
    )
    for inputs, key, style, color, label in lines:
        values = [[100 * r[key] for r in f[inputs]] for f in widths]
        ax.errorbar(
            params,
            [statistics.mean(v) for v in values],
            yerr=[
                [statistics.mean(v) - min(v) for v in values],
                [max(v) - statistics.mean(v) for v in values],
            ],
            fmt=style,
            marker="o",
            color=color,
            capsize=3,
            label=label,
        )
    ax.plot(
        params,
        [100 * f["zero_shot"] for f in widths],
        ":",
        marker="x",
        color="grey",
        label="base model, zero-shot",
    )
    ax.set_xscale("log")
    ax.set_xticks(params, [f"{p / 1e6:.2f} M" for p in params])
    ax.minorticks_off()
    finish(
        fig,
        ax,
        path,
        "parameters (log scale)",
        "Instruction tuning vs model size (3 seeds; bars: range)",
    )


def write(part: str) -> None:
    """Tables and plots of `part` from its JSON."""
    report = json.loads((OUT / f"{part}.json").read_text())
    if part == "clusters":
        (OUT / "clusters.md").write_text(clusters_table(report))
        plot_clusters(report, OUT / "clusters.png")
    elif part == "sizes":
        (OUT / "sizes.md").write_text(sizes_table(report))
        plot_sizes(report, OUT / "sizes.png")
    else:
        clusters_report = json.loads((OUT / "clusters.json").read_text())
        (OUT / "levers.md").write_text(levers_table(report, clusters_report))
    print((OUT / f"{part}.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["clusters", "sizes", "levers", "tables"])
    parser.add_argument("--jobs", type=int, default=1, help="snippets run at once")
    parser.add_argument("--threads", type=int, default=None, help="threads per snippet")
    args = parser.parse_args()
    if args.part == "tables":
        for part in ("clusters", "sizes", "levers"):
            if (OUT / f"{part}.json").exists():
                write(part)
        return
    report = {"clusters": clusters, "sizes": sizes, "levers": levers}[args.part](
        args.jobs, args.threads
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.part}.json").write_text(json.dumps(report, indent=1) + "\n")
    write(args.part)


if __name__ == "__main__":
    main()
