"""The base model's full pretraining run on a CPU without bfloat16 in hardware, as most laptops run
it: `snippets/pretraining.py` with its default arguments trains in float32 there. Timed from start
to end, and the model it makes measured like the shipped one.

    python benchmarks/pretraining_float32.py     # about half an hour on 2 cores (AVX2)

The shipped model (docs/generated/pretraining) was trained with bfloat16 autocast on a CPU that has
it in hardware. This runs the same default run, on the CPU, into a temporary folder (the shipped
checkpoint is left alone) and writes docs/generated/pretraining_float32/: `run.json` (wall time,
peak memory, training throughput, its share of the CPU's float32 matrix-multiply peak, and the new
model's accuracy by input presentation, beside the shipped run's) and `run.md` (the two side by
side). On a CPU with native bfloat16 it refuses: there the default run is the bfloat16 one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas.runs import run_script  # noqa: E402
from atlas.tables import markdown_table, percent  # noqa: E402
from atlas.training import native_bf16  # noqa: E402

SNIPPET = ROOT / "snippets" / "pretraining.py"
SHIPPED = ROOT / "docs" / "generated" / "pretraining"
OUT = ROOT / "docs" / "generated" / "pretraining_float32"
# The base model's accuracies the pages quote: asked by instruction (zero-shot), few-shot, a fact.
PRESENTATIONS = {"instruction": "by instruction", "few_shot": "few-shot", "fact": "fact"}


def figures(results: Path) -> dict:
    """What a pretraining run wrote: its training figures and the base model's averages."""
    training = json.loads((results / "training.json").read_text())
    average = json.loads((results / "base_model.json").read_text())["average"]
    return {
        "seconds": training["seconds"],
        "tokens": training["tokens"],
        "tokens_per_second": training["tokens_per_second"],
        "model_gflops_per_second": training["model_gflops_per_second"],
        "final_loss": training["final_loss"],
        "accuracy": {p: average[p] for p in PRESENTATIONS},
    }


def table(report: dict) -> str:
    runs = {"shipped (bfloat16 autocast)": report["shipped"], "float32": report["float32"]}
    rows = [
        [
            name,
            f"{run['seconds'] / 60:.1f}",
            f"{run['tokens_per_second']:,}",
            f"{run['final_loss']:.3f}",
            *(percent(run["accuracy"][p]) for p in PRESENTATIONS),
        ]
        for name, run in runs.items()
    ]
    header = ["run", "training min", "tokens/s", "final loss"]
    header += [f"{label} %" for label in PRESENTATIONS.values()]
    return markdown_table(header, rows, align="lrrrrrr")


def main() -> None:
    if native_bf16():
        raise SystemExit(
            "this CPU computes bfloat16 in hardware, so the default pretraining run uses it: "
            "run this benchmark on a CPU without it (AVX2 only, most laptops)"
        )
    # The snippet trains on a GPU where it sees one: this measures the CPU.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    # The child first, from a process without torch: its peak memory is then its own.
    with tempfile.TemporaryDirectory() as tmp:
        run = run_script(
            SNIPPET, ["--output-dir", f"{tmp}/toy-base", "--results-dir", f"{tmp}/results"]
        )
        if run["returncode"]:
            raise SystemExit(f"pretraining.py failed:\n{run['stderr'][-3000:]}")
        float32 = figures(Path(tmp) / "results")

    import torch

    from atlas.cli import use_threads

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import cpu_facts, peak_matmul_gflops

    use_threads()
    peak = round(peak_matmul_gflops(torch.float32))
    report = {
        "cpu": cpu_facts(),
        "wall_seconds": run["seconds"],
        "peak_mib": run["peak_mib"],
        "float32": float32,
        "peak_gflops_float32": peak,
        "share_of_peak": round(float32["model_gflops_per_second"] / peak, 3),
        "shipped": figures(SHIPPED),
    }
    print(json.dumps(report, indent=1))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "run.json").write_text(json.dumps(report, indent=1) + "\n")
    (OUT / "run.md").write_text(table(report))


if __name__ == "__main__":
    main()
