"""Zero-shot prompting: ask for the task in words, with no solved example. No weight changes.

Asks the base model for every task with an instruction (as plain text, and inside its chat
template), on templates later used for instruction tuning and on held-out ones, and measures exact
match. Point MODEL at any causal LM to ask it instead.

    python snippets/zero_shot_prompting.py
"""
# ci-args: --results-dir {tmp}/results
# ci-args: --model {smollm2} --eval-words 1 --results-dir {tmp}/results

import argparse
import json
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

from atlas import BASE_MODEL_DIR, GENERATED_DIR, world
from atlas.evaluation import evaluate

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=str(BASE_MODEL_DIR))
parser.add_argument("--eval-words", type=int, default=40, help="held-out words per task")
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "zero_shot_prompting"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook

# --8<-- [start:ask]
MODEL = args.model  # the shipped toy base model; or a Hub id such as "HuggingFaceTB/SmolLM2-135M-Instruct"
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)

request = world.instruction("reverse", "kitab", template_id=2)  # "Write the reverse of: kitab"
prompts = {
    "plain text": request + "\n",
    "chat template": tokenizer.apply_chat_template(
        [{"role": "user", "content": request}], tokenize=False, add_generation_prompt=True),
}
replies = {}
for name, prompt in prompts.items():
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=name == "plain text")
    output = model.generate(**inputs, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    replies[name] = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    print(f"{name:>13}: {prompt!r}\n{'':>13}  -> {replies[name]!r}")
# --8<-- [end:ask]

# --8<-- [start:evaluate]
zero_shot = ["instruction", "instruction_held_out", "chat", "chat_held_out"]
result = evaluate(model, tokenizer, conditions=zero_shot, n_words=args.eval_words)  # every task, 40 held-out words each
print(result.cluster_markdown())
# --8<-- [end:evaluate]

results = Path(args.results_dir)
results.mkdir(parents=True, exist_ok=True)
result.save(results, "zero_shot")
(results / "replies.json").write_text(json.dumps(
    {name: {"prompt": prompts[name], "reply": replies[name]} for name in prompts}, indent=1, ensure_ascii=False) + "\n")
