"""The toy world: its user tasks, their clusters, and the instruction templates that ask for them.

Prints and writes the tables of tasks and templates that the concept pages show. Needs no model.

    python snippets/toy_world.py
"""
# ci-args: --results-dir {tmp}/results

import argparse
from pathlib import Path

from atlas import GENERATED_DIR, world

parser = argparse.ArgumentParser()
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "toy_world"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook

# --8<-- [start:tasks]
word = "kitab"
for name, task in world.TASKS.items():
    print(f"{task.cluster:>9} | {name:<15} | {word} -> {task.fn(word):<10} | {world.fact(task, word)}")
print("held-out cluster for instruction tuning:", world.HELD_OUT_CLUSTER)
# --8<-- [end:tasks]

# --8<-- [start:templates]
for template_id in world.SEEN_TEMPLATE_IDS + world.HELD_OUT_TEMPLATE_IDS:
    split = "held out" if template_id in world.HELD_OUT_TEMPLATE_IDS else "seen"
    print(f"{template_id:2d} {split:>8}: {world.instruction('reverse', word, template_id)!r}")
# --8<-- [end:templates]

results = Path(args.results_dir)
results.mkdir(parents=True, exist_ok=True)
rows = ["| cluster | task | `kitab` → | fact phrasings (first of them) |", "|---|---|---|---|"]
for name, task in world.TASKS.items():
    held = " (held out)" if task.cluster == world.HELD_OUT_CLUSTER else ""
    rows.append(f"| {task.cluster}{held} | `{name}` | `{task.fn(word)}` | {len(task.facts)}: *{world.fact(task, word)}* |")
(results / "tasks.md").write_text("\n".join(rows) + "\n")
rows = ["| id | used for | instruction for `reverse` on `kitab` |", "|---:|---|---|"]
for template_id in world.SEEN_TEMPLATE_IDS + world.HELD_OUT_TEMPLATE_IDS:
    split = "**held out** (evaluation only)" if template_id in world.HELD_OUT_TEMPLATE_IDS else "training"
    text = world.instruction("reverse", word, template_id).replace("\n", "⏎")
    rows.append(f"| {template_id} | {split} | `{text}` |")
(results / "templates.md").write_text("\n".join(rows) + "\n")
