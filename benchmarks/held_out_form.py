"""Well-formed or right: what instruction-tuned models answer on the cluster they never trained on.

Exact match on the held-out *count* cluster mixes two things: answering with a number at all (the
form of a count) and counting right. A model that answered every counting request with a number
and guessed would score about what a constant answer scores. So each instruction-tuned model of
the page's recipe (`snippets/instruction_tuning.py`, its defaults, three seeds) and the base model
are asked the cluster's tasks, and every answer is sorted: a number alone, a number followed by
more (which exact match counts wrong even when the number is right), or no number; the right
answer or not, and the right number first or not; with no number, another task's answer for the
word (the model did a task it knows instead) or anything else.

    python benchmarks/held_out_form.py         # the runs: ~6 min on 2 cores
    python benchmarks/held_out_form_tables.py  # summary and table from runs.json, in seconds

Writes docs/generated/held_out_form/runs.json; the tables script (which this one never runs or
names) writes summary.json and form.md.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import world  # noqa: E402

from atlas import BASE_MODEL_DIR, GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, Point, read_model, run_points  # noqa: E402

OUT = GENERATED_DIR / "held_out_form"
CONDITIONS = ("instruction", "instruction_held_out", "few_shot")
NUMBER = r"[0-9]+"  # the form of every answer of the count cluster
EXAMPLES_KEPT = 4  # answers kept per task, condition and model, to show on the page


def sorted_answers(model_dir: str) -> dict:
    """Per condition and held-out task: how many answers, how many are numbers, right, another
    task's answer for the word; and the first few answers as given."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from atlas.evaluation import evaluate

    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tasks = world.CLUSTERS[world.HELD_OUT_CLUSTER]
    result = evaluate(model, tokenizer, conditions=CONDITIONS, tasks=tasks)
    counts = ("answers", "numbers", "number_then_more", "right", "right_number_first", "other_task")
    out: dict = {}
    for e in result.examples:
        cell = out.setdefault(e.condition, {}).setdefault(
            e.task, {**dict.fromkeys(counts, 0), "examples": []}
        )
        given = e.prediction or ""
        first = re.match(NUMBER, given)  # a number the answer starts with ("5 i" -> 5)
        number = re.fullmatch(NUMBER, given) is not None
        others = {world.answer(t, e.word) for t in world.TASKS if t != e.task}
        cell["answers"] += 1
        cell["numbers"] += number  # the answer's form: a number and nothing else
        cell["number_then_more"] += first is not None and not number
        cell["right"] += e.correct  # exact match, as every accuracy on the site
        cell["right_number_first"] += first is not None and first.group() == e.answer
        # another task's answer (a count of another kind is a number, so it is not this)
        cell["other_task"] += first is None and given in others
        if len(cell["examples"]) < EXAMPLES_KEPT:
            cell["examples"].append([e.word, e.answer, e.prediction])
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        points = [
            Point("instruction_tuning", ("--eval-words", "1"), seed, key=seed) for seed in SEEDS
        ]
        tuned = run_points(points, read_model, Path(tmp_name))
        runs: dict = {"base model": {"0": sorted_answers(str(BASE_MODEL_DIR))}}
        # measured in this process after every timed run (as benchmarks/stages.py)
        runs["instruction-tuned"] = {
            str(p.seed): sorted_answers(r["model"]) for p, r in zip(points, tuned)
        }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    print(f"wrote {OUT / 'runs.json'}; now: python benchmarks/held_out_form_tables.py")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/held_out_form.py (the table: "
            "python benchmarks/held_out_form_tables.py)"
        )
    main()
