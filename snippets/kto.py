"""Preference tuning without pairs (KTO): thumbs up or down on the model's own answers.

DPO needs two answers to the same request, one preferred. Feedback as most products collect it is
one answer and a label: good or bad. That is the unpaired preference shape (prompt, completion,
label), and KTO (Ethayarajh et al., 2024) trains on it: it raises the probability of answers
labelled good and lowers that of answers labelled bad, each against a frozen reference model,
with beta as DPO's. Here the instruction-tuned toy model answers new requests, every answer is
judged (exactly, as the toy world can), and the label is all that is kept: nobody writes the
right answer, unlike the chosen answers of snippets/dpo.py.

KTO starts from an instruction-tuned model: `python snippets/instruction_tuning.py` makes it.

    python snippets/kto.py                  # KTO, beta 0.1
    python snippets/kto.py --beta 0.5       # a firmer anchor to the reference
    python snippets/kto.py --answers-from models/other   # another model's answers, labelled
"""
# ci-args: --model models/toy-base --max-steps 4 --eval-words 2 --requests 20 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model models/toy-base --answers-from models/toy-base --max-steps 2 --eval-words 1 --requests 10 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --requests 5 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
from pathlib import Path

from atlas import ROOT, cli

INSTRUCTION_TUNED = ROOT / "models" / "instruction-tuned"  # where instruction_tuning.py saves

parser = cli.parser(__doc__, results="kto")
parser.add_argument(
    "--model", type=cli.model, default=None, help=f"{cli.MODEL_HELP} (default: {INSTRUCTION_TUNED})"
)
parser.add_argument(
    "--beta", type=cli.positive, default=0.1, help="KTO's anchor to the reference model"
)
parser.add_argument("--max-steps", type=cli.at_least(1), default=40, help="steps of 32 answers")
parser.add_argument(
    "--learning-rate", type=cli.positive, default=2e-4, help="peak learning rate (DPO page's)"
)
parser.add_argument(
    "--requests",
    type=cli.at_least(5),
    default=200,
    help="new requests per task the model answers (a fifth as many held out)",
)
parser.add_argument(
    "--answers-from",
    type=cli.model,
    default=None,
    help="the model whose answers are labelled (default: the model trained, on-policy "
    "feedback); another model's makes off-policy feedback",
)
parser.add_argument("--seed", type=cli.seed, default=0, help="requests, data order")
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=20, help="held-out words per task"
)
parser.add_argument(
    "--output-dir", type=Path, default=Path("models/kto"), help="where the model is saved"
)
args = cli.parse(parser)
if args.model is None:
    if not (INSTRUCTION_TUNED / "config.json").is_file():
        parser.error(
            f"KTO starts from an instruction-tuned model and there is none in {INSTRUCTION_TUNED}: "
            "make it with `python snippets/instruction_tuning.py` (a minute and a half), "
            "or pass --model"
        )
    args.model = str(INSTRUCTION_TUNED)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import KTOConfig, KTOTrainer

from atlas import InputError, jobs, stages
from atlas.training import cpu_settings, save, train, write_stats

# --8<-- [start:data]
MODEL = args.model  # the instruction-tuned toy model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
reference = AutoModelForCausalLM.from_pretrained(MODEL)  # a frozen copy: where KTO is anchored
tokenizer = AutoTokenizer.from_pretrained(MODEL)
# The model answers new requests (by default 200 per task: 2,200); each answer keeps its label only.
answering = (model, tokenizer)
if args.answers_from:  # off-policy: another model answers the same requests
    answering = (
        AutoModelForCausalLM.from_pretrained(args.answers_from),
        AutoTokenizer.from_pretrained(args.answers_from),
    )
rows = stages.feedback_rows(*answering, n_per_task=args.requests, seed=args.seed)
good = sum(r["label"] for r in rows)
bad = len(rows) - good
# DPO's held-out pairs (right answer chosen, the model's own rejected): the same measure as dpo.py.
held_out_pairs = stages.preference_rows(
    model, tokenizer, n_per_task=args.requests // 5, split="eval", seed=args.seed
)
if not held_out_pairs:  # every held-out request answered right: nothing to measure with
    raise InputError(f"{MODEL} answered every held-out request right; pass more --requests")
print(f"{good} answers labelled good, {bad} bad; for example {rows[0]}")
# --8<-- [end:data]

# --8<-- [start:train]
before = jobs.measure(model, tokenizer, "flan", n_words=args.eval_words)
trainer = KTOTrainer(
    model=model,
    ref_model=reference,
    args=KTOConfig(
        **cpu_settings(args.output_dir, args.max_steps, args.learning_rate, args.seed),
        beta=args.beta,
        # The KTO paper's advice for unbalanced feedback: weight the rarer label up so that the
        # good answers' total weight is 1 to 4/3 times the bad answers'. (With one label only,
        # KTO still trains: the reference and its KL estimate anchor it.)
        undesirable_weight=good / bad if good and bad else 1.0,
        max_length=128,
    ),
    train_dataset=Dataset.from_list(rows),  # prompt / completion / label
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
figures = {
    "labelled_good": good,
    "labelled_bad": bad,
    "preference": preference,
    "before": jobs.summary(before.by_task(), "flan"),
    "after": jobs.summary(after.by_task(), "flan"),
    # the requests asked by instruction before and after: how many it fixed, how many it broke
    **stages.answer_changes(before, after),
}
if args.answers_from:
    figures["answers_from"] = args.answers_from
print(json.dumps(figures, indent=1))
# --8<-- [end:evaluate]

NAME = f"kto_beta{args.beta:g}"
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
after.save(results, NAME)
(results / f"{NAME}_figures.json").write_text(json.dumps(figures, indent=1) + "\n")
(results / f"{NAME}_rows.json").write_text(json.dumps(rows[:4], indent=1) + "\n")
# The training curve: loss per step, the KL estimate KTO anchors on, and the mean implicit rewards
# of the good and the bad answers in each batch.
KEYS = ("step", "loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins")
curve = [
    {k: log[k] for k in KEYS if k in log} for log in trainer.state.log_history if "loss" in log
]
(results / f"{NAME}_curve.json").write_text(json.dumps(curve, indent=1) + "\n")
write_stats(results, NAME, stats, method="kto", beta=args.beta, rows=len(rows))
