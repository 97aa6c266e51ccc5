"""Benchmark: LoRA against full fine-tuning on a real model, tuned alike.

The toy pages find that LoRA and full fine-tuning trade learning for forgetting along one curve,
and that on one task full fine-tuning at a lower learning rate keeps more than an adapter. Does that
carry to SmolLM2-135M-Instruct? Its LoRA page's job (snippets/lora_finetuning.py: a review's
sentiment from the bare review, 24 steps of 8 reviews) is trained by LoRA (rank 16 beside the
attention projections) and by full fine-tuning, each over four learning rates
(atlas.site.protocol.rate_grid) and three seeds. What it learns: the sentiment of new bare reviews.
What it keeps: the model's other tasks asked in its chat template (facts, formatting, the letter
tasks), which the untuned model answers as the snippet measures before training.

Resumable: each finished run is kept in the user cache (beside the real model's copy), under its
command, the code, the runtime lock and the kind of CPU kernels it ran on, and a reader's next
start reuses it (`--fresh` starts over). Under the update command (tools/update_generated.py)
every point runs, so that its trace records the code each one ran.

    python benchmarks/real_lora_vs_full.py                # ~30 min on 2 cores
    python benchmarks/real_lora_vs_full.py --tables-only  # re-render from runs.json

Writes docs/generated/real_lora_vs_full/: runs.json, summary.json, rates.md, rates.png.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.site.protocol import (  # noqa: E402
    SEEDS,
    Point,
    at_edge,
    differs,
    rate_grid,
    run_points,
)
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "real_lora_vs_full"
SNIPPET = "lora_finetuning"
METHODS = {"full fine-tuning": ("full", 1e-4), "LoRA r=16": ("lora", 1e-3)}  # centre of each grid
LEARNED, KEPT = "target_bare", "others_chat"
TIE = 0.05  # within one review in twenty of the best mean: a tie, broken by more kept
CODE = ("atlas", "snippets")  # a kept run is reused only while this code is as it ran
HELD = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")  # kernel levels


def grid(label: str) -> tuple[float, ...]:
    return rate_grid(METHODS[label][1])


def points() -> list[Point]:
    return [
        Point(SNIPPET, ("--method", method, "--learning-rate", str(rate)), seed, key=(label, rate))
        for label, (method, _) in METHODS.items()
        for rate in grid(label)
        for seed in SEEDS
    ]


def work_folder() -> Path:
    """Where finished runs wait for a resumed start: the user cache, outside the checkout."""
    from atlas.real_model import cache_dir

    return cache_dir() / "real_lora_vs_full"


@functools.cache
def settings_hash() -> str:
    """What a kept run must share with this start: the code, the runtime lock, and the kernels (the
    level ATen reports, the levels held by the environment, torch)."""
    import torch

    digest = hashlib.sha256()
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    digest.update((ROOT / "requirements" / "runtime.txt").read_bytes())
    kernels = [torch.backends.cpu.get_cpu_capability(), torch.__version__]
    kernels += [os.environ.get(name, "") for name in HELD]
    digest.update(json.dumps(kernels).encode())
    return digest.hexdigest()


def kept_file(p: Point) -> Path:
    """Where a finished run's figures wait, under its command and the code it ran."""
    key = hashlib.sha256(json.dumps([p.command(), settings_hash()]).encode()).hexdigest()[:16]
    return work_folder() / f"{key}.json"


def read(p: Point, folder: Path) -> dict:
    """A finished run's figures (what the snippet measured before and after training), kept at
    once, so that a stopped benchmark starts again where it stopped."""
    method = p.args[1]
    figures = json.loads((folder / "results" / f"{method}_bare.json").read_text())
    training = json.loads((folder / "results" / f"{method}_bare_training.json").read_text())
    out = {
        "before": {k: figures["before"][k] for k in (LEARNED, KEPT)},
        "after": {k: figures["after"][k] for k in (LEARNED, KEPT)},
        "trainable_parameters": training["trainable_parameters"],
        "final_loss": training["final_loss"],
    }
    kept_file(p).write_text(json.dumps(out, indent=1) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables-only", action="store_true", help="re-render from runs.json")
    parser.add_argument("--fresh", action="store_true", help="forget the kept runs, start over")
    args = parser.parse_args()
    if args.tables_only:
        write_tables(json.loads((OUT / "runs.json").read_text()))
        return
    if args.fresh:
        shutil.rmtree(work_folder(), ignore_errors=True)
    work_folder().mkdir(parents=True, exist_ok=True)
    todo = points()
    traced = bool(os.environ.get("ATLAS_TRACE_DIR"))  # under the update command: run them all
    left = [p for p in todo if traced or not kept_file(p).is_file()]
    print(f"{len(todo) - len(left)} of {len(todo)} runs kept from an earlier start", flush=True)
    run_points(left, read)
    runs: dict = {}
    for p in todo:
        label, rate = p.key
        result = json.loads(kept_file(p).read_text())
        runs.setdefault(label, {}).setdefault(str(rate), {})[str(p.seed)] = result
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    write_tables(runs)


def after(by_seed: dict, key: str) -> list[float]:
    return [r["after"][key] for r in by_seed.values()]


def best_rate(by_rate: dict) -> str:
    """The protocol's rule: the best mean learned, ties to more kept, then to the lower rate."""
    top = max(mean(after(s, LEARNED)) for s in by_rate.values())
    return max(
        (r for r, s in by_rate.items() if mean(after(s, LEARNED)) >= top - TIE),
        key=lambda r: (mean(after(by_rate[r], KEPT)), -float(r)),
    )


def write_tables(runs: dict) -> None:
    """Per method and rate: learned and kept over the seeds; each method's kept rate; whether the
    two differ there (seed ranges apart); the untuned model's figures (the same for every run)."""
    untuned = {
        k: sorted(
            {
                r["before"][k]
                for by_rate in runs.values()
                for s in by_rate.values()
                for r in s.values()
            }
        )
        for k in (LEARNED, KEPT)
    }
    report: dict = {"untuned": {k: v[0] for k, v in untuned.items()}, "methods": {}}
    report["untuned_the_same_in_every_run"] = all(len(v) == 1 for v in untuned.values())
    rows = [
        ["untuned SmolLM2-135M-Instruct", "", "", *(f"{100 * v[0]:.0f}" for v in untuned.values())]
    ]
    for label, by_rate in runs.items():
        best = best_rate(by_rate)
        cells = {rate: {k: after(s, k) for k in (LEARNED, KEPT)} for rate, s in by_rate.items()}
        any_run = next(iter(next(iter(by_rate.values())).values()))
        report["methods"][label] = {
            "trainable_parameters": any_run["trainable_parameters"],
            "rates": {
                rate: {k: {"mean": mean(v), "min": min(v), "max": max(v)} for k, v in c.items()}
                for rate, c in cells.items()
            },
            "best_rate": float(best),
            "best_at_edge": at_edge(grid(label), float(best)),
        }
        for rate, c in cells.items():
            rows.append(
                [
                    label + (" **(kept rate)**" if rate == best else ""),
                    f"{float(rate):g}",
                    f"{any_run['trainable_parameters']:,}",
                    spread(c[LEARNED]),
                    spread(c[KEPT]),
                ]
            )
    full, lora = (report["methods"][label] for label in METHODS)
    at = {
        label: {k: after(runs[label][str(m["best_rate"])], k) for k in (LEARNED, KEPT)}
        for label, m in zip(METHODS, (full, lora))
    }
    a, b = at.values()
    report["at_kept_rates_differ"] = {k: differs(a[k], b[k]) for k in (LEARNED, KEPT)}
    (OUT / "rates.md").write_text(
        markdown_table(
            [
                "method",
                "learning rate",
                "trainable parameters",
                "sentiment, bare review",
                "other tasks kept, chat template",
            ],
            rows,
        )
    )
    (OUT / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report)
    print((OUT / "rates.md").read_text())


def plot(report: dict) -> None:
    """Two panels over the learning rate, one line per method over its own grid: the task learned,
    and the other tasks kept (the untuned model's share dotted); the bars are the seed ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharey=True)
    titles = {LEARNED: "sentiment of new bare reviews", KEPT: "other tasks kept, chat template"}
    for ax, (key, title) in zip(axes, titles.items()):
        for (label, entry), style in zip(report["methods"].items(), ("o-", "s--")):
            rates = [float(r) for r in entry["rates"]]
            cells = [c[key] for c in entry["rates"].values()]
            ax.errorbar(
                rates,
                [100 * c["mean"] for c in cells],
                yerr=[
                    [100 * (c["mean"] - c["min"]) for c in cells],
                    [100 * (c["max"] - c["mean"]) for c in cells],
                ],
                fmt=style,
                capsize=3,
                label=label,
            )
        if key == KEPT:
            ax.axhline(100 * report["untuned"][KEPT], color="grey", ls=":", label="untuned model")
        rates = sorted({float(r) for m in report["methods"].values() for r in m["rates"]})
        ax.set_xscale("log")
        ax.set_xticks(rates, [f"{r:g}" for r in rates], fontsize=7)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_title(f"{title}, three seeds", fontsize=10)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("%")
    axes[1].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        "SmolLM2-135M-Instruct: full fine-tuning and LoRA, each over its rates", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(OUT / "rates.png")


if __name__ == "__main__":
    main()
