"""Pretraining: next-token prediction on raw text, from scratch.

Trains the site's base model, a 1 M-parameter LlamaForCausalLM, on the "toy web" (facts about string
operations, input -> output pattern lists, filler; never an instruction), saves it with its
tokenizer as safetensors, and measures what it can and cannot do.

    python snippets/pretraining.py                      # the full run that made models/toy-base
    python snippets/pretraining.py --max-steps 40 --output-dir /tmp/base --results-dir /tmp/res
"""
# ci-args: --max-steps 40 --output-dir {tmp}/toy-base --results-dir {tmp}/results

import json
import math
import time
from pathlib import Path

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="pretraining")
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=3600, help="training steps of 32 blocks"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=BASE_MODEL_DIR,
    help="where the base model is saved (the default replaces the shipped one)",
)
parser.add_argument(
    "--hidden-size",
    type=int,
    choices=[64, 96, 128, 192, 256],
    default=128,
    help="model width (128: the shipped 1 M model; 64: 0.27 M, 256: 4.2 M parameters)",
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Trainer,
    TrainingArguments,
    default_data_collator,
)

from atlas.toy import data
from atlas.toy.tokenizer import build_tokenizer

from atlas import ROOT
from atlas.evaluation import evaluate
from atlas.plots import plot_accuracy_by_task, plot_loss
from atlas.training import native_bf16

torch.manual_seed(0)

# --8<-- [start:model]
BLOCK, BATCH = 128, 32  # packed 128-character blocks, 32 per step

tokenizer = build_tokenizer()  # one token per character, see atlas/toy/tokenizer.py
config = LlamaConfig(
    vocab_size=len(tokenizer),
    hidden_size=args.hidden_size,
    intermediate_size=4 * args.hidden_size,
    num_hidden_layers=4,
    num_attention_heads=args.hidden_size // 32,  # heads of 32 dimensions
    num_key_value_heads=args.hidden_size // 32,
    max_position_embeddings=256,
    tie_word_embeddings=True,  # input and output embeddings shared: fewer parameters
    pad_token_id=tokenizer.pad_token_id,
    eos_token_id=tokenizer.eos_token_id,
    bos_token_id=None,
)
model = LlamaForCausalLM(config)  # random weights: this is pretraining from scratch
n_params = sum(p.numel() for p in model.parameters())
print(f"parameters: {n_params / 1e6:.2f} M")
# --8<-- [end:model]

# --8<-- [start:data]
# Enough documents for max_steps batches of packed blocks (about 155 characters per document).
n_docs = math.ceil(args.max_steps * BATCH * BLOCK / 150)
raw = data.load_shape(
    data.write_jsonl(data.toy_web(n_docs, seed=0), ROOT / "data" / "toy_web.jsonl"), "raw_text"
)
print(raw[0]["text"])


def tokenize(batch):
    # Every document ends with EOS, so the model learns where a text stops.
    return tokenizer([t + tokenizer.eos_token for t in batch["text"]], add_special_tokens=False)


def pack(batch):
    # Concatenate documents and cut the stream into fixed blocks: no padding is wasted.
    ids = [i for seq in batch["input_ids"] for i in seq]
    blocks = [ids[i : i + BLOCK] for i in range(0, len(ids) - BLOCK + 1, BLOCK)]
    return {"input_ids": blocks, "labels": [b[:] for b in blocks]}


tokens = raw.map(tokenize, batched=True, remove_columns=["text"])
blocks = tokens.map(pack, batched=True, remove_columns=tokens.column_names)
print(f"{len(blocks)} blocks of {BLOCK} tokens")
# --8<-- [end:data]

# --8<-- [start:train]
training_args = TrainingArguments(
    output_dir=str(Path(args.output_dir) / "trainer"),
    max_steps=args.max_steps,
    per_device_train_batch_size=BATCH,
    learning_rate=3e-3,
    lr_scheduler_type="cosine",
    warmup_steps=min(100, args.max_steps // 10),
    weight_decay=0.1,
    # bf16 autocast on a GPU, or where the CPU has bf16 in hardware; elsewhere float32 is faster
    bf16=torch.cuda.is_available() or native_bf16(),
    use_cpu=not torch.cuda.is_available(),  # the toy trains on a CPU; a GPU is used where present
    logging_steps=max(1, args.max_steps // 60),
    save_strategy="no",
    report_to="none",
    disable_tqdm=True,
    seed=0,
)
trainer = Trainer(
    model=model, args=training_args, train_dataset=blocks, data_collator=default_data_collator
)
start = time.perf_counter()
trainer.train()
seconds = time.perf_counter() - start
model.config.use_cache = (
    True  # the Trainer switched the KV cache off for training; generation wants it
)
model.save_pretrained(args.output_dir)  # safetensors
tokenizer.save_pretrained(args.output_dir)
# --8<-- [end:train]

tokens_seen = args.max_steps * BATCH * BLOCK
losses = [(log["step"], log["loss"]) for log in trainer.state.log_history if "loss" in log]
stats = {
    "parameters": n_params,
    "steps": args.max_steps,
    "tokens": tokens_seen,
    "seconds": round(seconds, 1),
    "tokens_per_second": round(tokens_seen / seconds),
    # 6 FLOPs per parameter per token (forward + backward), the usual estimate
    "model_gflops_per_second": round(6 * n_params * tokens_seen / seconds / 1e9, 2),
    "first_loss": round(losses[0][1], 3),
    "final_loss": round(losses[-1][1], 3),
}
print(json.dumps(stats, indent=1))

# --8<-- [start:evaluate]
# Evaluate what was saved, exactly as every other page loads it (in float32, outside the Trainer).
base_model = AutoModelForCausalLM.from_pretrained(args.output_dir)
result = evaluate(base_model, tokenizer)  # every task, in every input presentation
print(result.markdown())
# --8<-- [end:evaluate]

results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / "training.json").write_text(json.dumps(stats, indent=1) + "\n")
plot_loss(
    losses, results / "loss.png", title=f"Pretraining loss, {n_params / 1e6:.2f} M parameters"
)
result.save(results, "base_model")
plot_accuracy_by_task(
    result,
    ["instruction", "chat", "few_shot", "fact"],
    results / "base_model.png",
    title="The base model, by task and input presentation",
)
