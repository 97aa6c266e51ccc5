"""Few-shot prompting (in-context learning): solved input -> output examples, no instruction.

Shows the base model k solved examples of a task and a new input, for k = 0 to 8, and measures
exact match on every task. No weight changes, and nothing in the input names the task: the model
must infer it from the examples. Point MODEL at any causal LM to ask it instead.

    python snippets/few_shot_prompting.py
"""
# ci-args: --results-dir {tmp}/results
# ci-args: --model {smollm2} --eval-words 1 --results-dir {tmp}/results

import argparse
import json
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

from atlas import BASE_MODEL_DIR, GENERATED_DIR, world
from atlas.evaluation import evaluate
from atlas.plots import plot_curves

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=str(BASE_MODEL_DIR))
parser.add_argument("--eval-words", type=int, default=40, help="held-out words per task")
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "few_shot_prompting"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook

# --8<-- [start:ask]
MODEL = args.model  # the shipped toy base model; or a Hub id such as "HuggingFaceTB/SmolLM2-135M"
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)

prompt = world.few_shot_prompt("reverse", "kitab", demos=["lomu", "dasi", "perun", "tivako"])
inputs = tokenizer(prompt, return_tensors="pt")
output = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
print(prompt + reply)
# --8<-- [end:ask]

# --8<-- [start:evaluate]
by_shots, by_task = {}, {}
for k in (0, 1, 2, 4, 8):  # number of solved examples in the input
    result = evaluate(model, tokenizer, conditions=["few_shot"], n_shots=k, n_words=args.eval_words)
    by_shots[k] = result.by_cluster()
    by_shots[k]["all tasks"] = result.average()
    by_task[k] = {task: row["few_shot"] for task, row in result.by_task().items()}
    print(f"k={k}: " + "  ".join(f"{name} {100 * row['few_shot']:3.0f}%" for name, row in by_shots[k].items()))
# --8<-- [end:evaluate]

results = Path(args.results_dir)
results.mkdir(parents=True, exist_ok=True)
groups = list(by_shots[0])
rows = ["| examples in the input | " + " | ".join(groups) + " |", "|---:|" + "---:|" * len(groups)]
rows += [f"| {k} | " + " | ".join(f"{100 * by_shots[k][g]['few_shot']:.0f}" for g in groups) + " |" for k in by_shots]
(results / "by_shots.md").write_text("\n".join(rows) + "\n")
(results / "by_shots.json").write_text(json.dumps({k: {
    "clusters": {g: round(v["few_shot"], 4) for g, v in by_shots[k].items()},
    "tasks": {t: round(v, 4) for t, v in by_task[k].items()},
} for k in by_shots}, indent=1) + "\n")
(results / "example.json").write_text(json.dumps({"prompt": prompt, "reply": reply}, indent=1) + "\n")
plot_curves({g: [(k, 100 * by_shots[k][g]["few_shot"]) for k in by_shots] for g in groups},
            results / "by_shots.png", xlabel="solved examples in the input (k)", ylabel="exact match (%)",
            title="Few-shot prompting of the base model")
