"""The tables and plots of benchmarks/real_dpo.py, from its runs.json. It trains nothing and runs in
seconds; the runs' script never runs this one, so editing a table leaves the runs' figures current.

    python benchmarks/real_dpo_tables.py

Writes docs/generated/real_dpo/: summary.json, rates.md, replies.md, rates.png, curve.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.plots import plot_panels_over_rates, plot_preference_curves  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from benchmarks.real_dpo import OUT  # noqa: E402

MEASURES = {  # figure -> (header, how it is read from a run)
    "ranked_right": (
        "held-out pairs ranked right, against the reference",
        lambda r: r["figures"]["preference"]["accuracy"],
    ),
    "prefers_chosen": (
        "held-out pairs, right answer preferred (prefers_chosen)",
        lambda r: r["figures"]["preference"]["prefers_chosen"],
    ),
    "letters_after": (
        "letter tasks asked, held-out words",
        lambda r: r["figures"]["letters_after"],
    ),
    "others_after": (
        "other tasks asked",
        lambda r: r["figures"]["others_after"],
    ),
    "chosen_logp_change": (
        "chosen answers' log-probability change, nats",
        lambda r: r["figures"]["preference"]["chosen_logp_change"],
    ),
    "final_loss": ("final loss", lambda r: r["training"]["final_loss"]),
    "last_reward_accuracy": (
        "reward accuracy, last step",
        lambda r: r["curve"][-1]["rewards/accuracies"],
    ),
}
PERCENT = ("ranked_right", "prefers_chosen", "letters_after", "others_after")
PERCENT += ("last_reward_accuracy",)
DIGITS = {"chosen_logp_change": 1, "final_loss": 3}  # the other figures' decimals


def main() -> None:
    runs = json.loads((OUT / "runs.json").read_text())
    every = [r for seeds in runs.values() for r in seeds.values()]
    seeds = sorted({seed for by_seed in runs.values() for seed in by_seed})
    # the untuned model, per seed: each seed asks its own held-out words, the same at every rate
    untuned_by_seed = {
        seed: {
            k: sorted({by_seed[seed]["figures"][k] for by_seed in runs.values()})
            for k in ("letters_before", "others_before")
        }
        for seed in seeds
    }
    summary: dict = {
        "rates": [float(rate) for rate in runs],
        "untuned": {
            k: ranged([untuned_by_seed[s][k][0] for s in seeds])
            for k in ("letters_before", "others_before")
        },
        # one greedy pass over a seed's requests: the same answers before training at every rate
        "untuned_the_same_at_every_rate": all(
            len(v) == 1 for by_key in untuned_by_seed.values() for v in by_key.values()
        ),
        "pairs": ranged([r["figures"]["pairs"] for r in every]),
        "held_out_pairs": ranged([r["figures"]["held_out_pairs"] for r in every]),
        "steps": every[0]["training"]["steps"],
        "examples": every[0]["training"]["examples"],
        "by_rate": {},
    }
    rows = [
        [
            "untuned SmolLM2-135M-Instruct",
            "",
            "",
            spread(summary["untuned"]["letters_before"]["values"]),
            spread(summary["untuned"]["others_before"]["values"]),
            "",
            "",
            "",
        ]
    ]
    for rate, seeds in runs.items():
        cell = {k: ranged([read(r) for r in seeds.values()]) for k, (_, read) in MEASURES.items()}
        for k in ("fixed", "broken"):  # held-out requests, of the untuned model's answers
            cell[k] = ranged([r["figures"][k] for r in seeds.values()])
        summary["by_rate"][rate] = cell
        cells = [
            spread(cell[k]["values"])
            if k in PERCENT
            else spread(cell[k]["values"], scale=1, digits=DIGITS[k])
            for k in MEASURES
        ]
        rows.append([f"DPO, beta 0.1, rate {float(rate):g}", *cells])
    header = ["run", *(h for h, _ in MEASURES.values())]
    (OUT / "rates.md").write_text(markdown_table(header, rows))
    # what the other tasks look like after training: the first seed, the lowest and highest rate
    rates = list(runs)
    replies = []
    for task, (word, answer, _) in runs[rates[0]]["0"]["figures"]["others_replies_after"].items():
        after = [runs[r]["0"]["figures"]["others_replies_after"][task][2] for r in rates]
        shown = [f"`{a}`" if a else "(nothing)" for a in (after[0], after[-1])]
        replies.append([task, f"`{word}`", f"`{answer}`", *shown])
    header = ["other task", "asked about", "right answer"]
    header += [f"answer after rate {float(rates[0]):g}", f"after rate {float(rates[-1]):g}"]
    (OUT / "replies.md").write_text(markdown_table(header, replies, "lllll"))
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    panels = {}
    for k in ("prefers_chosen", "letters_after", "others_after"):
        title, read = MEASURES[k]
        panels[title] = {
            "DPO, beta 0.1": {float(rt): [read(r) for r in s.values()] for rt, s in runs.items()}
        }
    plot_panels_over_rates(
        panels,
        OUT / "rates.png",
        start={
            MEASURES["letters_after"][0]: summary["untuned"]["letters_before"]["mean"],
            MEASURES["others_after"][0]: summary["untuned"]["others_before"]["mean"],
        },
        start_label="untuned",
    )
    plot_preference_curves(
        {f"rate {float(rate):g}": seeds["0"]["curve"] for rate, seeds in runs.items()},
        OUT / "curve.png",
        "SmolLM2-135M-Instruct, DPO beta 0.1, seed 0",
        f"step ({summary['examples'] // summary['steps']} pairs)",
    )
    print((OUT / "rates.md").read_text())
    print((OUT / "replies.md").read_text())


if __name__ == "__main__":
    main()
