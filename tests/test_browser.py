"""The built site in a real browser (Chromium, driven by Playwright): what a reader sees.

Most readers arrive from a link, on any page, often on a phone, sometimes offline (a saved copy,
a train). So every page of the site that `mkdocs build --strict` builds is loaded from a local
server and must:

- load with no console error and no uncaught exception, and ask no other host than the server
  for anything: offline-clean (system fonts, vendored Mermaid and MathJax, no GitHub API call),
  and no third party is told who reads what;
- render its diagrams (Mermaid) and formulas (MathJax) as SVG, also after an instant navigation,
  the way a reader goes from page to page, and load neither library where it has nothing to draw;
  draw every diagram's text at least 12 px on screen at both widths, and fit it at 1280 px;
- show every column of every table at a laptop's width (1280 px), and not overflow sideways on a
  phone (390 px), where only a table, a code block or a formula may scroll, in its own box.

And the parts a reader uses must work: search finds LoRA and puts the answer first (not a
notebook's code), a code block's button copies its code, a notebook page's button downloads the
notebook, a figure opens full size, a wide table keeps its first column in view on a phone, and
the light and dark schemes both render.

Each page is loaded once (at 1280 px, then narrowed to 390 px) by `check_page`; one test per
check then lists every page that fails it. Each failure leaves a screenshot in
.cache/browser-failures/ (emptied when this module starts), named in the assertion message; the
light and dark screenshots are always written to .cache/browser-shots/, for a glance.
`test_the_checks_catch_a_broken_page` shows `check_page` failing a page made to fail.

Chromium is Debian's (scripts/setup.sh installs it with apt) or the one CHROMIUM names;
ATLAS_SKIP_BROWSER=1 skips this module.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT

if os.environ.get("ATLAS_SKIP_BROWSER") == "1":
    pytest.skip("ATLAS_SKIP_BROWSER=1", allow_module_level=True)

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:
    pytest.fail(
        "Playwright is not installed: `bash scripts/setup.sh` installs it (requirements/all.txt); "
        "ATLAS_SKIP_BROWSER=1 skips these tests.",
        pytrace=False,
    )

FAILURES = ROOT / ".cache" / "browser-failures"
SHOTS = ROOT / ".cache" / "browser-shots"
DESKTOP = {"width": 1280, "height": 900}  # a laptop: both sidebars beside the content
PHONE = {"width": 390, "height": 844}
RENDER_TIMEOUT_MS = 5_000  # a diagram or a formula renders in well under a second
MARK = "data-browser-test-failure"  # set on the first element a check finds wrong, to show it

# Material renders each diagram into a *closed* shadow root, which no script can look into; opened
# here, before any script of the page runs, only so that the test can see the SVG inside.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, { ...init, mode: "open" });
};
"""

# Material replaces each `pre.mermaid` by a `div.mermaid` holding the SVG; MathJax puts an
# `mjx-container` into each `.arithmatex`.
RENDERED_DIAGRAMS = """() => [...document.querySelectorAll('div.mermaid')]
  .filter(e => e.shadowRoot && e.shadowRoot.querySelector('svg')).length"""
# The vendored Mermaid library (2.75 MB), which javascripts/mermaid.js loads only for a diagram;
# once it runs, the global `mermaid` is the library (with its `mermaidAPI`), not that script's
# stand-in.
MERMAID_LIBRARY = re.compile(r"/assets/vendor/mermaid-[\d.]+\.min\.js$")
MERMAID_LOADED = "() => Boolean(window.mermaid && window.mermaid.mermaidAPI)"
RENDERED_FORMULAS = """() => [...document.querySelectorAll('.arithmatex')]
  .filter(e => e.querySelector('mjx-container svg')).length"""
UNRENDERED_FORMULAS = """mark => [...document.querySelectorAll('.arithmatex')]
  .filter(e => !e.querySelector('mjx-container svg'))
  .map((e, i) => (i || e.setAttribute(mark, ''), e.textContent.trim().slice(0, 60)))"""

# Tables whose scroll box is narrower than the table: their last columns are cut off.
CUT_TABLES = """mark => [...document.querySelectorAll('.md-content table')].flatMap((table, i) => {
  const box = table.closest('.md-typeset__scrollwrap') || table;
  if (box.scrollWidth <= box.clientWidth + 1) return [];
  document.querySelector(`[${mark}]`) || box.setAttribute(mark, '');
  const head = table.rows[0].cells;
  return [`table ${i + 1} (${head.length} columns, "${head[0].textContent.trim()}" first): `
          + `${box.scrollWidth} px wide in a ${box.clientWidth} px box`];
})"""

# Whether the page is wider than the window; if so, the innermost elements that reach past its
# right edge (their box or their content), leaving out those inside a box that scrolls or clips on
# its own: tables, code blocks, formulas, tab labels.
OVERFLOW = """mark => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width + 1) return [];
  const ownBox = e => getComputedStyle(e).overflowX !== 'visible';
  const reach = e => {
    const box = e.getBoundingClientRect();
    return box.width ? Math.max(box.right, ownBox(e) ? 0 : box.left + e.scrollWidth) : 0;
  };
  const inBox = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (ownBox(p)) return true;
    }
    return false;
  };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim()
       ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const out = [...document.body.querySelectorAll('*')]
    .filter(e => reach(e) > width + 1 && !inBox(e));
  const innermost = out.filter(e => !out.some(o => o !== e && e.contains(o)));
  if (innermost.length) innermost[0].setAttribute(mark, '');
  return [`the page is ${document.documentElement.scrollWidth} px wide in a ${width} px window`,
          ...innermost.slice(0, 8).map(e =>
            `${name(e.parentElement)} > ${name(e)} reaches ${Math.round(reach(e))} px`)];
}"""

# Diagrams whose smallest label is drawn under DIAGRAM_TEXT_PX on screen (its font size times the
# scale the SVG is drawn at), or, with `fit`, that do not fit the column (javascripts/mermaid.js
# draws them at their own size; a wider one scrolls in its box, which a laptop should not need).
DIAGRAM_TEXT_PX = 12
SMALL_DIAGRAMS = """([mark, least, fit]) => [...document.querySelectorAll('div.mermaid')]
  .flatMap((d, i) => {
    const svg = d.shadowRoot && d.shadowRoot.querySelector('svg');
    if (!svg || !svg.viewBox.baseVal.width) return [`diagram ${i + 1}: no SVG drawn`];
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const sizes = [...svg.querySelectorAll('.nodeLabel, .edgeLabel, .cluster-label, text')]
      .map(e => parseFloat(getComputedStyle(e).fontSize) * scale).filter(x => x > 0);
    const text = Math.min(...sizes);
    const problems = [];
    if (!sizes.length) problems.push(`diagram ${i + 1}: no label found to measure`);
    else if (text < least) problems.push(`diagram ${i + 1}: text drawn at ${text.toFixed(1)} px`);
    if (fit && d.scrollWidth > d.clientWidth + 1)
      problems.push(`diagram ${i + 1}: ${d.scrollWidth} px wide in a ${d.clientWidth} px column`);
    if (problems.length && !document.querySelector(`[${mark}]`)) d.setAttribute(mark, '');
    return problems;
  })"""

FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


# -- the server, the browser's tab and the per-page check ----------------------------------------


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free port of 127.0.0.1; yields the origin (http://127.0.0.1:PORT)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # a line per request would drown pytest's output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class Tab:
    """A page of the browser that records console errors, uncaught exceptions and every request
    to another host than `origin` (which the browser cannot reach: see `browser`). With `alias`,
    an address the site is published at, requests to it are answered from `origin`, as if the
    site were there (only then are requests intercepted, which turns the browser's cache off)."""

    def __init__(self, context: BrowserContext, origin: str, alias: str | None = None):
        self.origin, self.alias = origin, alias
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.requested: list[str] = []  # every address asked for, ours included
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("request", self._request)
        if alias:
            self.page.route(f"{alias}**", self._from_origin)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def _request(self, request) -> None:
        self.requested.append(request.url)
        ours = (self.origin + "/", self.alias or self.origin + "/", "data:", "blob:", "about:")
        if not request.url.startswith(ours):
            self.foreign.append(request.url)

    def _from_origin(self, route: Route) -> None:
        local = self.origin + "/" + route.request.url.removeprefix(self.alias)
        route.fulfill(response=route.fetch(url=local))

    def reset(self) -> None:
        self.errors.clear()
        self.foreign.clear()
        self.requested.clear()


def screenshot(page: Page, name: str, check: str) -> Path:
    """A screenshot of a failing page, scrolled to the element the check marked if any, into the
    artefact folder: .cache/browser-failures/<page>-<check>.png."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    path = FAILURES / f"{name.strip('/').replace('/', '_') or 'index'}-{check}.png"
    marked = page.locator(f"[{MARK}]")
    if marked.count():
        marked.first.scroll_into_view_if_needed(timeout=1000)
        marked.evaluate_all(f"es => es.forEach(e => e.removeAttribute('{MARK}'))")
    else:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)
    return path


def check_page(tab: Tab, url: str, name: str) -> dict[str, list[str]]:
    """Load `url` once and check it as a reader sees it: {check: [what is wrong]}, an empty list
    where the check passed, and a screenshot for each failure (see `screenshot`). The same
    function checks the real pages and the page made to fail."""
    page = tab.page
    found: dict[str, list[str]] = {}

    def note(check: str, problems: list[str]) -> None:
        found[check] = problems
        if problems:
            path = screenshot(page, name, check)
            problems.append(f"screenshot: {path.relative_to(ROOT)}")

    tab.reset()
    page.set_viewport_size(DESKTOP)
    html = page.goto(url, wait_until="load").text()  # as served: the scripts soon change it

    if diagrams := html.count('class="mermaid"'):
        try:
            page.wait_for_function(
                f"({RENDERED_DIAGRAMS})() >= {diagrams}", timeout=RENDER_TIMEOUT_MS
            )
            note("diagrams", [])
        except PlaywrightTimeout:
            done = page.evaluate(RENDERED_DIAGRAMS)
            note("diagrams", [f"{done} of {diagrams} Mermaid diagrams rendered as SVG"])
    elif page.evaluate(MERMAID_LOADED) or any(MERMAID_LIBRARY.search(u) for u in tab.requested):
        # Mermaid is 2.75 MB: javascripts/mermaid.js loads it only where a diagram needs it.
        note("mermaid", ["Mermaid was loaded on a page without a diagram"])
    if formulas := html.count('class="arithmatex"'):
        try:
            page.wait_for_function(
                f"({RENDERED_FORMULAS})() >= {formulas}", timeout=RENDER_TIMEOUT_MS
            )
            note("formulas", [])
        except PlaywrightTimeout:
            tex = page.evaluate(UNRENDERED_FORMULAS, MARK)
            note("formulas", [f"not rendered: {t}" for t in tex])

    elif page.evaluate("() => Boolean(window.MathJax && window.MathJax.version)"):
        # MathJax is 2 MB: javascripts/mathjax.js loads it only where a formula needs it.
        note("mathjax", ["MathJax was loaded on a page without a formula"])

    # A collapsed block (`??? info`) is part of the page once the reader opens it.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => (d.open = true))")
    note("tables-1280px", page.evaluate(CUT_TABLES, MARK))
    note("overflow-1280px", page.evaluate(OVERFLOW, MARK))
    note("diagrams-1280px", page.evaluate(SMALL_DIAGRAMS, [MARK, DIAGRAM_TEXT_PX, True]))
    page.set_viewport_size(PHONE)
    page.evaluate(FRAMES)  # the theme's scripts answer the resize
    note("overflow-390px", page.evaluate(OVERFLOW, MARK))
    note("diagrams-390px", page.evaluate(SMALL_DIAGRAMS, [MARK, DIAGRAM_TEXT_PX, False]))

    note("console", list(tab.errors))
    note("requests", list(tab.foreign))
    return found


def failures(reports: dict[str, dict[str, list[str]]], *checks: str) -> str:
    """A paragraph per page and failed check, for an assertion message ("" when all passed)."""
    return "\n".join(
        f"{name or '(front page)'} [{check}]:\n    " + "\n    ".join(found[check])
        for name, found in reports.items()
        for check in checks
        if found.get(check)
    )


def site_pages(site: Path) -> list[str]:
    """Every page of the built site ("" is the front page, then "comparison/", ...), without the
    stubs that mkdocs-redirects writes for renamed pages: they only send the reader on."""
    pages = []
    for index in sorted(site.rglob("index.html")):
        text = index.read_text(encoding="utf-8")
        if len(text) < 4096 and 'http-equiv="refresh"' in text:
            continue
        pages.append("" if index.parent == site else f"{index.parent.relative_to(site)}/")
    return pages


def pages_with(site: Path, marker: str) -> list[str]:
    """The pages whose HTML holds `marker`."""
    return [n for n in site_pages(site) if marker in (site / n / "index.html").read_text("utf-8")]


def published_address(site: Path) -> str:
    """Where the site is published (its sitemap's first address, the front page)."""
    return re.search(r"<loc>(.*?)</loc>", (site / "sitemap.xml").read_text()).group(1)


# The navigation's link to an address, clicked by a script: it may be in a collapsed section.
NAV_LINK = "href => [...document.querySelectorAll('.md-nav a')].find(a => a.href == href)"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    assert built_site.returncode == 0, built_site.log[-4000:]
    return built_site.site


@pytest.fixture(scope="module")
def origin(site) -> Iterator[str]:
    with serve(site) as origin:
        yield origin


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail(
            "No Chromium found: `bash scripts/setup.sh` installs Debian's with apt, or set "
            "CHROMIUM=/path/to/chromium (ATLAS_SKIP_BROWSER=1 skips these tests)."
        )
    shutil.rmtree(FAILURES, ignore_errors=True)  # the screenshots of this run's failures only
    # No host but the local server resolves: the site must need none, and a check that fails on a
    # foreign request fails alike with or without a network.
    offline = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", offline]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def context(browser) -> Iterator[BrowserContext]:
    """A laptop's window, in the light scheme, that may use the clipboard (for the copy button)."""
    context = browser.new_context(
        viewport=DESKTOP, color_scheme="light", permissions=["clipboard-read", "clipboard-write"]
    )
    context.add_init_script(OPEN_SHADOW_ROOTS)
    yield context
    context.close()


@pytest.fixture(scope="module")
def reports(context, site, origin) -> dict[str, dict[str, list[str]]]:
    """Every page checked, once: {page: {check: [what is wrong]}}."""
    tab = Tab(context, origin)
    reports = {name: check_page(tab, f"{origin}/{name}", name) for name in site_pages(site)}
    tab.page.close()
    return reports


# -- every page -----------------------------------------------------------------------------------


def test_the_site_has_its_pages(site):
    pages = site_pages(site)
    assert "" in pages and "notebooks/pretraining/" in pages and len(pages) > 20, pages
    assert "techniques/lora/" not in pages, "a redirect stub was taken for a page"


def test_pages_load_without_errors_or_other_hosts(reports):
    fonts = [
        url
        for found in reports.values()
        for url in found["requests"]
        if re.search(r"fonts\.(googleapis|gstatic)\.com", url)
    ]
    assert not fonts, f"Google Fonts asked for (the theme must keep `font: false`): {fonts}"
    assert not failures(reports, "console", "requests"), failures(reports, "console", "requests")


def test_diagrams_and_formulas_render(reports):
    assert any("diagrams" in found for found in reports.values()), "no page has a diagram"
    assert any("formulas" in found for found in reports.values()), "no page has a formula"
    checks = ("diagrams", "formulas", "mathjax", "mermaid")
    assert not failures(reports, *checks), failures(reports, *checks)


def test_diagrams_are_readable_on_a_laptop_and_a_phone(reports):
    """Every label at least DIAGRAM_TEXT_PX on screen at 1280 and at 390 px (where a diagram
    scrolls in its own box), and each diagram fits the column at 1280 px."""
    checks = ("diagrams-1280px", "diagrams-390px")
    assert sum("diagrams" in found for found in reports.values()) >= 2, "two pages with a diagram"
    assert not failures(reports, *checks), failures(reports, *checks)


def test_tables_show_every_column_at_1280px(reports):
    assert not failures(reports, "tables-1280px"), (
        "tables wider than the content column (docs/stylesheets/extra.css sizes them):\n"
        + failures(reports, "tables-1280px")
    )


def test_nothing_overflows_sideways(reports):
    checks = "overflow-390px", "overflow-1280px"
    assert not failures(reports, *checks), failures(reports, *checks)


# -- what a reader does ---------------------------------------------------------------------------


def test_formulas_render_after_instant_navigation(browser, site, origin):
    """With `navigation.instant` the theme swaps a page's content in place, and the formulas of
    the new content must be typeset then (docs/javascripts/mathjax.js). The theme navigates in
    place only to the sitemap's addresses, which name the published host, so the browser is
    shown the site at its published address, answered from the local server."""
    published = published_address(site)
    target = pages_with(site, 'class="arithmatex"')[0]
    context = browser.new_context(viewport=DESKTOP)
    tab = Tab(context, origin, alias=published)
    page = tab.page
    try:
        page.goto(published, wait_until="load")
        page.evaluate("window.sameDocument = true")  # gone if the browser loads a new document
        assert page.evaluate(f"href => !!({NAV_LINK})(href)", published + target), (
            f"no link to {target}"
        )
        # Twice: the first visit loads MathJax (javascripts/mathjax.js), the second typesets the
        # swapped-in content with MathJax already there.
        for visit in ("first", "second"):
            page.evaluate(f"href => ({NAV_LINK})(href).click()", published + target)
            page.wait_for_url(published + target)
            try:
                page.wait_for_function(f"({RENDERED_FORMULAS})() > 0", timeout=RENDER_TIMEOUT_MS)
            except PlaywrightTimeout:
                path = screenshot(page, target, f"formulas-after-instant-navigation-{visit}")
                pytest.fail(
                    f"{target}: no formula typeset after an instant navigation ({visit} visit): "
                    f"{tab.errors} ({path})"
                )
            if visit == "first":
                page.evaluate(f"href => ({NAV_LINK})(href).click()", published)
                page.wait_for_url(published)
        assert page.evaluate("window.sameDocument === true"), "no instant navigation: a new load"
        assert not tab.errors and not tab.foreign, tab.errors + tab.foreign
    finally:
        # A request still answered by the route when the context closes fails in its handler, and
        # Playwright raises that in the next call it makes, another test's: drop the route first.
        tab.page.unroute_all(behavior="ignoreErrors")
        context.close()


def test_mermaid_loads_only_where_a_diagram_is(browser, site, origin):
    """Mermaid is 2.75 MB and two pages have a diagram: a page without one asks for no part of the
    library; a page with one, reached from there by instant navigation (where the theme would
    fetch Mermaid from a CDN if the global `mermaid` were missing), fetches the vendored file and
    draws its diagram, and the next diagram page draws with the same copy. Shown at the published
    address, as `test_formulas_render_after_instant_navigation` explains."""
    published = published_address(site)
    diagram_pages = pages_with(site, 'class="mermaid"')
    plain = next(n for n in site_pages(site) if n not in diagram_pages)  # a page without one
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(OPEN_SHADOW_ROOTS)
    tab = Tab(context, origin, alias=published)
    page = tab.page

    def library() -> list[str]:
        return [url for url in tab.requested if MERMAID_LIBRARY.search(url)]

    try:
        page.goto(published + plain, wait_until="load")
        page.evaluate(FRAMES)
        assert not library() and not page.evaluate(MERMAID_LOADED), (
            f"{plain}, without a diagram, loaded Mermaid: {library()}"
        )
        page.evaluate("window.sameDocument = true")  # gone if the browser loads a new document
        for target in diagram_pages:
            diagrams = (site / target / "index.html").read_text("utf-8").count('class="mermaid"')
            page.evaluate(f"href => ({NAV_LINK})(href).click()", published + target)
            page.wait_for_url(published + target)
            try:
                page.wait_for_function(
                    f"({RENDERED_DIAGRAMS})() >= {diagrams}", timeout=RENDER_TIMEOUT_MS
                )
            except PlaywrightTimeout:
                path = screenshot(page, target, "diagram-after-instant-navigation")
                pytest.fail(
                    f"{target or '(front page)'}: {page.evaluate(RENDERED_DIAGRAMS)} of {diagrams} "
                    f"diagrams drawn after an instant navigation: {tab.errors} ({path})"
                )
        assert page.evaluate("window.sameDocument === true"), "no instant navigation: a new load"
        assert len(library()) == 1, f"Mermaid fetched {len(library())} times: {library()}"
        assert not tab.errors and not tab.foreign, tab.errors + tab.foreign
    finally:
        # As in test_formulas_render_after_instant_navigation: the route goes before the context.
        page.unroute_all(behavior="ignoreErrors")
        context.close()


def test_search_finds_lora(context, origin):
    tab = Tab(context, origin)
    page = tab.page
    page.goto(f"{origin}/", wait_until="load")
    page.locator(".md-search__input").click()
    page.locator(".md-search__input").press_sequentially("LoRA", delay=20)
    results = page.locator(".md-search-result__item a")
    try:
        results.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    except PlaywrightTimeout:
        pytest.fail(f"no search result for LoRA: {tab.errors} ({screenshot(page, '', 'search')})")
    links = results.evaluate_all("links => links.map(a => a.href)")
    if not any("lora" in link.lower() for link in links):
        pytest.fail(f"no LoRA page among the results {links} ({screenshot(page, '', 'search')})")
    page.close()


# What readers search for, and the sections that answer: the first page among the results must be
# one of these, listing that section (an FAQ question or a technique page's part), not a notebook's
# code or a definition.
SEARCH_ANSWERS = {
    "EOS": ["techniques/pitfalls/#never-stops", "faq/#never-stops"],
    "packing": ["techniques/pitfalls/#packing", "faq/#packing"],
    "LoRA rank": ["techniques/lora-finetuning/#rank-sweep", "faq/#lora-rank"],
    "DPO beta": ["techniques/dpo/#train"],
}
# Each result's address, as the answers above write it (the highlight query `?h=` left out).
RESULT_LINKS = """links => links.map(a => {
  const url = new URL(a.href);
  return url.pathname.slice(1) + url.hash;
})"""


@pytest.mark.parametrize("query", SEARCH_ANSWERS)
def test_search_puts_the_answer_first(context, origin, query):
    tab = Tab(context, origin)
    page = tab.page
    try:
        page.goto(f"{origin}/", wait_until="load")
        box = page.locator(".md-search__input")
        box.click()
        # The whole query, then a key released: the theme searches once, for what a reader's
        # typing ends with (letter by letter, each key's search could answer after the last).
        box.fill(query)
        box.press("End")
        results = page.locator(".md-search-result__item")
        shot = f"search-{query.replace(' ', '-')}"
        try:
            results.first.wait_for(timeout=RENDER_TIMEOUT_MS)
        except PlaywrightTimeout:
            pytest.fail(f"no result for {query!r}: {tab.errors} ({screenshot(page, '', shot)})")
        first = results.first.locator("a").evaluate_all(RESULT_LINKS)
        if not set(first) & set(SEARCH_ANSWERS[query]):
            pages = results.evaluate_all(
                f"items => items.slice(0, 5).map(i => ({RESULT_LINKS})([i.querySelector('a')])[0])"
            )
            pytest.fail(
                f"{query!r}: the first result is {first[0]}, not a page answering it "
                f"({SEARCH_ANSWERS[query]}); results: {pages} ({screenshot(page, '', shot)})"
            )
        suggestion = page.locator(".md-search__suggest").text_content() or ""
        assert "¶" not in suggestion, f"{query!r} suggests {suggestion!r}"
        assert not tab.errors, tab.errors
    finally:
        page.close()


def test_copy_button_copies_the_code(context, origin, site):
    name = next(n for n in pages_with(site, "language-python") if not n.startswith("notebooks/"))
    page = Tab(context, origin).page
    page.goto(f"{origin}/{name}", wait_until="load")
    button = page.locator(".md-content [data-clipboard-target]").first
    code = page.locator(button.get_attribute("data-clipboard-target")).text_content().strip()
    page.evaluate("navigator.clipboard.writeText('')")
    button.click()
    copied = page.evaluate("navigator.clipboard.readText()").strip()
    if copied != code:
        path = screenshot(page, name, "copy")
        pytest.fail(f"{name}: the copy button copied {copied[:200]!r}, not {code[:200]!r} ({path})")
    page.close()


def test_notebook_downloads(context, origin):
    name = "notebooks/pretraining/"
    page = Tab(context, origin).page
    page.goto(f"{origin}/{name}", wait_until="load")
    button = page.locator('.md-content a[download][href$=".ipynb"]')
    assert button.count() == 1, f"{name}: no download button ({screenshot(page, name, 'download')})"
    with page.expect_download(timeout=RENDER_TIMEOUT_MS) as download:
        button.click()
    notebook = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert notebook.get("cells"), f"{download.value.suggested_filename} has no cells"
    page.close()


def test_a_figure_opens_full_size(browser, site, origin):
    """On a phone a plot is drawn to the column's width; a tap opens it at its own size in a
    dialog (javascripts/lightbox.js) that Escape closes, and Enter opens it from the keyboard,
    also on a page reached by an instant navigation (shown at the published address, as in
    test_formulas_render_after_instant_navigation)."""
    published = published_address(site)
    context = browser.new_context(viewport=PHONE)
    tab = Tab(context, origin, alias=published)
    page = tab.page
    try:
        page.goto(published + "techniques/peft-finetuning/", wait_until="load")
        figure = page.locator("img[data-lightbox]").first
        figure.wait_for(timeout=RENDER_TIMEOUT_MS)
        natural, inline = figure.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
        assert natural > 2 * inline, (natural, inline)  # a plot a phone shrinks: the case to fix
        figure.click()
        dialog = page.locator("dialog.atlas-lightbox")
        assert dialog.evaluate("d => d.open"), f"no dialog ({screenshot(page, 'peft', 'lightbox')})"
        shown = dialog.locator("img").evaluate("i => i.getBoundingClientRect().width")
        assert abs(shown - natural) <= 1, f"shown {shown} px, the plot is {natural} px"
        page.keyboard.press("Escape")
        assert not dialog.evaluate("d => d.open")

        page.set_viewport_size(DESKTOP)
        page.evaluate("window.sameDocument = true")  # gone if the browser loads a new document
        target = published + "techniques/dpo/"
        page.evaluate(f"href => ({NAV_LINK})(href).click()", target)
        page.wait_for_url(target)
        assert page.evaluate("window.sameDocument === true"), "not an instant navigation"
        figure = page.locator("img[data-lightbox]").first
        figure.wait_for(timeout=RENDER_TIMEOUT_MS)
        figure.focus()
        page.keyboard.press("Enter")
        assert page.locator("dialog.atlas-lightbox").evaluate("d => d.open")
        assert not tab.errors, tab.errors
    finally:
        context.close()


def test_a_wide_table_keeps_its_first_column_on_a_phone(context, origin):
    """At 390 px a table of many columns scrolls in its own box; its first column (what each row
    is) stays in view while the others move under it (stylesheets/extra.css)."""
    name = "techniques/peft-finetuning/"
    page = Tab(context, origin).page
    page.set_viewport_size(PHONE)
    page.goto(f"{origin}/{name}", wait_until="load")
    moved = page.evaluate(
        """() => {
      const box = [...document.querySelectorAll('.md-typeset__scrollwrap')]
        .find(b => b.scrollWidth > b.clientWidth + 100);
      if (!box) return null;
      const row = box.querySelector('tbody tr');
      const first = () => row.cells[0].getBoundingClientRect().left;
      const last = () => row.cells[row.cells.length - 1].getBoundingClientRect().left;
      const lastBefore = last();
      box.scrollLeft = 150;
      return [first() - box.getBoundingClientRect().left, last() - lastBefore];
    }"""
    )
    assert moved is not None, f"{name}: no table wider than a phone"
    first, last = moved  # the first cell at the box's left edge, the last moved with the scroll
    assert abs(first) <= 1 and last < -100, (
        f"first column {first} px from the box's edge, last moved {last} px "
        f"({screenshot(page, name, 'sticky')})"
    )
    page.close()


def test_a_wide_table_s_headers_fit_in_a_few_lines_on_a_desktop(context, origin):
    """The comparison's nine columns show short names (tools/mkdocs_hooks.py, SHORT_HEADERS): at
    1280 px no header wraps into a stack of more than three lines, and each short name carries its
    long one as a tooltip."""
    name = "comparison/"
    page = Tab(context, origin).page
    page.set_viewport_size(DESKTOP)
    page.goto(f"{origin}/{name}", wait_until="load")
    lines = page.evaluate(
        """() => [...document.querySelector('.md-typeset table').tHead.rows[0].cells].map(th => {
      const style = getComputedStyle(th);
      const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
      const height = th.getBoundingClientRect().height - padding;
      return Math.round(height / parseFloat(style.lineHeight));
    })"""
    )
    assert max(lines) <= 3, f"header lines {lines} ({screenshot(page, name, 'headers')})"
    assert page.locator(".md-typeset table thead abbr[title]").count() >= 5
    page.close()


def test_light_and_dark_schemes(browser, origin):
    context = browser.new_context(viewport=DESKTOP, color_scheme="light")  # its own: choices stick
    tab = Tab(context, origin)
    page = tab.page
    page.goto(f"{origin}/", wait_until="load")
    toggle = page.locator("[data-md-component=palette] label.md-header__button:visible")
    SHOTS.mkdir(parents=True, exist_ok=True)
    backgrounds = {}
    try:
        for i, scheme in enumerate(["default", "slate", "default"]):  # light, dark, light again
            if i:
                toggle.click()
            try:
                page.wait_for_function(
                    f"document.body.dataset.mdColorScheme === '{scheme}'", timeout=2000
                )
            except PlaywrightTimeout:
                shown = page.locator("body").get_attribute("data-md-color-scheme")
                pytest.fail(f"scheme {shown!r}, not {scheme!r} ({screenshot(page, '', 'palette')})")
            backgrounds.setdefault(
                scheme, page.evaluate("getComputedStyle(document.body).backgroundColor")
            )
            # the front page's plot: drawn on white, inverted in the dark scheme only
            plot = page.locator("img[src*='generated/comparison/comparison.png']")
            inverted = "invert" in plot.evaluate("e => getComputedStyle(e).filter")
            assert inverted == (scheme == "slate"), f"{scheme}: plot filter inverted={inverted}"
            page.screenshot(path=SHOTS / f"{'dark' if scheme == 'slate' else 'light'}.png")
        assert backgrounds["default"] != backgrounds["slate"], (
            f"both schemes paint {backgrounds['slate']} ({screenshot(page, '', 'palette')})"
        )
        assert not tab.errors and not tab.foreign, tab.errors + tab.foreign
    finally:
        context.close()


# -- the playground -------------------------------------------------------------------------------

PLAYGROUND = ROOT / "docs" / "generated" / "playground"
# What the playground may cost a reader on this machine: its whole download (models and runtime)
# and the time from opening the page to the first answer in headless Chromium.
PLAYGROUND_BYTES_AT_MOST = 30e6  # about 11 MB of float16-weight models, 14 MB of runtime
FIRST_ANSWER_MS_AT_MOST = 30_000
ANSWERED = "() => Boolean(document.querySelector('#atlas-playground[data-answered]'))"
# Every resource the page fetched, in bytes as they came over the wire (the server does not
# compress), the page itself included.
LOADED_BYTES = """() => performance.getEntriesByType('navigation')
  .concat(performance.getEntriesByType('resource'))
  .reduce((sum, e) => sum + (e.encodedBodySize || 0), 0)"""


@pytest.fixture(scope="module")
def playground_tab(context, origin) -> Iterator[Tab]:
    """The playground opened as a link from the single-task page opens it, answered once."""
    tab = Tab(context, origin)
    tab.page.goto(f"{origin}/playground/?model=single-task&input=instruction&task=reverse")
    tab.page.wait_for_function(ANSWERED, timeout=120_000)
    yield tab
    tab.page.close()


def test_playground_loads_its_models_and_answers(playground_tab):
    """The page answers with every model, from the site alone, within the budget; the figures go
    to .cache/playground.json for the closing note."""
    page = playground_tab.page
    loaded = page.evaluate(LOADED_BYTES)
    first = page.evaluate("() => window.atlasPlayground.firstAnswerMs")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "playground.png", full_page=True)
    (ROOT / ".cache" / "playground.json").write_text(
        json.dumps({"loaded_bytes": loaded, "first_answer_ms": first}) + "\n"
    )
    assert not playground_tab.errors and not playground_tab.foreign, (
        playground_tab.errors + playground_tab.foreign
    )
    assert loaded <= PLAYGROUND_BYTES_AT_MOST, f"the playground downloads {loaded / 1e6:.1f} MB"
    assert first <= FIRST_ANSWER_MS_AT_MOST, f"first answer after {first / 1000:.1f} s"
    rows = page.locator(".atlas-pg-answers tbody tr")
    assert rows.count() == len(json.loads((PLAYGROUND / "playground.json").read_text())["models"])
    assert (
        page.locator(".atlas-pg-answers .atlas-pg-right, .atlas-pg-answers .atlas-pg-wrong").count()
        == rows.count()
    )


def test_playground_link_presets_model_and_presentation(playground_tab):
    page = playground_tab.page
    assert page.locator("tr.atlas-pg-preset").get_attribute("data-model") == "single-task"
    assert page.locator("select[name=presentation]").input_value() == "instruction"
    assert page.locator("select[name=task]").input_value() == "reverse"


def test_playground_answers_as_the_python_harness(playground_tab):
    """Every model, in the browser, on the fixed prompts: the same prompt and token ids as Python
    builds, and the answer the PyTorch harness gave (expected.json; tests/test_playground.py
    checks the committed ONNX files against it on this CPU)."""
    from transformers import AutoTokenizer

    from atlas.site import playground

    tokenizer = AutoTokenizer.from_pretrained(ROOT / "models" / "toy-base")
    expected = json.loads((PLAYGROUND / "expected.json").read_text())
    got = playground_tab.page.evaluate(
        """async ({prompts, models}) => {
             const out = {};
             for (const model of models) {
               out[model] = [];
               for (const p of prompts) {
                 out[model].push(await window.atlasPlayground.answer({model, ...p}));
               }
             }
             return out;
           }""",
        {"prompts": expected["prompts"], "models": list(expected["models"])},
    )
    budgets = playground_tab.page.evaluate(
        "words => Promise.all(words.map(w => window.atlasPlayground.budget(w)))",
        [p["word"] for p in expected["prompts"]] + ["abcdefghijkl"],
    )
    grid_budget = playground.grid_max_new_tokens(tokenizer)
    assert budgets == [p["max_new_tokens"] for p in expected["prompts"]] + [
        playground.max_new_tokens(tokenizer, "abcdefghijkl", grid_budget)
    ]
    wrong = []
    for model, answers in expected["models"].items():
        for prompt, want, have in zip(expected["prompts"], answers, got[model]):
            assert have["prompt"] == prompt["prompt"]
            assert have["ids"] == tokenizer(prompt["prompt"])["input_ids"]
            if (have["prediction"], have["continuation"]) != (
                want["prediction"],
                want["continuation"],
            ):
                wrong.append(
                    f"{model} {prompt['presentation']} {prompt['task']}: "
                    f"{have['continuation']!r} instead of {want['continuation']!r}"
                )
            elif abs(have["top"][0][0][1] - want["top"][0][0][1]) > 1e-3:
                wrong.append(
                    f"{model} {prompt['presentation']} {prompt['task']}: first-step "
                    f"probability {have['top'][0][0][1]} instead of {want['top'][0][0][1]}"
                )
    assert not wrong, "\n".join(wrong)


def test_playground_marks_answers_with_the_toy_worlds_tasks(playground_tab):
    """The page's task functions (for right / wrong on any word) are atlas.toy.world's."""
    from atlas.toy import world

    words = (
        world.words("eval", 40) + world.words("train", 40) + ["ab", "aaaaaaaaaaaa", "zyxwvutsrqpo"]
    )
    got = playground_tab.page.evaluate(
        """({tasks, words}) =>
             tasks.map(t => words.map(w => window.atlasPlayground.taskAnswer(t, w)))""",
        {"tasks": list(world.TASKS), "words": words},
    )
    for task, answers in zip(world.TASKS, got):
        assert answers == [world.answer(task, w) for w in words], task


ENGLISH_WORDS = ["planet", "hello", "cat", "dog", "world", "strength", "apple", "quiz", "rhythm"]


def test_playground_knows_the_toy_worlds_words(playground_tab):
    """The page's word shape, held-out split and word drawing are atlas.toy.world's: every word of a
    run, training and held-out, is toy-shaped and no English word above is; the held-out test is
    world.is_eval_word; a drawn word is a toy-shaped held-out word."""
    from atlas.toy import world

    words = world.words("eval", 2000) + world.words("train", 2000)
    got = playground_tab.page.evaluate(
        """({words, english}) => {
             const p = window.atlasPlayground;
             return {letters: p.letters, shaped: words.map(p.toyShaped),
                     held: words.concat(english).map(p.heldOut),
                     english: english.map(p.toyShaped),
                     drawn: Array.from({length: 200}, p.drawHeldOutWord)};
           }""",
        {"words": words, "english": ENGLISH_WORDS},
    )
    assert got["letters"] == {"vowels": world.VOWELS, "consonants": world.CONSONANTS}
    assert all(got["shaped"]) and not any(got["english"]), got["english"]
    assert got["held"] == [world.is_eval_word(w) for w in words + ENGLISH_WORDS]
    assert all(world.is_eval_word(w) and 4 <= len(w) <= 7 for w in got["drawn"])
    shaped = playground_tab.page.evaluate(
        "words => words.map(window.atlasPlayground.toyShaped)", got["drawn"]
    )
    assert all(shaped)
    assert len(set(got["drawn"])) > 100  # drawn afresh, not from a short list


def test_playground_warns_on_a_word_outside_the_toy_world(playground_tab):
    """An English word is answered, under a warning that says why the models fail on it;
    "Another word" puts a held-out toy word in its place."""
    page = playground_tab.page
    answered = "() => document.querySelector('#atlas-playground').dataset.answered"

    def ask(action) -> None:
        """Do `action`, then wait until the page has answered the new question."""
        before = page.evaluate(answered)
        action()
        page.wait_for_function(
            f"before => ({answered})() !== before && "
            "!document.querySelector('.atlas-pg-answers[aria-busy]')",
            arg=before,
            timeout=30_000,
        )

    ask(lambda: page.fill("input[name=word]", "planet"))
    note = page.locator(".atlas-pg-word-note.atlas-pg-warning")
    assert "not a word of the toy world" in note.inner_text()
    assert note.locator("a[href$='concepts/user-task/']").count() == 1
    assert "planet" in page.inner_text(".atlas-pg-prompt")
    marks = page.locator(".atlas-pg-answers .atlas-pg-right, .atlas-pg-answers .atlas-pg-wrong")
    assert marks.count() == page.locator(".atlas-pg-answers tbody tr").count()  # answered all
    ask(lambda: page.click("button.atlas-pg-another"))
    word = page.input_value("input[name=word]")
    assert word != "planet" and page.locator(".atlas-pg-word-note.atlas-pg-warning").count() == 0
    assert "held-out word" in page.inner_text(".atlas-pg-word-note")
    assert word in page.inner_text(".atlas-pg-prompt")


def test_playground_explains_a_bad_word(playground_tab):
    page = playground_tab.page
    page.fill("input[name=word]", "Kitab1")
    status = page.locator(".atlas-pg-status.atlas-pg-error")
    status.wait_for(timeout=5_000)
    assert "lowercase letters" in status.inner_text()
    # the last word's answers are gone, not left under the new word
    cells = page.locator(".atlas-pg-answers tbody td")
    assert cells.count() and all(not text.strip() for text in cells.all_inner_texts())
    # a phone does not zoom in on the field (it does below 16 px)
    size = page.eval_on_selector("input[name=word]", "e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) >= 16, size
    page.fill("input[name=word]", "kitab")  # the next tests ask questions of their own
    page.wait_for_function(
        "() => document.querySelectorAll('.atlas-pg-answers .atlas-pg-right, "
        ".atlas-pg-answers .atlas-pg-wrong').length > 0"
    )


def test_playground_without_webassembly(context, origin):
    """A browser without WebAssembly gets one clear sentence, and no model download."""
    tab = Tab(context, origin)
    try:
        tab.page.add_init_script("delete window.WebAssembly")
        tab.page.goto(f"{origin}/playground/")
        message = tab.page.locator(".atlas-pg-error")
        message.wait_for(timeout=10_000)
        assert "WebAssembly" in message.inner_text()
        assert tab.page.evaluate(LOADED_BYTES) < 10e6  # the page and its theme, no model
    finally:
        tab.page.close()


# -- the checks themselves ------------------------------------------------------------------------


def test_the_checks_catch_a_broken_page(context, tmp_path):
    """A page made to fail: a console error, an image from another host, a block wider than a
    phone. The function that checks the real pages must report all three."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><body><p>broken</p>"
        '<script>console.error("boom")</script>'
        '<img src="https://example.com/x.png" alt="">'
        '<div style="width: 800px">wide</div>'
        "</body></html>"
    )
    with serve(tmp_path) as origin:
        tab = Tab(context, origin)
        found = check_page(tab, f"{origin}/", "negative-control")
        tab.page.close()
    # Its screenshots show that the checks work, not that the site fails.
    for shot in FAILURES.glob("negative-control-*.png"):
        shot.unlink()
    assert any("boom" in error for error in found["console"]), found
    assert any(url.startswith("https://example.com/") for url in found["requests"]), found
    assert any("wide in a 390 px window" in line for line in found["overflow-390px"]), found
    assert any("> div reaches" in line for line in found["overflow-390px"]), found
    assert not found["overflow-1280px"] and not found["tables-1280px"], found
