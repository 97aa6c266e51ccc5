"""LoRA on a real model: one narrow task fine-tuned into SmolLM2-135M-Instruct, with and without
its instruction.

PEFT's LoRA trains small low-rank matrices beside the attention projections and freezes the rest.
The task is a review's sentiment ("The meal was superb." -> "positive"), given either as bare
input -> output pairs (single-task fine-tuning) or with each example's instruction inside the
model's chat template (the hybrid). Before and after, the one evaluation harness measures the task
and the model's other tasks asked through its chat template (atlas/english.py): does fine-tuning on
one task erase instruction following, and does keeping the instruction and template protect it?

    python snippets/lora_finetuning.py                  # bare input -> output pairs
    python snippets/lora_finetuning.py --inputs chat    # instruction inside the chat template
"""
# ci-args: --max-steps 4 --eval-reviews 8 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --inputs chat --max-steps 4 --eval-reviews 8 --results-dir {tmp}/results --output-dir {tmp}/model

import argparse
import json
from dataclasses import replace
from pathlib import Path

from datasets import Dataset
from peft import AutoPeftModelForCausalLM, LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas import GENERATED_DIR, english
from atlas.evaluation import evaluate_examples
from atlas.plots import plot_loss
from atlas.real_model import smollm2
from atlas.training import save, sft_config, train, write_stats

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None, help="a model directory or Hub id (default: SmolLM2-135M-Instruct)")
parser.add_argument("--inputs", choices=["bare", "chat"], default="bare")
parser.add_argument("--max-steps", type=int, default=24)
parser.add_argument("--eval-reviews", type=int, default=32)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--output-dir", default=None)
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "lora_finetuning"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook
NAME = f"lora_{args.inputs}"
output_dir = args.output_dir or f"models/{NAME.replace('_', '-')}"

# --8<-- [start:data]
TASK = english.get_task("sentiment")  # "Is this review positive or negative? Review: {x}"
BATCH = 8
examples = english.reviews(args.max_steps * BATCH, "train", seed=args.seed)  # {"input", "output"}
if args.inputs == "bare":  # single-task fine-tuning: the review alone, the task never named
    rows = [{"prompt": e["input"] + "\n", "completion": e["output"]} for e in examples]
else:  # the hybrid, in chat form: TRL renders each row with the model's chat template
    rows = [{"prompt": [{"role": "user", "content": english.instruction(TASK, e["input"])}],
             "completion": [{"role": "assistant", "content": e["output"]}]} for e in examples]
print(rows[0])
# --8<-- [end:data]

# --8<-- [start:measure]
MODEL = args.model or smollm2()  # a local safetensors copy of SmolLM2-135M-Instruct
tokenizer = AutoTokenizer.from_pretrained(MODEL)
held_out = replace(TASK, items=tuple((r["input"], r["output"]) for r in english.reviews(args.eval_reviews, "eval")))
target = english.examples(tokenizer, ["bare", "chat"], tasks=[held_out])  # new reviews, two presentations
others = english.examples(tokenizer, ["chat"], tasks=[t for t in english.TASKS if t != TASK.name])


def measure(model):
    """The task on new reviews (bare, and asked in the chat template), and every other task asked
    in the chat template: facts, formatting, letters. Returns the figures and the other tasks' replies."""
    on_task = evaluate_examples(model, tokenizer, target, batch_size=32).average()
    on_others = evaluate_examples(model, tokenizer, others, batch_size=32)
    labels = sum(e.prediction.lower() in ("positive", "negative") for e in on_others.examples) / len(on_others.examples)
    return {"sentiment, bare review": on_task["bare"], "sentiment, asked in the chat template": on_task["chat"],
            "other tasks, asked in the chat template": on_others.average()["chat"],
            "other tasks answered with a sentiment label": labels,
            "other tasks by cluster": {c: v["chat"] for c, v in on_others.by_cluster().items()}}, on_others


before, _ = measure(AutoModelForCausalLM.from_pretrained(MODEL))
print("before:", before)
# --8<-- [end:measure]

# --8<-- [start:train]
model = AutoModelForCausalLM.from_pretrained(MODEL)
lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])  # the attention projections
trainer = SFTTrainer(
    model=model,
    args=sft_config(output_dir, max_steps=args.max_steps, learning_rate=1e-3, seed=args.seed, batch_size=BATCH),
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,  # loss on the completion only; chat rows rendered with its template
    peft_config=lora,
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, output_dir)  # the adapter only: a few MB of safetensors
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoPeftModelForCausalLM.from_pretrained(output_dir).merge_and_unload()  # base + adapter, folded in
after, replies_after = measure(tuned)
print("after:", after)
# --8<-- [end:evaluate]

results = Path(args.results_dir)
results.mkdir(parents=True, exist_ok=True)
columns = [k for k in before if k != "other tasks by cluster"]
(results / f"{NAME}.json").write_text(json.dumps({"before": before, "after": after}, indent=1) + "\n")
(results / f"{NAME}.md").write_text(
    "| SmolLM2-135M-Instruct | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns) + "\n"
    + "".join(f"| {when} | " + " | ".join(f"{100 * m[k]:.0f}" for k in columns) + " |\n"
              for when, m in [("before", before), (f"after LoRA ({args.inputs} rows)", after)]))
write_stats(results, NAME, stats, task=TASK.name, inputs=args.inputs, lora_rank=lora.r, base_parameters=tuned.num_parameters())
(results / f"{NAME}_cost.md").write_text(
    "| LoRA run | trainable parameters | all parameters | steps × batch | training seconds |\n|---|---:|---:|---:|---:|\n"
    f"| {args.inputs} rows | {stats['trainable_parameters']:,} | {tuned.num_parameters():,} | {stats['steps']} × {BATCH} | "
    f"{stats['seconds']:.0f} |\n")
(results / f"{NAME}_outputs.md").write_text(replies_after.outputs_markdown(tasks=("capital", "plural", "first_letter")))
(results / f"{NAME}_rows.json").write_text(json.dumps(rows[:2], indent=1, ensure_ascii=False) + "\n")
plot_loss(stats["losses"], results / f"{NAME}_loss.png", title=f"LoRA on SmolLM2-135M-Instruct, {TASK.name} ({args.inputs} rows)")
