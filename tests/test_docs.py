"""The site: code blocks on the pages run, every snippet is shown somewhere under its own name,
the strict build is clean."""

from __future__ import annotations

import re

import pytest
from mktestdocs import grab_code_blocks

from conftest import ROOT, SNIPPETS

PAGES = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [p for p in PAGES if "generated" not in p.parts and "includes" not in p.parts]
INCLUDE = re.compile(r'--8<-- "([^"]+?)(?::[\w-]+)?"')


def inline_python_blocks(page) -> list[str]:
    """The page's own Python blocks; blocks that include a snippet file are run as that file."""
    return [
        b
        for b in grab_code_blocks(page.read_text(), lang="python")
        if not b.lstrip().startswith("--8<--")
    ]


PAGES_WITH_CODE = [p for p in PAGES if inline_python_blocks(p)]


@pytest.mark.parametrize(
    "page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT / "docs")) for p in PAGES_WITH_CODE]
)
def test_python_blocks_on_page_run(page, monkeypatch):
    """Each page's blocks run in order in one namespace, as a reader pasting them would."""
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__main__"}
    for block in inline_python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)


def test_pages_have_inline_code_to_test():
    assert len(PAGES_WITH_CODE) >= 3


def test_every_snippet_is_included_by_a_page():
    included = {m for page in PAGES for m in INCLUDE.findall(page.read_text())}
    missing = [p.name for p in SNIPPETS if f"snippets/{p.name}" not in included]
    assert not missing, f"snippets no page includes: {missing}"


def test_every_include_exists():
    for page in PAGES:
        for target in INCLUDE.findall(page.read_text()):
            assert (ROOT / target).is_file(), f"{page.name} includes {target}, which does not exist"


# The naming rule: docs/<section>/<name>.md <-> snippets/<section>_<name>.py (no prefix for
# techniques/ and top-level pages) <-> tests/<section>/test_<name>.py, dashes as underscores.
# Three snippets make no page of their own; one page is a variant of another page's snippet.
SHOWN_ON = {
    "toy_world": "how-this-site-works.md",
    "toy_tokenizer": "how-this-site-works.md",
    "kto": "techniques/dpo.md",  # a section of the DPO page
    "dpo_real_model": "techniques/dpo.md",  # a section of the DPO page: DPO on SmolLM2
}
VARIANT_PAGES = {
    "techniques/hybrid-finetuning.md": (
        "python snippets/single_task_finetuning.py --inputs instruction"
    ),
    "techniques/unseen-tasks.md": "python benchmarks/flan_curves.py clusters",
    "real-model/several-processes.md": (
        "accelerate launch --config_file configs/accelerate/cpu-2-processes.yaml"
        " --num_cpu_threads_per_process 1 snippets/classification_head.py"
    ),
}


def page_key(page) -> str:
    parts = [p for p in page.relative_to(ROOT / "docs").with_suffix("").parts if p != "techniques"]
    return "_".join(parts).replace("-", "_")


def module_testing(page):
    rel = page.relative_to(ROOT / "docs")
    return (
        ROOT / "tests" / str(rel.parent).replace("-", "_") / f"test_{rel.stem.replace('-', '_')}.py"
    )


TECHNIQUE_PAGES = [
    p for p in PAGES if p.parent.name in ("techniques", "real-model") and p.name != "index.md"
]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[p.stem for p in SNIPPETS])
def test_a_snippet_has_the_page_and_the_test_of_its_name(snippet):
    pages = [p for p in PAGES if page_key(p) == snippet.stem]
    if snippet.stem in SHOWN_ON:
        assert (
            not pages
            and f"snippets/{snippet.name}" in (ROOT / "docs" / SHOWN_ON[snippet.stem]).read_text()
        )
        assert (ROOT / "tests" / f"test_{snippet.stem}.py").is_file()
        return
    assert len(pages) == 1, (
        f"{snippet.name}: no page named after it "
        f"(docs/techniques/{snippet.stem.replace('_', '-')}.md)"
    )
    assert f"snippets/{snippet.name}" in INCLUDE.findall(pages[0].read_text())
    assert module_testing(pages[0]).is_file(), (
        f"{snippet.name}: no test {module_testing(pages[0]).relative_to(ROOT)}"
    )


@pytest.mark.parametrize(
    "page", TECHNIQUE_PAGES, ids=[str(p.relative_to(ROOT / "docs")) for p in TECHNIQUE_PAGES]
)
def test_a_technique_page_has_its_snippet_and_test(page):
    rel = str(page.relative_to(ROOT / "docs"))
    assert module_testing(page).is_file(), (
        f"{rel}: no test {module_testing(page).relative_to(ROOT)}"
    )
    assert f"`{module_testing(page).relative_to(ROOT)}`" in page.read_text(), (
        f"{rel} does not name its test"
    )
    if rel in VARIANT_PAGES:
        assert f"`{VARIANT_PAGES[rel]}`" in page.read_text(), (
            f"{rel} does not say how to run its variant"
        )
    else:
        assert (ROOT / "snippets" / f"{page_key(page)}.py").is_file(), (
            f"{rel}: no snippets/{page_key(page)}.py"
        )


def test_strict_build_has_no_warnings(built_site):
    log = built_site.log
    assert built_site.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    site = built_site.site
    # every snippet is a notebook page with its .ipynb and a download button
    for snippet in SNIPPETS:
        page = site / "notebooks" / snippet.stem
        assert (page / f"{snippet.stem}.ipynb").is_file(), f"notebook of {snippet.name} missing"
        assert f'href="{snippet.stem}.ipynb"' in (page / "index.html").read_text(), (
            f"no download button for {snippet.name}"
        )
    # A renamed page keeps its old address: a redirect to where it went (mkdocs.yml, redirects)
    for old, new in {
        "techniques/lora": "lora-finetuning",
        "notebooks/hybrid_finetuning": "single_task_finetuning",
    }.items():
        redirect = (site / old / "index.html").read_text()
        assert f'href="../{new}/"' in redirect, redirect[:500]
    index = (site / "index.html").read_text()
    assert 'class="headerlink"' in index and "<abbr" in index and 'class="mermaid"' in index


def test_no_prose_line_is_taken_for_a_section_marker():
    """pymdownx.snippets drops every line of a page that holds a section marker (`--8<--` then
    `[start:name]`), prose included: a sentence that names the markers must escape the first one
    (`;--8<--`), or the build silently loses the line."""
    from pymdownx.snippets import SnippetPreprocessor

    swallowed = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in PAGES
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if (m := SnippetPreprocessor.RE_SNIPPET_SECTION.match(line)) and not m.group("escape")
    ]
    assert not swallowed, swallowed
