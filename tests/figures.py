"""Comparing a fresh run's figures with the committed ones, on any CPU.

On the kind of machine that wrote the committed files (same instruction set, ATen kernels and
torch: atlas.site.provenance.same_kind) a rerun gives the same bytes, so bytes are compared. On
another kind the last float bits differ from the first training step on, and a greedy decoder turns
a few of those differences into another answer; so numbers are compared with a tolerance, text that
the model generated is not compared, and everything else must be equal.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

# How far a figure may move on another CPU kind. A rerun whose float bits differ is, for a greedy
# decoder after a few hundred training steps, a slightly different model: each evaluation example
# may tip either way. So an accuracy over n examples may move by as much as two independent draws of
# n examples would, at SIGMAS standard deviations, plus one example: a cell of one task (40 words)
# gets about 45 points at p = 0.5 and 3 at p = 0, a mean over eleven tasks about 14. Measured
# (instruction tuning, no-template and single-task runs, ATEN_CPU_CAPABILITY=default against the
# AVX2 figures): the largest move of one task's cell was 22 points, of a mean over the seen tasks
# 5, and the losses 1 %. Losses are averages over thousands of tokens: a few % relative.
SIGMAS = 4
DEFAULT_EXAMPLES = (
    40  # an accuracy whose number of examples the file does not say: the harness's default
)
LOSS_RELATIVE = 0.05
# Generated text: what the model answered differs when one greedy step tips the other way.
MODEL_TEXT_KEYS = {"prediction", "reply"}
SKIPPED_SUFFIXES = ("_timing.json", "_outputs.md", "_samples.jsonl")  # wall clock; sample outputs
NUMBER = re.compile(r"^\**(-?\d[\d,]*(?:\.\d+)?)\**(?: %)?$")


def differences(new: Path, committed: Path, exact: bool) -> list[str]:
    """What differs between a fresh output file and the committed one, beyond the tolerance."""
    if not committed.is_file():
        return [f"{committed} is not committed"]
    if new.name.endswith(SKIPPED_SUFFIXES[0]):
        return []
    if exact:
        return (
            []
            if new.read_bytes() == committed.read_bytes()
            else [f"{committed.name}: bytes differ"]
        )
    if new.name.endswith(SKIPPED_SUFFIXES):
        return []
    if new.suffix == ".json":
        return _compare(
            json.loads(new.read_text()), json.loads(committed.read_text()), committed.name
        )
    if new.suffix == ".jsonl":
        a, b = new.read_text().splitlines(), committed.read_text().splitlines()
        if len(a) != len(b):
            return [f"{committed.name}: {len(a)} lines, committed {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b))
            for d in _compare(json.loads(x), json.loads(y), f"{committed.name}:{i + 1}")
        ]
    if new.suffix == ".md":
        return _compare_tables(new.read_text(), committed.read_text(), committed.name)
    return [] if new.read_bytes() == committed.read_bytes() else [f"{committed.name}: differs"]


def tolerance(p: float, n: int) -> float:
    """How far an accuracy near `p` over `n` examples may move between two runs (see SIGMAS)."""
    return SIGMAS * math.sqrt(2 * p * (1 - p) / n) + 1 / n


def _examples_per_figure(summary: dict) -> dict[str, int]:
    """For an evaluation summary (atlas.evaluation.EvalResult.summary): how many examples stand
    behind one figure of each section."""
    from atlas.toy import world

    tasks = list(summary["by_task"])
    conditions = len(next(iter(summary["by_task"].values())))
    words = summary["n_examples"] // (len(tasks) * conditions)
    clusters = summary.get("by_cluster", {})
    out = {"by_task": words, "average": words * len(tasks)}
    for name in clusters:
        size = len(world.CLUSTERS.get(name, ())) or max(1, len(tasks) // max(1, len(clusters)))
        out[f"by_cluster.{name}"] = words * size
    held_out = [
        t for t in tasks if world.TASKS.get(t) and world.TASKS[t].cluster == world.HELD_OUT_CLUSTER
    ]
    out["by_task_split.held-out cluster"] = words * max(1, len(held_out))
    out["by_task_split.seen tasks"] = words * max(1, len(tasks) - len(held_out))
    return out


def _compare(a, b, where: str, key: str = "", n: int = DEFAULT_EXAMPLES) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))} differ"]
        sizes = _examples_per_figure(a) if {"by_task", "n_examples"} <= set(a) else {}
        out = []
        for k in a:
            if sizes and k in ("by_cluster", "by_task_split"):  # each group has its own size
                out += [
                    d
                    for g in a[k]
                    for d in _compare(
                        a[k][g], b[k][g], f"{where}.{k}.{g}", g, sizes.get(f"{k}.{g}", n)
                    )
                ]
            else:
                out += _compare(a[k], b[k], f"{where}.{k}", k, sizes.get(k, n))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items, committed {len(b)}"]
        return [
            d for i, (x, y) in enumerate(zip(a, b)) for d in _compare(x, y, f"{where}[{i}]", key, n)
        ]
    if key in MODEL_TEXT_KEYS:
        return []
    if isinstance(a, float) or isinstance(b, float):
        return _close(float(a), float(b), where, is_loss="loss" in where.lower(), n=n)
    return [] if a == b else [f"{where}: {a!r}, committed {b!r}"]


def _close(a: float, b: float, where: str, is_loss: bool, n: int = DEFAULT_EXAMPLES) -> list[str]:
    if is_loss:
        ok = abs(a - b) <= LOSS_RELATIVE * max(abs(a), abs(b), 1e-9)
    else:
        p = min(max((a + b) / 2, 0.0), 1.0)
        ok = abs(a - b) <= tolerance(p, n) + 1e-9
    return [] if ok else [f"{where}: {a:g}, committed {b:g}" + ("" if is_loss else f" (n={n})")]


def _compare_tables(a: str, b: str, where: str) -> list[str]:
    """Markdown tables cell by cell: numbers (percentages) within the tolerance, the rest equal."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return [f"{where}: {len(la)} lines, committed {len(lb)}"]
    out = []
    for i, (x, y) in enumerate(zip(la, lb), 1):
        ca, cb = [c.strip() for c in x.split("|")], [c.strip() for c in y.split("|")]
        if len(ca) != len(cb):
            out.append(f"{where}:{i}: {len(ca)} cells, committed {len(cb)}")
            continue
        for u, v in zip(ca, cb):
            mu, mv = NUMBER.match(u), NUMBER.match(v)
            if mu and mv:
                # table cells are percentages (0-100) or counts; compare on the 0-1 scale
                fu, fv = (float(m.group(1).replace(",", "")) / 100 for m in (mu, mv))
                out += _close(fu, fv, f"{where}:{i}", is_loss=False)
            elif u != v:
                out.append(f"{where}:{i}: {u!r}, committed {v!r}")
    return out


# The mean over seeds of one figure of a benchmark's per-seed records, computed by the very function
# that renders it on the pages: seed_mean(runs, "preference", "accuracy").
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tools/
from tools.macros import mean_of as seed_mean  # noqa: E402,F401
