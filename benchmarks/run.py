"""Benchmark: wall time and peak memory of every snippet (run as in CI), evaluation speed, training
throughput, and the CPU's measured peak matmul FLOP/s for comparison. Not a test: it measures.

    .venv/bin/python benchmarks/run.py              # all snippets; writes docs/generated/benchmark/
    .venv/bin/python benchmarks/run.py pretraining  # some of them; prints only
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
from atlas.ci import SNIPPETS, ci_args  # noqa: E402  the same arguments the tests use
from atlas.runs import run_script  # noqa: E402


def time_snippet(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = run_script(path, shlex.split(ci_args(path).format(tmp=tmp)))
    return {
        "ok": run["returncode"] == 0,
        "seconds": run["seconds"],
        "peak_mib": run["peak_mib"],
        "ci_args": ci_args(path),
    }


def peak_matmul_gflops(dtype, n: int = 2048, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


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
    report = {
        "snippets": {p.stem: time_snippet(p) for p in SNIPPETS if not wanted or p.stem in wanted}
    }
    import torch

    from atlas.cli import use_threads
    from atlas.training import native_bf16

    use_threads()  # the site's one thread count (atlas.THREADS)

    report["evaluation_full_grid"] = evaluation_seconds()
    report["cpu"] = {
        "vector_extensions": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
    }
    # bfloat16 on a smaller matrix: where the CPU lacks it, the emulation is slow enough to matter
    report["cpu_peak_gflops"] = {
        "float32": round(peak_matmul_gflops(torch.float32)),
        "bfloat16": round(peak_matmul_gflops(torch.bfloat16, n=512, repeats=3), 1),
    }
    training = ROOT / "docs" / "generated" / "pretraining" / "training.json"
    if training.is_file():  # measured when the shipped model was trained, possibly on another CPU
        stats = json.loads(training.read_text())
        report["pretraining_committed_run"] = {
            k: stats[k] for k in ("seconds", "tokens_per_second", "model_gflops_per_second")
        }
    print(json.dumps(report, indent=1))
    if not wanted:  # a full run is what the site shows
        out = ROOT / "docs" / "generated" / "benchmark" / "benchmark.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
