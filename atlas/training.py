"""The site's one way to fine-tune: TRL's `SFTTrainer` (or the plain `Trainer` for a classification
head) with the same CPU settings everywhere, and the same few numbers reported after every run.

    args = sft_config("/tmp/run", max_steps=300, learning_rate=2e-3)
    trainer = SFTTrainer(model=model, args=args, train_dataset=rows, processing_class=tokenizer)
    stats = train(trainer)                    # trains, times, returns the figures the pages show
    save(trainer, "/tmp/run/model")           # safetensors + tokenizer, ready for from_pretrained
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path


def cpu_settings(
    output_dir: str | Path,
    max_steps: int,
    learning_rate: float,
    seed: int = 0,
    batch_size: int = 32,
) -> dict:
    """Arguments shared by every fine-tuning run on this site (TrainingArguments and SFTConfig)."""
    return dict(
        output_dir=str(output_dir),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, max_steps // 15),
        # float32: bfloat16 autocast is ~10 % faster on a CPU with native bf16 (AVX512-BF16, AMX)
        # but ~16x slower on one without (most laptops: AVX2), and float32 repeats better across
        # CPUs.
        bf16=False,
        use_cpu=True,
        # TRL switches it on by default; it only costs time at 1 M parameters
        activation_checkpointing=False,
        logging_steps=max(1, max_steps // 30),
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=seed,
    )


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX flags in /proc/cpuinfo).
    Without it, PyTorch emulates bf16 and autocast makes training much slower, not faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: assume no
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def sft_config(
    output_dir: str | Path,
    max_steps: int,
    learning_rate: float,
    seed: int = 0,
    batch_size: int = 32,
    completion_only_loss: bool = True,
):
    """An `SFTConfig` for prompt/completion rows: the loss covers the completion only (unless
    `completion_only_loss=False`: the whole sequence), EOS is appended."""
    from trl import SFTConfig

    return SFTConfig(
        **cpu_settings(output_dir, max_steps, learning_rate, seed, batch_size),
        max_length=128,
        completion_only_loss=completion_only_loss,
    )


def trainable_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(trainer) -> dict:
    """Run `trainer.train()` and return what every page reports about a run."""
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    losses = [(log["step"], log["loss"]) for log in trainer.state.log_history if "loss" in log]
    examples = trainer.args.max_steps * trainer.args.per_device_train_batch_size
    return {
        "trainable_parameters": trainable_parameters(trainer.model),
        "steps": trainer.args.max_steps,
        "examples": examples,
        "seconds": round(seconds, 1),
        "examples_per_second": round(examples / seconds),
        "first_loss": round(losses[0][1], 3),
        "final_loss": round(losses[-1][1], 3),
        "mean_loss": round(output.training_loss, 3),
        "losses": losses,
    }


def _refuse_diverged(trainer) -> None:
    """Stop before a model is saved (and then scored) when training diverged (a learning rate far
    too large, say): the weights went to infinity or NaN (the logged loss can read 0.0 then, like
    success), or the loss ended at more than twice both where it started and a uniform guess over
    the vocabulary, ln(vocabulary size), where the weights can stay finite (with native bfloat16).
    A first loss above a uniform guess is no divergence: a chat model asked for a bare label
    starts there."""
    import math

    import torch

    from atlas import InputError

    trained = [p for p in trainer.model.parameters() if p.requires_grad]
    broken = sum(int(not torch.isfinite(p).all()) for p in trained)
    rate = f"learning rate {trainer.args.learning_rate:g}"
    if broken:
        raise InputError(
            f"training diverged: {broken} of the {len(trained)} trained weight tensors are no "
            f"longer finite numbers ({rate}); nothing was saved: rerun with a smaller "
            "--learning-rate"
        )
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    vocabulary = getattr(trainer.model.config, "vocab_size", None)
    guess = math.log(vocabulary) if vocabulary else math.inf
    first, last = (losses[0], losses[-1]) if losses else (0.0, 0.0)
    if not math.isfinite(last) or last > 2 * max(first, guess):
        raise InputError(
            f"training diverged: the loss went from {first:.3g} to {last:.3g}, more than twice "
            f"that and twice a uniform guess over the vocabulary ({guess:.3g}) ({rate}); nothing "
            "was saved: rerun with a smaller --learning-rate"
        )


def write_stats(results_dir: str | Path, name: str, stats: dict, **figures) -> None:
    """Write `<name>_training.json` (what repeats exactly from run to run: steps, losses, `figures`)
    and `<name>_timing.json` (wall-clock figures, which differ a little on every run and
    machine)."""
    import json

    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    timing_keys = ("seconds", "examples_per_second")
    repeatable = {k: v for k, v in stats.items() if k not in timing_keys and k != "losses"}
    (results_dir / f"{name}_training.json").write_text(
        json.dumps({**repeatable, **figures}, indent=1) + "\n"
    )
    (results_dir / f"{name}_timing.json").write_text(
        json.dumps({k: stats[k] for k in timing_keys}, indent=1) + "\n"
    )


def save(trainer, output_dir: str | Path) -> Path:
    """Save the trained model (safetensors) and its tokenizer so `from_pretrained(output_dir)` loads
    both."""
    _refuse_diverged(trainer)
    model = trainer.model
    model.config.use_cache = (
        True  # the Trainer switched the KV cache off for training; generation wants it
    )
    target = Path(output_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed into place: a stopped run leaves the old model whole,
    # and two runs into one folder never mix their files (the last to finish wins, whole).
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        trainer.save_model(str(partial))
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            target.rename(old / target.name)
            partial.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"saved the model to {target}")
    return target
