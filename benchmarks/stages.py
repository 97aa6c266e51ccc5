"""The stages around instruction tuning on three seeds: continued pretraining (with and without
the old text mixed in), which stage makes the model *able* to do a new domain's tasks and which
makes it *answer when asked*, and DPO at three betas against SFT on the chosen answers.

    python benchmarks/stages.py      # ~25 min on 2 cores, two runs at a time with one thread each

Writes docs/generated/stages/: continued.md, which_stage.md, dpo.md, stages.json, dpo_beta.png.
Every run is a snippet run as a reader runs it, with `--seed`; per seed, DPO starts from that seed's
instruction-tuned model, and continued pretraining followed by instruction tuning starts from that
seed's continued-pretraining model.
"""

from __future__ import annotations

import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atlas import BASE_MODEL_DIR, GENERATED_DIR, ROOT  # noqa: E402
from atlas.runs import run_script  # noqa: E402
from atlas.site.summaries import mean, spread  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

OUT = GENERATED_DIR / "stages"
SEEDS = (0, 1, 2)
WORKERS = 2  # runs at a time, one thread each
BETAS = (0.5, 0.1, 0.01)
CONTINUED = {
    "continued pretraining, domain text only": "0",
    "continued pretraining, a quarter old text": "0.25",
}


def run(snippet: str, args: list[str], tmp: Path) -> Path:
    """Run a snippet with its results in tmp/results and its model in tmp/model; return tmp."""
    result = run_script(
        ROOT / "snippets" / f"{snippet}.py",
        [*args, "--results-dir", str(tmp / "results"), "--output-dir", str(tmp / "model")],
        threads=1,
    )
    if result["returncode"]:
        raise SystemExit(f"{snippet} {' '.join(args)} failed:\n{result['stderr'][-3000:]}")
    print(snippet, " ".join(args), f"{result['seconds']} s", flush=True)
    return tmp


def run_all(todo: list[tuple[str, list[str], Path]]) -> list[Path]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda job: run(*job), todo))


def main() -> None:
    report: dict = {"seeds": list(SEEDS), "workers": WORKERS, "threads_per_run": 1}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # 1. continued pretraining (two mixes) and instruction tuning from the base model
        first = []
        for seed in SEEDS:
            s = ["--seed", str(seed)]
            for label, mix in CONTINUED.items():
                first.append(
                    ("continued_pretraining", [*s, "--mix", mix], tmp / f"cpt{mix}-{seed}")
                )
            first.append(("instruction_tuning", [*s, "--eval-words", "1"], tmp / f"it-{seed}"))
        run_all(first)
        # 2. instruction tuning after continued pretraining; DPO and its SFT baseline
        second = []
        for seed in SEEDS:
            s = ["--seed", str(seed)]
            second.append(
                (
                    "instruction_tuning",
                    [*s, "--eval-words", "1", "--model", str(tmp / f"cpt0.25-{seed}" / "model")],
                    tmp / f"cpt-it-{seed}",
                )
            )
            start = ["--model", str(tmp / f"it-{seed}" / "model"), *s]
            for beta in BETAS:
                second.append(("dpo", [*start, "--beta", str(beta)], tmp / f"dpo{beta}-{seed}"))
            second.append(("dpo", [*start, "--method", "sft"], tmp / f"sft-{seed}"))
        run_all(second)

        # 3. what each model can do (in this process, after every timed run)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from atlas import stages

        tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
        continued: dict = {}
        for label, mix in CONTINUED.items():
            name = "continued" if mix != "0" else "continued_no_mix"
            runs = [
                json.loads(
                    (tmp / f"cpt{mix}-{seed}" / "results" / f"{name}_figures.json").read_text()
                )
                for seed in SEEDS
            ]
            continued["base model"] = [r["before"] for r in runs]
            continued[label] = [r["after"] for r in runs]
        report["continued"] = continued

        def measured(folder: str) -> list[dict]:
            return [
                stages.measure(
                    AutoModelForCausalLM.from_pretrained(tmp / f"{folder}-{seed}" / "model"),
                    tokenizer,
                )[0]
                for seed in SEEDS
            ]

        report["which_stage"] = {
            "base model": continued["base model"],
            "instruction tuning only": measured("it"),
            "continued pretraining only": continued["continued pretraining, a quarter old text"],
            "continued pretraining, then instruction tuning": measured("cpt-it"),
        }
        # label -> (run folder, result name); the start model is measured in every run, before
        dpo = {
            "instruction-tuned model (start)": ("sft", "sft"),
            "SFT on the chosen answers": ("sft", "sft"),
        }
        dpo.update({f"DPO, beta {b:g}": (f"dpo{b}", f"dpo_beta{b:g}") for b in BETAS})
        report["dpo"] = {}
        for label, (folder, name) in dpo.items():
            runs = [
                json.loads(
                    (tmp / f"{folder}-{seed}" / "results" / f"{name}_figures.json").read_text()
                )
                for seed in SEEDS
            ]
            start = label == "instruction-tuned model (start)"
            report["dpo"][label] = [{"after": r["before"]} for r in runs] if start else runs
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stages.json").write_text(json.dumps(report, indent=1) + "\n")
    write_tables(report)


def write_tables(report: dict) -> None:
    from atlas.stages import MEASURES

    def row(label: str, runs: list[dict], keys) -> list[str]:
        return [label, *(spread([r[k] for r in runs]) for k in keys)]

    (OUT / "continued.md").write_text(
        markdown_table(
            ["model", *MEASURES.values()],
            [row(label, runs, MEASURES) for label, runs in report["continued"].items()],
        )
    )
    keys = ["domain_few_shot", "domain_instruction", "general_instruction", "general_few_shot"]
    (OUT / "which_stage.md").write_text(
        markdown_table(
            ["model", *(MEASURES[k] for k in keys)],
            [row(label, runs, keys) for label, runs in report["which_stage"].items()],
        )
    )
    rows = []
    for label, runs in report["dpo"].items():
        after = [r["after"] for r in runs]
        trained = "preference" in runs[0]
        pref = [r["preference"] for r in runs] if trained else []
        rows.append(
            [
                label,
                spread([p["accuracy"] for p in pref]) if trained else "–",
                spread([p["margin"] for p in pref], scale=1, digits=1) if trained else "–",
                spread([p["chosen_logp_change"] for p in pref], scale=1, digits=1)
                if trained
                else "–",
                spread([a["seen_instruction"] for a in after]),
                spread([a["held_out_templates"] for a in after]),
                spread([a["few_shot"] for a in after]),
                f"{mean([r['fixed'] for r in runs]):.0f} / {mean([r['broken'] for r in runs]):.0f}"
                if trained
                else "–",
            ]
        )
    (OUT / "dpo.md").write_text(
        markdown_table(
            [
                "model",
                "held-out pairs ranked right",
                "margin (nats)",
                "chosen log-prob change (nats)",
                "seen tasks, by instruction",
                "held-out templates",
                "few-shot",
                "requests fixed / broken",
            ],
            rows,
        )
    )
    plot_beta(report)


def plot_beta(report: dict) -> None:
    """Exact match and the chosen answers' log-probability change against beta, SFT as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["dpo"]
    betas = list(BETAS)
    labels = [f"DPO, beta {b:g}" for b in betas]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, key, title in (
        (left, "seen_instruction", "seen tasks by instruction (%)"),
        (right, "chosen_logp_change", "chosen answers' log-prob change (nats)"),
    ):
        if key == "seen_instruction":
            values = [[100 * r["after"][key] for r in runs[lab]] for lab in labels]
            start = mean([100 * r["after"][key] for r in runs["instruction-tuned model (start)"]])
            axis.axhline(start, color="grey", linestyle=":", label="start (instruction-tuned)")
            sft = mean([100 * r["after"][key] for r in runs["SFT on the chosen answers"]])
        else:
            values = [[r["preference"][key] for r in runs[lab]] for lab in labels]
            axis.axhline(0, color="grey", linestyle=":", label="start (instruction-tuned)")
            sft = mean([r["preference"][key] for r in runs["SFT on the chosen answers"]])
        axis.axhline(sft, color="tab:green", linestyle="--", label="SFT on the chosen answers")
        axis.errorbar(
            betas,
            [mean(v) for v in values],
            yerr=[[mean(v) - min(v) for v in values], [max(v) - mean(v) for v in values]],
            marker="o",
            capsize=3,
            label="DPO (mean, min–max of 3 seeds)",
        )
        axis.set_xscale("log")
        axis.set_xlabel("beta (log scale)")
        axis.set_title(title, fontsize=10)
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "dpo_beta.png", dpi=120)


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables-only"]:
        write_tables(json.loads((OUT / "stages.json").read_text()))
    else:
        main()
