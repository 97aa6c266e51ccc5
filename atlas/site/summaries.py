"""How the benchmarks report a figure measured on several seeds: "mean (min–max)".

spread([0.84, 0.85, 0.85])            # '85 (84–85)', in % by default
spread([1.2, 3.4, 2.0], scale=1, digits=1)
"""

from __future__ import annotations

import statistics


def spread(values: list[float], scale: float = 100, digits: int = 0) -> str:
    """ "mean (min–max)" of `values` times `scale`, with `digits` decimals."""
    v = [scale * x for x in values]
    return f"{statistics.mean(v):.{digits}f} ({min(v):.{digits}f}–{max(v):.{digits}f})"


def mean(values: list[float]) -> float:
    return statistics.mean(values)


def ranged(values: list[float]) -> dict:
    """A figure on several seeds as the benchmarks' summary.json files keep it: its mean, min, max
    and every value."""
    return {"mean": mean(values), "min": min(values), "max": max(values), "values": values}
