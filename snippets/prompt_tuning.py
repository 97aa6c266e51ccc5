"""Prompt tuning: the model frozen, a few trainable input embeddings (a soft prompt) learned.

PEFT's prompt tuning (Lester et al., 2021) puts `--virtual-tokens` learned vectors before every
input's embeddings and trains only them: the whole model, every layer, stays as it was. The soft
prompt starts from the embeddings of a text (`--init text`) or at random. The job is one of the full
fine-tuning pages' runs, the same rows and budget (atlas/jobs.py): `spell` (single-task, bare input)
or `flan` (instruction tuning); the one harness then measures the target, the other tasks asked by
instruction, held-out templates and few-shot.

    python snippets/prompt_tuning.py                          # 16 tokens from text, spell job
    python snippets/prompt_tuning.py --init random
    python snippets/prompt_tuning.py --virtual-tokens 4
    python snippets/prompt_tuning.py --job flan
"""
# ci-args: --max-steps 10 --eval-words 4 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --model {smollm2} --max-steps 1 --eval-words 1 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

from pathlib import Path

from atlas import BASE_MODEL_DIR, cli, jobs

# Learning rates per job, from a first search on one seed: a soft prompt is a handful of vectors and
# wants far larger steps than the model's weights (Lester et al. used 0.3). The sweep in
# benchmarks/peft_sweep.py searches again; docs/techniques/peft-finetuning.md says where it differs.
LEARNING_RATES = {"spell": 3e-1, "flan": 3e-1}
# The text a soft prompt starts from, per job: words the pretraining text uses near the answer.
INIT_TEXTS = {"spell": "the spelling of", "flan": "Answer the request."}

parser = cli.parser(__doc__, results="prompt_tuning")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument("--job", choices=list(jobs.JOBS), default="spell", help="what it is trained on")
parser.add_argument(
    "--virtual-tokens", type=cli.at_least(1), default=16, help="length of the soft prompt"
)
parser.add_argument(
    "--init",
    choices=["text", "random"],
    default="text",
    help=f"start from the embeddings of a text ({INIT_TEXTS}) or at random",
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
    "--output-dir", type=Path, default=Path("models/prompt-tuning"), help="where it is saved"
)
args = cli.parse(parser)
JOB = jobs.get_job(args.job)
learning_rate = args.learning_rate or LEARNING_RATES[JOB.name]
max_steps = args.max_steps or JOB.steps

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from peft import PromptTuningConfig, PromptTuningInit
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from atlas.evaluation import extract_answer, generate
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:config]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
base_parameters = model.num_parameters()
peft_config = PromptTuningConfig(
    task_type="CAUSAL_LM",
    num_virtual_tokens=args.virtual_tokens,
    # TEXT: the soft prompt starts as the embeddings of INIT_TEXT's tokens (repeated or cut to
    # length); RANDOM: small random vectors
    prompt_tuning_init=PromptTuningInit.TEXT if args.init == "text" else PromptTuningInit.RANDOM,
    prompt_tuning_init_text=INIT_TEXTS[JOB.name] if args.init == "text" else None,
    tokenizer_name_or_path=MODEL if args.init == "text" else None,  # to tokenize INIT_TEXT
)
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
save(trainer, args.output_dir)  # the soft prompt only (adapter_model.safetensors)
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:tensors]
# What prompt tuning adds: one matrix, (virtual tokens, hidden size), the input embeddings of
# `virtual_tokens` made-up tokens. Every input is embedded, then these rows go in front of it.
soft_prompt = trainer.model.get_prompt(batch_size=1).detach()  # (batch, virtual tokens, hidden)
input_embeddings = trainer.model.get_input_embeddings().weight.detach()  # (vocabulary, hidden)
print("soft prompt", tuple(soft_prompt.shape), "| input embeddings", tuple(input_embeddings.shape))
# The nearest real token to each learned vector: a soft prompt need not stay anywhere near words.
nearest = (soft_prompt[0] @ input_embeddings.T).argmax(-1).tolist()
print("nearest tokens:", repr(tokenizer.decode(nearest)))
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

NAME = f"prompt_{args.init}_{JOB.name}"
results = args.results_dir
result.save(results, NAME)
write_stats(
    results,
    NAME,
    stats,
    method="prompt tuning",
    job=JOB.name,
    init=args.init,
    init_text=INIT_TEXTS[JOB.name] if args.init == "text" else None,
    virtual_tokens=args.virtual_tokens,
    learning_rate=learning_rate,
    base_parameters=base_parameters,
    added_tensors={"soft prompt": list(soft_prompt.shape[1:])},
    nearest_tokens=tokenizer.decode(nearest),
    generate_agrees=round(generate_agrees, 4),
    summary={k: round(v, 4) for k, v in figures.items()},
)
