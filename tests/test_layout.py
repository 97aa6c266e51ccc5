"""The architecture, as a rule on imports: the toy world knows nothing of the harness, and neither
knows the site's machinery; a snippet a reader copies never imports the site's machinery.

    toy world        atlas.world, atlas.tokenizer, atlas.data
    harness          what the snippets train, evaluate and report with (atlas.cli,
                     training, evaluation, models, real_model, chat, english, jobs, stages,
                     tables, plots, ...)
    site machinery   atlas.provenance, atlas.code_units (stamps), atlas.summaries (the pages'
                     summaries of benchmarks), atlas.protocol (how benchmarks compare methods),
                     atlas.playground (the playground's export)

The modules still share one package; this test is the contract that keeps the layers apart.
"""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT

TOY_WORLD = {"world", "tokenizer", "data"}
SITE_MACHINERY = {"provenance", "code_units", "summaries", "protocol", "playground"}
ATLAS = {p.stem for p in (ROOT / "atlas").glob("*.py")} - {"__init__"}


def atlas_imports(path) -> set[str]:
    """The atlas modules a file imports, anywhere in it (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "atlas":
                found |= {a.name for a in node.names if a.name in ATLAS}
            elif node.module.startswith("atlas."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("atlas.")}
    return found


def test_the_layers_are_named_modules():
    assert TOY_WORLD <= ATLAS and SITE_MACHINERY <= ATLAS


@pytest.mark.parametrize("module", sorted(TOY_WORLD))
def test_the_toy_world_imports_only_the_toy_world(module):
    assert atlas_imports(ROOT / "atlas" / f"{module}.py") <= TOY_WORLD


@pytest.mark.parametrize("module", sorted(ATLAS - SITE_MACHINERY))
def test_the_harness_never_imports_the_site_machinery(module):
    assert not atlas_imports(ROOT / "atlas" / f"{module}.py") & SITE_MACHINERY


@pytest.mark.parametrize("path", sorted((ROOT / "snippets").glob("*.py")), ids=lambda p: p.stem)
def test_a_snippet_never_imports_the_site_machinery(path):
    assert not atlas_imports(path) & SITE_MACHINERY
