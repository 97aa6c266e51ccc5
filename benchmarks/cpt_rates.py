"""Continued pretraining's learning rate: is the old domain lost to the new text, or to the rate?

Continued pretraining starts a new schedule on a trained model: its learning rate warms up again
("re-warming"), and a rate that suits training from scratch can knock a trained model further than
the new data needs. `snippets/continued_pretraining.py` (a quarter of the rows from the old text,
its page's recipe) runs here at the four rates of atlas.site.protocol.rate_grid around its own
rate, on three seeds: how much of the new domain each rate learns, and how much of the old it keeps.

    python benchmarks/cpt_rates.py                # ~19 min on 2 AVX2 cores, ~7 with native bf16
    python benchmarks/cpt_rates.py --tables-only  # re-render from runs.json

Writes docs/generated/cpt_rates/: runs.json, summary.json, rates.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.stages import MEASURES  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "cpt_rates"
PAGE_RATE = 2e-3  # the snippet's default --learning-rate, at the grid's centre
RATES = rate_grid(PAGE_RATE)
MIX = "0.25"  # the snippet's default share of old text
# What a continued pretraining run can change: the new domain learned, the old one kept (asked by
# instruction, both stay at zero for every model here: the page shows it on three seeds).
SHOWN = ("domain_few_shot", "domain_fact", "general_few_shot", "general_fact")


def read(point: Point, folder: Path) -> dict:
    figures = json.loads((folder / "results" / "continued_figures.json").read_text())
    return {"before": figures["before"], "after": figures["after"]}


def sweep(mix: str) -> dict:
    """The snippet with `mix` of old text at every rate of the grid on every seed:
    {rate: {seed: {"before": figures, "after": figures}}}."""
    points = [
        Point(
            "continued_pretraining",
            ("--mix", mix, "--learning-rate", str(rate)),
            seed,
            key=rate,
        )
        for rate in RATES
        for seed in SEEDS
    ]
    runs: dict = {}
    for point, result in zip(points, run_points(points, read)):
        runs.setdefault(str(point.key), {})[str(point.seed)] = result
    return runs


def summarize(runs: dict, mix: str) -> dict:
    """A sweep's figures as summary.json keeps them: each measure's mean, min, max and values
    before (the base model) and after, at every rate."""
    any_rate = next(iter(runs.values()))
    return {
        "rates": [float(r) for r in runs],
        "page_rate": PAGE_RATE,
        "mix": float(mix),
        "seeds": len(any_rate),
        "base": {k: ranged([r["before"][k] for r in any_rate.values()]) for k in MEASURES},
        "after": {
            rate: {k: ranged([r["after"][k] for r in seeds.values()]) for k in MEASURES}
            for rate, seeds in runs.items()
        },
    }


def main() -> None:
    runs = sweep(MIX)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def write_tables(runs: dict) -> None:
    summary = summarize(runs, MIX)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    base = [f"{100 * summary['base'][k]['mean']:.0f}" for k in SHOWN]
    rows = [["base model (before)", *base]]
    rows += [
        [
            f"rate {float(rate):g}" + (" (the page's)" if float(rate) == PAGE_RATE else ""),
            *(spread(summary["after"][rate][k]["values"]) for k in SHOWN),
        ]
        for rate in runs
    ]
    (OUT / "rates.md").write_text(
        markdown_table(
            [
                f"continued pretraining, mix {MIX}, {summary['seeds']} seeds",
                *(MEASURES[k] for k in SHOWN),
            ],
            rows,
        )
    )
    print((OUT / "rates.md").read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
