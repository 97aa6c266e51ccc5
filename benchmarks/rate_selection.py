"""Each method's learning rate chosen on validation words, then reported on the evaluation words.

benchmarks/peft_sweep.py chose every parameter-efficient method's rate on the words it then
reports (three rates, one seed), and benchmarks/swept_table.py chose full fine-tuning's the same
way: the reported accuracy is then the best of several tries on the same words, a little higher
than a new set of words would give. Here every method of both jobs of atlas/jobs.py is chosen as
docs/how-this-site-works.md#comparing-methods asks:

1. four learning rates around the method's rate so far (atlas.site.protocol.rate_grid: full
   fine-tuning's page rate, the others' rate the PEFT sweep kept), seed 0, the snippet a reader
   runs;
2. each run's saved model measured again on validation words (atlas.jobs.measure_validation:
   held-out words the reported evaluation does not use), and the rate chosen on those by the PEFT
   sweep's rule (peft_sweep.best_rate: the best target accuracy; among the rates within one word
   of it, the one that keeps the most few-shot);
3. a rate chosen at the edge of the rates tried is extended half a decade past it, and chosen
   again, until it is inside (at most MAX_EXTENSIONS times);
4. seeds 1 and 2 at the chosen rate: three seeds, reported on the evaluation words.

    python benchmarks/rate_selection.py          # ~60 min on 2 cores
    python benchmarks/rate_selection_tables.py   # summary and tables from runs.json, in seconds

Writes docs/generated/rate_selection/runs.json; the tables script (which this one never runs or
names, so editing a table reruns only it) writes summary.json and the tables.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from atlas import GENERATED_DIR  # noqa: E402
from atlas.jobs import JOBS  # noqa: E402
from atlas.site.protocol import SEEDS, Point, at_edge, rate_grid, run_points  # noqa: E402
from benchmarks.peft_sweep import SEARCHED, best_rate, methods  # noqa: E402

OUT = GENERATED_DIR / "rate_selection"
SWEEP = GENERATED_DIR / "peft_sweep" / "sweep.json"
FAMILIES = {"full": "full fine-tuning", **SEARCHED}  # family -> the configuration it is run as
PROMPT_LEARNING = ("prompt", "prefix")  # measured as trained: atlas.jobs.forward_greedy
MAX_EXTENSIONS = 2  # past the four rates, on either side
# transformers builds a model on a process-wide "meta" device first: two threads loading at once
# break each other's load, so loads take turns (the measuring runs side by side)
LOADING = threading.Lock()


def first_grid(job: str, family: str, sweep: dict) -> tuple[float, ...]:
    if family == "full":
        return rate_grid(JOBS[job].full_learning_rate)
    return rate_grid(sweep["search"][job][family]["best"])


def point(job: str, family: str, rate: float, seed: int) -> Point:
    snippet, args, _, _ = methods(job)[FAMILIES[family]]
    return Point(snippet, (*args, "--learning-rate", str(rate)), seed, key=(job, family, rate))


def read(p: Point, folder: Path) -> dict:
    """The run's own results (evaluation words) and its saved model measured on validation
    words, here, while the other worker trains."""
    import torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from atlas.jobs import measure_validation

    job, family, _ = p.key
    name = methods(job)[FAMILIES[family]][2]
    results = folder / "results"
    torch.set_num_threads(1)  # one core per worker, as the runs
    model_dir = folder / "model"
    loader = AutoModelForCausalLM if family == "full" else AutoPeftModelForCausalLM
    with LOADING:
        model = loader.from_pretrained(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    decoding = "forward" if family in PROMPT_LEARNING else "generate"
    validation = measure_validation(model, tokenizer, job, decoding=decoding)
    return {
        "by_task": json.loads((results / f"{name}.json").read_text())["by_task"],
        "validation_by_task": validation.by_task(),
        "final_loss": json.loads((results / f"{name}_training.json").read_text())["final_loss"],
    }


def choose(tried: dict[float, dict], job: str) -> float:
    """The PEFT sweep's rule, on the validation words."""
    return best_rate({rate: {"by_task": r["validation_by_task"]} for rate, r in tried.items()}, job)


def run(todo: list[Point], runs: dict) -> None:
    for p, result in zip(todo, run_points(todo, read)):
        job, family, rate = p.key
        entry = runs[job][family]
        if p.seed == 0:
            entry["tried"][rate] = result
        else:
            entry["seeds"][str(p.seed)] = result


def main() -> None:
    sweep = json.loads(SWEEP.read_text())
    runs = {
        job: {family: {"label": FAMILIES[family], "tried": {}, "seeds": {}} for family in FAMILIES}
        for job in JOBS
    }
    # 1. four rates on seed 0
    run(
        [
            point(job, family, rate, 0)
            for job in JOBS
            for family in FAMILIES
            for rate in first_grid(job, family, sweep)
        ],
        runs,
    )
    # 2. past an edge until the chosen rate is inside what was tried
    for _ in range(MAX_EXTENSIONS):
        todo = []
        for job, families in runs.items():
            for family, entry in families.items():
                tried = tuple(sorted(entry["tried"]))
                chosen = choose(entry["tried"], job)
                if at_edge(tried, chosen):
                    step = rate_grid(chosen, 1, 1)  # half a decade either side
                    beyond = step[0] if chosen == tried[0] else step[-1]
                    todo.append(point(job, family, beyond, 0))
        if not todo:
            break
        run(todo, runs)
    # 3. seeds 1 and 2 at the chosen rate
    todo = []
    for job, families in runs.items():
        for family, entry in families.items():
            entry["chosen"] = choose(entry["tried"], job)
            todo += [point(job, family, entry["chosen"], seed) for seed in SEEDS if seed != 0]
    run(todo, runs)
    for families in runs.values():
        for entry in families.values():
            entry["tried"] = {str(rate): entry["tried"][rate] for rate in sorted(entry["tried"])}
            entry["chosen"] = str(entry["chosen"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(
            "usage: python benchmarks/rate_selection.py (the tables: "
            "python benchmarks/rate_selection_tables.py)"
        )
    main()
