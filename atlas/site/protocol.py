"""How the site compares methods, as code: the comparing benchmarks
(benchmarks/learning_forgetting.py, benchmarks/dpo_grid.py) take their learning-rate grids, seeds,
runs and "is this a difference?" from here, so the rules on
docs/how-this-site-works.md#comparing-methods are carried out, not only written down.

    grid = rate_grid(2e-3)                   # (0.0002, 0.0006, 0.002, 0.006): four, log-spaced
    results = run_points(points, read)       # snippet runs, two at a time, one thread each
    differs([0.81, 0.83, 0.82], [0.70, 0.74, 0.72])   # True: the seed ranges do not overlap
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from atlas import ROOT
from atlas.runs import run_script

SEEDS = (0, 1, 2)  # every ranking rests on three seeds
GRID_WIDTH = 4  # learning rates per method, at least
WORKERS = 2  # runs at a time, one thread each: the 2-core machine's whole width
THREADS_PER_RUN = 1


def rate_grid(centre: float, below: int = 2, above: int = 1) -> tuple[float, ...]:
    """Learning rates in half-decade steps (x3.16, shown to one significant digit) around `centre`,
    `below` of them under it and `above` over it: rate_grid(1e-3) == (1e-4, 3e-4, 1e-3, 3e-3)."""
    rates = (centre * 10 ** (i / 2) for i in range(-below, above + 1))
    return tuple(float(f"{r:.0e}") for r in rates)


def at_edge(grid: tuple[float, ...], rate: float) -> bool:
    """Whether a chosen rate is the grid's lowest or highest: the grid must then be extended."""
    return rate in (min(grid), max(grid))


def differs(a: list[float], b: list[float]) -> bool:
    """A measured difference: the seed ranges of `a` and `b` do not overlap. Overlapping ranges are
    written on the site as no measured difference."""
    return max(a) < min(b) or max(b) < min(a)


@dataclass(frozen=True)
class Point:
    """One snippet run of a comparison: a method at one setting and one seed."""

    snippet: str
    args: tuple[str, ...]
    seed: int
    key: tuple = ()  # what the benchmark files the result under

    def command(self) -> str:
        return " ".join(
            ["python", f"snippets/{self.snippet}.py", *self.args, "--seed", str(self.seed)]
        )


def read_model(point: Point, folder: Path) -> dict:
    """A `read` for run_points that keeps where the run saved its model: a later stage starts from
    it, or the benchmark measures it in its own process after the timed runs."""
    return {"model": str(folder / "model")}


def run_points(
    points: list[Point], read: Callable[[Point, Path], dict], folder: Path | None = None
) -> list[dict]:
    """Run every point as a reader runs the snippet (its own results and model folders),
    WORKERS at a time with THREADS_PER_RUN threads each; `read(point, run_folder)` turns a finished
    run's folder (`results/`, `model/`) into what the benchmark keeps. Results in `points`' order.
    The folders are temporary unless `folder` is given (a later stage starts from the models saved
    there)."""
    with tempfile.TemporaryDirectory() as tmp_name:
        base = folder or Path(tmp_name)

        def go(i_point: tuple[int, Point]) -> dict:
            i, point = i_point
            run_folder = base / str(i)
            run = run_script(
                ROOT / "snippets" / f"{point.snippet}.py",
                [
                    *point.args,
                    "--seed",
                    str(point.seed),
                    "--results-dir",
                    str(run_folder / "results"),
                    "--output-dir",
                    str(run_folder / "model"),
                ],
                threads=THREADS_PER_RUN,
            )
            if run["returncode"]:
                raise SystemExit(f"{point.command()} failed:\n{run['stderr'][-3000:]}")
            print(point.command(), f"{run['seconds']} s", flush=True)
            return {**read(point, run_folder), "peak_mib": run["peak_mib"]}

        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(go, enumerate(points)))
