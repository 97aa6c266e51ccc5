"""Does an instruction transfer because its words come from pretraining? Made-up task nouns.

The instruction-tuned model answers seen tasks asked in wordings it never trained on (held-out
templates), and the tag model does not. One explanation: an instruction names the operation in
the words the pretraining text used for it ("the reverse of kitab is batik"), so the model can
read a new wording through what it already knew. Here every task's noun is replaced by a made-up
word that pretraining never saw (a word of the evaluation share, which no training text holds),
in the training instructions and in the evaluation alike: "What is the zuvok of kitab?". If the
explanation holds, those instructions transfer to the held-out templates worse than the real
nouns do, and the held-out cluster (named by nouns it was never taught) is not answered at all.

Both variants train exactly as snippets/instruction_tuning.py's page recipe (atlas.jobs'
flan rows: eleven tasks by 24 templates, a quarter replay text, 300 steps of 32 at 2e-3,
atlas.training.sft_config), three seeds each, and are measured on the harness's grid (by
instruction, seen and held-out templates, and few-shot), the nouns swapped in the prompts of
the made-up variant.

    python benchmarks/made_up_nouns.py          # ~10 min on 2 cores
    python benchmarks/made_up_nouns_tables.py   # summary and table from runs.json, in seconds

Writes docs/generated/made_up_nouns/runs.json; the tables script writes summary.json and
nouns.md.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.toy import data, world  # noqa: E402

from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import SEEDS, THREADS_PER_RUN, WORKERS  # noqa: E402

OUT = GENERATED_DIR / "made_up_nouns"
VARIANTS = ("real nouns", "made-up nouns")
CONDITIONS = ("instruction", "instruction_held_out", "few_shot")
NOUN_SEED = 31  # the draw of made-up nouns


def made_up_nouns() -> dict[str, str]:
    """One made-up noun per task: words of the evaluation share (never in any training text),
    none of them a word the evaluation or validation grids ask about."""
    asked = set(world.words("eval", 80, seed=0)) | set(world.words("eval", 80, seed=1))
    candidates = [w for w in world.words("eval", 200, seed=NOUN_SEED) if len(w) >= 5]
    nouns = [w for w in candidates if w not in asked][: len(world.TASKS)]
    return dict(zip(world.TASKS, nouns))


def nouns_of(variant: str) -> dict[str, str]:
    if variant == "real nouns":
        return {name: task.noun for name, task in world.TASKS.items()}
    return made_up_nouns()


def training_rows(seed: int, nouns: dict[str, str]) -> list[dict]:
    """atlas.jobs.training_rows("flan", seed), each instruction naming its task by `nouns`
    (the real nouns give exactly those rows: tests/test_instruction_tuning.py checks)."""
    train_tasks = [n for n, t in world.TASKS.items() if t.cluster != world.HELD_OUT_CLUSTER]
    examples = data.instructions(
        train_tasks, n_per_task=700, seed=seed, template_ids=world.SEEN_TEMPLATE_IDS
    )
    rows = [
        {
            "prompt": world.INSTRUCTION_TEMPLATES[e["template_id"]].format(
                noun=nouns[e["task"]], x=e["input"]
            )
            + "\n",
            "completion": e["output"],
        }
        for e in examples
    ]
    n_replay = round(len(rows) * 0.25 / (1 - 0.25))  # a quarter of the rows: pretraining text
    rows += [{"prompt": "", "completion": r["text"]} for r in data.replay_text(n_replay, seed=seed)]
    random.Random(seed).shuffle(rows)
    return rows


def renamed(example, nouns: dict[str, str]):
    """The example asked with its task's noun from `nouns` (instruction prompts name the task
    once; few-shot prompts never do)."""
    noun = world.TASKS[example.task].noun
    if example.condition == "few_shot":
        return example
    if example.prompt.count(noun) != 1:
        raise ValueError(f"{example.prompt!r} names {noun!r} not exactly once")
    example.prompt = example.prompt.replace(noun, nouns[example.task])
    return example


def one(variant: str, seed: int, out: Path) -> None:
    """Train one model and measure it; the figures go to `out` (a run of its own process)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from atlas import BASE_MODEL_DIR
    from atlas.evaluation import build_examples, evaluate_examples
    from atlas.jobs import JOBS
    from atlas.training import sft_config, train

    nouns = nouns_of(variant)
    job = JOBS["flan"]
    model = AutoModelForCausalLM.from_pretrained(BASE_MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = SFTTrainer(
            model=model,
            args=sft_config(tmp, job.steps, job.full_learning_rate, seed),
            train_dataset=Dataset.from_list(training_rows(seed, nouns)),
            processing_class=tokenizer,
        )
        stats = train(trainer)
    trainer.model.eval()
    examples = [renamed(e, nouns) for e in build_examples(tokenizer, CONDITIONS)]
    result = evaluate_examples(trainer.model, tokenizer, examples)
    out.write_text(
        json.dumps(
            {
                "final_loss": stats["final_loss"],
                "seconds": stats["seconds"],
                "by_task": result.by_task(),
                "asked": {e.task: e.prompt for e in examples if e.condition == "instruction"},
            }
        )
    )


def main() -> None:
    from atlas.runs import run_script

    points = [(variant, seed) for variant in VARIANTS for seed in SEEDS]
    with tempfile.TemporaryDirectory() as tmp:

        def go(point: tuple[str, int]) -> dict:
            variant, seed = point
            out = Path(tmp) / f"{VARIANTS.index(variant)}-{seed}.json"
            run = run_script(
                Path(__file__), ["--one", variant, str(seed), str(out)], threads=THREADS_PER_RUN
            )
            if run["returncode"]:
                raise SystemExit(f"{variant}, seed {seed} failed:\n{run['stderr'][-3000:]}")
            print(variant, seed, f"{run['seconds']} s", flush=True)
            return {**json.loads(out.read_text()), "peak_mib": run["peak_mib"]}

        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(go, points))
    runs: dict = {"nouns": {v: nouns_of(v) for v in VARIANTS}, "runs": {}}
    for (variant, seed), result in zip(points, results):
        runs["runs"].setdefault(variant, {})[str(seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"] and len(sys.argv) == 5:
        one(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    elif sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/made_up_nouns.py (the table: "
            "python benchmarks/made_up_nouns_tables.py)"
        )
    else:
        main()
