"""Every fine-tuning snippet on three seeds, plus the levers of instruction tuning, in one run.

The tests run each training snippet once (seed 0) and assert its claims; this script shows how much
the figures move with the seed (which changes the training words, template draws, data order and
the new weights) and what each lever of instruction tuning does. It runs the snippets exactly as a
reader does and reads what they wrote.

    python benchmarks/seeds.py              # ~35 minutes on 2 cores; writes docs/generated/seeds/
    python benchmarks/seeds.py --tables-only   # re-render the tables from seeds.json
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.comparison import COLUMNS, columns  # noqa: E402
from atlas.tables import markdown_table, percent  # noqa: E402

SEEDS = (0, 1, 2)
TARGET = "spell"
# name -> (snippet, extra arguments, result name)
RUNS = {
    "single-task fine-tuning": ("single_task_finetuning", [], "single_task"),
    "hybrid": ("single_task_finetuning", ["--inputs", "instruction"], "hybrid"),
    "instruction tuning": ("instruction_tuning", [], "instruction_tuned"),
    "same data, no template": ("instruction_tuning", ["--inputs", "none"], "no_template"),
    "same data, task tag": ("instruction_tuning", ["--inputs", "tag"], "task_tag"),
    "classification head": ("classification_head", [], "classification_head"),
}
# Levers of instruction tuning, seed 0: name -> extra arguments (the default is the first row of
# RUNS)
LEVERS = {
    "no replay": ["--replay", "0"],
    "half the steps (150)": ["--max-steps", "150"],
    "twice the steps (600)": ["--max-steps", "600"],
    "12 training templates instead of 24": ["--templates", "12"],
    "3 training templates instead of 24": ["--templates", "3"],
    "loss on the whole sequence, not the answer only": ["--loss", "all"],
    "held-out cluster: position": ["--held-out-cluster", "position"],
    "held-out cluster: order": ["--held-out-cluster", "order"],
    "held-out cluster: transform": ["--held-out-cluster", "transform"],
}


def run(snippet: str, extra: list[str], tmp: Path) -> Path:
    results = tmp / "results"
    cmd = [
        sys.executable,
        str(ROOT / "snippets" / f"{snippet}.py"),
        *extra,
        "--results-dir",
        str(results),
        "--output-dir",
        str(tmp / "model"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return results


def figures(results: Path, name: str, held_out_cluster: str | None = None) -> dict:
    out = {**json.loads((results / f"{name}_timing.json").read_text())}
    if name == "classification_head":
        out["accuracy"] = json.loads((results / f"{name}_training.json").read_text())["accuracy"]
        return out
    by_task = json.loads((results / f"{name}.json").read_text())["by_task"]
    return {
        **out,
        **(
            columns(by_task, TARGET, held_out_cluster)
            if held_out_cluster
            else columns(by_task, TARGET)
        ),
    }


def main() -> None:
    out = GENERATED_DIR / "seeds"
    if sys.argv[1:] == ["--tables-only"]:  # re-render the tables from the last run's seeds.json
        write_tables(json.loads((out / "seeds.json").read_text()), out)
        return
    report: dict = {"seeds": {}, "levers": {}}
    with tempfile.TemporaryDirectory() as tmpdir:
        for label, (snippet, extra, name) in RUNS.items():
            for seed in SEEDS:
                tmp = Path(tmpdir) / f"{name}-{seed}"
                report["seeds"].setdefault(label, {})[seed] = figures(
                    run(snippet, [*extra, "--seed", str(seed)], tmp), name
                )
                print(label, seed, report["seeds"][label][seed], flush=True)
        for label, extra in LEVERS.items():
            tmp = Path(tmpdir) / label.replace(" ", "_").replace(":", "")
            cluster = extra[1] if extra[0] == "--held-out-cluster" else None
            report["levers"][label] = figures(
                run("instruction_tuning", extra, tmp), "instruction_tuned", cluster
            )
            print(label, report["levers"][label], flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(json.dumps(report, indent=1) + "\n")
    write_tables(report, out)


def write_tables(report: dict, out: Path) -> None:
    (out / "seeds.md").write_text(seeds_table(report["seeds"]))
    (out / "levers.md").write_text(levers_table(report))
    print((out / "seeds.md").read_text(), (out / "levers.md").read_text())


def spread(values: list[float]) -> str:
    """ "mean (min-max)" in %."""
    return f"{percent(statistics.mean(values))} ({percent(min(values))}–{percent(max(values))})"


def seeds_table(seeds: dict) -> str:
    keys = list(COLUMNS) + ["seconds"]
    rows = []
    for label, by_seed in seeds.items():
        runs = list(by_seed.values())
        cells = []
        for k in keys:
            values = [r[k] for r in runs if r.get(k) is not None]
            if k == "seconds":
                cells.append(f"{statistics.mean(values):.0f} ({min(values):.0f}–{max(values):.0f})")
            elif k == "target_bare" and "accuracy" in runs[0]:
                cells.append(spread([r["accuracy"] for r in runs]) + " (vowel count, label)")
            else:
                cells.append(spread(values) if values else "n/a")
        rows.append([label, *cells])
    return markdown_table(["technique", *COLUMNS.values(), "training seconds"], rows)


def levers_table(report: dict) -> str:
    # No target-task column: one lever holds out the cluster that contains it.
    keys = ["other_seen_instruction", "held_out_templates", "held_out_cluster", "few_shot"]
    runs = {
        "as on the page (seed 0, count held out)": next(
            iter(report["seeds"]["instruction tuning"].values())
        ),
        **report["levers"],
    }  # the first seed run is seed 0
    rows = [
        [label, *(percent(r[k]) for k in keys), f"{r['seconds']:.0f}"] for label, r in runs.items()
    ]
    return markdown_table(
        ["instruction tuning", *(COLUMNS[k] for k in keys), "training seconds"], rows
    )


if __name__ == "__main__":
    main()
