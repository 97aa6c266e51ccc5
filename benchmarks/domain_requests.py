"""A new domain kept through instruction tuning: requests about it in the instruction data.

benchmarks/stages.py finds that instruction tuning after continued pretraining loses the cipher
domain the earlier stage added, when nothing in the instruction data is about it, and that
instruction tuning alone cannot answer cipher requests the model never read about. Both are true
of data that leaves the domain out. Here the instruction data carries it: the recipe's requests
plus as many cipher requests per cipher task as it has per toy-web task
(`snippets/instruction_tuning.py --domain-requests`), three seeds, the snippets' page settings:

- instruction tuning with cipher requests, from the base model (can requests alone add the domain?);
- continued pretraining (a quarter old text), then instruction tuning with cipher requests (does
  the later stage keep the domain when its data is about it?).

Every model is measured as the stages benchmark measures its rows (atlas.stages.measure: the cipher
and the toy web's tasks, few-shot, as facts and asked by instruction, on held-out words); the
tables step puts them beside stages' rows, read from stages/stages.json (the same seeds and
settings, so the continued-pretraining models are the same: checked, `same_start`).

    python benchmarks/domain_requests.py         # the runs: ~12 min on 2 cores
    python benchmarks/domain_requests_tables.py  # summary and table from runs.json, in seconds

Writes docs/generated/domain_requests/runs.json; the tables script (which this one never runs or
names, so editing the table reruns only it) writes summary.json and which_stage.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import BASE_MODEL_DIR, GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, read_model, run_points  # noqa: E402

OUT = GENERATED_DIR / "domain_requests"
PER_TASK = 700  # cipher requests per cipher task: as many as the recipe has per toy-web task
CPT = "continued pretraining only"  # stages' row: the same runs as this benchmark's first stage
ROWS = {
    "instruction tuning with cipher requests": "base",
    "continued pretraining, then instruction tuning with cipher requests": "continued",
}


def measured(model_dir: str) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from atlas import stages

    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    return stages.measure(AutoModelForCausalLM.from_pretrained(model_dir), tokenizer)[0]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        continued = [
            Point("continued_pretraining", ("--mix", "0.25"), seed, key=("cpt", seed))
            for seed in SEEDS
        ]
        starts = {"base": {s: str(BASE_MODEL_DIR) for s in SEEDS}}
        starts["continued"] = {
            p.seed: r["model"]
            for p, r in zip(continued, run_points(continued, read_model, tmp / "cpt"))
        }
        points = [
            Point(
                "instruction_tuning",
                (
                    "--model",
                    starts[start][seed],
                    "--domain-requests",
                    str(PER_TASK),
                    "--eval-words",
                    "1",
                ),
                seed,
                key=(row, seed),
            )
            for row, start in ROWS.items()
            for seed in SEEDS
        ]
        tuned = run_points(points, read_model, tmp / "it")
        # what each model can do, in this process after every timed run (as benchmarks/stages.py)
        runs: dict = {CPT: {str(s): measured(starts["continued"][s]) for s in SEEDS}}
        for point, result in zip(points, tuned):
            runs.setdefault(point.key[0], {})[str(point.seed)] = measured(result["model"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    print(f"wrote {OUT / 'runs.json'}; now: python benchmarks/domain_requests_tables.py")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/domain_requests.py (the table: "
            "python benchmarks/domain_requests_tables.py)"
        )
    main()
