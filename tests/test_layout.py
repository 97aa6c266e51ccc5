"""The architecture, as packages and a rule on imports: the toy world knows nothing of the harness,
and neither knows the site's machinery; a snippet a reader copies never imports the site's
machinery, and a `pip install` of the project leaves it out.

    atlas.toy    the toy world: world, tokenizer, data
    atlas        the harness the snippets train, evaluate and report with: cli, training,
                 evaluation, models, real_model, chat, english, jobs, stages, tables, plots, ...
    atlas.site   the site's machinery: provenance and code_units (stamps), summaries (the pages'
                 summaries of benchmarks), protocol (how benchmarks compare methods), playground
                 (the playground's export)
"""

from __future__ import annotations

import ast
import tomllib

import pytest

from conftest import ROOT

LAYERS = {"toy": "atlas.toy", "harness": "atlas", "site": "atlas.site"}


def modules(layer: str) -> list:
    folder = ROOT / LAYERS[layer].replace(".", "/")
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def _root_names() -> set[str]:
    """What the package root itself defines (its errors and default folders)."""
    tree = ast.parse((ROOT / "atlas" / "__init__.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _exists(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(name: str) -> str:
    """The layer of what a dotted name under atlas imports: `atlas.toy.world` -> toy; a name the
    package root defines (`atlas.InputError`, `atlas.ROOT`) -> root, which every layer shares;
    a name that is neither a module nor the root's -> missing."""
    parts = name.split(".")
    if len(parts) == 2 and parts[1] in _root_names():
        return "root"
    if len(parts) > 1 and parts[1] in ("toy", "site"):
        layer = parts[1]
    else:
        layer = "harness"
    return layer if _exists(name) else "missing"


def imported_layers(path, keep_missing: bool = False) -> set[str]:
    """The layers of what a file imports from atlas, anywhere in it (function-level imports
    included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "atlas":
                found |= {layer_of(f"atlas.{a.name}") for a in node.names}
            elif node.module.split(".")[0] == "atlas":
                found.add(layer_of(node.module))
        elif isinstance(node, ast.Import):
            found |= {layer_of(a.name) for a in node.names if a.name.split(".")[0] == "atlas"}
    found -= {"root"}
    if not keep_missing:
        assert "missing" not in found, f"{path} imports from atlas what is not there"
    return found


CODE = [
    p
    for folder in ("atlas", "snippets", "benchmarks", "tools", "tests")
    for p in sorted((ROOT / folder).rglob("*.py"))
    if "__pycache__" not in p.parts
]


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_atlas_import_names_something_that_exists(path):
    """After a move, an import of a module's old place fails here, not in a reader's run."""
    assert "missing" not in imported_layers(path, keep_missing=True)


def test_every_module_lives_in_a_layer():
    """No module outside the three packages' own folders (a new folder is a new decision)."""
    for folder in (ROOT / "atlas").iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            assert folder.name in ("toy", "site"), f"atlas/{folder.name} is in no layer"
    assert all(modules(layer) for layer in LAYERS)


@pytest.mark.parametrize("path", modules("toy"), ids=lambda p: p.stem)
def test_the_toy_world_imports_only_the_toy_world(path):
    assert imported_layers(path) <= {"toy"}


@pytest.mark.parametrize("path", modules("harness"), ids=lambda p: p.stem)
def test_the_harness_never_imports_the_site_machinery(path):
    assert "site" not in imported_layers(path)


@pytest.mark.parametrize("path", sorted((ROOT / "snippets").glob("*.py")), ids=lambda p: p.stem)
def test_a_snippet_never_imports_the_site_machinery(path):
    assert "site" not in imported_layers(path)


def test_the_installed_package_is_the_toy_world_and_the_harness():
    """What `pip install` puts on a reader's machine: the harness, the toy world and the shipped
    base model; not the site's machinery."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == {"atlas", "atlas.toy", "atlas.toy_base"}


def test_the_layer_check_sees_each_kind_of_import(tmp_path):
    """The rule is only as good as its reading of imports: each form is told to its layer."""
    path = tmp_path / "example.py"
    path.write_text(
        "from atlas import cli\nfrom atlas.toy import world\nimport atlas.site.protocol\n"
        "def f():\n    from atlas.site.summaries import mean\n"
    )
    assert imported_layers(path) == {"harness", "toy", "site"}
    path.write_text("from atlas import InputError, site\nfrom atlas.toy.world import words\n")
    assert imported_layers(path) == {"site", "toy"}
    path.write_text("from atlas import world\n")  # its place before the toy world's package
    assert imported_layers(path, keep_missing=True) == {"missing"}
