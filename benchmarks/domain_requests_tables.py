"""The table of benchmarks/domain_requests.py, from its runs.json beside the stages benchmark's rows
(stages/stages.json). It trains nothing and runs in seconds; the runs' script never runs this one,
so editing the table here leaves the runs' figures current.

    python benchmarks/domain_requests_tables.py

Writes docs/generated/domain_requests/: summary.json, which_stage.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from benchmarks.domain_requests import CPT, OUT, PER_TASK, ROWS  # noqa: E402

KEYS = ["domain_few_shot", "domain_instruction", "general_instruction", "general_few_shot"]


def write_tables(runs: dict) -> None:
    """summary.json and the table: stages' rows (data without the domain), then these."""
    from atlas.stages import MEASURES

    stages = json.loads((GENERATED_DIR / "stages" / "stages.json").read_text())["which_stage"]
    rows = {
        **{label: seeds for label, seeds in stages.items()},
        **{label: [runs[label][str(s)] for s in SEEDS] for label in ROWS},
    }
    summary = {
        "per_task": PER_TASK,
        "same_start": all(runs[CPT][str(s)] == stages[CPT][i] for i, s in enumerate(SEEDS)),
        "rows": {
            label: {k: ranged([r[k] for r in seeds]) for k in MEASURES}
            for label, seeds in rows.items()
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (OUT / "which_stage.md").write_text(
        markdown_table(
            ["model", *(MEASURES[k] for k in KEYS)],
            [
                [label, *(spread([r[k] for r in seeds]) for k in KEYS)]
                for label, seeds in rows.items()
            ],
        )
    )
    print((OUT / "which_stage.md").read_text())


if __name__ == "__main__":
    write_tables(json.loads((OUT / "runs.json").read_text()))
