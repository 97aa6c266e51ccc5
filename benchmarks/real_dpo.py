"""DPO on a real chat model over its learning rates: SmolLM2-135M-Instruct on its own mistakes.

The toy DPO page finds that DPO on the model's own mistakes raises the right answer against its
own wrong one, and that the higher the learning rate the more the model's other answers suffer.
Does that carry to a real chat model? `snippets/dpo_real_model.py` (letter tasks on made-up words
asked in SmolLM2-135M-Instruct's chat template, its wrong answers rejected, 16 steps of 8 pairs)
runs at four learning rates (atlas.site.protocol.rate_grid around the snippet's rate), three seeds
each. Measured by the snippet: the held-out pairs (prefers_chosen), the letter tasks asked on
held-out words, the model's other tasks (facts, formatting, a label task), the loss and TRL's
reward accuracy per step.

    python benchmarks/real_dpo.py         # the runs: ~35 min on 2 cores
    python benchmarks/real_dpo_tables.py  # summary, table and plot from runs.json, in seconds

Writes docs/generated/real_dpo/runs.json; the tables script (which this one never runs or names)
writes summary.json, rates.md and rates.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, run_points  # noqa: E402

OUT = GENERATED_DIR / "real_dpo"
RATES = rate_grid(1e-6, below=1, above=2)  # 3e-7 to 1e-5: the snippet's 3e-6 inside
NAME = "dpo_beta0.1"  # what the snippet's default DPO run writes its results under


def read(point: Point, folder: Path) -> dict:
    results = folder / "results"
    return {
        "figures": json.loads((results / f"{NAME}_figures.json").read_text()),
        "curve": json.loads((results / f"{NAME}_curve.json").read_text()),
        "training": json.loads((results / f"{NAME}_training.json").read_text()),
    }


def main() -> None:
    points = [
        Point("dpo_real_model", ("--learning-rate", str(rate)), seed, key=(str(rate), str(seed)))
        for rate in RATES
        for seed in SEEDS
    ]
    runs: dict = {}
    for point, result in zip(points, run_points(points, read)):
        rate, seed = point.key
        runs.setdefault(rate, {})[seed] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    print(f"wrote {OUT / 'runs.json'}; now: python benchmarks/real_dpo_tables.py")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/real_dpo.py (the table: python benchmarks/real_dpo_tables.py)"
        )
    main()
