"""Benchmark: what makes fine-tuning faster on a laptop CPU, one lever at a time (issue 17).

The slowest toy snippet's default run, the instruction-tuning job (`atlas.jobs` "flan": the rows,
learning rate and 300 steps of 32 of `snippets/instruction_tuning.py`), trained with the site's one
way to train (`atlas.training.sft_config` and TRL's `SFTTrainer`) with one setting changed per row,
each in a fresh process; then evaluated on the harness's grid, to see whether the lever changed the
results beyond the seed range that `benchmarks/seeds.py` measured for the page recipe. Per row:
training seconds, rows/s, tokens/s (the tokens of the rows, and the tokens computed with padding),
model arithmetic in GFLOP/s (six times the parameters per token computed) and its share of this
CPU's float32 matmul peak. After the page recipe's training, the same model is evaluated at several
batch sizes and without the KV cache (the evaluation levers).

    python benchmarks/speed_levers.py   # ~12 minutes on 2 cores; writes docs/generated/speed/
    python benchmarks/speed_levers.py --lever "padding-free batches"   # one row, printed only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.runs import run_script  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "speed"
JOB = "flan"  # its steps and learning rate: atlas.jobs.JOBS, as on the instruction-tuning page
BATCH_SIZE = 32  # rows per step, as on every fine-tuning page (atlas.training)
# name -> what changes from the page recipe: SFTConfig fields, batch size and steps, threads
LEVERS: dict[str, dict] = {
    "page recipe": {},
    "one thread": {"threads": 1},
    "padding-free batches": {"config": {"padding_free": True, "max_length": None}},
    "rows of similar length together": {"config": {"train_sampling_strategy": "group_by_length"}},
    "fewer, fuller steps (64 × 150)": {"batch_size": 64, "steps": 150},
    "torch.compile (inductor)": {"config": {"torch_compile": True}},
}
EVAL_BATCH_SIZES = (64, 256, 1024)  # the harness's default is 256
# The figures compared with the seed range (columns of atlas.comparison, as in seeds.json)
QUALITY = {
    "other_seen_instruction": "other seen tasks",
    "held_out_templates": "held-out templates",
    "held_out_cluster": "held-out cluster",
    "few_shot": "few-shot",
}


def train_once(lever: str) -> dict:
    """Train the job with one lever (in this process) and evaluate the result."""
    from atlas.cli import use_threads

    use_threads()  # atlas.THREADS, unless OMP_NUM_THREADS says otherwise (the one-thread lever)
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from atlas import BASE_MODEL_DIR, jobs
    from atlas.evaluation import evaluate
    from atlas.training import sft_config, train

    change, job = LEVERS[lever], jobs.get_job(JOB)
    steps, batch_size = change.get("steps", job.steps), change.get("batch_size", BATCH_SIZE)
    rows = jobs.training_rows(JOB, seed=0)
    model = AutoModelForCausalLM.from_pretrained(BASE_MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        config = sft_config(
            tmp, max_steps=steps, learning_rate=job.full_learning_rate, batch_size=batch_size
        )
        config = dataclasses.replace(config, **change.get("config", {}))
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
        )
        counted = {"tokens": 0, "computed": 0}
        collate = trainer.data_collator

        def counting_collator(features):  # what each step computes, padding included
            batch = collate(features)
            counted["computed"] += batch["input_ids"].numel()
            counted["tokens"] += sum(len(f["input_ids"]) for f in features)
            return batch

        trainer.data_collator = counting_collator
        stats = train(trainer)
    model = trainer.model
    model.config.use_cache = True
    parameters = model.num_parameters()
    seconds = stats["seconds"]
    record = {
        "threads": torch.get_num_threads(),
        "steps": steps,
        "batch_size": batch_size,
        "training_seconds": seconds,
        "rows_per_second": round(steps * batch_size / seconds),
        "tokens_per_second": round(counted["tokens"] / seconds),
        "computed_tokens_per_second": round(counted["computed"] / seconds),
        "model_gflops_per_second": round(6 * parameters * counted["computed"] / seconds / 1e9, 2),
        "final_loss": stats["final_loss"],
    }
    result = evaluate(model, tokenizer, conditions=jobs.CONDITIONS)
    summary = jobs.summary(result.by_task(), JOB)
    record["quality"] = {k: round(summary[k], 4) for k in QUALITY}
    record["evaluation_seconds"] = round(result.seconds, 1)
    if lever == "page recipe":
        record["evaluation"] = evaluation_levers(model, tokenizer, result)
    return record


def evaluation_levers(model, tokenizer, reference) -> list[dict]:
    """The same grid at other batch sizes and without the KV cache: seconds, and whether every
    answer is the one the default setting gave."""
    from atlas import jobs
    from atlas.evaluation import evaluate

    expected = [e.prediction for e in reference.examples]
    settings = [(b, True) for b in EVAL_BATCH_SIZES] + [(256, False)]
    records = []
    for batch_size, cache in settings:
        model.config.use_cache = cache
        model.generation_config.use_cache = cache
        start = time.perf_counter()
        result = evaluate(model, tokenizer, conditions=jobs.CONDITIONS, batch_size=batch_size)
        seconds = time.perf_counter() - start
        same = sum(e.prediction == p for e, p in zip(result.examples, expected))
        records.append(
            {
                "batch_size": batch_size,
                "kv_cache": cache,
                "prompts": len(expected),
                "seconds": round(seconds, 1),
                "same_answers": same,
            }
        )
        print(records[-1], flush=True)
    model.config.use_cache = model.generation_config.use_cache = True
    return records


def seed_range() -> dict[str, list[float]]:
    """The page recipe's min and max over seeds, from benchmarks/seeds.py's committed results."""
    seeds = json.loads((GENERATED_DIR / "seeds" / "seeds.json").read_text())["seeds"]
    runs = list(seeds["instruction tuning"].values())
    return {k: [min(r[k] for r in runs), max(r[k] for r in runs)] for k in QUALITY}


def table(report: dict) -> str:
    """One row per lever: time, throughput, share of peak, and the quality against the seed
    range (figures outside it in bold)."""
    base = report["levers"]["page recipe"]["training_seconds"]
    rows = []
    for name, r in report["levers"].items():
        quality = []
        for key in QUALITY:
            low, high = report["seed_range"][key]
            value = 100 * r["quality"][key]
            inside = 100 * low - 0.5 <= value <= 100 * high + 0.5
            quality.append(f"{value:.0f}" if inside else f"**{value:.0f}**")
        rows.append(
            [
                name,
                f"{r['training_seconds']:.0f}",
                f"{base / r['training_seconds']:.2f}×",
                f"{r['tokens_per_second']:,}",
                f"{r['computed_tokens_per_second']:,}",
                f"{100 * r['model_gflops_per_second'] / report['peak_gflops']:.0f} %",
                *quality,
            ]
        )
    header = ["lever", "training s", "speed-up", "tokens/s", "computed tokens/s", "of peak"]
    header += [f"{label} %" for label in QUALITY.values()]
    return markdown_table(header, rows, align="lrrrrr" + "r" * len(QUALITY))


def evaluation_table(report: dict) -> str:
    rows = [
        [
            f"{r['batch_size']:,}",
            "yes" if r["kv_cache"] else "no",
            f"{r['seconds']:.0f}",
            f"{r['same_answers']:,} of {r['prompts']:,}",
        ]
        for r in report["levers"]["page recipe"]["evaluation"]
    ]
    header = ["batch size", "KV cache", "seconds", "same answers as batch 256 with cache"]
    return markdown_table(header, rows, align="rlrr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lever", choices=list(LEVERS), help="run one lever; print only")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # write the record here
    args = parser.parse_args()
    if args.child:
        args.child.write_text(json.dumps(train_once(args.lever)))
        return
    names = [args.lever] if args.lever else list(LEVERS)
    report: dict = {"job": JOB, "levers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / "record.json"
            run = run_script(
                __file__, ["--lever", name, "--child", str(out)], LEVERS[name].get("threads")
            )
            if run["returncode"]:
                raise SystemExit(f"{name} failed:\n{run['stderr'][-3000:]}")
            report["levers"][name] = {**json.loads(out.read_text()), "peak_mib": run["peak_mib"]}
            print(name, report["levers"][name], flush=True)
    import torch

    from atlas.cli import use_threads

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import peak_matmul_gflops

    use_threads()
    report["cpu"] = {"vector_extensions": torch.backends.cpu.get_cpu_capability()}
    report["peak_gflops"] = round(peak_matmul_gflops(torch.float32))
    report["seed_range"] = seed_range()
    print(json.dumps(report, indent=1))
    if not args.lever:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "levers.json").write_text(json.dumps(report, indent=1) + "\n")
        (OUT / "levers.md").write_text(table(report))
        (OUT / "evaluation.md").write_text(evaluation_table(report))


if __name__ == "__main__":
    main()
