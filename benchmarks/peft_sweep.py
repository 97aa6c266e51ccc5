"""The parameter-efficient family on one model: full fine-tuning, LoRA at six ranks (and on the
attention only), IA³, prompt tuning (from text and at random, two lengths) and prefix tuning, on the
two jobs of atlas/jobs.py, each on three seeds, after a learning-rate search on one seed.

It runs the snippets exactly as a reader does (full fine-tuning: the single-task and
instruction-tuning snippets, unchanged) and reads what they wrote. Two runs at a time, one thread
each, so the 2-core machine finishes in about an hour: the training seconds are one-thread seconds.

    python benchmarks/peft_sweep.py                # writes docs/generated/peft_sweep/
    python benchmarks/peft_sweep.py --tables-only  # re-render the tables and plot from sweep.json
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.jobs import JOBS, summary  # noqa: E402
from atlas.runs import run_script  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "peft_sweep"
SEEDS = (0, 1, 2)
WORKERS = 2  # runs at a time, one thread each
RANKS = (1, 2, 4, 8, 16, 64)


# Every method: label -> (snippet, arguments, result name, family). Each family's learning rate is
# searched once, on the configuration SEARCHED names; full fine-tuning keeps its pages' rates.
def methods(job: str) -> dict[str, tuple[str, list[str], str, str]]:
    full = {
        "spell": ("single_task_finetuning", [], "single_task"),
        "flan": ("instruction_tuning", [], "instruction_tuned"),
    }[job]
    jobarg = ["--job", job]
    out = {"full fine-tuning": (*full, "full")}
    for r in RANKS:
        out[f"LoRA r={r}, all linear layers"] = (
            "peft_finetuning",
            [*jobarg, "--rank", str(r)],
            f"lora_{job}",
            "lora",
        )
    out["LoRA r=8, attention only"] = (
        "peft_finetuning",
        [*jobarg, "--targets", "attention"],
        f"lora_{job}",
        "lora",
    )
    out["IA³"] = ("peft_finetuning", [*jobarg, "--method", "ia3"], f"ia3_{job}", "ia3")
    out["prompt tuning, 16 tokens from text"] = (
        "prompt_tuning",
        [*jobarg],
        f"prompt_text_{job}",
        "prompt",
    )
    out["prompt tuning, 4 tokens from text"] = (
        "prompt_tuning",
        [*jobarg, "--virtual-tokens", "4"],
        f"prompt_text_{job}",
        "prompt",
    )
    out["prompt tuning, 16 random tokens"] = (
        "prompt_tuning",
        [*jobarg, "--init", "random"],
        f"prompt_random_{job}",
        "prompt",
    )
    out["prefix tuning, 16 tokens"] = ("prefix_tuning", [*jobarg], f"prefix_{job}", "prefix")
    return out


SEARCHED = {
    "lora": "LoRA r=8, all linear layers",
    "ia3": "IA³",
    "prompt": "prompt tuning, 16 tokens from text",
    "prefix": "prefix tuning, 16 tokens",
}
LEARNING_RATE_GRID = {
    "lora": (1e-3, 3e-3, 1e-2),
    "ia3": (3e-2, 1e-1, 3e-1),
    "prompt": (1e-1, 3e-1, 1.0),
    "prefix": (1e-2, 3e-2, 1e-1),
}
# A learning rate is kept if its target accuracy is within one held-out word (of 40) of the best;
# among those, the one that keeps the most few-shot accuracy (what a practitioner would pick).
TIE = 0.026


def one_run(snippet: str, args: list[str], name: str, seed: int, tmp: Path) -> dict:
    results = tmp / "results"
    run = run_script(
        ROOT / "snippets" / f"{snippet}.py",
        [*args, "--seed", str(seed), "--results-dir", str(results), "--output-dir", str(tmp / "m")],
        threads=1,
    )
    if run["returncode"]:
        raise SystemExit(f"{snippet} {' '.join(args)} failed:\n{run['stderr'][-3000:]}")
    training = json.loads((results / f"{name}_training.json").read_text())
    timing = json.loads((results / f"{name}_timing.json").read_text())
    by_task = json.loads((results / f"{name}.json").read_text())["by_task"]
    return {
        "trainable_parameters": training["trainable_parameters"],
        "seconds": timing["seconds"],
        "peak_mib": run["peak_mib"],
        "final_loss": training["final_loss"],
        "by_task": by_task,
    }


def run_all(jobs_: list[tuple], tmpdir: Path) -> list[dict]:
    """Run (key, snippet, args, name, seed) tuples, WORKERS at a time; results in the same order."""

    def go(i_job):
        i, (key, snippet, args, name, seed) = i_job
        result = one_run(snippet, args, name, seed, tmpdir / str(i))
        print(key, seed, {k: v for k, v in result.items() if k != "by_task"}, flush=True)
        return result

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(go, enumerate(jobs_)))


def best_rate(runs: dict[float, dict], job: str) -> float:
    scores = {lr: summary(r["by_task"], job) for lr, r in runs.items()}
    top = max(s["target"] for s in scores.values())
    kept = [lr for lr, s in scores.items() if s["target"] >= top - TIE]
    return max(kept, key=lambda lr: (scores[lr]["few_shot"], -lr))


def main() -> None:
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "sweep.json").read_text()))
        return
    report: dict = {"search": {}, "runs": {}, "workers": WORKERS, "threads_per_run": 1}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        # 1. the learning-rate search, seed 0, on each family's SEARCHED configuration
        search = []
        for job in JOBS:
            for family, label in SEARCHED.items():
                snippet, args, name, _ = methods(job)[label]
                for lr in LEARNING_RATE_GRID[family]:
                    search.append(
                        (
                            (job, family, label, lr),
                            snippet,
                            [*args, "--learning-rate", str(lr)],
                            name,
                            0,
                        )
                    )
        done = run_all(search, tmpdir / "search")
        chosen: dict[tuple, float] = {}
        for (key, *_), result in zip(search, done):
            job, family, label, lr = key
            report["search"].setdefault(job, {}).setdefault(family, {"label": label, "runs": {}})
            report["search"][job][family]["runs"][str(lr)] = result
        for job, families in report["search"].items():
            for family, entry in families.items():
                rate = best_rate({float(k): v for k, v in entry["runs"].items()}, job)
                entry["best"] = rate
                chosen[(job, family)] = rate
        # 2. every configuration on three seeds at its family's best rate (seed 0 of the searched
        # configuration is the search's run, not repeated)
        todo = []
        for job in JOBS:
            for label, (snippet, args, name, family) in methods(job).items():
                extra = [] if family == "full" else ["--learning-rate", str(chosen[job, family])]
                for seed in SEEDS:
                    searched = SEARCHED.get(family) == label
                    if searched and seed == 0:
                        report["runs"].setdefault(job, {}).setdefault(label, {})["0"] = report[
                            "search"
                        ][job][family]["runs"][str(chosen[job, family])]
                        continue
                    todo.append(((job, label), snippet, [*args, *extra], name, seed))
        for (key, *_, seed), result in zip(todo, run_all(todo, tmpdir / "seeds")):
            job, label = key
            report["runs"].setdefault(job, {}).setdefault(label, {})[str(seed)] = result
        for job in report["runs"]:
            report["runs"][job] = {
                label: report["runs"][job][label] for label in methods(job)
            }  # the table's order
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sweep.json").write_text(json.dumps(report, indent=1) + "\n")
    write_tables(report)


def spread(values: list[float], scale: float = 100, digits: int = 0) -> str:
    """ "mean (min–max)"."""
    v = [scale * x for x in values]
    return f"{statistics.mean(v):.{digits}f} ({min(v):.{digits}f}–{max(v):.{digits}f})"


COLUMNS = {  # summary key -> header
    "target": None,  # the job's own label
    "other_seen_instruction": "other seen tasks, asked by instruction",
    "held_out_templates": "seen tasks, held-out templates",
    "held_out_cluster": "held-out cluster, asked by instruction",
    "few_shot": "few-shot (4 examples), all tasks",
}


def share(n: int, of: int) -> str:
    """A share in %, with as many decimals as a small one needs: 100, 14, 1.1, 0.19."""
    pct = 100 * n / of
    return f"{pct:.0f}" if pct >= 10 else f"{pct:.1f}" if pct >= 1 else f"{pct:.2f}"


def summarize(report: dict) -> dict:
    """Per job and method: mean, min and max of every figure over the seeds (tests read this)."""
    out: dict = {}
    for job, runs in report["runs"].items():
        for label, by_seed in runs.items():
            seeds = list(by_seed.values())
            figures = [summary(r["by_task"], job) for r in seeds]
            entry = {
                k: {
                    "mean": statistics.mean(f[k] for f in figures),
                    "min": min(f[k] for f in figures),
                    "max": max(f[k] for f in figures),
                }
                for k in COLUMNS
            }
            entry["trainable_parameters"] = seeds[0]["trainable_parameters"]
            entry["seconds"] = statistics.mean(r["seconds"] for r in seeds)
            entry["peak_mib"] = max(r["peak_mib"] for r in seeds)
            entry["seeds"] = len(seeds)
            out.setdefault(job, {})[label] = entry
    return out


def write_tables(report: dict) -> None:
    figures = summarize(report)
    model_parameters = figures["spell"]["full fine-tuning"]["trainable_parameters"]
    for job, rows in figures.items():
        header = [
            "method",
            "trainable parameters",
            "% of the model",
            JOBS[job].target_label,
            *(h for k, h in COLUMNS.items() if h),
            "training seconds (1 thread)",
            "peak memory, MiB",
        ]
        table = []
        for label, f in rows.items():
            runs = report["runs"][job][label]
            table.append(
                [
                    label,
                    f"{f['trainable_parameters']:,}",
                    share(f["trainable_parameters"], model_parameters),
                    *(
                        spread([summary(r["by_task"], job)[k] for r in runs.values()])
                        for k in COLUMNS
                    ),
                    spread([r["seconds"] for r in runs.values()], scale=1),
                    f"{f['peak_mib']:,}",
                ]
            )
        (OUT / f"{job}.md").write_text(markdown_table(header, table))
    search_rows = []
    for job, families in report["search"].items():
        for family, entry in families.items():
            cells = []
            for lr, r in entry["runs"].items():
                s = summary(r["by_task"], job)
                mark = " **(kept)**" if float(lr) == entry["best"] else ""
                cells.append(
                    f"{float(lr):g}: {100 * s['target']:.0f} / {100 * s['few_shot']:.0f}{mark}"
                )
            search_rows.append([job, entry["label"], *cells])
    ranks_rows = []
    for label in methods("spell"):
        if label == "full fine-tuning" or label.startswith("LoRA"):
            cells = []
            for job, keys in (
                ("spell", ("target", "few_shot")),
                ("flan", ("target", "held_out_templates", "few_shot")),
            ):
                runs = report["runs"][job][label].values()
                cells += [spread([summary(r["by_task"], job)[k] for r in runs]) for k in keys]
            n = figures["spell"][label]["trainable_parameters"]
            ranks_rows.append([label, f"{n:,}", share(n, model_parameters), *cells])
    (OUT / "lora_ranks.md").write_text(
        markdown_table(
            [
                "method",
                "trainable parameters",
                "% of the model",
                "spell job: spell, bare input",
                "spell job: few-shot kept",
                "flan job: seen tasks by instruction",
                "flan job: held-out templates",
                "flan job: few-shot kept",
            ],
            ranks_rows,
        )
    )
    (OUT / "learning_rates.md").write_text(
        markdown_table(
            ["job", "method searched", "lowest rate", "middle rate", "highest rate"], search_rows
        )
    )
    (OUT / "summary.json").write_text(
        json.dumps(
            {
                "model_parameters": model_parameters,
                "learning_rates": {
                    job: {fam: e["best"] for fam, e in families.items()}
                    for job, families in report["search"].items()
                },
                "figures": figures,
            },
            indent=1,
        )
        + "\n"
    )
    plot(figures, model_parameters, OUT / "peft_sweep.png")
    for name in ("spell.md", "flan.md", "lora_ranks.md", "learning_rates.md"):
        print((OUT / name).read_text())


MARKERS = {"IA³": "s", "prompt": "^", "prefix": "D", "attention": "P"}


def plot(figures: dict, model_parameters: int, path: Path) -> None:
    """Two panels against trainable parameters (log scale): the job's target and few-shot kept.
    LoRA's ranks are a line per job; the other methods are markers; full fine-tuning a dashed
    reference line at its own accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"spell": "#1e88e5", "flan": "#d81b60"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120, sharex=True)
    for ax, key, title in zip(
        axes, ("target", "few_shot"), ("what the job trains", "few-shot kept (all tasks)")
    ):
        for job, rows in figures.items():
            c = colours[job]
            lora = [
                (f["trainable_parameters"], f[key])
                for label, f in rows.items()
                if label.startswith("LoRA r=") and "all linear" in label
            ]
            lora.sort()
            ax.plot(
                [x for x, _ in lora],
                [100 * y["mean"] for _, y in lora],
                "o-",
                color=c,
                label=f"{job}: LoRA r={RANKS[0]}…{RANKS[-1]}",
            )
            ax.fill_between(
                [x for x, _ in lora],
                [100 * y["min"] for _, y in lora],
                [100 * y["max"] for _, y in lora],
                color=c,
                alpha=0.15,
            )
            full = rows["full fine-tuning"][key]["mean"]
            ax.axhline(
                100 * full, color=c, linestyle="--", linewidth=1, label=f"{job}: full fine-tuning"
            )
            for label, f in rows.items():
                marker = next((m for name, m in MARKERS.items() if name in label), None)
                if marker:
                    y = f[key]
                    ax.errorbar(
                        f["trainable_parameters"],
                        100 * y["mean"],
                        yerr=[[100 * (y["mean"] - y["min"])], [100 * (y["max"] - y["mean"])]],
                        fmt=marker,
                        color=c,
                        markerfacecolor="white",
                        capsize=2,
                    )
        ax.set_xscale("log")
        ax.set_xlabel(f"trainable parameters (the model: {model_parameters:,})")
        ax.set_ylabel("exact match (%), mean and range of 3 seeds")
        ax.set_ylim(-3, 103)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    for name, m in MARKERS.items():
        handles.append(
            plt.Line2D([], [], marker=m, color="0.3", markerfacecolor="white", linestyle="")
        )
        labels.append(
            {"attention": "LoRA r=8, attention only"}.get(
                name, name + (" tuning" if name in ("prompt", "prefix") else "")
            )
        )
    fig.legend(handles, labels, loc="lower center", ncols=4, frameon=False, fontsize="small")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
