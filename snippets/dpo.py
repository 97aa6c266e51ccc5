"""Preference tuning with DPO: the instruction-tuned toy model taught which of two answers is best.

Instruction tuning showed the model only right answers. Preference data is built as real preference
data is: the model answers new requests, each answer is judged (here exactly), and each wrong one
becomes a pair, the right answer chosen and the model's own answer rejected. DPO raises the chosen
answer's probability against the rejected one's *relative to a frozen reference model* (the
starting point); `beta` sets how far from the reference it may move. The baseline trains the same
requests with plain SFT on the chosen answers only.

DPO starts from an instruction-tuned model: `python snippets/instruction_tuning.py` makes it.

    python snippets/dpo.py                         # DPO, beta 0.1
    python snippets/dpo.py --beta 0.01             # a loose anchor to the reference
    python snippets/dpo.py --method sft            # the baseline: SFT on the chosen answers
    python snippets/dpo.py --method ipo            # IPO: a squared loss that keeps a margin
    python snippets/dpo.py --method rpo            # DPO plus SFT on the chosen answers
    python snippets/dpo.py --answers-from models/other   # off-policy: another model's mistakes
"""
# ci-args: --model models/toy-base --max-steps 4 --eval-words 2 --requests 20 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model models/toy-base --method ipo --max-steps 4 --eval-words 2 --requests 20 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model models/toy-base --method rpo --max-steps 4 --eval-words 2 --requests 20 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model models/toy-base --method sft --max-steps 4 --eval-words 2 --requests 20 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model models/toy-base --answers-from models/toy-base --max-steps 2 --eval-words 1 --requests 10 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --requests 5 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
from pathlib import Path

from atlas import ROOT, cli

INSTRUCTION_TUNED = ROOT / "models" / "instruction-tuned"  # where instruction_tuning.py saves

parser = cli.parser(__doc__, results="dpo")
parser.add_argument(
    "--model", type=cli.model, default=None, help=f"{cli.MODEL_HELP} (default: {INSTRUCTION_TUNED})"
)
parser.add_argument(
    "--method",
    choices=["dpo", "ipo", "rpo", "sft"],
    default="dpo",
    help="DPO on the pairs; IPO (its squared loss); RPO (DPO plus an SFT term on the chosen "
    "answers); or SFT on the chosen answers only",
)
parser.add_argument(
    "--sft-weight",
    type=cli.positive,
    default=1.0,
    help="RPO's weight of the SFT term (TRL's loss_weights; rpo_alpha in older TRL)",
)
parser.add_argument(
    "--beta",
    type=cli.positive,
    default=0.1,
    help="the anchor to the reference model, of DPO, IPO and RPO",
)
parser.add_argument("--max-steps", type=cli.at_least(1), default=40, help="steps of 32 pairs")
parser.add_argument("--learning-rate", type=cli.positive, default=2e-4, help="peak learning rate")
parser.add_argument(
    "--requests",
    type=cli.at_least(5),
    default=200,
    help="new requests per task the model answers to make the pairs (a fifth as many held out)",
)
parser.add_argument(
    "--answers-from",
    type=cli.model,
    default=None,
    help="the model whose wrong answers are rejected (default: the model trained, on-policy "
    "pairs); another model's makes off-policy pairs, as most public preference datasets are",
)
parser.add_argument("--seed", type=cli.seed, default=0, help="pairs, data order")
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=20, help="held-out words per task"
)
parser.add_argument(
    "--output-dir", type=Path, default=Path("models/dpo"), help="where the model is saved"
)
args = cli.parse(parser)
# A flag the method does not read is refused rather than ignored.
if args.method == "sft" and cli.given("--beta"):
    parser.error("--beta anchors DPO, IPO and RPO to the reference model; SFT has none")
if args.method != "rpo" and cli.given("--sft-weight"):
    parser.error("--sft-weight is RPO's (--method rpo): the weight of its SFT term")
if args.model is None:
    if not (INSTRUCTION_TUNED / "config.json").is_file():
        parser.error(
            f"DPO starts from an instruction-tuned model and there is none in {INSTRUCTION_TUNED}: "
            "make it with `python snippets/instruction_tuning.py` (a minute and a half), "
            "or pass --model"
        )
    args.model = str(INSTRUCTION_TUNED)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer, SFTTrainer

from atlas import InputError, jobs, stages
from atlas.training import cpu_settings, save, sft_config, train, write_stats

# --8<-- [start:data]
MODEL = args.model  # the instruction-tuned toy model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
reference = AutoModelForCausalLM.from_pretrained(MODEL)  # a frozen copy: where DPO is anchored
tokenizer = AutoTokenizer.from_pretrained(MODEL)


def preference_pairs(answering, answering_tokenizer, split: str, n_per_task: int) -> list[dict]:
    """Pairs built as real preference data is: a model answers new requests (an instruction and a
    newline, as it was tuned on), each answer is judged (here exactly: the toy world knows the right
    one), and every wrong answer becomes a pair: the right answer chosen, that answer rejected. A
    right answer makes no pair: there is nothing to prefer. With the trained model answering, the
    pairs are on-policy: the rejected answers are its own."""
    return [
        {"prompt": prompt, "chosen": request["output"], "rejected": answer, "task": request["task"]}
        for prompt, request, answer in stages.answered_requests(
            answering, answering_tokenizer, n_per_task, split=split, seed=args.seed
        )
        if answer != request["output"]
    ]


# By default 200 new requests per task (2,200), and a fifth as many from the held-out words. The
# held-out pairs are always the trained model's own mistakes: what it should stop saying.
answering = (model, tokenizer)
if args.answers_from:  # off-policy: another model answers the same requests
    answering = (
        AutoModelForCausalLM.from_pretrained(args.answers_from),
        AutoTokenizer.from_pretrained(args.answers_from),
    )
pairs = preference_pairs(*answering, "train", args.requests)
held_out_pairs = preference_pairs(model, tokenizer, "eval", args.requests // 5)
if not pairs or not held_out_pairs:  # every request answered right: nothing to prefer
    raise InputError(
        f"{args.answers_from or MODEL if not pairs else MODEL} answered all the requests right: "
        "no pairs to train on or to measure with; pass more --requests"
    )
print(f"{len(pairs)} pairs (and {len(held_out_pairs)} held out), for example {pairs[0]}")
# --8<-- [end:data]

# --8<-- [start:train]
before = jobs.measure(model, tokenizer, "flan", n_words=args.eval_words)

# TRL's loss types: "sigmoid" is DPO's loss; "ipo" IPO's, where beta is the regulariser tau;
# "sft" adds the chosen answers' negative log-likelihood, weighted (RPO).
LOSSES = {
    "dpo": (["sigmoid"], None),
    "ipo": (["ipo"], None),
    "rpo": (["sigmoid", "sft"], [1.0, args.sft_weight]),
}
if args.method != "sft":
    loss_type, loss_weights = LOSSES[args.method]
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=DPOConfig(
            **cpu_settings(args.output_dir, args.max_steps, args.learning_rate, args.seed),
            beta=args.beta,
            loss_type=loss_type,
            loss_weights=loss_weights,
            max_length=128,
        ),
        train_dataset=Dataset.from_list(pairs),  # prompt / chosen / rejected
        processing_class=tokenizer,
    )
else:  # the baseline: the same requests, the chosen answer as an ordinary SFT target
    trainer = SFTTrainer(
        model=model,
        args=sft_config(args.output_dir, args.max_steps, args.learning_rate, args.seed),
        train_dataset=Dataset.from_list(
            [{"prompt": p["prompt"], "completion": p["chosen"]} for p in pairs]
        ),
        processing_class=tokenizer,
    )
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
preference = stages.preference_figures(tuned, reference, tokenizer, held_out_pairs)
after = jobs.measure(tuned, tokenizer, "flan", n_words=args.eval_words)
mistakes = stages.sibling_answers(before)  # requests answered with a sibling task's answer
figures = {
    "pairs": len(pairs),
    "preference": preference,
    "before": jobs.summary(before.by_task(), "flan"),
    "after": jobs.summary(after.by_task(), "flan"),
    "sibling_answers_before": len(mistakes),
    # the requests asked by instruction before and after: how many it fixed, how many it broke
    **stages.answer_changes(before, after),
}
if args.answers_from:
    figures["answers_from"] = args.answers_from
print(json.dumps(figures, indent=1))
# --8<-- [end:evaluate]

NAME = args.method if args.method == "sft" else f"{args.method}_beta{args.beta:g}"
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
after.save(results, NAME)  # the harness's tables (the comparison page reads them)
(results / f"{NAME}_figures.json").write_text(json.dumps(figures, indent=1) + "\n")
(results / f"{NAME}_pairs.json").write_text(json.dumps(pairs[:4], indent=1) + "\n")
# The training curve: loss per step and, for the preference losses, TRL's reward accuracy (the share
# of the batch's pairs whose implicit reward ranks the chosen answer first) and reward margin.
curve = [
    {k: log[k] for k in ("step", "loss", "rewards/accuracies", "rewards/margins") if k in log}
    for log in trainer.state.log_history
    if "loss" in log
]
(results / f"{NAME}_curve.json").write_text(json.dumps(curve, indent=1) + "\n")
write_stats(results, NAME, stats, method=args.method, beta=args.beta, pairs=len(pairs))
