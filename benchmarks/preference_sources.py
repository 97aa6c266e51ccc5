"""Preference data as practised: whose answers are rejected, and pairs against labels.

Every pair on the DPO page is the trained model's own mistake (on-policy). Most public preference
datasets are not: their answers were written by other models (off-policy). And most feedback a
product collects is not paired at all: one answer, a thumbs up or down, which KTO trains on. Rows,
each at the DPO grid's four learning rates (atlas.site.protocol.rate_grid around the DPO page's
2e-4), three seeds, every run from its seed's instruction-tuned model (as benchmarks/dpo_grid.py):

- DPO whose rejected answers are another instruction-tuned model's mistakes on the same requests
  (the next seed's: the same recipe, about as strong, its own errors), the chosen answer the right
  one, as before;
- DPO whose rejected answers are the base model's (a model never tuned to answer, so nearly every
  request becomes a pair);
- KTO on the trained model's own answers, each labelled good or bad (snippets/kto.py).

DPO on its own mistakes at the same rates and seeds is dpo_grid's "DPO, beta 0.1" row (the same
start models: the tables step reads it from dpo_grid/runs.json). Every run is measured as
snippets/dpo.py measures: exact match on the seen tasks, and the trained model's own held-out
mistakes, ranked right against the start and preferred outright (`prefers_chosen`).

Computing and rendering are two scripts, two producers: this one never runs (or names) the tables
code, so a change to a table or a plot reruns the seconds-long tables step only, not the runs.

    python benchmarks/preference_sources.py          # the runs: ~25 min on 2 cores
    python benchmarks/preference_sources_tables.py   # summary, tables and plots from runs.json

Writes docs/generated/preference_sources/: runs.json; then summary.json, seen.md,
prefers_chosen.md, data.md, rates.png, plane.png.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import BASE_MODEL_DIR, GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, rate_grid, read_model, run_points  # noqa: E402

OUT = GENERATED_DIR / "preference_sources"
RATES = rate_grid(2e-4)  # the DPO grid's
OWN_DPO = "DPO, beta 0.1"  # dpo_grid's row: DPO on the model's own mistakes
OWN_LABEL = "DPO, its own mistakes rejected (the DPO grid)"
# row label -> (snippet, whose answers: "other" = the next seed's instruction-tuned model, "base" =
# the base model, "own" = the model trained), the name its results are written under
ROWS = {
    "DPO, another model's mistakes rejected": ("dpo", "other", "dpo_beta0.1"),
    "DPO, the base model's answers rejected": ("dpo", "base", "dpo_beta0.1"),
    "KTO, its own answers labelled": ("kto", "own", "kto_beta0.1"),
}


def read_run(point: Point, folder: Path) -> dict:
    name = ROWS[point.key[0]][2]
    results = folder / "results"
    figures = json.loads((results / f"{name}_figures.json").read_text())
    figures.pop("answers_from", None)  # a temporary folder's path
    return {
        "figures": figures,
        "curve": json.loads((results / f"{name}_curve.json").read_text()),
        "seconds": json.loads((results / f"{name}_timing.json").read_text())["seconds"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        starts = [
            Point("instruction_tuning", ("--eval-words", "1"), seed, key=("start", seed))
            for seed in SEEDS
        ]
        models = {
            p.seed: r["model"]
            for p, r in zip(starts, run_points(starts, read_model, Path(tmp_name)))
        }
        answers = {  # whose answers each seed's run judges
            "other": {s: models[SEEDS[(i + 1) % len(SEEDS)]] for i, s in enumerate(SEEDS)},
            "base": {s: str(BASE_MODEL_DIR) for s in SEEDS},
            "own": {s: None for s in SEEDS},
        }
        points = [
            Point(
                snippet,
                (
                    "--model",
                    models[seed],
                    *(("--answers-from", answers[whose][seed]) if answers[whose][seed] else ()),
                    "--learning-rate",
                    str(rate),
                ),
                seed,
                key=(row, rate),
            )
            for row, (snippet, whose, _) in ROWS.items()
            for rate in RATES
            for seed in SEEDS
        ]
        runs: dict = {}
        for point, result in zip(points, run_points(points, read_run)):
            row, rate = point.key
            runs.setdefault(row, {}).setdefault(str(rate), {})[str(point.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    print(f"wrote {OUT / 'runs.json'}; now: python benchmarks/preference_sources_tables.py")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/preference_sources.py (the tables: "
            "python benchmarks/preference_sources_tables.py)"
        )
    main()
