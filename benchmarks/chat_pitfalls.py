"""The pitfalls of chat SFT, each one lever changed against the chat SFT recipe, on three seeds.

Runs `snippets/chat_sft.py` exactly as a reader does: the recipe, then each pitfall's argument
(loss on the prompt, EOS out of the loss, pad = EOS masked, no template, two kinds of packing, an
instruction-tuned start), for seeds 0, 1 and 2; then the budget curve of the two starts (base and
instruction-tuned) at a few step counts. It reads what each run wrote and writes the tables.

    python benchmarks/chat_pitfalls.py               # ~45 minutes on 2 cores; writes
                                                     # docs/generated/chat_pitfalls/
    python benchmarks/chat_pitfalls.py --tables-only # re-render the tables from pitfalls.json
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
from atlas.tables import markdown_table  # noqa: E402

SEEDS = (0, 1, 2)
INSTRUCT = "{instruct}"  # replaced by the instruction-tuned checkpoint this script trains first
# pitfall label -> arguments of snippets/chat_sft.py (the first row is the recipe itself)
LEVERS = {
    "the recipe (assistant-only loss, EOS trained, chat template)": [],
    "loss on the prompt too": ["--loss", "all"],
    "EOS outside {% generation %}: never in the loss": ["--eos", "untrained"],
    "pad = EOS, masked by transformers' collator": ["--eos", "pad-masked"],
    "trained as plain text, no chat template": ["--template", "none"],
    "packing, each example apart (TRL bfd)": ["--packing", "bfd"],
    "packing, examples see each other (wrapped)": ["--packing", "wrapped"],
    "start from the instruction-tuned model": ["--model", INSTRUCT],
}
# the learning curve of the two starts: training steps (the recipe's own count is in LEVERS)
CURVE_STEPS = (25, 50, 100)
STARTS = {"base model": [], "instruction-tuned model": ["--model", INSTRUCT]}
# figure key -> column label (the keys of chat_sft_figures.json)
COLUMNS = {
    "chat_seen": "chat template, seen tasks",
    "chat_held_out_wording": "chat, held-out wordings",
    "plain_instruction": "plain text, no template",
    "chatml_template": "another model's template (ChatML)",
    "second_turn": "second turn",
    "stops_within_64": "stops by itself (64 tokens)",
    "few_shot": "few-shot kept",
    "held_out_cluster": "held-out cluster",
}

# the instruction-tuning figures of the loss comparison -> column label
FLAN_COLUMNS = {
    "seen": "seen tasks",
    "held_out_templates": "held-out wordings",
    "held_out_cluster": "held-out cluster",
    "few_shot": "few-shot kept",
}


def run(args: list[str], tmp: Path, instruct: Path | None) -> dict:
    """One chat SFT run; its figures and training seconds."""
    args = [str(instruct) if a == INSTRUCT else a for a in args]
    results = tmp / "results"
    cmd = [
        sys.executable,
        str(ROOT / "snippets" / "chat_sft.py"),
        *args,
        "--results-dir",
        str(results),
        "--output-dir",
        str(tmp / "model"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    figures = json.loads((results / "chat_sft_figures.json").read_text())
    timing = json.loads((results / "chat_sft_timing.json").read_text())
    steps = json.loads((results / "chat_sft_training.json").read_text())["steps"]
    samples = json.loads((results / "chat_sft_continuations.json").read_text())
    return {**figures, "steps": steps, "seconds": timing["seconds"], "continuations": samples}


def instruction_tuned(tmp: Path, *args: str) -> dict:
    """A run of the FLAN-style page's snippet: its figures, and where it saved the model."""
    cmd = [
        sys.executable,
        str(ROOT / "snippets" / "instruction_tuning.py"),
        *args,
        "--results-dir",
        str(tmp / "instruction-results"),
        "--output-dir",
        str(tmp / "instruction-tuned"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    result = json.loads((tmp / "instruction-results" / "instruction_tuned.json").read_text())
    split = result["by_task_split"]
    return {
        "model": tmp / "instruction-tuned",
        "seen": split["seen tasks"]["instruction"],
        "held_out_templates": split["seen tasks"]["instruction_held_out"],
        "held_out_cluster": split["held-out cluster"]["instruction"],
        "few_shot": result["average"]["few_shot"],
    }


def main() -> None:
    out = GENERATED_DIR / "chat_pitfalls"
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((out / "pitfalls.json").read_text()), out)
        return
    report: dict = {"levers": {}, "curve": {}, "flan_loss": {}}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        # Loss on the prompt on the instruction-tuning page's recipe too (with replay, where the
        # held-out cluster is not zero): answer only and whole sequence, on every seed.
        for loss in ("completion", "all"):
            for seed in SEEDS:
                run_dir = tmp / f"flan-{loss}-{seed}"
                figures = instruction_tuned(run_dir, "--loss", loss, "--seed", str(seed))
                report["flan_loss"].setdefault(loss, {})[seed] = {
                    k: v for k, v in figures.items() if k != "model"
                }
                print("instruction tuning, loss", loss, seed, figures, flush=True)
        instruct = tmp / "flan-completion-0" / "instruction-tuned"  # the page's own model
        for label, extra in LEVERS.items():
            for seed in SEEDS:
                figures = run([*extra, "--seed", str(seed)], tmp / f"run-{seed}", instruct)
                report["levers"].setdefault(label, {})[seed] = figures
                print(label, seed, {k: figures[k] for k in COLUMNS}, flush=True)
        for start, extra in STARTS.items():
            for steps in CURVE_STEPS:
                for seed in SEEDS:
                    args = [*extra, "--max-steps", str(steps), "--seed", str(seed)]
                    figures = run(args, tmp / f"curve-{seed}", instruct)
                    report["curve"].setdefault(start, {}).setdefault(steps, {})[seed] = figures
                    print(start, steps, seed, figures["chat_seen"], flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pitfalls.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    write_tables(report, out)


def summary(report: dict) -> dict:
    """Mean, min and max over the seeds of every figure: {lever: {figure: {mean, min, max}}}, and
    the same for every point of the budget curve: {start: {steps: {figure: ...}}}."""

    def stats(runs: list[dict], keys) -> dict:
        return {
            k: {
                "mean": statistics.mean(r[k] for r in runs),
                "min": min(r[k] for r in runs),
                "max": max(r[k] for r in runs),
            }
            for k in keys
        }

    return {
        "flan_loss": {
            loss: stats(list(runs.values()), FLAN_COLUMNS)
            for loss, runs in report["flan_loss"].items()
        },
        "levers": {
            label: stats(list(runs.values()), [*COLUMNS, "seconds"])
            for label, runs in report["levers"].items()
        },
        "curve": {
            start: {
                steps: stats(list(runs.values()), [*COLUMNS, "seconds"])
                for steps, runs in by_steps.items()
            }
            for start, by_steps in report["curve"].items()
        },
    }


def spread(values: list[float], scale: float = 100) -> str:
    """ "mean (min–max)", in % by default."""
    v = [scale * x for x in values]
    return f"{statistics.mean(v):.0f} ({min(v):.0f}–{max(v):.0f})"


def write_tables(report: dict, out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(summary(report), indent=1) + "\n")
    rows = []
    for label, by_seed in report["levers"].items():
        runs = list(by_seed.values())
        rows.append(
            [
                label,
                *(spread([r[k] for r in runs]) for k in COLUMNS),
                spread([r["seconds"] for r in runs], scale=1),
            ]
        )
    (out / "pitfalls.md").write_text(
        markdown_table(["chat SFT", *COLUMNS.values(), "training seconds"], rows)
    )
    recipe = next(iter(report["levers"].values()))
    instruct = report["levers"]["start from the instruction-tuned model"]
    curve_rows = []
    for start, by_steps in report["curve"].items():
        full = recipe if start == "base model" else instruct
        points = {int(s): list(r.values()) for s, r in by_steps.items()}
        points[next(iter(full.values()))["steps"]] = list(full.values())
        for steps in sorted(points):
            runs = points[steps]
            curve_rows.append(
                [
                    start,
                    str(steps),
                    spread([r["chat_seen"] for r in runs]),
                    spread([r["chat_held_out_wording"] for r in runs]),
                    spread([r["plain_instruction"] for r in runs]),
                    spread([r["few_shot"] for r in runs]),
                ]
            )
    flan_rows = [
        [
            {"completion": "answer only", "all": "whole sequence"}[loss],
            *(spread([r[k] for r in runs.values()]) for k in FLAN_COLUMNS),
        ]
        for loss, runs in report["flan_loss"].items()
    ]
    (out / "flan_loss.md").write_text(
        markdown_table(["instruction tuning, loss on", *FLAN_COLUMNS.values()], flan_rows)
    )
    (out / "starts.md").write_text(
        markdown_table(
            [
                "start",
                "steps",
                COLUMNS["chat_seen"],
                COLUMNS["chat_held_out_wording"],
                COLUMNS["plain_instruction"],
                COLUMNS["few_shot"],
            ],
            curve_rows,
        )
    )
    for name in ("pitfalls.md", "flan_loss.md", "starts.md"):
        print((out / name).read_text())


if __name__ == "__main__":
    main()
