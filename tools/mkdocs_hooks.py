"""MkDocs hook: turn every `snippets/*.py` script into a notebook page, `notebooks/<name>.ipynb`,
which mkdocs-jupyter renders and offers for download.

The same notebooks are committed in the repository's `notebooks/` folder, where Colab opens them
from GitHub (`colab_url`); after editing a snippet, write them again with

    .venv/bin/python tools/mkdocs_hooks.py

(tests/test_notebooks.py fails while a committed notebook differs from its snippet).

Each `# --8<-- [start:section]` marker of a snippet (the same markers the pages include) starts a
new code cell, so the notebook's cells are the pieces the technique page explains.
"""

from __future__ import annotations

import ast
import base64
import posixpath
import re
from html import escape, unescape
from pathlib import Path

import nbformat
from markdown import markdown as render_markdown
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "snippets"
BUILD = ROOT / ".cache" / "notebooks"
MARKER = re.compile(r"^# --8<-- \[(start|end):([\w-]+)\]\s*$")
CI_ARGS = re.compile(r"^# ci-args:")


def notebook_title(path: Path) -> str:
    """A notebook's title: its snippet's docstring up to the first colon ("Pretraining")."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or path.stem
    return docstring.split(":", 1)[0].strip()


def notebook_page_title(path: Path) -> str:
    """A notebook page's own title, apart from its technique page's ("Notebook: Pretraining"
    beside "Pretraining"): the browser tab, link previews, search and llms.txt show it; the
    navigation, under Notebooks, keeps `notebook_title`."""
    return f"Notebook: {notebook_title(path)}"


def notebook_intro(path: Path) -> str:
    """A notebook's first (markdown) cell: its title, its snippet, where to open it in Colab, the
    snippet's docstring."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return (
        f"# {notebook_title(path)}\n\n`snippets/{path.name}` as a notebook "
        f"([open it in Colab]({colab_url(path.stem)}): its first code cell installs the "
        "project).\n\n" + docstring
    )


# Where the notebooks' first cell installs the project from when it is not there yet.
REPOSITORY = "https://github.com/adaptation-atlas/adaptation-atlas"
COMMITTED = ROOT / "notebooks"  # the notebooks as committed, which Colab opens from GitHub


def colab_url(stem: str) -> str:
    """Colab's address of a committed notebook: it opens the file from the repository on GitHub."""
    owner_and_name = REPOSITORY.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/main/notebooks/{stem}.ipynb"


# The notebooks' first code cell. Outside a checkout it installs the project with pip (its test
# points ATLAS_PROJECT at a locally built wheel); inside, or once installed, it does nothing.
INSTALL_CELL = f"""\
# Outside a checkout of the project, install it first: the toy world, the training and evaluation
# harness and the 4 MB toy base model, with the pinned stack (torch's CPU build). Inside the
# checkout (after `bash scripts/setup.sh`), or once installed, this cell does nothing.
import importlib.util
import os
import subprocess
import sys

REPOSITORY = "{REPOSITORY}"
PROJECT = os.environ.get("ATLAS_PROJECT", f"git+{{REPOSITORY}}")  # or a wheel, or a folder
TORCH_CPU = "https://download.pytorch.org/whl/cpu"  # torch's CPU build: no multi-GB CUDA wheel
if importlib.util.find_spec("atlas") is None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--extra-index-url", TORCH_CPU]
    subprocess.check_call([*pip, PROJECT])"""


# A snippet's settings (its imports and argument parser, up to the end of its `args =
# cli.parse(...)` statement) are, in a notebook, a folded cell of their own, tagged so that the
# site's notebook page leaves their code out (mkdocs.yml, mkdocs-jupyter's remove_input_tags); the
# downloaded notebook keeps it, folded.
SETTINGS_TAG = "settings"


def settings_note(source: str) -> str:
    """The markdown cell before a notebook's settings: what they are and how to change them, with
    an example of a flag the snippet has."""
    example = next(
        (
            f" (for a shorter run: `%env ATLAS_NOTEBOOK_ARGS={flag}`, before this cell)"
            for flag in ("--max-steps 20", "--eval-words 5")
            if f'"{flag.split()[0]}"' in source
        ),
        "",
    )
    return (
        "**Settings.** The next cell (folded: open it to read it) imports the project and reads "
        "the run's settings, each a flag with the default the site's own run used. In a notebook "
        "the defaults apply, or the flags in the environment variable `ATLAS_NOTEBOOK_ARGS`"
        f"{example}. Every value is checked before any work: a mistake stops here with one line. "
        "The technique starts below it."
    )


def settings_end(tree: ast.Module) -> int:
    """The last line (1-based) of the snippet's top-level `args = cli.parse(...)` statement."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["args"]
            and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func) == "cli.parse"
        ):
            return node.end_lineno
    raise ValueError("no top-level `args = cli.parse(...)` statement")


def snippet_to_notebook(path: Path) -> nbformat.NotebookNode:
    source = path.read_text()
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree) or ""
    body = source
    if docstring:  # the module docstring becomes the first (markdown) cell
        body = source.split('"""', 2)[2].lstrip("\n")
    cells = [
        nbformat.v4.new_markdown_cell(notebook_intro(path)),
        nbformat.v4.new_code_cell(INSTALL_CELL),
    ]
    chunk: list[str] = []
    last_setting = settings_end(tree)
    first_line = len(source.splitlines()) - len(body.splitlines()) + 1  # body's first, in source

    def flush():
        text = "\n".join(chunk).strip("\n")
        if text:
            cells.append(nbformat.v4.new_code_cell(text))
        chunk.clear()

    for number, line in enumerate(body.splitlines(), start=first_line):
        if CI_ARGS.match(line):  # how the tests run the script: not the reader's business here
            continue
        if number == last_setting:
            # The plumbing before the technique: the settings, as a folded cell of their own
            chunk.append(line)
            text = "\n".join(chunk).strip("\n")
            chunk.clear()
            cells.append(nbformat.v4.new_markdown_cell(settings_note(source)))
            cells.append(
                nbformat.v4.new_code_cell(
                    text, metadata={"jupyter": {"source_hidden": True}, "tags": [SETTINGS_TAG]}
                )
            )
            continue
        m = MARKER.match(line)
        if m:
            flush()
            if m.group(1) == "start":
                cells.append(
                    nbformat.v4.new_markdown_cell(f"## {m.group(2).replace('_', ' ').capitalize()}")
                )
            continue
        chunk.append(line)
    flush()
    for number, cell in enumerate(cells):  # ids by position: the same snippet, the same file
        cell.id = f"cell-{number}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


# -- The committed run's outputs in the site's notebooks --------------------------------------
#
# A notebook on the site shows what the run behind the technique page wrote: each table (.md) and
# plot (.png) its producer stamped, under the code cell that names the file, else under the cell
# that saves the evaluation (`.save(`), else at the end. Nothing is run at build time: these are
# the published files, the same bytes the technique page includes.

OUTPUT_SUFFIXES = (".md", ".png")
OUTPUT_ROWS = 40  # a longer table shows its first rows, and where the rest is


def committed_run(script: Path):
    """The producer whose run made the figures of a snippet's page: the one with the fewest
    arguments (its default run), or None for a snippet no producer runs."""
    from atlas.site import provenance

    producers = provenance.producers_of(f"snippets/{script.name}")
    return min(producers, key=lambda p: len(p.args)) if producers else None


def run_outputs(script: Path) -> tuple[object, list[Path]]:
    """The producer of a snippet's committed run and the tables and plots it wrote, in order."""
    from atlas.site import provenance

    producer = committed_run(script)
    if producer is None:
        return None, []
    stamp = provenance.read_stamps(producer.folder).get(producer.name, {})
    files = [
        ROOT / rel
        for rel in stamp.get("outputs", {})
        if rel.startswith("docs/generated/") and rel.endswith(OUTPUT_SUFFIXES)
    ]
    return producer, sorted(f for f in files if f.is_file())


def _names_written(source: str) -> list[str]:
    """The file-name pieces a cell's code spells, as literals or as the literal tails of f-strings,
    that end in a file extension: "_loss.png", "continued_figures.json", "plots/loss.png", and a
    bare ".md" (from `f"{NAME}.md"`), which names a file only where nothing more specific does."""
    return re.findall(r"""[}"']([\w./-]*\.(?:md|png|json|jsonl))["']""", source)


def _cell_writing(path: Path, code: list, specific: bool):
    """The first cell whose code names `path`: by a piece that ends its name and is more than an
    extension (`specific`), or by its extension alone."""
    for cell in code:
        for piece in _names_written(cell.source):
            name = piece.rpartition("/")[2]
            is_extension = name.startswith(".") and name.count(".") == 1
            if is_extension != specific and (path.name.endswith(name) or path.name == name):
                return cell
    return None


def _output_of(path: Path) -> list[dict]:
    """A published file as a notebook output: its path, then the plot, the table (its first
    rows), or the first lines of other Markdown as text."""
    rel = path.relative_to(ROOT)
    if path.suffix == ".png":
        data = base64.b64encode(path.read_bytes()).decode()
        display = nbformat.v4.new_output("display_data", data={"image/png": data})
    else:
        lines = path.read_text().splitlines()
        table = bool(lines) and lines[0].startswith("|")
        shown = lines[: OUTPUT_ROWS + 2]  # a table's header, its rule, its rows
        more = len(lines) - len(shown)
        unit = "rows" if table else "lines"
        text = "\n".join(shown) + (f"\n\n… and {more} more {unit} in `{rel}`" if more > 0 else "")
        data = {"text/markdown": text, "text/plain": text} if table else {"text/plain": text}
        display = nbformat.v4.new_output("display_data", data=data)
    name = nbformat.v4.new_output("stream", name="stdout", text=f"{rel}:\n")
    return [name, display]


def fill_outputs(notebook, script: Path) -> None:
    """Put the committed run's tables and plots under the cells that write them (see above)."""
    producer, files = run_outputs(script)
    if not files:
        return
    code = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and SETTINGS_TAG not in c.metadata.get("tags", [])
    ][1:]  # not the install cell or the settings
    saving = next((c for c in reversed(code) if ".save(" in c.source), None)
    left = []
    for path in files:
        cell = (
            _cell_writing(path, code, specific=True)
            or _cell_writing(path, code, specific=False)
            or saving
        )
        if cell is None:
            left.append(path)
        else:
            cell.outputs.extend(_output_of(path))
    if left:
        cell = nbformat.v4.new_code_cell("# the rest of what the run wrote")
        cell.id = f"cell-{len(notebook.cells)}"
        for path in left:
            cell.outputs.extend(_output_of(path))
        notebook.cells.append(cell)
    notebook.cells.insert(
        2,  # after the title and the install cell
        nbformat.v4.new_markdown_cell(
            "**Outputs.** The tables and plots under the cells are the files the site's own run "
            f"wrote (`{producer.shell()}`, the run behind the technique page's figures), not a "
            "run made while building this page; run the notebook to make your own.",
            id="cell-outputs-note",
        ),
    )


@event_priority(100)  # before mkdocs-jupyter looks for notebooks
def on_files(files, config):
    # from the snippets as they are, committed or not, with the committed run's outputs
    write_notebooks(BUILD / "notebooks", with_outputs=True)
    for script in sorted(SNIPPETS.glob("*.py")):
        files.append(
            File(
                f"notebooks/{script.stem}.ipynb",
                src_dir=str(BUILD),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_serve(server, config, builder):
    server.watch(str(SNIPPETS))
    return server


# -- A pointer for the reader who lands on a technique page from a link ---------------------------

POINTER_PAGES = ("techniques/", "comparison.md")
TOY_WORLD = "concepts/user-task.md#toy-tasks"
GLOSSARY = "glossary.md"


@event_priority(100)  # before mkdocs-macros renders the page
def on_page_markdown(markdown, page, config, files):
    """Open every technique page (and the comparison) with a one-line pointer to where the toy
    world's words (`spell`, `kitab`, cluster) and the site's terms are defined. A notebook is code
    shown as it is: mkdocs-macros must not read its `{{ }}` and `{% %}` (a chat template) as
    macros; its page is titled "Notebook: ..." (`notebook_page_title`) and ranks after the pages
    in search (`NOTEBOOK_SEARCH_BOOST`)."""
    src = page.file.src_uri
    if src.endswith(".ipynb"):
        page.meta["render_macros"] = False
        page.meta["title"] = notebook_page_title(SNIPPETS / f"{Path(src).stem}.py")
        page.meta["search"] = {"boost": NOTEBOOK_SEARCH_BOOST}
        return markdown
    if not src.startswith(POINTER_PAGES) or src.endswith("index.md"):
        return markdown
    here = posixpath.dirname(src)
    toy, glossary = (posixpath.relpath(target, here or ".") for target in (TOY_WORLD, GLOSSARY))
    pointer = (
        f"New here? The toy world's tasks (`spell`, `reverse` …), its words (`kitab`) and its "
        f"clusters are defined in [the user task]({toy}); every term is in the "
        f"[glossary]({glossary}).\n{{: .atlas-pointer }}\n"
    )
    lines = markdown.split("\n")
    title = next(i for i, line in enumerate(lines) if line.startswith("# "))
    return "\n".join([*lines[: title + 1], "", pointer, *lines[title + 1 :]])


# -- Short table headers: the long names in a tooltip and a legend under the table ----------------
#
# The snippets write their tables with column names that say everything ("held-out cluster, asked
# by instruction"), which is what a reader of the Markdown file needs; on the page a table of nine
# such columns wraps every header into a stack of lines. The page shows a short name instead, the
# full one in its tooltip (<abbr title>) and in a legend under the table, so a phone, where there is
# no hover, still reads it. Only the page's rendering changes: the files the runs wrote do not.

SHORT_HEADERS = {
    "target task, bare input": "target, bare",
    "target task, asked by instruction": "target, asked",
    "other seen tasks, asked by instruction": "other seen, asked",
    "seen tasks, asked by instruction": "seen, asked",
    "seen tasks, held-out templates": "new templates",
    "held-out cluster, asked by instruction": "held-out cluster",
    "few-shot (4 examples), all tasks": "few-shot",
    "trainable parameters": "trained params",
    "training seconds (1 thread)": "train s (1 thread)",
    "peak memory, MiB": "peak MiB",
    "chat template, seen tasks": "chat, seen",
    "chat, held-out wordings": "chat, new wordings",
    "plain text, no template": "plain text",
    "another model's template (ChatML)": "ChatML",
    "stops by itself (64 tokens)": "stops",
    "trained tasks, asked by instruction": "trained, asked",
    "trained tasks, held-out templates": "trained, new templates",
    "fact in the prompt, asked in a new wording": "fact in prompt",
    "instruction, held-out template": "instruction, new template",
    "chat, held-out template": "chat, new template",
    "spell job: spell, bare input": "spell: spell",
    "spell job: few-shot kept": "spell: few-shot",
    "flan job: seen tasks by instruction": "flan: seen",
    "flan job: held-out templates": "flan: new templates",
    "flan job: few-shot kept": "flan: few-shot",
    "chosen log-prob change (nats)": "chosen log-prob \u0394 (nats)",
}
# A table is shortened where it has at least this many columns: narrower ones fit as they are.
SHORTEN_FROM_COLUMNS = 7
_TABLE = re.compile(r"<table>.*?</table>", re.S)
_HEADER = re.compile(r"(<th[^>]*>)(.*?)(</th>)", re.S)


def shorten_headers(html: str) -> str:
    """Every wide table of a page's HTML with its long column names shortened (`SHORT_HEADERS`):
    the short name in an <abbr> whose title is the long one, and a legend after the table."""

    def one_table(match: re.Match) -> str:
        table = match.group(0)
        head, end_of_head, body = table.partition("</thead>")
        if head.count("<th") < SHORTEN_FROM_COLUMNS:
            return table
        shortened = []

        def one_header(h: re.Match) -> str:
            long = unescape(h.group(2)).strip()
            short = SHORT_HEADERS.get(long)
            if short is None:
                return h.group(0)
            shortened.append((short, long))
            return f'{h.group(1)}<abbr title="{escape(long)}">{escape(short)}</abbr>{h.group(3)}'

        table = _HEADER.sub(one_header, head) + end_of_head + body
        if not shortened:
            return table
        legend = "; ".join(f"<em>{escape(s)}</em>: {escape(long)}" for s, long in shortened)
        return f'{table}\n<p class="atlas-legend">Columns in full: {legend}.</p>'

    return _TABLE.sub(one_table, html)


def on_page_content(html, page, config, files):
    return shorten_headers(html)


# -- Search: a notebook is indexed as a short page, without its code ------------------------------
#
# The search plugin indexes `page.content` in its `on_page_context` (priority 0). A notebook page's
# content is every cell of its snippet, so searches for "EOS" or "beta" found argument parsing
# before the answers, and every notebook heading ended in "¶" (nbconvert's anchor link). Just
# before the search plugin, a notebook page's content is swapped for its first cell alone (its
# title as `notebook_page_title`, its snippet's docstring), and swapped back just after it, before
# the page is written.


# A notebook is the code of a page that explains it: in search results it comes after that page.
# (At 1, "DPO beta" found the DPO notebook first: its short introduction names both words often.)
NOTEBOOK_SEARCH_BOOST = 0.5


def notebook_search_html(path: Path) -> str:
    """What the search index holds of a snippet's notebook: one section, titled "Notebook: ...",
    with the notebook's introduction and no code cell."""
    intro = notebook_intro(path).split("\n", 1)[1]  # without its "# title" line
    # The search plugin takes a heading with an id for a section's title.
    title = f'<h1 id="{path.stem}">{escape(notebook_page_title(path))}</h1>'
    return title + render_markdown(intro)


@event_priority(1)  # just before the search plugin
def _index_a_notebook_as_a_short_page(context, page, config, nav):
    if page.file.src_uri.endswith(".ipynb"):
        page.atlas_content = page.content
        page.content = notebook_search_html(SNIPPETS / f"{Path(page.file.src_uri).stem}.py")
    return context


@event_priority(-1)  # just after it: the page itself shows every cell
def _restore_a_notebooks_content(context, page, config, nav):
    if hasattr(page, "atlas_content"):
        page.content = page.atlas_content
        del page.atlas_content
    return context


on_page_context = CombinedEvent(_index_a_notebook_as_a_short_page, _restore_a_notebooks_content)


# -- llms.txt: the site's map for language models (https://llmstxt.org) ---------------------------

_nav = None


def on_nav(nav, config, files):
    global _nav
    _nav = nav
    return nav


def llms_txt(nav, config) -> str:
    """The llms.txt of the site: its name, its description, and every page of the navigation with
    its absolute address and description, one section per top-level navigation entry."""
    base = config["site_url"].rstrip("/") + "/"

    def line(page) -> str:
        description = (page.meta or {}).get("description", "")
        title = (page.meta or {}).get("title") or page.title  # a notebook's "Notebook: ..."
        return f"- [{title}]({base}{page.url})" + (f": {description}" if description else "")

    def pages(item):
        if item.is_page:
            yield item
        for child in getattr(item, "children", None) or []:
            yield from pages(child)

    out = [f"# {config['site_name']}", "", f"> {config['site_description'].strip()}", ""]
    loose = [item for item in nav.items if item.is_page]
    if loose:
        out += ["## Pages", "", *(line(page) for page in loose), ""]
    for section in (item for item in nav.items if not item.is_page):
        out += [f"## {section.title}", "", *(line(page) for page in pages(section)), ""]
    return "\n".join(out)


def on_post_build(config):
    (Path(config["site_dir"]) / "llms.txt").write_text(llms_txt(_nav, config))


def write_notebooks(folder: Path = COMMITTED, with_outputs: bool = False) -> list[Path]:
    """Write every snippet's notebook into `folder` (the committed ones by default), removing
    notebooks whose snippet is gone; the files written or removed. `with_outputs`: with the
    tables and plots of the committed run filled in (the site's notebooks; the committed ones,
    which Colab opens, stay without outputs)."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    wanted = {f"{script.stem}.ipynb": script for script in sorted(SNIPPETS.glob("*.py"))}
    for name, script in wanted.items():
        target = folder / name
        notebook = snippet_to_notebook(script)
        if with_outputs:
            fill_outputs(notebook, script)
        text = nbformat.writes(notebook)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            changed.append(target)
    for stale in sorted(folder.glob("*.ipynb")):
        if stale.name not in wanted:
            stale.unlink()
            changed.append(stale)
    return changed


if __name__ == "__main__":
    for path in write_notebooks():
        print(f"wrote {path.relative_to(ROOT)}" if path.exists() else f"removed {path}")
