"""The tables and plots of benchmarks/preference_sources.py, from its runs.json and the DPO grid's
row of DPO on the model's own mistakes (dpo_grid/runs.json). It trains nothing and runs in
seconds; the runs' script never runs this one, so editing a table or a plot here leaves the runs'
figures current.

    python benchmarks/preference_sources_tables.py

Writes docs/generated/preference_sources/: summary.json, seen.md, prefers_chosen.md, data.md,
rates.png, plane.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from benchmarks.preference_sources import OUT, OWN_DPO, OWN_LABEL, RATES  # noqa: E402

# figure -> (label, how it is read from a run's figures)
MEASURES = {
    "seen_instruction": ("seen tasks, by instruction", lambda f: f["after"]["seen_instruction"]),
    "held_out_templates": ("held-out templates", lambda f: f["after"]["held_out_templates"]),
    "ranked_right": ("its held-out mistakes ranked right", lambda f: f["preference"]["accuracy"]),
    "prefers_chosen": (
        "its held-out mistakes, right answer preferred outright (prefers_chosen)",
        lambda f: f["preference"]["prefers_chosen"],
    ),
    "fixed": ("requests fixed", lambda f: f["fixed"]),
    "broken": ("requests broken", lambda f: f["broken"]),
}


HEADERS = {  # the tables' first column, short enough for a narrow page
    "seen_instruction": "seen tasks, by instruction",
    "prefers_chosen": "prefers_chosen on its own held-out mistakes",
}


def examples(figures: dict) -> str:
    """What a run trained on: its pairs, or its labelled answers."""
    if "pairs" in figures:
        return f"{figures['pairs']:,} pairs"
    return f"{figures['labelled_good']:,} good / {figures['labelled_bad']:,} bad"


def write_tables(runs: dict) -> None:
    """summary.json, the tables and the plot, from the runs of this benchmark and dpo_grid's row
    of DPO on the model's own mistakes."""
    grid = json.loads((GENERATED_DIR / "dpo_grid" / "runs.json").read_text())
    rows = {OWN_LABEL: {rate: grid[OWN_DPO][rate] for rate in map(str, RATES)}, **runs}
    rates = [str(r) for r in RATES]
    starts = [r["figures"]["before"] for r in rows[OWN_LABEL][rates[0]].values()]
    summary: dict = {
        "rates": [float(r) for r in rates],
        "start": {
            k: ranged([s[k] for s in starts]) for k in ("seen_instruction", "held_out_templates")
        },
        "same_start": all(
            run["figures"]["before"] == rows[OWN_LABEL][rates[0]][seed]["figures"]["before"]
            for by_rate in rows.values()
            for by_seed in by_rate.values()
            for seed, run in by_seed.items()
        ),
        "rows": {
            row: {
                rate: {
                    key: ranged([read(r["figures"]) for r in by_rate[rate].values()])
                    for key, (_, read) in MEASURES.items()
                }
                for rate in rates
            }
            for row, by_rate in rows.items()
        },
        "examples": {
            row: examples(by_rate[rates[0]]["0"]["figures"]) for row, by_rate in rows.items()
        },
        # how many examples each row trained on (pairs, or labelled answers): with the same
        # steps for every row, how often each is seen differs
        "trained_on": {
            row: ranged(
                [
                    r["figures"].get("pairs")
                    or r["figures"]["labelled_good"] + r["figures"]["labelled_bad"]
                    for r in by_rate[rates[0]].values()
                ]
            )
            for row, by_rate in rows.items()
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for key, name in (("seen_instruction", "seen.md"), ("prefers_chosen", "prefers_chosen.md")):
        (OUT / name).write_text(
            markdown_table(
                [f"{HEADERS[key]}, % (three seeds)", *(f"rate {float(r):g}" for r in rates)],
                [
                    [row, *(spread(summary["rows"][row][r][key]["values"]) for r in rates)]
                    for row in rows
                ],
            )
        )
    (OUT / "data.md").write_text(
        markdown_table(
            ["row", "trained on (seed 0)", "requests fixed / broken at each rate (mean of seeds)"],
            [
                [
                    row,
                    summary["examples"][row],
                    " · ".join(
                        f"{summary['rows'][row][r]['fixed']['mean']:.0f} / "
                        f"{summary['rows'][row][r]['broken']['mean']:.0f}"
                        for r in rates
                    ),
                ]
                for row in rows
            ],
        )
    )
    from atlas.plots import plot_panels_over_rates, plot_plane

    plot_plane(
        {
            row: {
                float(r): (
                    summary["rows"][row][r]["prefers_chosen"]["values"],
                    summary["rows"][row][r]["seen_instruction"]["values"],
                )
                for r in rates
            }
            for row in rows
        },
        OUT / "plane.png",
        xlabel="learned: its own held-out mistakes, right answer preferred outright (%)",
        ylabel="kept: seen tasks by instruction, exact match (%)",
        title="What each run learned against what it kept, at each learning rate (3 seeds)",
    )

    plot_panels_over_rates(
        {
            MEASURES[key][0]: {
                row: {float(r): summary["rows"][row][r][key]["values"] for r in rates}
                for row in rows
            }
            for key in ("seen_instruction", "prefers_chosen")
        },
        OUT / "rates.png",
        start={MEASURES["seen_instruction"][0]: summary["start"]["seen_instruction"]["mean"]},
        start_label="start (instruction-tuned)",
    )
    for name in ("seen.md", "prefers_chosen.md", "data.md"):
        print((OUT / name).read_text())


if __name__ == "__main__":
    write_tables(json.loads((OUT / "runs.json").read_text()))
