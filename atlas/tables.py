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


def _row(cells: list[str]) -> str:
    return "|" + "".join(f" {c} |" if c else " |" for c in cells)
