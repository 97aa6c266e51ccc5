"""Continued (domain-adaptive) pretraining: the base model trained further on text of a new domain.

The toy web never mentions the *cipher* operations (`shift`: every letter one place on; `mirror`:
the word and its reverse). Domain text is facts and pattern lists about them, nothing else: no
instruction, no chat, no labels. The objective is pretraining's own, next-token prediction on
every token of packed blocks (TRL's SFTTrainer on a `text` column), with a share of the original
pretraining text mixed in so the old domain is not overwritten. Before and after, the one harness
asks the cipher and the old tasks few-shot, as a fact and by instruction.

    python snippets/continued_pretraining.py              # a quarter of the rows from the toy web
    python snippets/continued_pretraining.py --mix 0      # domain text only
"""
# ci-args: --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --mix 0 --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
import random
from pathlib import Path

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="continued_pretraining")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--mix",
    type=cli.fraction,
    default=0.25,
    help="share of the rows taken from the original pretraining text (the toy web), in [0, 1)",
)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=80, help="steps of 32 packed blocks"
)
parser.add_argument("--learning-rate", type=cli.positive, default=2e-3, help="peak learning rate")
parser.add_argument("--seed", type=cli.seed, default=0, help="documents, data order")
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=20, help="held-out words per task"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=Path("models/continued-pretraining"),
    help="where the model is saved",
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.toy import data

from atlas import stages
from atlas.plots import plot_loss
from atlas.tables import markdown_table
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:data]
BLOCK = 128  # packed blocks of 128 tokens, as in pretraining
n_docs = (
    args.max_steps * 32 * BLOCK // 120
)  # about 120 characters per document: enough for every step
n_mixed = round(n_docs * args.mix)
rows = data.domain_text(n_docs - n_mixed, seed=args.seed)  # the new domain: raw text only
rows += data.toy_web(n_mixed, seed=args.seed + 2000)  # the old one, so it is not overwritten
random.Random(args.seed).shuffle(rows)
print(f"{len(rows)} documents, {n_mixed} of them from the toy web; for example {rows[0]}")
# --8<-- [end:data]

# --8<-- [start:train]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
before, _ = stages.measure(model, tokenizer, n_words=args.eval_words)

config = sft_config(
    args.output_dir, max_steps=args.max_steps, learning_rate=args.learning_rate, seed=args.seed
)
# The pretraining objective: a `text` column is trained on every token (no prompt to mask), and
# "wrapped" packing cuts the stream of documents (each ending in EOS) into full blocks, as
# pretraining did.
config.max_length, config.packing, config.packing_strategy = BLOCK, True, "wrapped"
trainer = SFTTrainer(
    model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
adapted = AutoModelForCausalLM.from_pretrained(args.output_dir)
after, result = stages.measure(adapted, tokenizer, n_words=args.eval_words)
for key, label in stages.MEASURES.items():
    print(f"{label:>36}: {100 * before[key]:3.0f} % -> {100 * after[key]:3.0f} %")
# --8<-- [end:evaluate]

NAME = "continued" if args.mix > 0 else "continued_no_mix"
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
result.save(results, NAME)  # the toy web's tasks, per task (the comparison page reads it)
(results / f"{NAME}_figures.json").write_text(
    json.dumps(
        {"before": before, "after": after, "eval_words": args.eval_words},
        indent=1,
    )
    + "\n"
)
(results / f"{NAME}_before_after.md").write_text(
    markdown_table(
        ["measure (exact match, %)", "base model", "after continued pretraining"],
        [
            [label, f"{100 * before[k]:.0f}", f"{100 * after[k]:.0f}"]
            for k, label in stages.MEASURES.items()
        ],
    )
)
write_stats(
    results, NAME, stats, mix=args.mix, documents=len(rows), learning_rate=args.learning_rate
)
plot_loss(
    stats["losses"], results / f"{NAME}_loss.png", title=f"Continued pretraining (mix {args.mix})"
)
