"""New knowledge against the prompt: continued pretraining, SFT and LoRA on made-up facts, each on
four learning rates around its page rate and three seeds (atlas.site.protocol), beside the fact
given in the prompt to the untrained model and to a model taught to read.

Every run is `python snippets/new_knowledge.py --method M --learning-rate R --seed S`, as a reader
runs it; each seed draws other words and other things. A method's rate is picked by the question
in a new wording (the use a reader cares about; the reader's by the fact in the prompt), ties
within one fact in 32 going to the rate that keeps more of the old tasks asked by instruction.
Every method takes the same steps (the snippet's 20 passes over four rows a fact).

    python benchmarks/new_knowledge.py                # ~30 min on 2 cores
    python benchmarks/new_knowledge.py --tables-only  # re-render from runs.json

Writes docs/generated/new_knowledge/: runs.json, summary.json, facts.md, rates.md, facts.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, at_edge, differs, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import mean, ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "new_knowledge"
# method -> (label, the snippet's default rate: the grid's centre)
METHODS = {
    "cpt": ("continued pretraining on statements", 1e-3),
    "sft": ("SFT on questions", 1e-3),
    "lora": ("LoRA on questions", 3e-3),
    "reader": ("taught to read, fact in the prompt", 1e-3),
}
MEASURES = {  # the snippet's figures, in the order the tables show them
    "question": "asked, a trained wording",
    "question_new": "asked, a new wording",
    "statement": "completed, a trained phrasing",
    "statement_new": "completed, a new phrasing",
    "in_prompt": "fact in the prompt, asked in a new wording",
    "old_instruction": "old tasks, by instruction",
    "old_few_shot": "old tasks, few-shot",
}
KEPT = "old_instruction"


def target(method: str) -> str:
    """What a method's rate is picked by: the reader stores nothing, it reads the prompt."""
    return "in_prompt" if method == "reader" else "question_new"


TIE = 1 / 32  # one fact in 32


def points() -> list[Point]:
    return [
        Point(
            "new_knowledge",
            ("--method", method, "--learning-rate", str(rate)),
            seed,
            key=(method, rate),
        )
        for method, (_, page_rate) in METHODS.items()
        for rate in rate_grid(page_rate)
        for seed in SEEDS
    ]


def read(point: Point, folder: Path) -> dict:
    method = point.key[0]
    figures = json.loads((folder / "results" / f"facts_{method}.json").read_text())
    timing = json.loads((folder / "results" / f"facts_{method}_timing.json").read_text())
    keep = ("before", "after", "constant_answer")
    return {k: figures[k] for k in keep} | {"seconds": timing["seconds"]}


def main() -> None:
    todo = points()
    runs: dict = {}
    for point, result in zip(todo, run_points(todo, read)):
        method, rate = point.key
        runs.setdefault(method, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def write_tables(runs: dict) -> None:
    report: dict = {"methods": {}, "picked": {}}
    first = next(iter(next(iter(runs.values())).values()))  # one rate's seeds: the start model
    report["before"] = {k: ranged([r["before"][k] for r in first.values()]) for k in MEASURES}
    report["constant_answer"] = ranged([r["constant_answer"] for r in first.values()])
    grid_rows = []
    for method, by_rate in runs.items():
        label, page_rate = METHODS[method]
        cells = {
            rate: {k: ranged([r["after"][k] for r in seeds.values()]) for k in MEASURES}
            for rate, seeds in by_rate.items()
        }
        top = max(c[target(method)]["mean"] for c in cells.values())
        picked = max(
            (r for r, c in cells.items() if c[target(method)]["mean"] >= top - TIE),
            key=lambda r: (cells[r][KEPT]["mean"], -float(r)),
        )
        report["methods"][method] = {
            "label": label,
            "picked_by": target(method),
            "rates": cells,
            "picked": float(picked),
            "picked_at_edge": at_edge(rate_grid(page_rate), float(picked)),
            "seconds": mean([r["seconds"] for s in by_rate.values() for r in s.values()]),
        }
        report["picked"][method] = cells[picked]
        for rate, c in cells.items():
            grid_rows.append(
                [
                    label,
                    f"{float(rate):g}" + (" **(picked)**" if rate == picked else ""),
                    *(spread(c[k]["values"]) for k in MEASURES),
                ]
            )
    picked = report["picked"]
    report["differs"] = {  # seed ranges that do not overlap, at each method's picked rate
        f"{a} vs {b}": {
            k: differs(picked[a][k]["values"], picked[b][k]["values"]) for k in MEASURES
        }
        for a in picked
        for b in picked
        if a < b
    }
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    columns = ["exact match, % (three seeds)", "start model", *(METHODS[m][0] for m in picked)]
    (OUT / "facts.md").write_text(
        markdown_table(
            columns,
            [
                [label, spread(report["before"][k]["values"])]
                + [spread(picked[m][k]["values"]) for m in picked]
                for k, label in MEASURES.items()
            ],
        )
    )
    (OUT / "rates.md").write_text(
        markdown_table(["method", "learning rate", *MEASURES.values()], grid_rows)
    )
    plot(report)
    print((OUT / "facts.md").read_text())


def plot(report: dict) -> None:
    """Grouped bars: each measure, the start model and each method at its picked rate; the
    whiskers are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {"start model": report["before"]} | {
        METHODS[m][0]: cells for m, cells in report["picked"].items()
    }
    keys = list(MEASURES)
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(11, 4.6), dpi=120)
    for i, (label, cells) in enumerate(groups.items()):
        xs = [j + (i - (len(groups) - 1) / 2) * width for j in range(len(keys))]
        means = [100 * cells[k]["mean"] for k in keys]
        ax.bar(xs, means, width, label=label)
        ax.errorbar(
            xs,
            means,
            yerr=[
                [100 * (cells[k]["mean"] - cells[k]["min"]) for k in keys],
                [100 * (cells[k]["max"] - cells[k]["mean"]) for k in keys],
            ],
            fmt="none",
            ecolor="black",
            capsize=2,
            linewidth=0.8,
        )
    ax.axhline(
        100 * report["constant_answer"]["mean"],
        color="grey",
        linestyle=":",
        label="one thing for every word",
    )
    ax.set_xticks(range(len(keys)), [MEASURES[k].replace(", ", ",\n") for k in keys], fontsize=8)
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(0, 103)
    ax.set_title("New facts: stored by training, or given in the prompt (three seeds)", fontsize=10)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(OUT / "facts.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
