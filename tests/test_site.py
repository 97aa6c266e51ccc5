"""The site as a product, checked on the built HTML: every page has a description for link
previews, technique pages open with a pointer to the toy world and the glossary, the notebooks are
titled (apart from the pages they share a name with) and indexed for search without their code,
wide tables show short column names with the long ones in a tooltip and a legend, the site has an
llms.txt, nothing asks Google Fonts, the words are spelled right, and the link
checker fails the build on a broken anchor (shown on a small site of its own).

The browser checks (console errors, requests to other hosts, layout) are in tests/test_browser.py.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNIPPETS, mkdocs_build

sys.path.insert(0, str(ROOT / "tools"))
from external_links import external_links  # noqa: E402
from mkdocs_hooks import (  # noqa: E402
    SHORT_HEADERS,
    notebook_page_title,
    notebook_title,
    snippet_to_notebook,
)

DOCS = ROOT / "docs"
PAGES = sorted(
    p for p in DOCS.rglob("*.md") if "generated" not in p.parts and "includes" not in p.parts
)
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def config() -> dict:
    # BaseLoader: mkdocs.yml holds !ENV and !!python/name tags that only MkDocs resolves.
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)


def built_page(site: Path, page: Path) -> Path:
    rel = page.relative_to(DOCS).with_suffix("")
    return site / (rel.parent if rel.name == "index" else rel) / "index.html"


def description(page: Path) -> str | None:
    match = FRONT_MATTER.match(page.read_text())
    return yaml.safe_load(match.group(1)).get("description") if match else None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_page_has_a_description(page, built_site):
    text = description(page)
    assert text, f"{page.relative_to(ROOT)}: no `description:` in its front matter"
    # What a link preview shows: a sentence, not a title and not a paragraph.
    assert 60 <= len(text) <= 180, f"{page.relative_to(ROOT)}: description of {len(text)} chars"
    html = built_page(built_site.site, page).read_text().replace("&#34;", '"')
    assert f'<meta name="description" content="{text}"' in html
    assert f'<meta property="og:description" content="{text}"' in html  # what previews show


def test_descriptions_differ():
    texts = [description(page) for page in PAGES]
    assert len(set(texts)) == len(texts)


def test_technique_pages_open_with_a_pointer_to_the_toy_world(built_site):
    pages = [p for p in sorted((DOCS / "techniques").glob("*.md")) if p.name != "index.md"]
    for page in [*pages, DOCS / "comparison.md"]:
        html = built_page(built_site.site, page).read_text()
        after_title = html.split("</h1>", 1)[1].lstrip()
        assert after_title.startswith('<p class="atlas-pointer">'), page.name
        pointer = after_title.split("</p>", 1)[0]
        assert "concepts/user-task/#toy-tasks" in pointer and "glossary/" in pointer, pointer


def test_wide_tables_show_short_headers_with_the_long_ones_in_a_tooltip_and_a_legend(built_site):
    """The comparison's table (nine columns, every name written out by its snippet) shows each long
    name shortened, in an <abbr> titled with the long name, and lists the long names under it; the
    file the snippet wrote keeps them whole."""
    generated = (DOCS / "generated" / "comparison" / "comparison.md").read_text()
    written = [h.strip() for h in generated.splitlines()[0].strip("|").split("|")]
    page = built_page(built_site.site, DOCS / "comparison.md").read_text()
    table = page.split("<table>", 1)[1].split("</table>", 1)[0]
    head = table.split("</thead>", 1)[0]
    shown = [
        html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
        for h in re.findall(r"<th[^>]*>.*?</th>", head, re.S)
    ]
    assert len(shown) == len(written)
    shortened = [long for long in written if long in SHORT_HEADERS]
    assert len(shortened) >= 5, written
    legend = (
        page.split("</table>", 1)[1].split('<p class="atlas-legend">', 1)[1].split("</p>", 1)[0]
    )
    for long in shortened:
        short = SHORT_HEADERS[long]
        assert short in shown and long not in shown, (long, shown)
        assert f'<abbr title="{html.escape(long)}">{html.escape(short)}</abbr>' in head
        assert html.escape(long) in legend, legend
    assert all(len(short) < len(long) for long, short in SHORT_HEADERS.items())


def test_notebooks_are_listed_by_title():
    nav = next(item["Notebooks"] for item in config()["nav"] if "Notebooks" in item)
    titled = {
        Path(path).stem: title
        for entry in nav
        if isinstance(entry, dict)
        for title, path in entry.items()
    }
    assert titled == {snippet.stem: notebook_title(snippet) for snippet in SNIPPETS}
    index = (DOCS / "notebooks" / "index.md").read_text()
    for snippet in SNIPPETS:
        assert f"[{notebook_title(snippet)}]({snippet.stem}.ipynb)" in index, snippet.name


def page_titles(site: Path) -> dict[str, str]:
    """{page: its <title>} for every page of the built site but mkdocs-redirects' stubs."""
    titles = {}
    for index in sorted(site.rglob("index.html")):
        text = index.read_text(encoding="utf-8")
        if len(text) < 4096 and 'http-equiv="refresh"' in text:
            continue
        name = index.parent.relative_to(site).as_posix()
        titles[name] = html.unescape(re.search(r"<title>(.*?)</title>", text, re.S).group(1))
    return titles


def test_notebooks_are_titled_apart_from_their_pages(built_site):
    """A notebook page says it is one ("Notebook: Preference tuning with DPO") in the browser's
    tab, in link previews and in llms.txt, apart from the technique page of the same name; the
    navigation, under Notebooks, keeps the snippet's title (test_notebooks_are_listed_by_title).
    No two pages of the site share a title."""
    site, name = built_site.site, config()["site_name"]
    titles = page_titles(site)
    shared = [title for title, n in Counter(titles.values()).items() if n > 1]
    assert not shared, {title: [p for p in titles if titles[p] == title] for title in shared}
    llms = (site / "llms.txt").read_text()
    for snippet in SNIPPETS:
        page = f"notebooks/{snippet.stem}"
        title = notebook_page_title(snippet)
        assert titles[page] == f"{title} - {name}", page
        text = (site / page / "index.html").read_text()
        assert f'<meta property="og:title" content="{html.escape(title)}">' in text, page
        link = re.search(
            r'<a href="\./" class="md-nav__link md-nav__link--active">\s*'
            r'<span class="md-ellipsis">\s*(.*?)\s*</span>',
            text,
            re.S,
        )
        assert link and html.unescape(link.group(1)) == notebook_title(snippet), page
        assert f"- [{title}]({config()['site_url']}{page}/)" in llms, page


def test_a_notebook_page_shows_the_technique_not_its_settings_code(built_site):
    """A notebook page says where the settings are and leaves their code (the argument parser)
    out; the downloaded notebook keeps it, folded (tests/test_notebooks.py)."""
    for snippet in SNIPPETS:
        page = built_site.site / "notebooks" / snippet.stem / "index.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        assert "Settings." in text and "ATLAS_NOTEBOOK_ARGS" in text, snippet.name
        assert "cli.parse(" not in text and "cli.parser(" not in text, snippet.name
        downloaded = json.loads((page.parent / f"{snippet.stem}.ipynb").read_text())
        assert any("cli.parse(" in "".join(c["source"]) for c in downloaded["cells"]), snippet.name


def test_search_indexes_a_notebook_as_a_short_page(built_site):
    """The search index holds each notebook once, under its page's title, with its introduction
    (the snippet's docstring) and none of its code cells: a search finds the page that explains
    before the code (tests/test_browser.py searches). No title ends with nbconvert's "¶", and no
    two pages share a title there."""
    docs = json.loads((built_site.site / "search" / "search_index.json").read_text())["docs"]
    assert not [d["location"] for d in docs if "¶" in d["title"]]
    pages = Counter(d["title"] for d in docs if "#" not in d["location"])
    assert not [title for title, n in pages.items() if n > 1]
    for snippet in SNIPPETS:
        url = f"notebooks/{snippet.stem}/"
        entries = [d for d in docs if d["location"].split("#")[0] == url]
        assert [(d["location"], d["title"]) for d in entries] == [
            (url, notebook_page_title(snippet))
        ]
        text = html.unescape(re.sub(r"<[^>]+>", "", entries[0]["text"]))
        assert f"snippets/{snippet.name} as a notebook (open it in Colab" in text
        cells = [c.source for c in snippet_to_notebook(snippet).cells if c.cell_type == "code"]
        code = {line.strip() for cell in cells for line in cell.splitlines()}
        code = {line for line in code if len(line) >= 20 and " " in line}  # a statement, not a name
        assert code and not [line for line in code if line in text], snippet.name


def test_llms_txt_lists_every_page(built_site):
    llms = (built_site.site / "llms.txt").read_text()
    cfg = config()
    assert llms.startswith(f"# {cfg['site_name']}\n\n> ")
    for page in PAGES:
        folder = built_page(built_site.site, page).parent.relative_to(built_site.site).as_posix()
        url = cfg["site_url"] + ("" if folder == "." else folder + "/")
        assert f"]({url})" in llms, url
    assert llms.count("](") >= len(PAGES) + len(SNIPPETS)


def test_no_google_fonts(built_site):
    assert config()["theme"]["font"] == "false"
    for path in built_site.site.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            text = path.read_text(errors="replace")
            assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, path


def test_external_links_are_listed(built_site):
    links = external_links(built_site.site, config()["site_url"])
    assert config()["repo_url"] in links
    assert not [link for link in links if link.startswith("http://")], "plain http links"


def test_spelling():
    proc = subprocess.run(
        [sys.executable, "-m", "codespell_lib"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_spelling_check_catches_a_typo(tmp_path):
    typo = tmp_path / "page.md"
    misspelt = "rec" + "ieve"  # assembled, so this file itself passes the check
    typo.write_text(f"The model will {misspelt} the instruction.\n")
    proc = subprocess.run(
        [sys.executable, "-m", "codespell_lib", str(typo)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and misspelt in proc.stdout


def small_site(tmp_path: Path, link: str) -> subprocess.CompletedProcess:
    """Build a two-page site with this project's link checker settings and one link on page a."""
    plugin = next(p for p in config()["plugins"] if isinstance(p, dict) and "htmlproofer" in p)
    docs = tmp_path / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")  # the theme links every page to it
    (docs / "a.md").write_text(f"# A\n\nSee [b]({link}).\n")
    (docs / "b.md").write_text("# B\n\n## Real heading\n\nText.\n")
    settings = dict(plugin["htmlproofer"], validate_external_urls=False)  # offline
    settings["validate_rendered_template"] = settings["validate_rendered_template"] == "true"
    settings["raise_error_after_finish"] = True
    (tmp_path / "mkdocs.yml").write_text(
        yaml.safe_dump({"site_name": "t", "plugins": [{"htmlproofer": settings}]})
    )
    return mkdocs_build(tmp_path)


def test_a_broken_anchor_fails_the_build(tmp_path):
    good = small_site(tmp_path / "good", "b.md#real-heading")
    assert good.returncode == 0, good.stderr[-2000:]
    bad = small_site(tmp_path / "bad", "b.md#no-such-heading")
    assert bad.returncode != 0
    assert "b.md#no-such-heading" in bad.stderr, bad.stderr[-2000:]


def test_the_site_is_published_only_after_the_tests_passed():
    workflows = ROOT / ".github" / "workflows"
    ci = yaml.load((workflows / "ci.yml").read_text(), Loader=yaml.BaseLoader)
    pages = yaml.load((workflows / "pages.yml").read_text(), Loader=yaml.BaseLoader)
    assert set(pages["on"]) == {"workflow_run"}, "publishing must not start by itself"
    assert pages["on"]["workflow_run"]["workflows"] == [ci["name"]]
    assert "run: bash scripts/test.sh" in (workflows / "ci.yml").read_text()
    build = pages["jobs"]["build"]
    assert "github.event.workflow_run.conclusion == 'success'" in build["if"]
    assert build["steps"][0]["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"
