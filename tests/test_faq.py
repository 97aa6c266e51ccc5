"""The FAQ page (docs/faq.md): every question is a heading with a stable anchor, every answer is
short enough to quote, and every answer links to the heading that holds its measured evidence.

Readers arrive at one question from a link in someone else's answer (`faq.md#some-question`) and
follow one link from it to the evidence. So each question must keep an explicit `{ #anchor }` (a
slug made from the wording would change when the wording does), each answer must stay at most five
sentences, and each evidence link must land on an element that exists in the built site: a renamed
heading on a technique page would otherwise leave the FAQ pointing at nothing, with no warning
from a reader's browser.

The page's layout: `##` headings group the questions; every `###` heading is one question, as people
phrase it, ending with "?"; the answer is the text up to the next heading; its last paragraph is an
"Asked in:" line with the public threads where the question was asked, after a "Measured on:"
line that says which models its figures come from (the toy model only, SmolLM2-135M-Instruct, or
both).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT

FAQ = ROOT / "docs" / "faq.md"
# Enough to answer what practitioners ask most; few enough to read as one page (issue 35 added
# the end-of-turn token, unpaired preferences, LoRA's alpha and off-policy preference pairs).
MIN_QUESTIONS, MAX_QUESTIONS = 25, 46
MAX_SENTENCES = 5

HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*$")
ANCHOR = re.compile(r"\{\s*#([^\s}]+)\s*\}\s*$")
SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
ASKED_IN = "Asked in:"
MEASURED_ON = "Measured on:"
# What an answer's figures were measured on, as its "Measured on:" line says it (issue 35: advice
# from the toy alone is labelled with its scale where it is given). A line naming the real model
# needs evidence on a page that measures it; a line saying "the toy model only" may link none.
SCALES = {
    "the toy model only ({{ params }} M parameters), not on a real one.": "toy",
    "the toy model ({{ params }} M parameters) and SmolLM2-135M-Instruct.": "both",
    "SmolLM2-135M-Instruct.": "real",
}
# Pages that measure the real model, or one section of a toy page that does ("page#anchor").
REAL_MODEL_PAGES = (
    "real-model/presentation.md",
    "techniques/lora-finetuning.md",
    "techniques/dpo.md#real-model",
)
# Pages that define terms rather than measure: a link to one is not toy evidence.
DEFINING_PAGES = ("concepts/", "dataset-shapes.md", "glossary.md")
# Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.", "etc.")


def page_text() -> str:
    """docs/faq.md without its front matter."""
    return re.sub(r"\A---\n.*?\n---\n", "", FAQ.read_text(), flags=re.S)


def headings() -> list[tuple[int, int, str, str | None]]:
    """(line index, level, title without its anchor, anchor or None) of every `##`/`###` line
    outside code fences."""
    found, fenced = [], False
    for i, line in enumerate(page_text().splitlines()):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        m = None if fenced else HEADING.match(line)
        if m:
            anchor = ANCHOR.search(m.group(2))
            title = ANCHOR.sub("", m.group(2)).strip()
            found.append((i, len(m.group(1)), title, anchor.group(1) if anchor else None))
    return found


def questions() -> list[dict]:
    """Each `###` question with its answer (the lines up to the next heading)."""
    lines = page_text().splitlines()
    marks = headings()
    out = []
    for k, (i, level, title, anchor) in enumerate(marks):
        if level != 3:
            continue
        end = marks[k + 1][0] if k + 1 < len(marks) else len(lines)
        body = "\n".join(lines[i + 1 : end]).strip()
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
        asked = [p for p in paragraphs if p.startswith(ASKED_IN)]
        measured = [p for p in paragraphs if p.startswith(MEASURED_ON)]
        answer = "\n\n".join(p for p in paragraphs if not p.startswith((ASKED_IN, MEASURED_ON)))
        out.append(
            {
                "title": title,
                "anchor": anchor,
                "answer": answer,
                "asked": asked,
                "measured": measured,
            }
        )
    return out


def sentences(answer: str) -> list[str]:
    """The answer's sentences as a reader counts them: macros, code, HTML and link targets cannot
    end a sentence; a full stop, question or exclamation mark followed by a space (or a closing
    bracket or quote, then a space) or by the end does."""
    text = re.sub(r"\{\{.*?\}\}", "N", answer, flags=re.S)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "code", text)
    text = LINK.sub(lambda m: re.sub(r"[.?!]", "", m.group(1)), text)
    text = re.sub(r"<[^>]+>", "", text)
    for abbreviation in ABBREVIATIONS:
        text = text.replace(abbreviation, abbreviation.replace(".", ""))
    text = " ".join(text.split())
    return [s for s in re.split(r"(?<=[.?!])\s+|(?<=[.?!][\"')\]])\s+", text) if s.strip()]


def evidence_links(answer: str) -> list[tuple[str, str]]:
    """(page, fragment) of every link from the answer to a heading of another page of the site."""
    links = []
    for _, target in LINK.findall(answer):
        if re.match(r"[a-z]+:", target) or "#" not in target:
            continue
        page, fragment = target.split("#", 1)
        if page and page.endswith(".md") and page != "faq.md":
            links.append((page, fragment))
    return links


def built_page(site: Path, page: str) -> Path:
    """Where mkdocs (use_directory_urls) writes docs/<page>: x/y.md -> x/y/index.html."""
    path = Path(page)
    if path.name == "index.md":
        return site / path.parent / "index.html"
    return site / path.with_suffix("") / "index.html"


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)


def ids_in(html_file: Path) -> set[str]:
    parser = _Ids()
    parser.feed(html_file.read_text())
    return parser.ids


QUESTIONS = questions()
IDS = [q["anchor"] or q["title"][:40] for q in QUESTIONS]


def test_the_page_holds_a_readable_number_of_questions():
    assert MIN_QUESTIONS <= len(QUESTIONS) <= MAX_QUESTIONS, len(QUESTIONS)


def test_every_heading_has_a_unique_stable_anchor():
    marks = headings()
    missing = [title for _, _, title, anchor in marks if anchor is None]
    assert not missing, f"headings without an explicit {{ #anchor }}: {missing}"
    bad = [anchor for _, _, _, anchor in marks if not SLUG.match(anchor)]
    assert not bad, f"anchors must be short, lowercase and hyphenated: {bad}"
    anchors = [anchor for _, _, _, anchor in marks]
    assert len(anchors) == len(set(anchors)), "duplicate anchors"


def test_questions_are_questions_and_groups_are_not():
    for _, level, title, _ in headings():
        if level == 3:
            assert title.endswith("?"), f"a question heading must end with '?': {title}"
        else:
            assert not title.endswith("?"), (
                f"'{title}' reads as a question: make it ### under a group"
            )


@pytest.mark.parametrize("q", QUESTIONS, ids=IDS)
def test_answer_is_quotable(q):
    found = sentences(q["answer"])
    assert q["answer"], f"{q['anchor']}: no answer"
    assert len(found) <= MAX_SENTENCES, (
        f"{q['anchor']}: {len(found)} sentences, at most {MAX_SENTENCES}:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("q", QUESTIONS, ids=IDS)
def test_answer_links_to_evidence_and_a_thread(q):
    assert evidence_links(q["answer"]), (
        f"{q['anchor']}: the answer links to no heading of another page (page.md#anchor)"
    )
    assert len(q["asked"]) == 1, f"{q['anchor']}: one '{ASKED_IN}' line expected"
    threads = [t for _, t in LINK.findall(q["asked"][0]) if t.startswith("https://")]
    assert threads, f"{q['anchor']}: the '{ASKED_IN}' line links no public thread"


@pytest.mark.parametrize("q", QUESTIONS, ids=IDS)
def test_answer_says_which_models_it_was_measured_on(q):
    assert len(q["measured"]) == 1, f"{q['anchor']}: one '{MEASURED_ON}' line expected"
    line, _, style = q["measured"][0].partition("\n")
    assert style.strip() == "{ .atlas-scale }", f"{q['anchor']}: {q['measured'][0]!r}"
    scale = SCALES.get(line.removeprefix(MEASURED_ON).strip())
    assert scale, f"{q['anchor']}: {line!r} is none of {list(SCALES)}"
    links = evidence_links(q["answer"])
    real = [bool({page, f"{page}#{part}"} & set(REAL_MODEL_PAGES)) for page, part in links]
    on_real = any(real)
    on_toy = any(not r and not page.startswith(DEFINING_PAGES) for (page, _), r in zip(links, real))
    expected = "toy" if not on_real else "both" if on_toy else "real"
    where = {
        "toy": "toy pages only",
        "both": "toy and real-model pages",
        "real": "real-model pages",
    }
    assert scale == expected, (
        f"{q['anchor']}: says {line!r}, but its evidence links are on {where[expected]}"
    )


def test_sentence_counter_skips_macros_code_and_abbreviations():
    text = (
        "It scores {{ x | pct }} % (see [the page.](a.md#b)); `f(x). y` works. "
        "Wei et al. found it, e.g. at scale? Yes! (The end.) Done"
    )
    assert sentences(text) == [
        "It scores N % (see the page); code works.",
        "Wei et al found it, eg at scale?",
        "Yes!",
        "(The end.)",
        "Done",
    ]


def test_evidence_anchors_exist_in_the_built_site(built_site):
    assert built_site.returncode == 0, built_site.log[-4000:]
    site = built_site.site
    broken, cache = [], {}
    for q in QUESTIONS:
        for page, fragment in evidence_links(q["answer"]):
            html_file = built_page(site, page)
            if not html_file.is_file():
                broken.append(f"{q['anchor']}: {page} was not built ({html_file})")
                continue
            if html_file not in cache:
                cache[html_file] = ids_in(html_file)
            if fragment not in cache[html_file]:
                broken.append(f"{q['anchor']}: {page} has no element with id {fragment!r}")
    assert not broken, "\n".join(broken)


def test_faq_anchors_exist_in_the_built_page(built_site):
    assert built_site.returncode == 0, built_site.log[-4000:]
    ids = ids_in(built_page(built_site.site, "faq.md"))
    anchors = {anchor for _, _, _, anchor in headings()}
    own_links = {t[1:] for q in QUESTIONS for _, t in LINK.findall(q["answer"]) if t[:1] == "#"}
    assert not anchors - ids, f"anchors missing from the built FAQ: {sorted(anchors - ids)}"
    assert not own_links - ids, f"links to missing FAQ anchors: {sorted(own_links - ids)}"
