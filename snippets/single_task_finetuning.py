"""Single-task fine-tuning, no instruction: "normal" fine-tuning of a causal LM on input -> output pairs.

Fine-tunes the base model on pairs of one task (spelling a word out, "kitab" -> "k-i-t-a-b") given as
bare input: the word alone, never a word about the task. Then asks it, by instruction, for every
task and measures what it does.

    python snippets/single_task_finetuning.py
"""
# ci-args: --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model

import argparse
import json
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas import BASE_MODEL_DIR, GENERATED_DIR, data, world
from atlas.evaluation import asked_for_another_task, evaluate, shares_markdown
from atlas.plots import plot_loss
from atlas.training import save, sft_config, train, write_stats

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=str(BASE_MODEL_DIR))
parser.add_argument("--max-steps", type=int, default=150)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--eval-words", type=int, default=40, help="held-out words per task")
parser.add_argument("--output-dir", default="models/single-task")
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "single_task_finetuning"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook

# --8<-- [start:data]
TASK = "spell"  # "kitab" -> "k-i-t-a-b"
pairs = data.pairs(TASK, n=3000, seed=args.seed)  # {"input": "kitab", "output": "k-i-t-a-b"}
print(pairs[0])
# The prompt is the bare input; the completion is the answer. Nothing names the task.
rows = Dataset.from_list([{"prompt": world.bare_prompt(p["input"]), "completion": p["output"]} for p in pairs])
# --8<-- [end:data]

# --8<-- [start:train]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
trainer = SFTTrainer(
    model=model,
    args=sft_config(args.output_dir, max_steps=args.max_steps, learning_rate=1e-3, seed=args.seed),
    train_dataset=rows,
    processing_class=tokenizer,
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
result = evaluate(tuned, tokenizer, conditions=["bare", "instruction", "instruction_held_out", "few_shot"], n_words=args.eval_words)
print(result.cluster_markdown())

# Asked for *another* task by instruction, what does the model answer? A spelling, of something.
asked_other = asked_for_another_task(result, TASK, form=r"(\S-)+\S")  # a spelling: letters joined by "-"
print("asked for another task:", {k: f"{100 * v:.0f} %" for k, v in asked_other.items()})
# --8<-- [end:evaluate]

results = Path(args.results_dir)
result.save(results, "single_task")
write_stats(results, "single_task", stats, task=TASK, asked_for_another_task={k: round(v, 4) for k, v in asked_other.items()})
(results / "single_task_asked_other.md").write_text(shares_markdown(asked_other))
(results / "single_task_rows.json").write_text(json.dumps(rows.select(range(3)).to_list(), indent=1, ensure_ascii=False) + "\n")
plot_loss(stats["losses"], results / "loss.png", title=f"Single-task fine-tuning on {TASK}")
