"""The site: code blocks on the pages run, every snippet is shown somewhere, the strict build is clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from mktestdocs import grab_code_blocks

from conftest import ROOT, SNIPPETS

PAGES = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [p for p in PAGES if "generated" not in p.parts and "includes" not in p.parts]
INCLUDE = re.compile(r'--8<-- "([^"]+?)(?::[\w-]+)?"')


def inline_python_blocks(page) -> list[str]:
    """The page's own Python blocks; blocks that include a snippet file are run as that file."""
    return [b for b in grab_code_blocks(page.read_text(), lang="python") if not b.lstrip().startswith("--8<--")]


PAGES_WITH_CODE = [p for p in PAGES if inline_python_blocks(p)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT / "docs")) for p in PAGES_WITH_CODE])
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


def test_strict_build_has_no_warnings(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about MkDocs 2
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    for snippet in SNIPPETS:  # every snippet is a notebook page with its .ipynb and a download button
        page = tmp_path / "site" / "notebooks" / snippet.stem
        assert (page / f"{snippet.stem}.ipynb").is_file(), f"notebook of {snippet.name} missing"
        assert f'href="{snippet.stem}.ipynb"' in (page / "index.html").read_text(), f"no download button for {snippet.name}"
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'class="headerlink"' in index and "<abbr" in index and 'class="mermaid"' in index
