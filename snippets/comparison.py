"""The comparison: every technique of the core question side by side, from the results its own
snippet wrote (run those first; this script trains nothing).

Rows are techniques, columns the same measurements for each: what it costs (trainable parameters,
training seconds on a 2-core CPU) and what the model can do afterwards, by input presentation.

    python snippets/comparison.py
"""
# ci-args: --results-dir {tmp}/results

import json
from pathlib import Path

from atlas.toy import world

from atlas import CHECKOUT, GENERATED_DIR, cli
from atlas.comparison import COLUMNS, columns
from atlas.tables import markdown_table, percent

parser = cli.parser(__doc__, results="comparison")
parser.add_argument(
    "--generated-dir",
    type=str,
    # in a checkout, the site's published results; installed, the reader's own runs (runs/)
    default=GENERATED_DIR if CHECKOUT else cli.RUNS_DIR,
    help="where the technique snippets wrote",
)
args = cli.parse(parser)
generated = Path(args.generated_dir).expanduser()
empty = not str(args.generated_dir).strip()
if empty or not generated.is_dir():
    what = "is empty" if empty else "is not a folder"
    parser.error(
        f"--generated-dir {str(args.generated_dir)!r} {what}: give the folder the technique "
        "snippets wrote their results into (the parent of their --results-dir)"
    )

# The heavy imports come after the arguments, so --help and a typo answer at once.
from atlas import MissingFile
from atlas.evaluation import trivial_baselines
from atlas.plots import plot_comparison


class Results(dict):
    """A results file's contents: a key it lacks names the file and the snippet to rerun."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text())
        except ValueError as error:
            data = error
        if not isinstance(data, dict):
            raise MissingFile(f"{path} is not a whole JSON object ({data}): {self.rerun}")
        super().__init__(data)

    @property
    def rerun(self) -> str:
        return f"run the snippet (or notebook) that writes {self.path.parent.name}/ again"

    def __missing__(self, key):
        raise MissingFile(f"{self.path} has no {key!r}: it is incomplete or older; {self.rerun}")


def load(relative: str) -> Results:
    path = generated / relative
    if not path.is_file():
        raise MissingFile(
            f"{path} is missing: run the snippet (or notebook) that writes "
            f"{path.parent.name}/ first (`python tools/update_generated.py --list` names it)"
        )
    return Results(path)


# --8<-- [start:rows]
TARGET = load("single_task_finetuning/single_task_training.json")["task"]  # "spell"
NOT_TRAINED = {"trainable_parameters": 0, "seconds": 0.0}
NA_NO_INSTRUCTION = "n/a (examples only)"
NA_NO_EXAMPLES = "n/a (no examples)"
NA_CANNOT_GENERATE = "n/a (labels only, no text)"
head = load("classification_head/classification_head_training.json")


def trained(folder: str, name: str) -> dict:
    """Cost and accuracy columns of a model a snippet fine-tuned and evaluated."""
    return {
        **load(f"{folder}/{name}_training.json"),
        **load(f"{folder}/{name}_timing.json"),
        **columns(load(f"{folder}/{name}.json")["by_task"], TARGET),
    }


base = columns(load("pretraining/base_model.json")["by_task"], TARGET)
rows = {
    "base model, zero-shot": {**NOT_TRAINED, **base, "few_shot": NA_NO_EXAMPLES},
    "base model, few-shot": {
        **NOT_TRAINED,
        **{k: NA_NO_INSTRUCTION for k in COLUMNS},
        "few_shot": base["few_shot"],
    },
    "single-task fine-tuning": {**trained("single_task_finetuning", "single_task")},
    "classification head": {
        **NOT_TRAINED,
        **head,
        **load("classification_head/classification_head_timing.json"),
        **{k: NA_CANNOT_GENERATE for k in COLUMNS},
        "target_bare": f"{percent(head['accuracy'])} (its own task, {head['task']}, as a label)",
    },
    "hybrid (one task, with instructions)": {**trained("hybrid_finetuning", "hybrid")},
    "instruction tuning (FLAN style)": {**trained("instruction_tuning", "instruction_tuned")},
    "same data, no template": {**trained("instruction_tuning", "no_template")},
    "same data, task tag": {**trained("instruction_tuning", "task_tag")},
    # Parameter-efficient: the same rows and budget as a row above, most of the model frozen
    "LoRA r=8 (single-task rows)": {**trained("peft_finetuning", "lora_spell")},
    "LoRA r=8 (instruction-tuning rows)": {**trained("peft_finetuning", "lora_flan")},
    "prompt tuning (single-task rows)": {**trained("prompt_tuning", "prompt_text_spell")},
    "prefix tuning (single-task rows)": {**trained("prefix_tuning", "prefix_spell")},
    # The stages around instruction tuning: raw domain text before it, preference pairs after it
    "continued pretraining (domain text)": {**trained("continued_pretraining", "continued")},
    "DPO after instruction tuning (beta 0.1)": {**trained("dpo", "dpo_beta0.1")},
}
# Two answers that need no model, scored by the same harness on the same words: each task's most
# frequent answer (on the count cluster, a handful of digits, it scores half) and the input copied.
for name, result in trivial_baselines().items():
    rows[f"no model: {name}"] = {**NOT_TRAINED, **columns(result.by_task(), TARGET)}
# --8<-- [end:rows]


def cell(value) -> str:
    if value is None:
        return "not measured"
    return value if isinstance(value, str) else percent(value)


# --8<-- [start:table]
header = ["technique", "trainable parameters", "training seconds", *COLUMNS.values()]
table = markdown_table(
    header,
    [
        [
            name,
            f"{row['trainable_parameters']:,}",
            f"{row['seconds']:.0f}" if row["seconds"] else "none",
            *(cell(row[k]) for k in COLUMNS),
        ]
        for name, row in rows.items()
    ],
)
print(table)
# --8<-- [end:table]

# --8<-- [start:flan]
# FLAN's ablation: the same words and answers, presented three ways in training. Each model is asked
# in its own training format and by instruction, on seen tasks and on the held-out cluster.
held_out = world.CLUSTERS[world.HELD_OUT_CLUSTER]
own_format = {"instruction_tuned": "instruction", "no_template": "bare", "task_tag": "tag"}
flan_rows = []
for name, label in [
    ("instruction_tuned", "instructions"),
    ("no_template", "no template (bare input)"),
    ("task_tag", "a task tag (`[reverse] kitab`)"),
]:
    by_task = load(f"instruction_tuning/{name}.json")["by_task"]
    seen = [t for t in by_task if t not in held_out]

    def mean(tasks, condition):
        return sum(by_task[t][condition] for t in tasks) / len(tasks)

    cells = [
        mean(seen, own_format[name]),
        mean(seen, "instruction"),
        mean(held_out, own_format[name]),
        mean(held_out, "instruction"),
    ]
    flan_rows.append([label, *(percent(c) for c in cells)])
flan_table = markdown_table(
    [
        "trained with",
        "seen tasks, asked in the training format",
        "seen tasks, asked by instruction",
        "held-out cluster, asked in the training format",
        "held-out cluster, asked by instruction",
    ],
    flan_rows,
)
print(flan_table)
# --8<-- [end:flan]

results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / "comparison.md").write_text(table)
(results / "flan_ablation.md").write_text(flan_table)
(results / "comparison.json").write_text(
    json.dumps({"target_task": TARGET, "rows": rows}, indent=1) + "\n"
)
plotted = {
    k: COLUMNS[k]
    for k in ("target_instruction", "other_seen_instruction", "held_out_cluster", "few_shot")
}
plot_comparison(
    {n: {k: r[k] for k in plotted} for n, r in rows.items() if not n.startswith("no model")},
    plotted,
    results / "comparison.png",
    title=f"What each technique leaves the model able to do (target task: {TARGET})",
)
