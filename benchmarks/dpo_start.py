"""Is SFT needed before DPO? DPO started from the base model, against SFT on the same chosen answers
from the base model, and beside DPO after instruction tuning (benchmarks/dpo_grid.py).

From the base model, the pairs are made as snippets/dpo.py makes them from any model: it answers
new requests, and each wrong answer becomes a pair, the right answer chosen and its own rejected
(the base model, never tuned to answer, gets nearly every request wrong, so there are far more
pairs). Both rows run at the four rates of atlas.site.protocol.rate_grid around 6e-4, half a decade
above the DPO page's rate (a base model has further to go), three seeds, the snippet's 40 steps.

    python benchmarks/dpo_start.py                # ~20 min on 2 cores
    python benchmarks/dpo_start.py --tables-only  # re-render from runs.json

Writes docs/generated/dpo_start/: runs.json, summary.json, seen.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import BASE_MODEL_DIR, GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, run_points  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "dpo_start"
RATES = rate_grid(6e-4)
# row label -> (dpo.py arguments, the name its results are written under)
ROWS = {
    "DPO beta 0.1, from the base model": (("--beta", "0.1"), "dpo_beta0.1"),
    "SFT on the chosen answers, from the base model": (("--method", "sft"), "sft"),
}
AFTER_SFT = "DPO, beta 0.1"  # dpo_grid's row: the same DPO from each seed's instruction-tuned model
MEASURES = {
    "seen_instruction": "seen tasks, by instruction",
    "held_out_templates": "held-out templates",
    "prefers_chosen": "held-out pairs, chosen answer preferred outright",
}


def read(point: Point, folder: Path) -> dict:
    name = ROWS[point.key[0]][1]
    figures = json.loads((folder / "results" / f"{name}_figures.json").read_text())
    return {
        "before": figures["before"],
        "after": figures["after"],
        "prefers_chosen": figures["preference"]["prefers_chosen"],
        "pairs": figures["pairs"],
    }


def main() -> None:
    points = [
        Point(
            "dpo",
            ("--model", str(BASE_MODEL_DIR), *args, "--learning-rate", str(rate)),
            seed,
            key=(row, rate),
        )
        for row, (args, _) in ROWS.items()
        for rate in RATES
        for seed in SEEDS
    ]
    runs: dict = {}
    for point, result in zip(points, run_points(points, read)):
        row, rate = point.key
        runs.setdefault(row, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def figure(run: dict, key: str) -> float:
    return run["prefers_chosen"] if key == "prefers_chosen" else run["after"][key]


def write_tables(runs: dict) -> None:
    after_sft = json.loads((GENERATED_DIR / "dpo_grid" / "summary.json").read_text())
    any_rate = next(iter(next(iter(runs.values())).values()))
    summary: dict = {
        "rates": [float(r) for r in RATES],
        "base": {
            k: ranged([r["before"][k] for r in any_rate.values()])
            for k in MEASURES
            if k != "prefers_chosen"
        },
        "pairs": ranged([r["pairs"] for r in any_rate.values()]),
        "rows": {
            row: {
                rate: {k: ranged([figure(r, k) for r in seeds.values()]) for k in MEASURES}
                for rate, seeds in by_rate.items()
            }
            for row, by_rate in runs.items()
        },
        "after_sft": {
            "start": after_sft["start"],
            "rates": {
                rate: cells
                for rate, cells in after_sft["rows"][AFTER_SFT].items()
                if float(rate) in RATES
            },
        },
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    rates = [str(r) for r in RATES]
    rows = [
        [row, *(spread(summary["rows"][row][rate]["seen_instruction"]["values"]) for rate in rates)]
        for row in runs
    ]
    rows.append(
        [
            f"{AFTER_SFT}, after instruction tuning (the DPO grid)",
            *(
                f"{100 * c['mean']:.0f} ({100 * c['min']:.0f}–{100 * c['max']:.0f})"
                if (c := summary["after_sft"]["rates"].get(rate, {}).get("seen_instruction"))
                else "not run"
                for rate in rates
            ),
        ]
    )
    (OUT / "seen.md").write_text(
        markdown_table(
            ["seen tasks by instruction, % (three seeds)", *(f"rate {float(r):g}" for r in rates)],
            rows,
        )
    )
    print((OUT / "seen.md").read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "runs.json").read_text()))
    else:
        main()
