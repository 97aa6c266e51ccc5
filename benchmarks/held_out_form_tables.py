"""The tables of benchmarks/held_out_form.py, from its runs.json. It trains nothing and runs in
seconds; the runs' script never runs this one, so editing a table leaves the runs' figures current.

    python benchmarks/held_out_form_tables.py

Writes docs/generated/held_out_form/: summary.json, form.md, examples.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import world  # noqa: E402

from atlas.evaluation import trivial_baselines  # noqa: E402
from atlas.site.summaries import ranged, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402
from benchmarks.held_out_form import NUMBER, OUT  # noqa: E402

ROWS = {  # row -> (model, condition)
    "base model, by instruction": ("base model", "instruction"),
    "base model, few-shot": ("base model", "few_shot"),
    "instruction-tuned, by instruction": ("instruction-tuned", "instruction"),
    "instruction-tuned, held-out templates": ("instruction-tuned", "instruction_held_out"),
    "instruction-tuned, few-shot": ("instruction-tuned", "few_shot"),
}
SHARES = {  # figure -> header
    "numbers": "a number alone",
    "number_then_more": "a number, then more",
    "right": "right (exact match)",
    "right_number_first": "the right number, alone or first",
    "right_of_numbers": "right, of the answers that are a number alone",
    "other_task": "another task's answer for the word",
}
COUNTS = ("answers", "numbers", "number_then_more", "right", "right_number_first", "other_task")


def shares(cells: dict) -> dict:
    """One model's shares over every task of the cluster (as many answers per task, so the pooled
    share is the mean over tasks, as every column of the site)."""
    total = {k: sum(c[k] for c in cells.values()) for k in COUNTS}
    out = {k: total[k] / total["answers"] for k in COUNTS if k != "answers"}
    out["right_of_numbers"] = total["right"] / total["numbers"] if total["numbers"] else None
    return out


def cell(figure: dict | None, seeds: int) -> str:
    """mean (min-max) over the seeds; a share of the numbers only over the seeds that gave one."""
    if figure is None:
        return "no number given"
    values = figure["values"]
    text = spread(values) if len(values) > 1 else f"{100 * values[0]:.0f}"
    if len(values) < seeds:
        text += f" (the {len(values)} seeds that gave a number)"
    return text


def what(word: str, given: str) -> str:
    """What an answer is: a number, or which known task's answer for the word it equals."""
    if re.fullmatch(NUMBER, given):
        return "a number"
    if re.match(NUMBER, given):
        return "a number, then more"
    tasks = [t for t in world.TASKS if world.answer(t, word) == given]
    return f"the word's {world.get_task(tasks[0]).noun} (*{tasks[0]}*)" if tasks else "other"


def main() -> None:
    runs = json.loads((OUT / "runs.json").read_text())
    rows: dict = {}
    for label, (model, condition) in ROWS.items():
        per_seed = [shares(seeds[condition]) for seeds in runs[model].values()]
        rows[label] = {"seeds": len(per_seed)}
        for k in SHARES:
            values = [s[k] for s in per_seed if s[k] is not None]
            rows[label][k] = ranged(values) if values else None
    constant = trivial_baselines(("instruction",))["constant answer"]
    right = constant.by_cluster()[world.HELD_OUT_CLUSTER]["instruction"]
    rows["constant answer (no model)"] = {
        "seeds": 1,
        "numbers": ranged([1.0]),
        "number_then_more": ranged([0.0]),
        "right": ranged([right]),
        "right_number_first": ranged([right]),
        "right_of_numbers": ranged([right]),
        "other_task": ranged([0.0]),
    }
    table = [[label, *(cell(row[k], row["seeds"]) for k in SHARES)] for label, row in rows.items()]
    (OUT / "form.md").write_text(markdown_table(["model, asked", *SHARES.values()], table))
    seed0 = runs["instruction-tuned"]["0"]["instruction"]
    examples = [
        [task, f"`{word}`", f"`{expected}`", f"`{given}`" if given else "-", what(word, given)]
        for task, cells in seed0.items()
        for word, expected, given in cells["examples"]
    ]
    header = ["task asked", "word", "right answer", "the model's answer", "what it is"]
    (OUT / "examples.md").write_text(markdown_table(header, examples, "lllll"))
    summary = {
        "cluster": world.HELD_OUT_CLUSTER,
        "tasks": world.CLUSTERS[world.HELD_OUT_CLUSTER],
        "rows": rows,
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print((OUT / "form.md").read_text())
    print((OUT / "examples.md").read_text())


if __name__ == "__main__":
    main()
