"""MkDocs hook: turn every `snippets/*.py` script into a notebook page, `notebooks/<name>.ipynb`,
which mkdocs-jupyter renders and offers for download.

Each `# --8<-- [start:section]` marker of a snippet (the same markers the pages include) starts a
new code cell, so the notebook's cells are the pieces the technique page explains.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "snippets"
BUILD = ROOT / ".cache" / "notebooks"
MARKER = re.compile(r"^# --8<-- \[(start|end):([\w-]+)\]\s*$")


def snippet_to_notebook(path: Path) -> nbformat.NotebookNode:
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source)) or ""
    body = source
    if docstring:  # the module docstring becomes the first (markdown) cell
        body = source.split('"""', 2)[2].lstrip("\n")
    cells = [nbformat.v4.new_markdown_cell(f"# `snippets/{path.name}`\n\n" + docstring)]
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
