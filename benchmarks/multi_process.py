"""The same training snippet on one process and on two: does `accelerate launch` give the reader the
same model, and how fast is it on a laptop CPU?

Runs `snippets/classification_head.py` as a reader does, on three seeds, once with `python` and
once with `accelerate launch` and the config `configs/accelerate/cpu-2-processes.yaml`: two
processes of one thread each, DDP averaging their gradients over gloo. It reads what the snippet
wrote and what the Trainer logged (the batch of all processes together), and writes
`docs/generated/multi_process/`.

    python benchmarks/multi_process.py     # ~4 minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

SNIPPET = "snippets/classification_head.py"
CONFIG = "configs/accelerate/cpu-2-processes.yaml"
SEEDS = (0, 1, 2)
# What a reader types, less the output folders. One thread per process: the two share 2 cores.
LAUNCHES = {
    1: ["python", SNIPPET],
    2: ["accelerate", "launch", "--config_file", CONFIG, "--num_cpu_threads_per_process", "1"]
    + [SNIPPET],
}
# The Trainer logs the batch of one optimizer step, all processes together, at info level
GLOBAL_BATCH = re.compile(
    r"Total train batch size \(w\. parallel, distributed & accumulation\) = ([\d,]+)"
)


def command(processes: int, seed: int, tmp: Path) -> list[str]:
    """The launch command with this venv's executables (the snippet's own arguments last)."""
    program, *rest = LAUNCHES[processes]
    executable = (
        sys.executable if program == "python" else str(Path(sys.executable).parent / program)
    )
    outputs = ["--results-dir", str(tmp / "results"), "--output-dir", str(tmp / "model")]
    return [executable, *rest, "--seed", str(seed), *outputs]


def run(processes: int, seed: int, tmp: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "info"}
    if processes == 1:
        env["OMP_NUM_THREADS"] = "2"  # the snippets' default (atlas.THREADS), stated
    start = time.perf_counter()
    proc = subprocess.run(
        command(processes, seed, tmp), cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(LAUNCHES[processes])} failed:\n{proc.stderr[-3000:]}")
    batches = {int(b.replace(",", "")) for b in GLOBAL_BATCH.findall(proc.stdout + proc.stderr)}
    if len(batches) != 1:
        raise SystemExit(f"expected one logged global batch size, found {sorted(batches)}")
    results = tmp / "results"
    training = json.loads((results / "classification_head_training.json").read_text())
    timing = json.loads((results / "classification_head_timing.json").read_text())
    global_batch = batches.pop()
    return {
        "global_batch": global_batch,
        "steps": training["steps"],
        "accuracy": training["accuracy"],
        "n_eval": training["n_eval"],
        "first_loss": training["first_loss"],
        "final_loss": training["final_loss"],
        "mean_loss": training["mean_loss"],
        "training_seconds": timing["seconds"],
        # the snippet's own rows/s counts one process's batch; this counts every process's rows
        "rows_per_second": round(training["steps"] * global_batch / timing["seconds"]),
        "wall_seconds": round(wall, 1),
    }


def summary(runs: list[dict], key: str) -> dict:
    values = [r[key] for r in runs]
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values)}


def main() -> None:
    report: dict = {"snippet": SNIPPET, "config": CONFIG, "seeds": list(SEEDS), "runs": {}}
    with tempfile.TemporaryDirectory() as tmpdir:
        for processes in LAUNCHES:
            for seed in SEEDS:
                tmp = Path(tmpdir) / f"{processes}-{seed}"
                figures = run(processes, seed, tmp)
                report["runs"].setdefault(str(processes), {})[str(seed)] = figures
                print(processes, "process(es), seed", seed, figures, flush=True)
    report["summary"] = {
        processes: {
            key: summary(list(by_seed.values()), key)
            for key in ("accuracy", "final_loss", "training_seconds", "rows_per_second")
        }
        for processes, by_seed in report["runs"].items()
    }
    report["commands"] = {str(p): " ".join(c) for p, c in LAUNCHES.items()}
    out = GENERATED_DIR / "multi_process"
    out.mkdir(parents=True, exist_ok=True)
    (out / "multi_process.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "multi_process.md").write_text(table(report))
    print((out / "multi_process.md").read_text())


def table(report: dict) -> str:
    """One column per launch; each cell the mean over seeds with the range."""

    def cell(processes: str, key: str, scale: float = 1, digits: int = 0) -> str:
        s = report["summary"][processes][key]
        fmt = f"{{:.{digits}f}}"
        low, mean, high = (fmt.format(scale * s[k]) for k in ("min", "mean", "max"))
        return mean if low == high else f"{mean} ({low}–{high})"

    columns = list(report["runs"])
    first = {p: next(iter(report["runs"][p].values())) for p in columns}
    rows = [
        ["command", *(f"`{report['commands'][p]}`" for p in columns)],
        ["rows per step, all processes", *(str(first[p]["global_batch"]) for p in columns)],
        ["steps", *(str(first[p]["steps"]) for p in columns)],
        ["held-out accuracy (%)", *(cell(p, "accuracy", 100, 1) for p in columns)],
        ["last logged loss", *(cell(p, "final_loss", 1, 3) for p in columns)],
        ["training seconds", *(cell(p, "training_seconds", 1, 1) for p in columns)],
        ["rows per second, all processes", *(cell(p, "rows_per_second") for p in columns)],
    ]
    header = ["", *(f"{p} process{'es' if p != '1' else ''}" for p in columns)]
    return markdown_table(header, rows)


if __name__ == "__main__":
    main()
