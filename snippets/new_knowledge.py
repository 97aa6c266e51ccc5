"""New knowledge: can fine-tuning teach a model facts it never saw, or should they go in the prompt?

The facts are new: made-up words the toy model never read (drawn from the evaluation words, which
no training text holds), each one a kind of one of eight everyday things the toy web does mention
("a vobik is a kind of cup"). Nothing in a word's letters says which thing: the model has to have
stored the fact, or be given it. From the same instruction-tuned model and the same facts, seen
the same number of times:

- `--method cpt`: continued pretraining on statements of the facts, four phrasings (raw text,
  loss on every token);
- `--method sft`: supervised fine-tuning on questions about them, four wordings (loss on the
  answer);
- `--method lora`: the same question-answer rows through a LoRA adapter.

Or the fact is not stored at all but given in the prompt, beside another fact, as a retriever
would hand over its two best passages. Every run measures that on the model it starts from;
`--method reader` first teaches reading: the same number of steps on questions about *other*
made-up words whose fact stands in the prompt, as instruction data teaches real models to use a
passage. Each model is asked as it was trained, in phrasings no run trained on (the paraphrase),
and on the toy world's old tasks.

Starts from an instruction-tuned model: `python snippets/instruction_tuning.py` makes it.

    python snippets/new_knowledge.py                  # SFT on question-answer pairs
    python snippets/new_knowledge.py --method cpt     # the same facts as statements
    python snippets/new_knowledge.py --method lora
    python snippets/new_knowledge.py --method reader  # taught to read a fact from the prompt
"""
# ci-args: --model models/toy-base --epochs 1 --facts 8 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --method cpt --model models/toy-base --epochs 1 --facts 8 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --method reader --model models/toy-base --epochs 1 --facts 8 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --method lora --model models/toy-base --epochs 1 --facts 8 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --epochs 1 --facts 8 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import itertools
import json
import math
import random
from pathlib import Path

from atlas import ROOT, cli

INSTRUCTION_TUNED = ROOT / "models" / "instruction-tuned"  # where instruction_tuning.py saves
LEARNING_RATES = {
    "cpt": 1e-3,
    "sft": 1e-3,
    "lora": 3e-3,
    "reader": 1e-3,
}  # the comparison's grids centre here

parser = cli.parser(__doc__, results="new_knowledge")
parser.add_argument(
    "--method", choices=sorted(LEARNING_RATES), default="sft", help="how the facts are taught"
)
parser.add_argument(
    "--model", type=cli.model, default=None, help=f"{cli.MODEL_HELP} (default: {INSTRUCTION_TUNED})"
)
parser.add_argument("--facts", type=cli.at_least(4), default=32, help="new words to teach")
parser.add_argument(
    "--epochs", type=cli.at_least(1), default=20, help="times each training row is seen"
)
parser.add_argument(
    "--learning-rate",
    type=cli.positive,
    default=None,
    help=f"peak learning rate (default: per method, {LEARNING_RATES})",
)
parser.add_argument("--seed", type=cli.seed, default=0, help="which words, which things, order")
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=20, help="held-out words per old task"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=None,
    help="where the model is saved (default: models/new-knowledge-<method>)",
)
args = cli.parse(
    parser,
    by=("method", {m: {"output_dir": f"models/new-knowledge-{m}"} for m in LEARNING_RATES}),
)
if args.model is None:
    if not (INSTRUCTION_TUNED / "config.json").is_file():
        parser.error(
            "the facts are taught to an instruction-tuned model and there is none in "
            f"{INSTRUCTION_TUNED}: make it with `python snippets/instruction_tuning.py` "
            "(a minute and a half), or pass --model"
        )
    args.model = str(INSTRUCTION_TUNED)
learning_rate = args.learning_rate or LEARNING_RATES[args.method]

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.toy import world
from atlas.toy.data import THINGS

from atlas.evaluation import Example, evaluate, evaluate_examples
from atlas.tables import markdown_table
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:facts]
# Statements as a text would make them, and questions as a user would ask them. The last of each
# is never trained on: it measures whether a fact learned in one wording answers another.
STATEMENTS = (
    "a {x} is a kind of {y}.",
    "every {x} is a {y}.",
    "{x}: the word for a sort of {y}.",
    "Mira keeps a {x}, which is a {y}.",
    "the name {x} stands for a {y}.",  # held out
)
QUESTIONS = (
    "What kind of thing is a {x}?",
    "A {x} is what sort of thing?",
    "Name the kind of thing a {x} is.",
    "Tell me what a {x} is.",
    "Which thing is called a {x}?",  # held out
)
TRAINED = slice(0, -1)


def passages(word: str, pool: dict[str, str], question: str) -> str:
    """The fact about `word` and another from `pool`, one per line in an order of their own, as
    a retriever would return two passages; then the question."""
    others = random.Random(f"passages-{word}").sample([w for w in pool if w != word], 1)
    lines = [
        random.Random(w).choice(STATEMENTS[TRAINED]).format(x=w, y=pool[w]) for w in [word, *others]
    ]
    random.Random(f"order-{word}").shuffle(lines)
    return "\n".join(lines) + "\n" + question.format(x=word) + "\n"


def made_up_facts(n: int, seed: int) -> dict[str, str]:
    """`n` made-up words (evaluation words: no training text has them), each a kind of thing."""
    rng = random.Random(f"new-knowledge-{seed}")
    return {word: rng.choice(THINGS) for word in world.words("eval", n, seed=seed)}


facts = made_up_facts(args.facts, seed=5000 + args.seed)
word, thing = next(iter(facts.items()))
print(f"{len(facts)} new facts, for example: {STATEMENTS[0].format(x=word, y=thing)}")
# --8<-- [end:facts]

# --8<-- [start:rows]
rng = random.Random(args.seed)
if args.method == "cpt":  # raw text: the statements, every token trained on (no prompt to mask)
    rows = [{"text": s.format(x=w, y=y)} for w, y in facts.items() for s in STATEMENTS[TRAINED]]
elif args.method == "reader":  # reading, not the facts: other words, their fact in the prompt
    n_rows = args.epochs * args.facts * 4  # as many rows as the others see, each a new word
    others = made_up_facts(min(n_rows + args.facts, world.MAX_WORDS), seed=9000 + args.seed)
    others = {w: y for w, y in others.items() if w not in facts}
    words = [w for _, w in zip(range(n_rows), itertools.cycle(others))]
    rows = [
        {"prompt": passages(w, others, rng.choice(QUESTIONS[TRAINED])), "completion": others[w]}
        for w in words
    ]
else:  # the instruction-tuned model's own layout: the question, then the answer on the next line
    rows = [
        {"prompt": q.format(x=w) + "\n", "completion": y}
        for w, y in facts.items()
        for q in QUESTIONS[TRAINED]
    ]
rng.shuffle(rows)
print(f"{len(rows)} rows, for example {rows[0]}")
# --8<-- [end:rows]


# --8<-- [start:measure]
def cut(statement: str, word: str) -> str:
    """A statement up to the thing it names: "a vobik is a kind of " (to be completed)."""
    return statement.split("{y}")[0].format(x=word)


PROMPTS = {  # measure -> (label, prompt for a word); the harness's plain-text presentations
    "question": ("asked, a trained wording", lambda w: QUESTIONS[0].format(x=w) + "\n"),
    "question_new": ("asked, a new wording", lambda w: QUESTIONS[-1].format(x=w) + "\n"),
    "statement": ("completed, a trained phrasing", lambda w: cut(STATEMENTS[0], w)),
    "statement_new": ("completed, a new phrasing", lambda w: cut(STATEMENTS[-1], w)),
    "in_prompt": (
        "given in the prompt, asked in a new wording",
        lambda w: passages(w, facts, QUESTIONS[-1]),
    ),
}
OLD = ("instruction", "few_shot")  # the toy world's tasks, asked by instruction and few-shot


def measure(model) -> dict[str, float]:
    """Exact match on every fact in each presentation, and on the old tasks."""
    examples = [
        Example(key, "facts", "instruction", word, prompt(word), thing)
        for key, (_, prompt) in PROMPTS.items()
        for word, thing in facts.items()
    ]
    figures = {
        k: v["instruction"]
        for k, v in evaluate_examples(model, tokenizer, examples).by_task().items()
    }
    old = evaluate(model, tokenizer, conditions=OLD, n_words=args.eval_words).average()
    return figures | {f"old_{c}": old[c] for c in OLD}


MODEL = args.model  # the instruction-tuned toy model; or a Hub id
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForCausalLM.from_pretrained(MODEL)
before = measure(model)
# A model that guesses one thing for every word: what knowing nothing scores.
constant = max(list(facts.values()).count(t) for t in THINGS) / len(facts)
print(f"before: {before}; one thing for every word scores {100 * constant:.0f} %")
# --8<-- [end:measure]

# --8<-- [start:train]
BATCH = 16
config = sft_config(
    args.output_dir,
    # Every method takes the same steps: `--epochs` passes over four rows a fact (the reader's
    # rows are all different: it sees each reading example once).
    max_steps=math.ceil(args.epochs * args.facts * 4 / BATCH),
    learning_rate=learning_rate,
    seed=args.seed,
    batch_size=BATCH,
)
config.max_length = 256  # two passages and a question: past the site's usual 128 tokens
lora = None
if args.method == "lora":
    ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]  # Llama's names, as in most Hub models
    layer_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
        target_modules=ATTENTION if set(ATTENTION) <= layer_names else "all-linear",
    )
trainer = SFTTrainer(
    model=model,
    args=config,
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,  # a text column: every token; prompt/completion: the answer only
    peft_config=lora,
)
stats = train(trainer)  # trainer.train(), timed
if lora is not None:
    trainer.model = trainer.model.merge_and_unload()  # saved whole, loaded like the others
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
after = measure(AutoModelForCausalLM.from_pretrained(args.output_dir))
LABELS = {k: label for k, (label, _) in PROMPTS.items()} | {
    f"old_{c}": f"old tasks, {c.replace('_', '-')}" for c in OLD
}
for key, label in LABELS.items():
    print(f"{label:>44}: {100 * before[key]:3.0f} % -> {100 * after[key]:3.0f} %")
# --8<-- [end:evaluate]

NAME = f"facts_{args.method}"
results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / f"{NAME}.json").write_text(
    json.dumps(
        {
            "method": args.method,
            "before": before,
            "after": after,
            "constant_answer": constant,
            "facts": len(facts),
            "epochs": args.epochs,
            "learning_rate": learning_rate,
            "seed": args.seed,
            "eval_words": args.eval_words,
        },
        indent=1,
    )
    + "\n"
)
(results / f"{NAME}.md").write_text(
    markdown_table(
        ["exact match (%)", "before", f"after {args.method}"],
        [[label, f"{100 * before[k]:.0f}", f"{100 * after[k]:.0f}"] for k, label in LABELS.items()],
    )
)
write_stats(results, NAME, stats, method=args.method, learning_rate=learning_rate, rows=len(rows))
