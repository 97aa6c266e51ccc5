"""Zero-shot prompting: ask for the task in words, with no solved example. No weight changes.

Asks the base model for every task with an instruction (as plain text, and inside its chat
template), on templates later used for instruction tuning and on held-out ones, and measures exact
match. `--model` asks any causal LM instead (a folder or a Hub id).

    python snippets/zero_shot_prompting.py
"""
# ci-args: --results-dir {tmp}/results
# ci-args: --model {smollm2} --eval-words 1 --results-dir {tmp}/results

import json

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="zero_shot_prompting")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=40, help="held-out words per task"
)
parser.add_argument(
    "--no-chat",
    action="store_true",
    help="leave the chat-template presentations out (for a tokenizer without a chat template)",
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from transformers import AutoModelForCausalLM, AutoTokenizer

from atlas.evaluation import evaluate, require_chat_template

# --8<-- [start:ask]
MODEL = (
    args.model
)  # the shipped toy base model; or a Hub id such as "HuggingFaceTB/SmolLM2-135M-Instruct"
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
if not args.no_chat:
    require_chat_template(tokenizer, flag="--no-chat")  # a base model may have none

request = world.instruction("reverse", "kitab", template_id=2)  # "Write the reverse of: kitab"
prompts = {"plain text": request + "\n"}
if (
    not args.no_chat
):  # the same request inside the chat template, as a chat model is trained to see it
    prompts["chat template"] = tokenizer.apply_chat_template(
        [{"role": "user", "content": request}], tokenize=False, add_generation_prompt=True
    )
replies = {}
for name, prompt in prompts.items():
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=name == "plain text")
    output = model.generate(
        **inputs, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    replies[name] = tokenizer.decode(
        output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
    )
    print(f"{name:>13}: {prompt!r}\n{'':>13}  -> {replies[name]!r}")
# --8<-- [end:ask]

# --8<-- [start:evaluate]
zero_shot = ["instruction", "instruction_held_out"] + (
    [] if args.no_chat else ["chat", "chat_held_out"]
)
result = evaluate(
    model, tokenizer, conditions=zero_shot, n_words=args.eval_words
)  # every task, held-out words
print(result.cluster_markdown())
# --8<-- [end:evaluate]

results = args.results_dir
result.save(results, "zero_shot")
(results / "replies.json").write_text(
    json.dumps(
        {name: {"prompt": prompts[name], "reply": replies[name]} for name in prompts},
        indent=1,
        ensure_ascii=False,
    )
    + "\n"
)
