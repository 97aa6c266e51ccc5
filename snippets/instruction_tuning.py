"""Multi-task instruction tuning, FLAN style: many tasks, many templates, one cluster held out.

Fine-tunes the base model with TRL's SFTTrainer on the tasks of three clusters, each example asked
by one of 24 instruction templates, the loss on the answer only, with a quarter of the rows short
excerpts of the pretraining text (replay). The fourth cluster (counting) is never trained on: it
measures whether the model learned to *follow instructions* rather than to do eleven tasks.

FLAN's ablation is one argument away: `--inputs none` trains on the same words and answers with no
instruction at all, `--inputs tag` with a task tag only ("[reverse] kitab").

    python snippets/instruction_tuning.py                    # instructions (the real thing)
    python snippets/instruction_tuning.py --inputs none      # same data, no template
    python snippets/instruction_tuning.py --inputs tag       # same data, task tag
    python snippets/instruction_tuning.py --train-clusters 1 # train on one cluster only
    python snippets/instruction_tuning.py --model models/continued-pretraining --domain-requests 700
                                                            # requests about the cipher domain too
"""
# ci-args: --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --inputs none --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --inputs tag --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
import random
from pathlib import Path

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="instruction_tuning")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--inputs",
    choices=["instructions", "none", "tag"],
    default="instructions",
    help="how training inputs are presented: an instruction, the bare word, or a task tag",
)
parser.add_argument(
    "--held-out-cluster",
    choices=list(world.CLUSTERS),
    default=world.HELD_OUT_CLUSTER,
    help="the cluster never trained on (transfer to unseen tasks)",
)
parser.add_argument(
    "--train-clusters",
    type=int,
    choices=range(1, len(world.CLUSTERS)),
    default=len(world.CLUSTERS) - 1,
    help="how many of the other clusters to train on, in the world's order after the held-out one",
)
parser.add_argument(
    "--replay", type=cli.fraction, default=0.25, help="share of pretraining-text rows, in [0, 1)"
)
parser.add_argument(
    "--domain-requests",
    type=cli.at_least(0),
    default=0,
    help="requests per task about the cipher, continued pretraining's new domain, added to the "
    "instruction data (default: none, as the recipe)",
)
parser.add_argument(
    "--templates",
    type=cli.at_least(1),
    default=len(world.SEEN_TEMPLATE_IDS),
    help="how many training templates, with --inputs instructions (at most the default)",
)
parser.add_argument(
    "--loss",
    choices=["completion", "all"],
    default="completion",
    help="loss on the answer only, or on the whole sequence",
)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=300, help="training steps of 32 rows"
)
parser.add_argument("--learning-rate", type=cli.positive, default=2e-3, help="peak learning rate")
parser.add_argument(
    "--seed", type=cli.seed, default=0, help="training words, template draws, data order"
)
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=40, help="held-out words per task"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=None,
    help="where the model is saved (default: models/instruction-tuned, no-template or task-tag)",
)
args = cli.parse(
    parser,
    by=(
        "inputs",
        {
            "instructions": {"output_dir": "models/instruction-tuned"},
            "none": {"output_dir": "models/no-template"},
            "tag": {"output_dir": "models/task-tag"},
        },
    ),
)
if args.domain_requests and args.inputs != "instructions":
    parser.error(f"--domain-requests are requests, in words: --inputs {args.inputs} has none")
if cli.given("--templates") and args.inputs != "instructions":
    parser.error(f"--templates are the instructions' wordings: --inputs {args.inputs} has none")
if args.templates > len(world.SEEN_TEMPLATE_IDS):
    parser.error(f"--templates must be between 1 and {len(world.SEEN_TEMPLATE_IDS)}")

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

from atlas.toy import data

from atlas.evaluation import evaluate
from atlas.plots import plot_loss
from atlas.training import save, train, write_stats

# --8<-- [start:data]
HELD_OUT = world.check_cluster(args.held_out_cluster)
# The other clusters in a fixed cyclic order after the held-out one (FLAN's Figure 6 adds them one
# by one); by default all of them.
names = list(world.CLUSTERS)
at = names.index(HELD_OUT)
train_clusters = (names[at + 1 :] + names[:at])[: args.train_clusters]
train_tasks = [name for name, task in world.TASKS.items() if task.cluster in train_clusters]
templates = world.SEEN_TEMPLATE_IDS[: args.templates]  # 24 wordings and layouts
examples = data.instructions(train_tasks, n_per_task=700, seed=args.seed, template_ids=templates)
if args.domain_requests:  # requests about a domain the base model never read (the cipher tasks)
    examples += data.domain_instructions(
        args.domain_requests, seed=args.seed, template_ids=templates
    )


def prompt(example: dict) -> str:
    """How the input is presented: the instruction, or (FLAN's ablations) the bare word or a tag."""
    if args.inputs == "instructions":
        return example["instruction"] + "\n"
    if args.inputs == "tag":
        return world.tag_prompt(example["task"], example["input"])
    return world.bare_prompt(example["input"])


rows = [{"prompt": prompt(e), "completion": e["output"]} for e in examples]
# Replay: pretraining text as rows with an empty prompt, so the whole excerpt is trained on. It
# keeps the facts that name each operation alive (and with them the held-out cluster) and keeps
# few-shot alive.
n_replay = round(len(rows) * args.replay / (1 - args.replay))
rows += [
    {"prompt": "", "completion": r["text"]} for r in data.replay_text(n_replay, seed=args.seed)
]
random.Random(args.seed).shuffle(rows)
print(
    f"{len(rows)} rows on {len(train_tasks)} tasks, held-out cluster: {HELD_OUT}; "
    f"for example {rows[0]}"
)
# --8<-- [end:data]

# --8<-- [start:train]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
config = SFTConfig(  # every fine-tuning run on this site, spelled out (atlas.training.sft_config)
    output_dir=str(args.output_dir),
    max_steps=args.max_steps,
    per_device_train_batch_size=32,
    learning_rate=args.learning_rate,
    lr_scheduler_type="cosine",
    warmup_steps=max(1, args.max_steps // 15),
    seed=args.seed,
    max_length=128,  # tokens; the longest row here is well under it
    # prompt/completion rows: the loss covers the completion only (the answer), EOS appended
    completion_only_loss=args.loss == "completion",
    # float32 on the CPU: bfloat16 is emulated, and so much slower, on most laptops' CPUs
    bf16=False,
    use_cpu=True,
    activation_checkpointing=False,  # TRL's default; it only costs time at a million parameters
    logging_steps=max(1, args.max_steps // 30),
    save_strategy="no",  # the model is saved once, at the end
    report_to="none",
    disable_tqdm=True,
)
trainer = SFTTrainer(
    model=model,
    args=config,
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
conditions = ["bare", "instruction", "instruction_held_out", "tag", "few_shot"]
result = evaluate(tuned, tokenizer, conditions=conditions, n_words=args.eval_words)
print(result.cluster_markdown())
split = result.by_task_split(HELD_OUT)
for group in split:
    print(f"{group:>16}: " + ", ".join(f"{c} {100 * a:.0f} %" for c, a in split[group].items()))
# --8<-- [end:evaluate]

NAME = {"instructions": "instruction_tuned", "none": "no_template", "tag": "task_tag"}[args.inputs]
results = args.results_dir
result.save(results, NAME)
(results / f"{NAME}_rows.json").write_text(
    json.dumps(rows[:4], indent=1, ensure_ascii=False) + "\n"
)
write_stats(
    results,
    NAME,
    stats,
    inputs=args.inputs,
    held_out_cluster=HELD_OUT,
    train_tasks=train_tasks,
    replay=args.replay,
    rows=len(rows),
)
plot_loss(
    stats["losses"], results / f"{NAME}_loss.png", title=f"Instruction tuning ({args.inputs})"
)
