"""No figure typed by hand: the prose of the pages and the README holds no number that a file, a
test margin or the toy world could supply.

Numbers on the pages come from `{{ ... }}` macros (tools/macros.py: the files the snippets wrote,
tests/claims.py, atlas.toy.world) or from included generated files. What is left in the prose,
outside code, includes, macros, links and HTML, must be on the short allowlist below, each with its
reason.
"""

from __future__ import annotations

import re

from conftest import ROOT

# (file, number as written): why it may be typed by hand. At most 15 entries.
ALLOWED: dict[tuple[str, str], str] = {
    ("docs/glossary.md", "2021"): "citation year: Wei et al., 2021 (FLAN)",
    ("docs/techniques/instruction-tuning.md", "2021"): "citation year: Wei et al., 2021 (FLAN)",
    ("docs/techniques/lora-finetuning.md", "2021"): "citation year: Hu et al., 2021 (LoRA)",
    ("docs/techniques/prompt-tuning.md", "2021"): "citation year: Lester et al., 2021",
    ("docs/techniques/prefix-tuning.md", "2021"): "citation year: Li & Liang, 2021",
    (
        "docs/how-this-site-works.md",
        "3.11",
    ): "the Python version the setup needs, not a measurement",
    ("README.md", "3.11"): "the Python version the setup needs; GitHub does not render macros",
    (
        "docs/real-model/presentation.md",
        "4",
    ): "Q4_1 stores each weight in 4 bits: the GGUF format's definition",
}
MAX_ALLOWED = 15

FENCE = re.compile(r"^(\s*)(```|~~~).*?^\1\2\s*$", re.S | re.M)
NUMBER = re.compile(r"(?<![\w.\-/])\d+(?:[.,]\d+)*")
LIST_MARKER = re.compile(r"^\s*\d+\.\s", re.M)


def prose(text: str) -> str:
    """The text a reader reads as prose: no front matter, code, includes, macros, inline code,
    link targets, HTML tags, attribute lists, URLs, maths or list markers."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = FENCE.sub("", text)
    text = re.sub(r"^.*--8<--.*$", "", text, flags=re.M)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>\n]*>", "", text)
    text = re.sub(r"\{\s*[:#.][^}\n]*\}", "", text)
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"\\\(.*?\\\)|\\\[.*?\\\]", "", text, flags=re.S)
    text = re.sub(r"\[\^\d+\]", "", text)  # footnote markers
    return LIST_MARKER.sub("", text)


def prose_files():
    pages = [
        p
        for p in sorted((ROOT / "docs").rglob("*.md"))
        if "generated" not in p.parts and "includes" not in p.parts
    ]
    return [*pages, ROOT / "README.md"]


def hand_typed_numbers() -> list[tuple[str, str, str]]:
    found = []
    for path in prose_files():
        rel = str(path.relative_to(ROOT))
        for line in prose(path.read_text()).splitlines():
            for m in NUMBER.finditer(line):
                found.append((rel, m.group(), line.strip()))
    return found


def test_no_hand_typed_numbers_in_prose():
    unexpected = [
        f"{rel}: {number!r} in: {line[:120]}"
        for rel, number, line in hand_typed_numbers()
        if (rel, number) not in ALLOWED
    ]
    assert not unexpected, (
        "numbers typed by hand (render them with a macro from the file that holds "
        "them, see tools/macros.py, or allowlist them here with a reason):\n"
        + "\n".join(unexpected)
    )


def test_allowlist_is_short_and_used():
    assert len(ALLOWED) <= MAX_ALLOWED
    used = {(rel, number) for rel, number, _ in hand_typed_numbers()}
    assert not set(ALLOWED) - used, (
        f"allowlisted but not on the page any more: {set(ALLOWED) - used}"
    )


def test_scanner_sees_prose_and_skips_code():
    text = (
        "---\ntitle: x\n---\nIt took 940 s.\n\n```python\nx = 3600\n```\n"
        "`n = 12` and {{ fig('a', 'b') }}\n"
        '[link](page.md#step-2) <img width="40"> { #id-3 }\n1. first\nSmolLM2-135M\n'
    )
    assert NUMBER.findall(prose(text)) == ["940"]


def test_a_figure_prints_alike_whatever_its_float_noise():
    """One accuracy, 1/40, is 0.025 in one file and 0.025000000000000005 (a mean) in another: the
    pages must not say 2 % in one place and 3 % in another."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import macros

    assert macros.pct(0.025) == macros.pct(0.025000000000000005) == f"{2.5:.0f}"
    assert macros.points(0.025000000000000005) == macros.points(-0.025)
    assert macros.pct(0.781) == "78" and macros.pct(0.1234, 1) == "12.3"
