"""Single-task fine-tuning: "normal" fine-tuning of a causal LM on input -> output pairs of a task.

Fine-tunes the base model on one task (spelling a word out, "kitab" -> "k-i-t-a-b"), then asks it,
by instruction, for every task and measures what it does. `--inputs` is how each training input is
presented, the one difference between two pages of the site:

    python snippets/single_task_finetuning.py                        # bare input: the word alone
    python snippets/single_task_finetuning.py --inputs instruction   # the hybrid: the word inside
                                                                     # an instruction, 24 templates
"""
# ci-args: --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --inputs instruction --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
from pathlib import Path

from atlas import BASE_MODEL_DIR, GENERATED_DIR, cli

parser = cli.parser(__doc__, results="")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--inputs",
    choices=["bare", "instruction"],
    default="bare",
    help="the word alone (single-task fine-tuning) or inside an instruction (the hybrid)",
)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=150, help="training steps of 32 rows"
)
parser.add_argument("--learning-rate", type=cli.positive, default=1e-3, help="peak learning rate")
parser.add_argument(
    "--seed", type=cli.seed, default=0, help="training words, data order and new weights"
)
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=40, help="held-out words per task"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=None,
    help="where the fine-tuned model is saved (default: models/single-task or models/hybrid)",
)
args = cli.parse(
    parser,
    by=(
        "inputs",
        {
            "bare": {
                "results_dir": GENERATED_DIR / "single_task_finetuning",
                "output_dir": "models/single-task",
            },
            "instruction": {
                "results_dir": GENERATED_DIR / "hybrid_finetuning",
                "output_dir": "models/hybrid",
            },
        },
    ),
)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.toy import data, world

from atlas.evaluation import asked_for_another_task, evaluate, shares_markdown
from atlas.plots import plot_loss
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:data]
TASK = "spell"  # "kitab" -> "k-i-t-a-b"
if args.inputs == "bare":  # single-task fine-tuning: the word alone; nothing names the task
    pairs = data.pairs(TASK, n=3000, seed=args.seed)  # {"input": "kitab", "output": "k-i-t-a-b"}
    rows = [{"prompt": world.bare_prompt(p["input"]), "completion": p["output"]} for p in pairs]
else:  # the hybrid: the word inside an instruction ("Write the spelling of: kitab"), one task only
    examples = data.instructions(
        [TASK], n_per_task=3000, seed=args.seed
    )  # the 24 training templates
    rows = [{"prompt": e["instruction"] + "\n", "completion": e["output"]} for e in examples]
rows = Dataset.from_list(rows)  # the prompt is the input as presented; the completion is the answer
print(rows[0])
# --8<-- [end:data]

# --8<-- [start:train]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
trainer = SFTTrainer(
    model=model,
    args=sft_config(
        args.output_dir, max_steps=args.max_steps, learning_rate=args.learning_rate, seed=args.seed
    ),
    train_dataset=rows,
    processing_class=tokenizer,
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
conditions = ["bare", "instruction", "instruction_held_out", "few_shot"]
result = evaluate(tuned, tokenizer, conditions=conditions, n_words=args.eval_words)
print(result.cluster_markdown())

# Asked for *another* task by instruction, does it follow the instruction or spell the word anyway?
asked_other = asked_for_another_task(
    result, TASK, form=r"(\S-)+\S"
)  # a spelling: letters joined by "-"
print("asked for another task:", {k: f"{100 * v:.0f} %" for k, v in asked_other.items()})
# --8<-- [end:evaluate]

NAME = {"bare": "single_task", "instruction": "hybrid"}[args.inputs]
results = args.results_dir
result.save(results, NAME)
write_stats(
    results,
    NAME,
    stats,
    task=TASK,
    asked_for_another_task={k: round(v, 4) for k, v in asked_other.items()},
)
(results / f"{NAME}_asked_other.md").write_text(shares_markdown(asked_other, TASK))
(results / f"{NAME}_rows.json").write_text(
    json.dumps(rows.select(range(3)).to_list(), indent=1, ensure_ascii=False) + "\n"
)
title = {
    "bare": f"Single-task fine-tuning on {TASK}",
    "instruction": f"Hybrid fine-tuning on {TASK} (with instructions)",
}
plot_loss(stats["losses"], results / "loss.png", title=title[args.inputs])
