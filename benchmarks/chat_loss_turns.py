"""Multi-turn chat SFT: the loss on every assistant turn, or on the last one only?

TRL gives two ways to train on conversations: `assistant_only_loss=True` on `messages` rows puts
the loss on every assistant turn the chat template marks with `{% generation %}`; prompt-completion
rows (`prompt` = every turn before the last reply, `completion` = that reply) put it on the last
reply only, which is where most multi-turn SFT recipes that reuse single-turn code end up. In the
toy world's chat data a share of the conversations have two turns (a request, its answer, then
"now reverse that"): with the last-turn loss their first answers are context, not targets.

Each variant runs snippets/chat_sft.py (`--loss assistant` or `--loss last`) over the same four
learning rates around the page's rate (atlas.site.protocol.rate_grid), three seeds each, and is
read at its own best rate: the best mean first-turn accuracy on seen tasks in the chat template,
ties to the better second turn. The answer of the comparison is whether the seed ranges at the two
picked rates overlap (atlas.site.protocol.differs), for the first turn, the second turn and the
few-shot kept.

    python benchmarks/chat_loss_turns.py                # ~16 min on 2 cores
    python benchmarks/chat_loss_turns.py --tables-only  # re-render from runs.json

Writes docs/generated/chat_loss_turns/: runs.json, summary.json, turns.md, turns.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import world  # noqa: E402

from atlas import GENERATED_DIR, chat  # noqa: E402
from atlas.site.protocol import SEEDS, Point, at_edge, differs, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "chat_loss_turns"
PAGE_RATE = 2e-3  # chat SFT's rate on its page (snippets/chat_sft.py)
EVAL_WORDS = 10  # held-out words per task: half the snippet's default (24 runs to make)
VARIANTS = {"every assistant turn": "assistant", "the last reply only": "last"}
# What each run is read on (chat_sft_figures.json), in the table's order
MEASURES = {
    "chat_seen": "first turn, seen tasks",
    "second_turn": "second turn",
    "few_shot": "few-shot kept",
}
PICK_BY, TIE_BREAK = "chat_seen", "second_turn"
TIE = 0.026  # within one answer in 40 of the best mean: a tie, broken by the second turn


def grid() -> tuple[float, ...]:
    return rate_grid(PAGE_RATE)


def read(point: Point, folder: Path) -> dict:
    return json.loads((folder / "results" / "chat_sft_figures.json").read_text())


def points() -> list[Point]:
    out = []
    for label, loss in VARIANTS.items():
        for rate in grid():
            args = ("--loss", loss, "--learning-rate", str(rate), "--eval-words", str(EVAL_WORDS))
            out += [Point("chat_sft", args, s, key=(label, rate)) for s in SEEDS]
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


def replies_with_loss() -> dict[str, float]:
    """The share of the training data's assistant replies that get a loss, per variant: every
    reply, or the last reply of each conversation (the chat snippet's rows, seed 0)."""
    train_tasks = [t for t, task in world.TASKS.items() if task.cluster != world.HELD_OUT_CLUSTER]
    rows = chat.conversations(train_tasks, n_per_task=450, seed=0)
    replies = sum(sum(m["role"] == "assistant" for m in r["messages"]) for r in rows)
    return {"every assistant turn": 1.0, "the last reply only": len(rows) / replies}


def ranged(v: list[float]) -> dict:
    return {"mean": mean(v), "min": min(v), "max": max(v)}


def write_tables(runs: dict) -> None:
    """Per variant: each rate's measures, the picked rate, and whether the variants differ at
    their picked rates (seed ranges apart)."""
    share = replies_with_loss()
    report: dict = {"rates": list(grid()), "measures": MEASURES, "variants": {}}
    rows, picked = [], {}
    for label, by_rate in runs.items():
        cells = {
            rate: {k: [r[k] for r in by_seed.values()] for k in MEASURES}
            for rate, by_seed in by_rate.items()
        }
        top = max(mean(c[PICK_BY]) for c in cells.values())
        best = max(
            (r for r, c in cells.items() if mean(c[PICK_BY]) >= top - TIE),
            key=lambda r: (mean(cells[r][TIE_BREAK]), -float(r)),
        )
        picked[label] = cells[best]
        report["variants"][label] = {
            "loss": VARIANTS[label],
            "replies_with_loss": share[label],
            "rates": {r: {k: ranged(v) for k, v in c.items()} for r, c in cells.items()},
            "best_rate": float(best),
            "best_at_edge": at_edge(grid(), float(best)),
        }
        for rate, c in cells.items():
            rows.append(
                [
                    label if rate == next(iter(cells)) else "",
                    f"{float(rate):g}" + (" **(picked)**" if rate == best else ""),
                    *(spread(c[k]) for k in MEASURES),
                ]
            )
    (a, b) = picked.values()
    report["differ"] = {k: differs(a[k], b[k]) for k in MEASURES}
    (OUT / "turns.md").write_text(
        markdown_table(["loss on", "learning rate", *MEASURES.values()], rows)
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report)
    print((OUT / "turns.md").read_text())


def plot(report: dict) -> None:
    """One panel per measure over the learning rates, one line per variant; the bars are the seed
    ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(MEASURES), figsize=(12, 3.8), dpi=120, sharey=True)
    for ax, (key, title) in zip(axes, MEASURES.items()):
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
                label=f"loss on {label}",
            )
        ax.set_xscale("log")
        ax.set_xticks(list(report["rates"]), [f"{r:g}" for r in report["rates"]])
        ax.set_xlabel("learning rate (log scale)")
        ax.set_title(f"{title}, three seeds", fontsize=10)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("exact match (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / "turns.png")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
