"""LoRA on a real model: one narrow task fine-tuned into SmolLM2-135M-Instruct, with and without
its instruction (and, to compare, by full fine-tuning).

PEFT's LoRA trains small low-rank matrices beside the attention projections and freezes the rest.
The task is a review's sentiment ("The meal was superb." -> "positive"), given either as bare
input -> output pairs (single-task fine-tuning) or with each example's instruction inside the
model's chat template (the hybrid). Before and after, the one evaluation harness measures the task
and the model's other tasks asked through its chat template (atlas/english.py): does fine-tuning on
one task erase instruction following, and does keeping the instruction and template protect it?

    python snippets/lora_finetuning.py                  # bare input -> output pairs
    python snippets/lora_finetuning.py --inputs chat    # instruction inside the chat template
    python snippets/lora_finetuning.py --method full    # every weight trained instead
"""
# ci-args: --max-steps 2 --eval-reviews 4 --eval-others 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --inputs chat --max-steps 2 --eval-reviews 4 --eval-others 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --method full --max-steps 2 --eval-reviews 4 --eval-others 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
from dataclasses import replace
from pathlib import Path

from atlas import cli

parser = cli.parser(__doc__, results="lora_finetuning")
parser.add_argument(
    "--model",
    type=cli.model,
    default=None,
    help=f"{cli.MODEL_HELP}; by default SmolLM2-135M-Instruct (a local copy)",
)
parser.add_argument(
    "--inputs",
    choices=["bare", "chat"],
    default="bare",
    help="training rows: bare review -> label pairs, or the instruction inside the chat template",
)
parser.add_argument(
    "--method",
    choices=["lora", "full"],
    default="lora",
    help="LoRA beside the attention projections, or full fine-tuning of every weight",
)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=24, help="training steps of 8 reviews"
)
parser.add_argument(
    "--learning-rate",
    type=cli.positive,
    default=None,
    help="peak learning rate (default: 1e-3 for LoRA, 1e-4 for full fine-tuning)",
)
parser.add_argument(
    "--eval-reviews",
    type=cli.at_least(1),
    default=32,
    help="held-out reviews to measure the task on",
)
parser.add_argument(
    "--eval-others",
    type=cli.at_least(1),
    default=None,
    help="items of each other task to measure (default: all of them)",
)
parser.add_argument(
    "--seed", type=cli.seed, default=0, help="training reviews, data order and adapter weights"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=None,
    help="where the adapter (LoRA) or the model (full) is saved (default: models/smollm2-bare "
    "or models/smollm2-chat)",
)
args = cli.parse(
    parser,
    by=(
        "inputs",
        {
            "bare": {"output_dir": "models/smollm2-bare"},
            "chat": {"output_dir": "models/smollm2-chat"},
        },
    ),
)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from atlas import english  # noqa: I001  (its tasks are evaluated with torch)
from datasets import Dataset
from peft import AutoPeftModelForCausalLM, LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.evaluation import evaluate_examples, require_chat_template
from atlas.plots import plot_loss
from atlas.real_model import smollm2
from atlas.tables import markdown_table
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:data]
TASK = english.get_task("sentiment")  # "Is this review positive or negative? Review: {x}"
BATCH = 8
examples = english.reviews(args.max_steps * BATCH, "train", seed=args.seed)  # {"input", "output"}
if args.inputs == "bare":  # single-task fine-tuning: the review alone, the task never named
    rows = [{"prompt": e["input"] + "\n", "completion": e["output"]} for e in examples]
else:  # the hybrid, in chat form: TRL renders each row with the model's chat template
    rows = [
        {
            "prompt": [{"role": "user", "content": english.instruction(TASK, e["input"])}],
            "completion": [{"role": "assistant", "content": e["output"]}],
        }
        for e in examples
    ]
print(rows[0])
# --8<-- [end:data]

# --8<-- [start:measure]
MODEL = args.model or smollm2()  # a local safetensors copy of SmolLM2-135M-Instruct; or a Hub id
MODEL_NAME = "SmolLM2-135M-Instruct" if args.model is None else Path(args.model).name  # for tables
tokenizer = AutoTokenizer.from_pretrained(MODEL)
require_chat_template(tokenizer)  # the other tasks are asked in the chat template: a chat model's
held_out = replace(
    TASK, items=tuple((r["input"], r["output"]) for r in english.reviews(args.eval_reviews, "eval"))
)
target = english.examples(
    tokenizer, ["bare", "chat"], tasks=[held_out]
)  # new reviews, two presentations
other_tasks = [
    replace(task, items=task.items[: args.eval_others])
    for name, task in english.TASKS.items()
    if name != TASK.name
]
others = english.examples(tokenizer, ["chat"], tasks=other_tasks)
LABELS = {  # figure key -> what the tables call it
    "target_bare": "sentiment, bare review",
    "target_chat": "sentiment, asked in the chat template",
    "others_chat": "other tasks, asked in the chat template",
    "others_labelled": "other tasks answered with a sentiment label",
}


def measure(model):
    """The task on new reviews (bare, and asked in the chat template), and every other task asked
    in the chat template: facts, formatting, letters. Returns the figures and the other tasks'
    replies."""
    on_task = evaluate_examples(model, tokenizer, target, batch_size=32).average()
    on_others = evaluate_examples(model, tokenizer, others, batch_size=32)
    labelled = sum(
        e.prediction.lower() in ("positive", "negative") for e in on_others.examples
    ) / len(on_others.examples)
    return {
        "target_bare": on_task["bare"],
        "target_chat": on_task["chat"],
        "others_chat": on_others.average()["chat"],
        "others_labelled": labelled,
        "others_by_cluster": {c: v["chat"] for c, v in on_others.by_cluster().items()},
    }, on_others


before, _ = measure(AutoModelForCausalLM.from_pretrained(MODEL))
print("before:", before)
# --8<-- [end:measure]

# --8<-- [start:train]
model = AutoModelForCausalLM.from_pretrained(MODEL)
# LoRA beside the attention projections, as in the LoRA paper, where the model names them as Llama,
# Mistral or Qwen do; on other architectures (GPT-2's fused c_attn, say) beside every linear layer.
ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
layer_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
targets = ATTENTION if set(ATTENTION) <= layer_names else "all-linear"
lora = LoraConfig(
    r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM", target_modules=targets
)
# An adapter takes larger steps than the weights it sits beside: its B starts at zero
DEFAULT_RATE = {"lora": 1e-3, "full": 1e-4}
trainer = SFTTrainer(
    model=model,
    args=sft_config(
        args.output_dir,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate or DEFAULT_RATE[args.method],
        seed=args.seed,
        batch_size=BATCH,
    ),
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,  # loss on the completion only; chat rows rendered with its template
    peft_config=lora if args.method == "lora" else None,  # None: every weight trains
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)  # LoRA: the adapter only, a few MB of safetensors
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
if args.method == "lora":
    tuned = AutoPeftModelForCausalLM.from_pretrained(
        args.output_dir
    ).merge_and_unload()  # base + adapter, folded in
else:
    tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
after, replies_after = measure(tuned)
print("after:", after)
# --8<-- [end:evaluate]

NAME = f"{args.method}_{args.inputs}"
METHOD_WORDS = {"lora": "LoRA", "full": "full fine-tuning"}[args.method]
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / f"{NAME}.json").write_text(
    json.dumps({"before": before, "after": after}, indent=1) + "\n"
)
(results / f"{NAME}.md").write_text(
    markdown_table(
        [MODEL_NAME, *LABELS.values()],
        [
            [when, *(f"{100 * m[k]:.0f}" for k in LABELS)]
            for when, m in [
                ("before", before),
                (f"after {METHOD_WORDS} ({args.inputs} rows)", after),
            ]
        ],
    )
)
write_stats(
    results,
    NAME,
    stats,
    task=TASK.name,
    inputs=args.inputs,
    model=MODEL_NAME,
    **({"lora_rank": lora.r, "lora_targets": targets} if args.method == "lora" else {}),
    base_parameters=tuned.num_parameters(),
)
(results / f"{NAME}_cost.md").write_text(
    markdown_table(
        [
            f"{METHOD_WORDS} run",
            "trainable parameters",
            "all parameters",
            "steps × batch",
            "training seconds",
        ],
        [
            [
                f"{args.inputs} rows",
                f"{stats['trainable_parameters']:,}",
                f"{tuned.num_parameters():,}",
                f"{stats['steps']} × {BATCH}",
                f"{stats['seconds']:.0f}",
            ]
        ],
    )
)
(results / f"{NAME}_outputs.md").write_text(
    replies_after.outputs_markdown(tasks=("capital", "plural", "first_letter"))
)
(results / f"{NAME}_rows.json").write_text(
    json.dumps(rows[:2], indent=1, ensure_ascii=False) + "\n"
)
plot_loss(
    stats["losses"],
    results / f"{NAME}_loss.png",
    title=f"{METHOD_WORDS} on {MODEL_NAME}, {TASK.name} ({args.inputs} rows)",
)
