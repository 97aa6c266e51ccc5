"""DPO on a real chat model: SmolLM2-135M-Instruct taught from its own mistakes.

The toy DPO page builds preference pairs from the instruction-tuned toy model's own wrong answers.
The same recipe on a real chat model: SmolLM2-135M-Instruct answers letter tasks on made-up words,
asked in English inside its chat template ('What is the last letter of the word "kitab"? Answer
with one word.'); each reply is judged (the words' answers are known); every wrong reply becomes a
pair, the right answer chosen and the model's own answer rejected. TRL's DPOTrainer trains on the
pairs as conversations, rendered with the model's chat template; `--method sft` trains the chosen
answers alone (SFT), the baseline. Before and after: the letter tasks on held-out words, the
held-out pairs (does the model now give the right answer the higher probability?), and the model's
other tasks (facts, formatting, a label task) asked in its chat template: what the training costs.

    python snippets/dpo_real_model.py                  # DPO, beta 0.1
    python snippets/dpo_real_model.py --method sft     # the baseline: SFT on the chosen answers
"""
# ci-args: --max-steps 1 --requests 4 --eval-words 2 --eval-others 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --method sft --max-steps 1 --requests 4 --eval-words 2 --eval-others 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import copy
import json
from dataclasses import replace
from pathlib import Path

from atlas import cli

parser = cli.parser(__doc__, results="dpo_real_model")
parser.add_argument(
    "--model",
    type=cli.model,
    default=None,
    help=f"{cli.MODEL_HELP}; by default SmolLM2-135M-Instruct (a local copy)",
)
parser.add_argument(
    "--method",
    choices=["dpo", "sft"],
    default="dpo",
    help="DPO on the pairs, or SFT on the chosen answers only",
)
parser.add_argument(
    "--beta", type=cli.positive, default=0.1, help="DPO's anchor to the reference model"
)
parser.add_argument("--max-steps", type=cli.at_least(1), default=16, help="steps of 8 pairs")
parser.add_argument("--learning-rate", type=cli.positive, default=3e-6, help="peak learning rate")
parser.add_argument(
    "--requests",
    type=cli.at_least(2),
    default=48,
    help="new requests per letter task the model answers to make the pairs",
)
parser.add_argument(
    "--eval-words",
    type=cli.at_least(1),
    default=16,
    help="held-out words per letter task (they make the held-out pairs too)",
)
parser.add_argument(
    "--eval-others",
    type=cli.at_least(1),
    default=None,
    help="items of each other task to measure (default: all of them)",
)
parser.add_argument("--seed", type=cli.seed, default=0, help="request words, data order")
parser.add_argument(
    "--output-dir", type=Path, default=Path("models/smollm2-dpo"), help="where the model is saved"
)
args = cli.parse(parser)
if args.method == "sft" and cli.given("--beta"):
    parser.error("--beta anchors DPO to the reference model; SFT has none")

# The heavy imports come after the arguments, so --help and a typo answer at once.
from atlas import english  # noqa: I001  (its tasks are evaluated with torch)
from atlas.toy import world
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer, SFTTrainer

from atlas import InputError, stages
from atlas.evaluation import evaluate_examples, require_chat_template
from atlas.real_model import smollm2
from atlas.training import cpu_settings, save, sft_config, train, write_stats

# --8<-- [start:data]
MODEL = args.model or smollm2()  # a local safetensors copy of SmolLM2-135M-Instruct; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
reference = AutoModelForCausalLM.from_pretrained(MODEL)  # a frozen copy: where DPO is anchored
tokenizer = AutoTokenizer.from_pretrained(MODEL)
require_chat_template(tokenizer)  # every request is asked in the model's chat template
LETTER_TASKS = ["first_letter", "last_letter", "reverse", "length"]
BATCH = 8  # pairs per step


def requests(split: str, n_per_task: int) -> list:
    """The letter tasks asked in English in the chat template, on new made-up words of `split`
    (training words make the pairs; held-out words measure)."""
    words = world.words(split, n_per_task, seed=args.seed + 101)
    tasks = [
        replace(english.get_task(t), items=tuple((w, world.answer(t, w)) for w in words))
        for t in LETTER_TASKS
    ]
    return english.examples(tokenizer, ["chat"], tasks=tasks)


def preference_pairs(answered) -> list[dict]:
    """Every wrong answer becomes a pair: the right answer chosen, the model's own answer (its
    reply's first sentence, what the harness judged) rejected. A right answer makes no pair, nor
    does an empty reply: there is no answer to reject."""
    return [
        {
            "prompt": [
                {"role": "user", "content": english.instruction(english.get_task(e.task), e.word)}
            ],
            "chosen": [{"role": "assistant", "content": e.answer}],
            "rejected": [{"role": "assistant", "content": e.prediction}],
        }
        for e in answered.examples
        if not e.correct and e.prediction
    ]


def ask(model, examples):
    """The model's answers to `examples`, judged by the one harness (greedy, lenient match), on a
    copy: the harness writes each answer into its example, and the same requests are asked again
    after training."""
    return evaluate_examples(model, tokenizer, copy.deepcopy(examples), batch_size=32)


train_requests, eval_requests = requests("train", args.requests), requests("eval", args.eval_words)
before = ask(model, eval_requests)
pairs = preference_pairs(ask(model, train_requests))
held_out_pairs = preference_pairs(before)  # measured after training: its own held-out mistakes
if not pairs or not held_out_pairs:
    raise InputError(
        f"{MODEL} gave no wrong answers to reject (every request answered right, or with "
        "nothing): no pairs to train on or to measure with; pass more --requests or --eval-words"
    )
print(f"{len(pairs)} pairs (and {len(held_out_pairs)} held out), for example {pairs[0]}")
# --8<-- [end:data]

# --8<-- [start:measure]
other_tasks = [
    replace(task, items=task.items[: args.eval_others])
    for task in english.TASKS.values()
    if task.name not in LETTER_TASKS and task.cluster != "letters (toy tasks)"
]
others = english.examples(tokenizer, ["chat"], tasks=other_tasks)
others_before = ask(model, others)


def as_text(pair_list: list[dict]) -> list[dict]:
    """Pairs as the prompt rendered by the chat template and the two answers as text, the form in
    which stages.preference_figures scores them (log p(answer + end of turn | prompt))."""
    return [
        {
            "prompt": tokenizer.apply_chat_template(
                p["prompt"], tokenize=False, add_generation_prompt=True
            ),
            "chosen": p["chosen"][0]["content"],
            "rejected": p["rejected"][0]["content"],
        }
        for p in pair_list
    ]


# --8<-- [end:measure]

# --8<-- [start:train]
if args.method == "dpo":
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=DPOConfig(
            **cpu_settings(
                args.output_dir, args.max_steps, args.learning_rate, args.seed, batch_size=BATCH
            ),
            beta=args.beta,
            max_length=160,
        ),
        train_dataset=Dataset.from_list(pairs),  # conversations: prompt / chosen / rejected
        processing_class=tokenizer,
    )
else:  # the baseline: the same requests, the chosen answer as an ordinary SFT target
    trainer = SFTTrainer(
        model=model,
        args=sft_config(
            args.output_dir, args.max_steps, args.learning_rate, args.seed, batch_size=BATCH
        ),
        train_dataset=Dataset.from_list(
            [{"prompt": p["prompt"], "completion": p["chosen"]} for p in pairs]
        ),
        processing_class=tokenizer,  # the loss on the assistant's answer only
    )
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
after, others_after = ask(tuned, eval_requests), ask(tuned, others)
figures = {
    "pairs": len(pairs),
    "held_out_pairs": len(held_out_pairs),
    "preference": stages.preference_figures(tuned, reference, tokenizer, as_text(held_out_pairs)),
    "letters_before": before.average()["chat"],
    "letters_after": after.average()["chat"],
    "others_before": others_before.average()["chat"],
    "others_after": others_after.average()["chat"],
    "others_by_cluster_after": {c: v["chat"] for c, v in others_after.by_cluster().items()},
    # each other task's first item, answered after training: what a collapse looks like
    "others_replies_after": {
        e.task: [e.word, e.answer, e.prediction] for e in reversed(others_after.examples)
    },
    # the held-out requests: how many wrong answers it fixed, how many right ones it broke
    "fixed": sum(a.correct and not b.correct for a, b in zip(after.examples, before.examples)),
    "broken": sum(b.correct and not a.correct for a, b in zip(after.examples, before.examples)),
    "n_examples": len(after.examples),
}
print(json.dumps(figures, indent=1))
# --8<-- [end:evaluate]

NAME = args.method if args.method == "sft" else f"dpo_beta{args.beta:g}"
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / f"{NAME}_figures.json").write_text(json.dumps(figures, indent=1) + "\n")
(results / f"{NAME}_pairs.json").write_text(json.dumps(pairs[:4], indent=1) + "\n")
curve = [
    {k: log[k] for k in ("step", "loss", "rewards/accuracies", "rewards/margins") if k in log}
    for log in trainer.state.log_history
    if "loss" in log
]
(results / f"{NAME}_curve.json").write_text(json.dumps(curve, indent=1) + "\n")
write_stats(results, NAME, stats, method=args.method, beta=args.beta, pairs=len(pairs))
