"""Chat fine-tuning pitfalls without a training run: what a chat template renders,
what a base model does inside one, which collator loses EOS, and whether packed examples see
each other.

The training-run pitfalls (loss on the prompt, EOS out of the loss, template mismatch, packing's
effect on accuracy, base or instruct start) are levers of `snippets/chat_sft.py`, measured on three
seeds by `benchmarks/chat_pitfalls.py`.

    python snippets/pitfalls.py
"""
# ci-args: --results-dir {tmp}/results
# ci-args: --model {smollm2} --pairs 2 --results-dir {tmp}/results

import json

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="pitfalls")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--pairs", type=cli.at_least(1), default=40, help="packed pairs of examples to compare"
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
import random

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers import DataCollatorForLanguageModeling as TransformersCollator
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling as TRLCollator

from atlas import chat, evaluation
from atlas.tables import markdown_table

MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
evaluation.require_chat_template(tokenizer)
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)

# --8<-- [start:render]
conversation = [
    {"role": "system", "content": chat.SYSTEM_MESSAGES[1]},
    *chat.two_turns("reverse", "kitab", 0, "uppercase", 0),
]
chatml = AutoTokenizer.from_pretrained(MODEL)
chatml.chat_template = chat.CHATML_TEMPLATE
rendered = {
    "this model's template": tokenizer.apply_chat_template(conversation, tokenize=False),
    "ChatML (SmolLM2, Qwen)": chatml.apply_chat_template(conversation, tokenize=False),
    "plain text": "".join(m["content"] + "\n" for m in conversation),
}
for name, text in rendered.items():
    n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    print(f"--- {name}: {n_tokens} tokens\n{text}")
# --8<-- [end:render]
(results / "rendered.json").write_text(
    json.dumps(
        {
            name: {
                "text": text,
                "tokens": len(tokenizer(text, add_special_tokens=False)["input_ids"]),
            }
            for name, text in rendered.items()
        },
        indent=1,
    )
    + "\n"
)

# --8<-- [start:base]
# A base model was never trained on any template: asked in one, does it answer, and does it stop?
requests = chat.chat_requests(tokenizer, n_words=4)
continuations = chat.stop_by_itself(model, tokenizer, requests, max_new_tokens=64)
stopped = sum(s for _, s in continuations) / len(continuations)
print(f"stops by itself within 64 new tokens: {100 * stopped:.0f} %")
# --8<-- [end:base]
(results / "template_on_model.json").write_text(
    json.dumps(
        {
            "stops_within_64": stopped,
            "n_eval": len(requests),
            "samples": [
                {"prompt": p, "reply": c} for p, (c, _) in zip(requests[:3], continuations)
            ],
        },
        indent=1,
    )
    + "\n"
)

# --8<-- [start:collators]
# pad = EOS, as many Hub models ship: which collator keeps the EOS labels?
eos_padded = AutoTokenizer.from_pretrained(MODEL)
eos_padded.pad_token = eos_padded.eos_token
features = [
    {"input_ids": eos_padded.apply_chat_template(m, tokenize=True, return_dict=True)["input_ids"]}
    for m in (conversation, conversation[:3])  # two lengths: the shorter one gets padded
]
eos_in_rows = sum(f["input_ids"].count(eos_padded.eos_token_id) for f in features)


def eos_labels(batch) -> int:
    labels, ids = batch["labels"], batch["input_ids"]
    return int(((ids == eos_padded.eos_token_id) & (labels != -100)).sum())


collators = {
    "TRL's DataCollatorForLanguageModeling (SFTTrainer's)": TRLCollator(eos_padded.pad_token_id),
    "transformers' DataCollatorForLanguageModeling": TransformersCollator(eos_padded, mlm=False),
}
kept = {name: eos_labels(c(features)) for name, c in collators.items()}
print(f"EOS tokens in the rows: {eos_in_rows}; labels kept: {kept}")
# --8<-- [end:collators]
(results / "collators.json").write_text(
    json.dumps({"eos_in_rows": eos_in_rows, "eos_labels_kept": kept}, indent=1) + "\n"
)


# --8<-- [start:packing]
# Two examples packed in one row: does the answer to B depend on A? Compare B's logits alone and
# packed after A, three ways of telling the model where examples start.
def example(task: str, word: str) -> tuple[list[int], int]:
    """A few-shot prompt and its answer as token ids, and where the answer starts."""
    demos = world.words("train", world.N_SHOTS, seed=len(word))
    prompt = world.few_shot_prompt(task, word, demos)
    ids = tokenizer(prompt + world.answer(task, word), add_special_tokens=False)["input_ids"]
    return ids, len(tokenizer(prompt, add_special_tokens=False)["input_ids"])


@torch.inference_mode()
def answer_logits(a: list[int], b: list[int], b_answer: int, how: str) -> torch.Tensor:
    ids = torch.tensor([a + b])
    restart = torch.cat([torch.arange(len(a)), torch.arange(len(b))])[None]
    if how == "alone":
        ids, kwargs = torch.tensor([b]), {}
    elif how == "positions restart, no attention mask (TRL padding-free)":
        kwargs = {"position_ids": restart}  # the model derives one block per example from them
    elif how == "positions restart, attention mask of ones":
        kwargs = {"position_ids": restart, "attention_mask": torch.ones_like(ids)}
    else:  # "one long row (packing without boundaries)"
        kwargs = {"attention_mask": torch.ones_like(ids)}
    logits = model(ids, use_cache=False, **kwargs).logits[0]
    start = b_answer - 1 + (0 if how == "alone" else len(a))  # logits[i] predicts token i + 1
    return logits[start : start + len(b) - b_answer]  # the positions that predict B's answer


WAYS = (
    "alone",
    "positions restart, no attention mask (TRL padding-free)",
    "positions restart, attention mask of ones",
    "one long row (packing without boundaries)",
)
rng = random.Random(0)
tasks = [t for t in world.TASKS if world.TASKS[t].cluster != world.HELD_OUT_CLUSTER]
diffs = {how: [] for how in WAYS}
right = {how: 0 for how in WAYS}
for w_a, w_b in zip(world.words("eval", args.pairs), world.words("eval", args.pairs, seed=1)):
    a, _ = example(rng.choice(tasks), w_a)
    b, b_answer = example(rng.choice(tasks), w_b)
    alone = answer_logits(a, b, b_answer, "alone")
    for how in WAYS:
        logits = answer_logits(a, b, b_answer, how)
        diffs[how].append(float((logits - alone).abs().max()))
        right[how] += logits.argmax(-1).tolist() == b[b_answer:]  # every answer token right
packing = {
    how: {"max_logit_change": max(diffs[how]), "answers_right": right[how] / args.pairs}
    for how in WAYS
}
for how, row in packing.items():
    change, right_share = row["max_logit_change"], row["answers_right"]
    print(f"{how}: largest logit change {change:.2g}, B right {right_share:.0%}")
# --8<-- [end:packing]
packing_report = {
    "attention_implementation": model.config._attn_implementation,
    "pairs": args.pairs,
    "ways": packing,
}
(results / "packing.json").write_text(json.dumps(packing_report, indent=1) + "\n")
(results / "packing.md").write_text(
    markdown_table(
        ["B packed after A", "largest change of a logit of B's answer", "B's answer right (%)"],
        [
            [how, f"{row['max_logit_change']:.3f}", f"{100 * row['answers_right']:.0f}"]
            for how, row in packing.items()
        ],
    )
)
