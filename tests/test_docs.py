"""The site: code blocks on the pages run, every snippet is shown somewhere, the strict build is clean."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from mktestdocs import check_md_file

from conftest import ROOT, SNIPPETS

PAGES = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [p for p in PAGES if "generated" not in p.parts and "includes" not in p.parts]
INCLUDE = re.compile(r'--8<-- "([^"]+?)(?::[\w-]+)?"')


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT / "docs")) for p in PAGES])
def test_python_blocks_on_page_run(page, monkeypatch):
    monkeypatch.chdir(ROOT)
    check_md_file(fpath=page, memory=True, lang="python")


def test_every_snippet_is_included_by_a_page():
    included = {m for page in PAGES for m in INCLUDE.findall(page.read_text())}
    missing = [p.name for p in SNIPPETS if f"snippets/{p.name}" not in included]
    assert not missing, f"snippets no page includes: {missing}"


def test_every_include_exists():
    for page in PAGES:
        for target in INCLUDE.findall(page.read_text()):
            assert (ROOT / target).is_file(), f"{page.name} includes {target}, which does not exist"


def test_strict_build_has_no_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    assert (tmp_path / "site" / "notebooks" / "pretraining" / "pretraining.ipynb").is_file(), "notebook download missing"
