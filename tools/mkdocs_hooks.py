"""MkDocs hook: turn every `snippets/*.py` script into a notebook page, `notebooks/<name>.ipynb`,
which mkdocs-jupyter renders and offers for download.

Each `# --8<-- [start:section]` marker of a snippet (the same markers the pages include) starts a
new code cell, so the notebook's cells are the pieces the technique page explains.
"""

from __future__ import annotations

import ast
import posixpath
import re
from pathlib import Path

import nbformat
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "snippets"
BUILD = ROOT / ".cache" / "notebooks"
MARKER = re.compile(r"^# --8<-- \[(start|end):([\w-]+)\]\s*$")


def notebook_title(path: Path) -> str:
    """A notebook's title: its snippet's docstring up to the first colon ("Pretraining")."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or path.stem
    return docstring.split(":", 1)[0].strip()


def snippet_to_notebook(path: Path) -> nbformat.NotebookNode:
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source)) or ""
    body = source
    if docstring:  # the module docstring becomes the first (markdown) cell
        body = source.split('"""', 2)[2].lstrip("\n")
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {notebook_title(path)}\n\n`snippets/{path.name}` as a notebook.\n\n" + docstring
        )
    ]
    chunk: list[str] = []

    def flush():
        text = "\n".join(chunk).strip("\n")
        if text:
            cells.append(nbformat.v4.new_code_cell(text))
        chunk.clear()

    for line in body.splitlines():
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
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@event_priority(100)  # before mkdocs-jupyter looks for notebooks
def on_files(files, config):
    out = BUILD / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for script in sorted(SNIPPETS.glob("*.py")):
        target = out / f"{script.stem}.ipynb"
        text = nbformat.writes(snippet_to_notebook(script))
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
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
    macros."""
    src = page.file.src_uri
    if src.endswith(".ipynb"):
        page.meta["render_macros"] = False
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
        return f"- [{page.title}]({base}{page.url})" + (f": {description}" if description else "")

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
