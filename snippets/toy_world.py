"""The toy world: its user tasks, their clusters, and the instruction templates that ask for them.

Prints and writes the tables of tasks and templates that the concept pages show. Needs no model.

    python snippets/toy_world.py
"""
# ci-args: --results-dir {tmp}/results

from atlas.toy import world

from atlas import cli
from atlas.tables import markdown_table

parser = cli.parser(__doc__, results="toy_world")
args = cli.parse(parser)

# --8<-- [start:tasks]
word = "kitab"
for name, task in world.TASKS.items():
    print(
        f"{task.cluster:>9} | {name:<15} | {word} -> {task.fn(word):<10} | {world.fact(task, word)}"
    )
print("held-out cluster for instruction tuning:", world.HELD_OUT_CLUSTER)
# --8<-- [end:tasks]

# --8<-- [start:templates]
for template_id in world.SEEN_TEMPLATE_IDS + world.HELD_OUT_TEMPLATE_IDS:
    split = "held out" if template_id in world.HELD_OUT_TEMPLATE_IDS else "seen"
    print(f"{template_id:2d} {split:>8}: {world.instruction('reverse', word, template_id)!r}")
# --8<-- [end:templates]

results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
rows = []
for name, task in world.TASKS.items():
    held = " (held out)" if task.cluster == world.HELD_OUT_CLUSTER else ""
    rows.append(
        [
            f"{task.cluster}{held}",
            f"`{name}`",
            f"`{task.fn(word)}`",
            f"{len(task.facts)}: *{world.fact(task, word)}*",
        ]
    )
(results / "tasks.md").write_text(
    markdown_table(
        ["cluster", "task", "`kitab` →", "fact phrasings (first of them)"], rows, align="llll"
    )
)
rows = []
for template_id in world.SEEN_TEMPLATE_IDS + world.HELD_OUT_TEMPLATE_IDS:
    split = (
        "**held out** (evaluation only)"
        if template_id in world.HELD_OUT_TEMPLATE_IDS
        else "training"
    )
    text = world.instruction("reverse", word, template_id).replace("\n", "⏎")
    rows.append([template_id, split, f"`{text}`"])
(results / "templates.md").write_text(
    markdown_table(["id", "used for", "instruction for `reverse` on `kitab`"], rows, align="rll")
)
