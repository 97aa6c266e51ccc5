"""The table of benchmarks/made_up_nouns.py, from its runs.json (seconds, trains nothing).

Writes docs/generated/made_up_nouns/: summary.json (the figures and what
docs/techniques/instruction-tuning.md#made-up-nouns reads off them, checked by
tests/test_instruction_tuning.py) and nouns.md.

    python benchmarks/made_up_nouns_tables.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import world  # noqa: E402

from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import differs  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "made_up_nouns"
HELD_OUT = world.CLUSTERS[world.HELD_OUT_CLUSTER]
COLUMNS = {  # figure -> (tasks, condition, header)
    "seen": ("seen", "instruction", "seen tasks, training templates"),
    "held_out_templates": ("seen", "instruction_held_out", "seen tasks, held-out templates"),
    "held_out_cluster": ("held_out", "instruction", "held-out cluster, by instruction"),
    "few_shot": ("all", "few_shot", "few-shot, all tasks"),
}


def figures(by_task: dict) -> dict[str, float]:
    tasks = {
        "seen": [t for t in by_task if t not in HELD_OUT],
        "held_out": [t for t in by_task if t in HELD_OUT],
        "all": list(by_task),
    }
    out = {
        key: sum(by_task[t][condition] for t in tasks[group]) / len(tasks[group])
        for key, (group, condition, _) in COLUMNS.items()
    }
    # what carries over to new wordings, as a share of what the training wordings get
    out["kept_on_new_wordings"] = out["held_out_templates"] / out["seen"] if out["seen"] else 0.0
    return out


def main() -> None:
    runs = json.loads((OUT / "runs.json").read_text())
    variants = {}
    for variant, by_seed in runs["runs"].items():
        per_seed = [figures(r["by_task"]) for r in by_seed.values()]
        variants[variant] = {
            "figures": {k: ranged([f[k] for f in per_seed]) for k in per_seed[0]},
            "final_loss": ranged([r["final_loss"] for r in by_seed.values()]),
            "asked": next(iter(by_seed.values()))["asked"],
        }
    real, made_up = variants["real nouns"]["figures"], variants["made-up nouns"]["figures"]

    def compare(key: str) -> dict:
        return {
            "real": real[key]["mean"],
            "made_up": made_up[key]["mean"],
            "differs": differs(real[key]["values"], made_up[key]["values"]),
        }

    summary = {
        "nouns": runs["nouns"],
        "seeds": len(next(iter(runs["runs"].values()))),
        "variants": variants,
        "reading": {key: compare(key) for key in (*COLUMNS, "kept_on_new_wordings")},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    header = ["the tasks are named by", "asked, for example", *(h for *_, h in COLUMNS.values())]
    header.append("final training loss")
    rows = []
    for variant, v in variants.items():
        example = v["asked"]["reverse"].strip().replace("\n", " ")
        rows.append(
            [
                variant,
                f"`{example}`",
                *(spread(v["figures"][k]["values"]) for k in COLUMNS),
                spread(v["final_loss"]["values"], scale=1, digits=3),
            ]
        )
    align = "ll" + "r" * (len(header) - 2)
    (OUT / "nouns.md").write_text(markdown_table(header, rows, align=align))
    print((OUT / "nouns.md").read_text())


if __name__ == "__main__":
    main()
