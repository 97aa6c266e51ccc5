"""Benchmark: the toy base model against SmolLM2-135M-Instruct on this machine, in one run.

For each model, in a fresh process (so that peak memory is its own): load time, greedy generation
tokens/s (one prompt, and a batch of 32), training tokens/s (full fine-tuning, and LoRA on the
attention projections, as the site's real-model page trains it) and peak resident memory. Then the
ratios that explain why the site trains a toy. Not a test: it measures.

    # ~3 minutes; writes docs/generated/benchmark/toy_vs_real.*
    .venv/bin/python benchmarks/toy_vs_real.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH, SEQ, STEPS = 8, 64, 4  # a training step: 8 sequences of 64 tokens
NEW_TOKENS = 32


def measure(which: str) -> dict:
    import resource

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from atlas import BASE_MODEL_DIR
    from atlas.cli import use_threads
    from atlas.real_model import smollm2

    use_threads()  # the site's one thread count (atlas.THREADS)
    torch.manual_seed(0)
    path = str(BASE_MODEL_DIR) if which == "toy" else smollm2()  # the cache is made before timing
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    out = {
        "parameters": model.num_parameters(),
        "load_seconds": round(time.perf_counter() - start, 2),
    }

    prompt = "the reverse of kitab is batik. the length of lomu is"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.eval()
    for batch in (1, 32):
        enc = tokenizer([prompt] * batch, return_tensors="pt", padding=True)
        with torch.inference_mode():
            model.generate(
                **enc, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )  # warm-up
            start = time.perf_counter()
            model.generate(
                **enc,
                max_new_tokens=NEW_TOKENS,
                min_new_tokens=NEW_TOKENS,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        out[f"generation_tokens_per_second_batch_{batch}"] = round(
            batch * NEW_TOKENS / (time.perf_counter() - start), 1
        )

    def training_tokens_per_second(trained) -> float:
        params = [p for p in trained.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4)
        ids = torch.randint(0, tokenizer.vocab_size, (BATCH, SEQ))
        trained.train()
        for step in range(STEPS + 1):  # the first step warms up
            if step == 1:
                start = time.perf_counter()
            trained(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        return round(BATCH * SEQ * STEPS / (time.perf_counter() - start), 1)

    out["training_tokens_per_second_full"] = training_tokens_per_second(model)
    lora = get_peft_model(
        model,
        LoraConfig(
            r=8,
            lora_alpha=16,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        ),
    )
    out["training_tokens_per_second_lora"] = training_tokens_per_second(lora)
    out["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2])))
        return
    from atlas.real_model import smollm2

    start = time.perf_counter()
    cached = smollm2()  # first use de-quantizes the GGUF file and caches it; later runs only load
    report = {
        "real_model_cache": {
            "path": "(user cache)/" + Path(cached).name,
            "seconds_to_get_it_this_run": round(time.perf_counter() - start, 1),
        },
        "settings": {
            "threads": 2,
            "training_batch": f"{BATCH} x {SEQ} tokens",
            "new_tokens": NEW_TOKENS,
        },
    }
    for which in ("toy", "real"):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", which], capture_output=True, text=True, cwd=ROOT
        )
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        report[which] = json.loads(proc.stdout.strip().splitlines()[-1])
    toy, real = report["toy"], report["real"]
    report["real_over_toy"] = {
        "parameters": round(real["parameters"] / toy["parameters"]),
        "load_seconds": round(real["load_seconds"] / toy["load_seconds"], 1),
        "peak_memory": round(real["peak_memory_mib"] / toy["peak_memory_mib"], 1),
        **{
            k.replace("_tokens_per_second", "_slower"): round(toy[k] / real[k], 1)
            for k in toy
            if "tokens_per_second" in k
        },
    }
    print(json.dumps(report, indent=1))
    out = ROOT / "docs" / "generated" / "benchmark"
    out.mkdir(parents=True, exist_ok=True)
    (out / "toy_vs_real.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "toy_vs_real.md").write_text(table(report))


def table(report: dict) -> str:
    toy, real, ratio = report["toy"], report["real"], report["real_over_toy"]
    rows = [
        ("parameters", "parameters", "{:,}", "parameters", "× {}"),
        ("load time (s)", "load_seconds", "{}", "load_seconds", "× {}"),
        ("peak memory (MiB)", "peak_memory_mib", "{:,}", "peak_memory", "× {}"),
    ]
    for k in toy:
        if "tokens_per_second" in k:
            label = k.replace("_", " ").replace("tokens per second", "tokens/s")
            rows.append(
                (label, k, "{:,}", k.replace("_tokens_per_second", "_slower"), "{} × slower")
            )
    lines = [
        "| on this machine (2 CPU cores) | toy base model | SmolLM2-135M-Instruct | real ÷ toy |",
        "|---|---:|---:|---:|",
    ]
    for label, key, fmt, rkey, rfmt in rows:
        lines.append(
            f"| {label} | {fmt.format(toy[key])} | {fmt.format(real[key])} "
            f"| {rfmt.format(ratio[rkey])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
