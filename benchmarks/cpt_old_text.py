"""Continued pretraining's re-warm control: is the old domain lost to the new text, or to the rate?

benchmarks/cpt_rates.py runs `snippets/continued_pretraining.py` with its page's mix (a quarter of
the rows from the old text) at four learning rates, and finds the old tasks fall at every rate. This
runs the same snippet, the same rates, steps and seeds, on rows that are nearly all old text (nine
in ten from the toy web the base model was pretrained on, the most the snippet allows): what the
schedule does to the model when the text hardly changes. Where the old tasks still fall here, the
rate knocks them; where they hold here but fall with the page's mix, the new text pushes them out.

    python benchmarks/cpt_old_text.py                # ~19 min on 2 AVX2 cores, ~7 with native bf16
    python benchmarks/cpt_old_text.py --tables-only  # re-render from old_text_runs.json

Reads docs/generated/cpt_rates/summary.json (the page's mix at the same rates); writes
docs/generated/cpt_rates/: old_text_runs.json, old_text_summary.json, old_text.md, old_text.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.plots import plot_over_rates  # noqa: E402
from atlas.site.summaries import spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from benchmarks.cpt_rates import MIX, OUT, PAGE_RATE, summarize, sweep  # noqa: E402

OLD_MIX = "0.9"  # the share of rows from the old text: the snippet's upper bound
# What the control separates: the old domain kept, and the new one learned, at each mix
SHOWN = {
    "general_few_shot": "toy-web few-shot",
    "general_fact": "toy-web facts",
    "domain_few_shot": "cipher few-shot",
}


def main() -> None:
    runs = sweep(OLD_MIX)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "old_text_runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def write_tables(runs: dict) -> None:
    page_mix = json.loads((OUT / "summary.json").read_text())  # benchmarks/cpt_rates.py's
    summary = {**summarize(runs, OLD_MIX), "page_mix": float(MIX)}
    (OUT / "old_text_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    mixes = (page_mix, summary)
    header = ["learning rate"] + [
        f"{label}, {float(s['mix']):g} old text" for k, label in SHOWN.items() for s in mixes
    ]
    base = [f"{100 * summary['base'][k]['mean']:.0f}" for k in SHOWN for _ in mixes]
    rows = [["base model (before)", *base]]
    rows += [
        [
            f"{float(rate):g}" + (" (the page's)" if float(rate) == PAGE_RATE else ""),
            *(spread(s["after"][rate][k]["values"]) for k in SHOWN for s in mixes),
        ]
        for rate in runs
    ]
    (OUT / "old_text.md").write_text(markdown_table(header, rows))
    print((OUT / "old_text.md").read_text())
    kept = {f"old tasks kept, {s['mix']:g} old text": s for s in mixes}
    learned = {f"cipher learned, {s['mix']:g} old text": s for s in mixes}
    plot_over_rates(
        {
            **{n: _by_rate(s, "general_few_shot") for n, s in kept.items()},
            **{n: _by_rate(s, "domain_few_shot") for n, s in learned.items()},
        },
        OUT / "old_text.png",
        ylabel="few-shot exact match (%)",
        title="Continued pretraining: the old kept, the new learned",
        base=summary["base"]["general_few_shot"]["mean"],
        dashed=tuple(learned),
        colors={  # one colour per mix: the old kept solid, the cipher learned dashed
            name: colour
            for names in (kept, learned)
            for name, colour in zip(names, ("tab:blue", "tab:orange"))
        },
    )


def _by_rate(summary: dict, key: str) -> dict[float, list[float]]:
    """One measure's values on every seed, by learning rate."""
    return {float(rate): seeds[key]["values"] for rate, seeds in summary["after"].items()}


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "old_text_runs.json").read_text()))
    else:
        main()
