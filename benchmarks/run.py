"""Benchmark: the site's one speed report. For every snippet, the run a reader starts (its default
arguments, outputs in a temporary folder): wall time, peak memory, and the training throughput it
reports; the pretraining snippet's throughput as a share of this CPU's measured matmul peak; the
time to evaluate the base model on the whole grid. The provenance stamp names the CPU it ran on.

    .venv/bin/python benchmarks/run.py              # ~20 minutes; writes docs/generated/benchmark/
    .venv/bin/python benchmarks/run.py pretraining  # some of them; prints only

Pretraining is the one exception: its default run *is* the shipped model (15–20 minutes), so the
report times a short run (its CI arguments) for this CPU's throughput and quotes the committed full
run for its duration.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas.ci import FOLDER_FLAGS, SNIPPETS, ci_args  # noqa: E402  the same arguments as the tests
from atlas.runs import run_script  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

SHORT_RUN_ONLY = {"pretraining": "its default run trains the shipped model (see the committed run)"}
# Snippets whose default run starts from the model instruction_tuning.py saves: timed from the
# model this report's own instruction-tuning run made (the same recipe), so that the report reads
# no model folder outside its runs, whatever models/ holds on the machine.
STARTS_FROM_INSTRUCTION_TUNED = ("dpo", "kto", "new_knowledge")
TOY_BUDGET_SECONDS = 60  # what a reader should wait for a snippet on the toy model (issue 17)


def default_args(path: Path) -> list[str]:
    """The reader's default run: only the output folders of the snippet's first `# ci-args:` line,
    so nothing is written where the site's figures live."""
    args, kept = shlex.split(ci_args(path)), []
    for flag, value in zip(args, args[1:]):
        if flag in FOLDER_FLAGS:
            kept += [flag, value]
    return kept


def default_model(path: Path) -> str:
    """The model a snippet runs on by default: the real model where it calls `smollm2()`."""
    return "SmolLM2-135M-Instruct" if "smollm2()" in path.read_text() else "toy"


def time_snippet(path: Path, keep_model: Path | None = None, start: Path | None = None) -> dict:
    """One snippet's run, outputs in a temporary folder; `keep_model`: where its saved model goes
    instead (a later snippet starts from it); `start`: the model it starts from (`--model`)."""
    short = path.stem in SHORT_RUN_ONLY
    with tempfile.TemporaryDirectory() as tmp:
        template = ci_args(path) if short else " ".join(default_args(path))
        args = shlex.split(template.format(tmp=tmp))
        if keep_model is not None:
            args[args.index("--output-dir") + 1] = str(keep_model)
        if start is not None:
            args += ["--model", str(start)]
        run = run_script(path, args)
        training = training_figures(Path(tmp) / "results")
    if run["returncode"]:
        raise SystemExit(f"{path.name} {' '.join(args)} failed:\n{run['stderr'][-3000:]}")
    return {
        "model": default_model(path),
        "run": "short (CI arguments)" if short else "default",
        "arguments": template if start is None else f"{template} --model {start.name}",
        "seconds": run["seconds"],
        "peak_mib": run["peak_mib"],
        **training,
    }


def training_figures(results: Path) -> dict:
    """What the snippet reports about its training: seconds and rows (or tokens) per second."""
    out: dict = {}
    pretraining = results / "training.json"
    if pretraining.is_file():
        stats = json.loads(pretraining.read_text())
        return {
            "training_seconds": stats["seconds"],
            "tokens_per_second": stats["tokens_per_second"],
            "model_gflops_per_second": stats["model_gflops_per_second"],
        }
    timings = sorted(results.rglob("*_timing.json"))
    if timings:  # one training run per snippet; where there are several, their sum and rate
        stats = [json.loads(t.read_text()) for t in timings]
        seconds = sum(s["seconds"] for s in stats)
        rows = sum(s["seconds"] * s["examples_per_second"] for s in stats)
        out = {"training_seconds": round(seconds, 1), "rows_per_second": round(rows / seconds)}
    return out


def peak_matmul_gflops(dtype, n: int = 2048, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def cpu_facts() -> dict:
    """What a speed figure depends on besides the CPU's name (the provenance stamp holds that):
    its widest vector extension, bfloat16 in hardware, and the threads the run used."""
    import torch

    from atlas.training import native_bf16

    return {
        "vector_extensions": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
        "threads": torch.get_num_threads(),
    }


def evaluation_seconds() -> dict:
    from atlas import BASE_MODEL_DIR, models
    from atlas.evaluation import evaluate

    model, tokenizer = models.load(BASE_MODEL_DIR)
    result = evaluate(model, tokenizer)
    return {"examples": len(result.examples), "seconds": round(result.seconds, 1)}


def main() -> None:
    wanted = set(sys.argv[1:])
    # Snippets first, from a lean process: Linux keeps a parent's peak memory across fork and exec,
    # so a parent that had imported torch would inflate every child's figure.
    report = {"snippets": {}}
    # the instruction-tuning run first: the snippets that start from its model wait for it
    order = sorted(SNIPPETS, key=lambda p: p.stem != "instruction_tuning")
    with tempfile.TemporaryDirectory() as kept:
        tuned = Path(kept) / "instruction-tuned"
        for path in order:
            if wanted and path.stem not in wanted:
                continue
            keep = tuned if path.stem == "instruction_tuning" else None
            start = tuned if path.stem in STARTS_FROM_INSTRUCTION_TUNED else None
            if start is not None and not tuned.is_dir():  # asked for without it: run it first
                time_snippet(ROOT / "snippets" / "instruction_tuning.py", keep_model=tuned)
            report["snippets"][path.stem] = time_snippet(path, keep, start)
            print(path.stem, report["snippets"][path.stem], flush=True)
    report["snippets"] = {
        p.stem: report["snippets"][p.stem] for p in SNIPPETS if p.stem in report["snippets"]
    }
    import torch

    from atlas.cli import use_threads

    use_threads()  # the site's one thread count (atlas.THREADS)

    report["evaluation_full_grid"] = evaluation_seconds()
    report["cpu"] = cpu_facts()
    # bfloat16 on a smaller matrix: where the CPU lacks it, the emulation is slow enough to matter
    report["cpu_peak_gflops"] = {
        "float32": round(peak_matmul_gflops(torch.float32)),
        "bfloat16": round(peak_matmul_gflops(torch.bfloat16, n=512, repeats=3), 1),
    }
    short = report["snippets"].get("pretraining")
    if short:  # pretraining trains in bfloat16 only where the CPU has it in hardware
        dtype = "bfloat16" if report["cpu"]["native_bf16"] else "float32"
        peak = report["cpu_peak_gflops"][dtype]
        report["pretraining_share_of_peak"] = {
            "dtype": dtype,
            "model_gflops_per_second": short["model_gflops_per_second"],
            "peak_gflops": peak,
            "share": round(short["model_gflops_per_second"] / peak, 3),
        }
    training = ROOT / "docs" / "generated" / "pretraining" / "training.json"
    if training.is_file():  # measured when the shipped model was trained, possibly on another CPU
        stats = json.loads(training.read_text())
        report["pretraining_committed_run"] = {
            k: stats[k] for k in ("seconds", "tokens_per_second", "model_gflops_per_second")
        }
    report["toy_budget_seconds"] = TOY_BUDGET_SECONDS
    print(json.dumps(report, indent=1))
    if not wanted:  # a full run is what the site shows
        out = ROOT / "docs" / "generated" / "benchmark"
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmark.json").write_text(json.dumps(report, indent=1) + "\n")
        (out / "benchmark.md").write_text(table(report))


def table(report: dict) -> str:
    """One row per snippet: the run, its wall time and peak memory, its training throughput."""
    rows = []
    for name, r in report["snippets"].items():
        if "tokens_per_second" in r:
            rate = f"{r['tokens_per_second']:,} tokens/s"
        elif "rows_per_second" in r:
            rate = f"{r['rows_per_second']:,} rows/s"
        else:
            rate = ""
        over = r["model"] == "toy" and r["run"] == "default"
        over = over and r["seconds"] > report["toy_budget_seconds"]
        rows.append(
            [
                f"`{name}`" + (" (short run)" if r["run"] != "default" else ""),
                r["model"],
                f"**{r['seconds']:.0f}**" if over else f"{r['seconds']:.0f}",
                f"{r['peak_mib']:,}",
                f"{r['training_seconds']:.0f}" if "training_seconds" in r else "",
                rate,
            ]
        )
    header = ["snippet", "model", "wall s", "peak MiB", "training s", "training throughput"]
    return markdown_table(header, rows, align="llrrrr")


if __name__ == "__main__":
    main()
