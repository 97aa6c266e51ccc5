"""Parameter-efficient fine-tuning: LoRA or IA³ on the toy model, the same job as full fine-tuning.

PEFT freezes the base model and trains a few new weights beside it: LoRA a low-rank update
(B·A, rank r) beside chosen linear layers, IA³ one learned scale per channel of the keys, values
and feed-forward activations. The job is one of the full fine-tuning pages' runs, the same rows
and budget (atlas/jobs.py): `spell` (single-task, bare input) or `flan` (instruction tuning).
Afterwards the one harness measures the target, the other tasks asked by instruction, held-out
templates and few-shot (what the model kept). LoRA's adapter is then folded into the weights
(`merge_and_unload`), and the merged model must give the same answers as the adapter model.

    python snippets/peft_finetuning.py                              # LoRA r=8, the spell job
    python snippets/peft_finetuning.py --job flan                   # LoRA, instruction tuning
    python snippets/peft_finetuning.py --rank 64 --targets attention
    python snippets/peft_finetuning.py --method ia3
"""
# ci-args: --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --method ia3 --job flan --max-steps 10 --eval-words 4 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

from pathlib import Path

from atlas import BASE_MODEL_DIR, cli, jobs

# Each method's learning rate, per job, from a first search on one seed (benchmarks/peft_sweep.py
# searches again; docs/techniques/peft-finetuning.md compares). LoRA and IA³ train few weights from
# a neutral start and want larger steps than full fine-tuning (1e-3 for spell, 2e-3 for flan).
LEARNING_RATES = {"lora": {"spell": 3e-3, "flan": 3e-3}, "ia3": {"spell": 1e-1, "flan": 1e-1}}

parser = cli.parser(__doc__, results="peft_finetuning")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument("--method", choices=["lora", "ia3"], default="lora", help="what is trained")
parser.add_argument("--job", choices=list(jobs.JOBS), default="spell", help="what it is trained on")
parser.add_argument(
    "--rank", type=cli.at_least(1), default=None, help="LoRA's rank r, 8 if not given"
)
parser.add_argument(
    "--alpha",
    type=cli.positive,
    default=None,
    help="LoRA's alpha: the update B·A is scaled by alpha / r (2r if not given: a scale of 2)",
)
parser.add_argument(
    "--rslora",
    action="store_true",
    help="rank-stabilised LoRA: scale the update by alpha / sqrt(r) instead of alpha / r",
)
parser.add_argument(
    "--targets",
    choices=["all-linear", "attention"],
    default=None,
    help="LoRA beside every linear layer (all-linear, if not given), or the attention only",
)
parser.add_argument(
    "--learning-rate",
    type=cli.positive,
    default=None,
    help=f"default: the method's searched best per job, {LEARNING_RATES}",
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
    "--output-dir",
    type=Path,
    default=Path("models/peft"),
    help="where the adapter is saved",
)
args = cli.parse(parser)
if args.method == "ia3" and (args.rank or args.targets or args.alpha or args.rslora):
    parser.error(
        "--rank, --alpha, --rslora and --targets are LoRA's: IA³ learns one scale per channel"
    )
args.rank, args.targets = args.rank or 8, args.targets or "all-linear"
args.alpha = args.alpha or 2 * args.rank
JOB = jobs.get_job(args.job)
learning_rate = args.learning_rate or LEARNING_RATES[args.method][JOB.name]
max_steps = args.max_steps or JOB.steps

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from peft import IA3Config, LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.evaluation import generate
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:config]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
base_parameters = model.num_parameters()
ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]  # Llama's names, as in most Hub models
layer_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
if args.method == "lora":
    if args.targets == "all-linear":
        targets = "all-linear"
    else:  # the attention projections; on another architecture, PEFT's default for it
        targets = ATTENTION if set(ATTENTION) <= layer_names else None
    peft_config = LoraConfig(
        r=args.rank,
        # B starts at zero, so training starts from the base model; B·A is scaled by alpha / r,
        # so at a fixed ratio (2 here) a larger rank does not mean larger steps.
        lora_alpha=args.alpha,
        use_rslora=args.rslora,  # alpha / sqrt(r): larger ranks take larger steps
        lora_dropout=0.0,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
else:  # IA³: PEFT's default places for the architecture (Llama: keys, values, down projection)
    peft_config = IA3Config(task_type="CAUSAL_LM")
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
added = {n: list(p.shape) for n, p in trainer.model.named_parameters() if p.requires_grad}
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)  # the adapter only (adapter_model.safetensors)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
tuned = trainer.model  # the base model with its adapter
result = jobs.measure(tuned, tokenizer, JOB.name, n_words=args.eval_words)
figures = jobs.summary(result.by_task(), JOB.name)
print(result.cluster_markdown())
print({k: f"{100 * v:.0f} %" for k, v in figures.items()})
# --8<-- [end:evaluate]

# --8<-- [start:merge]
merged_same = None
if args.method == "lora":
    # Fold B·A into the weights: a plain model again, as fast as the base, no PEFT needed to load.
    prompts = [e.prompt for e in result.examples[::8]]  # one in eight of the harness's prompts
    with_adapter = generate(tuned, tokenizer, prompts)
    merged = tuned.merge_and_unload()
    merged_same = generate(merged, tokenizer, prompts) == with_adapter
    print(f"merged model gives the adapter model's answers on {len(prompts)} prompts:", merged_same)
# --8<-- [end:merge]

NAME = f"{args.method}_{JOB.name}"
results = args.results_dir
result.save(results, NAME)
write_stats(
    results,
    NAME,
    stats,
    method=args.method,
    job=JOB.name,
    rank=args.rank if args.method == "lora" else None,
    targets=args.targets if args.method == "lora" else None,
    learning_rate=learning_rate,
    base_parameters=base_parameters,
    added_tensors=dict(list(added.items())[:4]),
    added_tensor_count=len(added),
    merged_same_answers=merged_same,
    summary={k: round(v, 4) for k, v in figures.items()},
)
