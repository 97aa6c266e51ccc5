"""The one way a Markdown table is written: every table the snippets and benchmarks publish."""

from __future__ import annotations


def markdown_table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A pipe table. `align` has one letter per column, "l" (text) or "r" (numbers); by default the
    first column is text and the others are numbers. Cells are written with str()."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align needs one of 'l'/'r' per column ({len(header)}), not {align!r}")
    lines = [_row(header), "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += [_row([str(c) for c in row]) for row in rows]
    return "\n".join(lines) + "\n"


def percent(fraction: float, digits: int = 0) -> str:
    """A fraction as a percentage, without the % sign, as the pages' prose (the `pct` and `points`
    macros), the harness's tables (atlas/evaluation.py), benchmarks/seeds.py,
    benchmarks/pretraining_float32.py and snippets/comparison.py print it. Float noise goes first
    (an accuracy of 1/40 is 0.025 in one file and 0.025000000000000005 in a mean of runs: both must
    print alike), then Python rounds half to even (0.025 -> '2'). Other benchmarks still format
    `100 * v` as it comes."""
    return f"{round(100 * fraction, 9):.{digits}f}"


def _row(cells: list[str]) -> str:
    return "|" + "".join(f" {c} |" if c else " |" for c in cells)
