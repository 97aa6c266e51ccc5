"""Datasets: one example in the eight shapes that exist in the wild.

Builds every dataset shape of the toy world as a JSONL file, loads each with
`datasets.load_dataset("json", ...)`, and writes the page's side-by-side view of the same example
("reverse this word") in all eight shapes. Needs no model.

    python snippets/dataset_shapes.py
"""
# ci-args: --data-dir {tmp}/data --results-dir {tmp}/results

import json
from pathlib import Path

from atlas.toy import data, world

from atlas import ROOT, cli

parser = cli.parser(__doc__, results="dataset_shapes")
parser.add_argument(
    "--data-dir",
    type=Path,
    default=ROOT / "data" / "shapes",
    help="where the JSONL files are written",
)
args = cli.parse(parser)

# --8<-- [start:same_example]
# One user task on one word, written in each shape.
task, word = world.get_task("reverse"), "kitab"
question = world.instruction(task, word, template_id=2)  # "Write the reverse of: kitab"
other = world.get_task("sort")  # a plausible mistake: the wrong operation of the same cluster

same_example = {
    "raw_text": {"text": world.fact(task, word, phrasing=0)},
    "domain_text": {"text": world.fact(world.DOMAIN_TASKS["mirror"], word)},
    "classification": {
        "text": word,
        "label": data.label_names().index(world.answer("vowel_count", word)),
    },
    "pairs": {"input": word, "output": task.fn(word)},
    "instructions": {"instruction": question, "input": word, "output": task.fn(word)},
    "chat": {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": task.fn(word)},
        ]
    },
    "preferences": {"prompt": question, "chosen": task.fn(word), "rejected": other.fn(word)},
    # one answer and a thumbs down: no second answer to compare it with
    "feedback": {"prompt": question, "completion": other.fn(word), "label": False},
}
for shape, record in same_example.items():
    print(f"{shape:>15}: {json.dumps(record)}")
# --8<-- [end:same_example]

# --8<-- [start:build]
# The real files: each built by the toy world's deterministic builder, then loaded with `datasets`.
seen_tasks = [t for t in world.TASKS if world.get_task(t).cluster != world.HELD_OUT_CLUSTER]
builders = {
    "raw_text": lambda: data.toy_web(2000),
    "domain_text": lambda: data.domain_text(500),
    "classification": lambda: data.classification(1000),
    "pairs": lambda: data.pairs("reverse", 1000),
    "instructions": lambda: data.instructions(seen_tasks, 100),
    "chat": lambda: data.chat(seen_tasks, 100),
    "preferences": lambda: data.preferences(seen_tasks, 100),
    "feedback": lambda: data.feedback(seen_tasks, 100),
}
loaded = {}
for shape, build in builders.items():
    path = data.write_jsonl(build(), Path(args.data_dir) / f"{shape}.jsonl")
    loaded[shape] = data.load_shape(path, shape)  # datasets.load_dataset("json") + a column check
    print(f"{shape:>15}: {loaded[shape].num_rows:5d} rows, columns {loaded[shape].column_names}")
# --8<-- [end:build]

# The page's tabs: the same example in every shape, then the first row of each real file.
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
tabs = []
for shape, record in same_example.items():
    first_row = json.dumps(loaded[shape][0], ensure_ascii=False)
    tabs.append(
        f'=== "{shape}"\n\n'
        f"    The example (`{task.name}` on `{word}`):\n\n"
        f"    ```json\n    {json.dumps(record, ensure_ascii=False)}\n    ```\n\n"
        f"    First row of `{shape}.jsonl` ({loaded[shape].num_rows} rows, columns "
        f"{', '.join(f'`{c}`' for c in loaded[shape].column_names)}):\n\n"
        f"    ```json\n    {first_row}\n    ```\n"
    )
# One set of tabs for the first seven shapes; the unpaired preferences KTO trains on get their own.
paired = [shape for shape in loaded if shape != "feedback"]
for name, shapes in (("shapes", paired), ("unpaired", ["feedback"])):
    (results / f"{name}.md").write_text("\n".join(tabs[list(loaded).index(s)] for s in shapes))
    (results / f"{name}.json").write_text(
        json.dumps(
            {s: {"rows": loaded[s].num_rows, "columns": loaded[s].column_names} for s in shapes},
            indent=1,
        )
        + "\n"
    )
