"""Prefix tuning: the model frozen, trainable keys and values for a few virtual tokens per layer.

PEFT's prefix tuning (Li & Liang, 2021) gives every attention layer `--virtual-tokens` extra
positions whose keys and values are learned: each real token can attend to them, in every layer,
and nothing else changes. Prompt tuning (snippets/prompt_tuning.py) learns vectors only at the
input, before the first layer. The job is one of the full fine-tuning pages' runs, the same rows and
budget (atlas/jobs.py): `spell` (single-task, bare input) or `flan` (instruction tuning); the one
harness then measures the target, the other tasks asked by instruction, held-out templates and
few-shot.

    python snippets/prefix_tuning.py                       # 16 virtual tokens, spell job
    python snippets/prefix_tuning.py --job flan
"""
# ci-args: --max-steps 10 --eval-words 4 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

from pathlib import Path

from atlas import BASE_MODEL_DIR, cli, jobs

# Learning rates per job, from a first search on one seed. The sweep in benchmarks/peft_sweep.py
# searches again; docs/techniques/peft-finetuning.md says where it differs.
LEARNING_RATES = {"spell": 3e-2, "flan": 3e-2}

parser = cli.parser(__doc__, results="prefix_tuning")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument("--job", choices=list(jobs.JOBS), default="spell", help="what it is trained on")
parser.add_argument(
    "--virtual-tokens", type=cli.at_least(1), default=16, help="prefix length, in every layer"
)
parser.add_argument(
    "--learning-rate",
    type=cli.positive,
    default=None,
    help=f"default: the searched best per job, {LEARNING_RATES}",
)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=None, help="steps of 32 rows (default: the job's)"
)
parser.add_argument(
    "--seed", type=cli.seed, default=0, help="training rows, data order, new weights"
)
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=40, help="held-out words per task"
)
parser.add_argument(
    "--output-dir", type=Path, default=Path("models/prefix-tuning"), help="where it is saved"
)
args = cli.parse(parser)
JOB = jobs.get_job(args.job)
learning_rate = args.learning_rate or LEARNING_RATES[JOB.name]
max_steps = args.max_steps or JOB.steps

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from peft import PrefixTuningConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.evaluation import extract_answer, generate
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:config]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
base_parameters = model.num_parameters()
# One learned key and value per virtual token, per layer, per head: PEFT reads the layer count and
# sizes from the model's config. (Li & Liang also trained them through an MLP for stability:
# prefix_projection=True; here they are learned directly.)
peft_config = PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=args.virtual_tokens)
# --8<-- [end:config]

# --8<-- [start:train]
rows = jobs.training_rows(JOB.name, seed=args.seed)  # the full fine-tuning page's rows
trainer = SFTTrainer(
    model=model,
    args=sft_config(
        args.output_dir, max_steps=max_steps, learning_rate=learning_rate, seed=args.seed
    ),
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,
    peft_config=peft_config,  # SFTTrainer wraps the model with get_peft_model(model, peft_config)
)
trainer.model.print_trainable_parameters()
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)  # the prefixes only (adapter_model.safetensors)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:tensors]
# What prefix tuning adds: one matrix, (virtual tokens, layers x 2 x hidden size); at every forward
# pass PEFT cuts it into a key and a value for each layer, shaped like the cache of real tokens:
# (batch, heads, virtual tokens, head size). Each layer's attention sees them as earlier tokens.
config = trainer.model.peft_config["default"]
prefix = trainer.model.prompt_encoder["default"].embedding.weight.detach()
heads = config.num_attention_heads
per_layer = prefix.view(config.num_virtual_tokens, config.num_layers, 2, heads, -1)
key_0 = per_layer[:, 0, 0].permute(1, 0, 2).unsqueeze(0)  # layer 0's keys, as the cache holds them
print(
    "prefix", tuple(prefix.shape), f"| per layer ({config.num_layers}): key and value", key_0.shape
)
# --8<-- [end:tensors]

# --8<-- [start:evaluate]
# Greedy answers from the forward pass the adapter was trained with (see atlas/jobs.py: batched
# `generate` with left padding does not compute the same thing for prompt-learning adapters)
result = jobs.measure(trainer.model, tokenizer, JOB.name, args.eval_words, decoding="forward")
figures = jobs.summary(result.by_task(), JOB.name)
print(result.cluster_markdown())
print({k: f"{100 * v:.0f} %" for k, v in figures.items()})
# --8<-- [end:evaluate]

# --8<-- [start:generate]
# The same adapter asked through `generate`, batched with left padding as usual, on one prompt in
# eight: how often does it give the answer the forward pass gives?
checked = result.examples[::8]
texts = generate(trainer.model, tokenizer, [e.prompt for e in checked], max_new_tokens=24)
generate_agrees = sum(extract_answer(t) == e.prediction for t, e in zip(texts, checked)) / len(
    checked
)
print(f"generate gives the forward pass's answer on {100 * generate_agrees:.0f} % of prompts")
# --8<-- [end:generate]

NAME = f"prefix_{JOB.name}"
results = args.results_dir
result.save(results, NAME)
write_stats(
    results,
    NAME,
    stats,
    method="prefix tuning",
    job=JOB.name,
    virtual_tokens=args.virtual_tokens,
    learning_rate=learning_rate,
    base_parameters=base_parameters,
    added_tensors={"prefix": list(prefix.shape), "key or value, per layer": list(key_0.shape)},
    layers=config.num_layers,
    generate_agrees=round(generate_agrees, 4),
    summary={k: round(v, 4) for k, v in figures.items()},
)
