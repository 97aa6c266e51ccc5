"""The project's code as units a run can execute, each with a hash of what it does.

A *unit* is a module-level function (`words`), a method (`EvalResult.save`), or one module-level
statement (a constant, a class's own lines, `if __name__ == "__main__": main()`). Its hash is taken
over its syntax tree after removing what cannot change a figure:

- docstrings, comments and layout (they are not in the tree);
- the texts of `help=`, `description=`, `metavar=` and `epilog=` arguments, and module constants
  used only as such texts (`MODEL_HELP`);
- the messages of raised errors (`raise InputError(f"...")` hashes as `raise InputError`): a run
  that raises writes no figure;
- where a project function lives: `world.words(...)` hashes as `words(...)`, and imports of project
  modules are left out, so moving a function between modules changes no hash.

A function's hash does not include its own name. A producer's stamp (atlas.provenance) records the
units its run executed; the figures are current while every one of those hashes is still found
somewhere in the project.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Where the project's Python code lives (tests excluded: they check figures, they do not make them).
CODE_DIRS = ("atlas", "snippets", "benchmarks", "tools")
PACKAGES = ("atlas", "tools", "benchmarks", "snippets")
TEXT_KEYWORDS = {"help", "description", "metavar", "epilog"}
MODULE = "<module>"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class FileUnits:
    functions: dict[str, str] = field(default_factory=dict)  # qualified name -> hash
    statements: list[str] = field(default_factory=list)  # hashes of the module-level statements
    classes: set[str] = field(default_factory=set)  # qualified names of classes (their bodies run
    # at import: their own lines are module-level statements)
    names: dict[str, set[str]] = field(default_factory=dict)  # identifiers each function uses
    module_names: set[str] = field(default_factory=set)  # identifiers the module-level code uses
    imports: set[str] = field(default_factory=set)  # project files this file imports


@dataclass
class Index:
    """Every unit of the project's code, by file."""

    files: dict[str, FileUnits]

    @functools.cached_property
    def hashes(self) -> Counter:
        """How many functions, anywhere, have each hash."""
        return Counter(h for f in self.files.values() for h in f.functions.values())

    def unit(self, rel: str, qualname: str) -> str:
        """The unit a code object `qualname` of file `rel` belongs to: a function or method, or
        the module (its body, a class body, a module-level lambda or comprehension)."""
        units = self.files.get(rel)
        if units is None:
            return MODULE
        parts = []
        for part in qualname.split("."):
            if part.startswith("<"):  # <locals>, <lambda>, <listcomp>, <module>, ...
                break
            parts.append(part)
        name = ".".join(parts)
        while name and name not in units.functions:
            if name in units.classes:
                return MODULE
            name = name.rpartition(".")[0]
        return name or MODULE


def project_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for d in CODE_DIRS
        for p in (root / d).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def index(root: Path) -> Index:
    """Parse the project's code under `root` (cached on each file's size and modification time)."""
    rels = project_files(root)
    stats = tuple((rel, (root / rel).stat().st_mtime_ns, (root / rel).stat().st_size) for rel in rels)
    return _index(str(root), stats)


@functools.lru_cache(maxsize=8)
def _index(root: str, stats: tuple) -> Index:
    rels = [rel for rel, _, _ in stats]
    trees = {rel: ast.parse(Path(root, rel).read_text(), rel) for rel in rels}
    modules = _module_names(rels)
    help_names = {
        name
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg in TEXT_KEYWORDS
        for name in _names_in(node.value)
    }
    return Index({rel: _units(tree, rel, modules, help_names) for rel, tree in trees.items()})


def units_of_source(source: str, rel: str = "atlas/example.py", root: Path | None = None) -> FileUnits:
    """The units of one file's source, as `index` would find them beside the project's modules."""
    from atlas import ROOT

    tree = ast.parse(source)
    modules = _module_names([rel, *project_files(root or ROOT)])
    help_names = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg in TEXT_KEYWORDS
        for name in _names_in(node.value)
    }
    return _units(tree, rel, modules, help_names)


def _module_names(rels: list[str]) -> dict[str, str]:
    """Dotted module name -> file, for the project's modules and packages."""
    out = {}
    for rel in rels:
        dotted = rel[:-3].replace("/", ".")
        if dotted.endswith(".__init__"):
            dotted = dotted[: -len(".__init__")]
        out[dotted] = rel
    for package in PACKAGES:
        out.setdefault(package, f"{package}/__init__.py")
    return out


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _is_project(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in PACKAGES


class _Normalize(ast.NodeTransformer):
    """Removes from a tree what cannot change a figure (see the module's docstring)."""

    def __init__(self, module_aliases: set[str], modules: dict[str, str]):
        self.module_aliases = module_aliases
        self.modules = modules

    def _body(self, node):
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node):
        node = self._body(node)
        node.name = ""
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        return self.generic_visit(self._body(node))

    def visit_Call(self, node):
        node.keywords = [k for k in node.keywords if k.arg not in TEXT_KEYWORDS]
        return self.generic_visit(node)

    def visit_Raise(self, node):
        if isinstance(node.exc, ast.Call):
            node.exc = node.exc.func
        node.cause = None
        return self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.module_aliases:
            return ast.Name(id=node.attr, ctx=node.ctx)
        return self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level or _is_project(module):
            kept = [
                a
                for a in node.names
                if f"{module}.{a.name}" not in self.modules and a.name not in self.modules
            ]
            if not kept:
                return None
            return ast.ImportFrom(module="<project>", names=kept, level=0)
        return node

    def visit_Import(self, node):
        kept = [a for a in node.names if not _is_project(a.name)]
        if not kept:
            return None
        node.names = kept
        return node


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=True, include_attributes=False)


def _units(tree: ast.Module, rel: str, modules: dict[str, str], help_names: set[str]) -> FileUnits:
    out = FileUnits()
    aliases: set[str] = set()
    for node in ast.walk(tree):  # names that stand for a project module in this file
        if isinstance(node, ast.ImportFrom) and (node.level or _is_project(node.module)):
            base = node.module or ""
            for a in node.names:
                full = f"{base}.{a.name}" if base else a.name
                if full in modules:
                    aliases.add(a.asname or a.name)
                    out.imports.add(modules[full])
                elif base in modules:
                    out.imports.add(modules[base])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in modules:
                    aliases.add(a.asname or a.name.split(".")[0])
                    out.imports.add(modules[a.name])
    normalize = _Normalize(aliases, modules)

    def function(node, prefix: str) -> None:
        name = prefix + node.name
        out.names[name] = _names_in(node)
        out.functions[name] = _sha(_dump(normalize.visit(copy.deepcopy(node))))

    def klass(node: ast.ClassDef, prefix: str) -> ast.ClassDef:
        """Registers the methods; returns the class without them (its own lines)."""
        name = prefix + node.name
        out.classes.add(name)
        own = []
        for child in node.body:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                own.append(klass(child, name + "."))
            else:
                own.append(child)
        return ast.ClassDef(
            name=node.name,
            bases=node.bases,
            keywords=node.keywords,
            body=own or [ast.Pass()],
            decorator_list=node.decorator_list,
        )

    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module's docstring
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function(node, "")
            continue
        if isinstance(node, ast.ClassDef):
            node = klass(node, "")
        elif _only_help_text(node, help_names):
            continue
        out.module_names |= _names_in(node)
        kept = normalize.visit(ast.Module(body=[copy.deepcopy(node)], type_ignores=[]))
        if kept.body:
            out.statements.append(_sha(_dump(kept)))
    return out


def _only_help_text(node: ast.stmt, help_names: set[str]) -> bool:
    """`MODEL_HELP = "a model directory ..."`: a constant used only as an argument's help."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return False
    target = node.targets[0]
    return isinstance(target, ast.Name) and target.id in help_names and _is_text(node.value)


def _is_text(node: ast.expr) -> bool:
    """A string literal, or literals joined with +."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left) and _is_text(node.right)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


# --- what a run executed, as units -----------------------------------------------------------


def units_of_trace(idx: Index, ran: list[tuple[str, str]]) -> dict[str, dict]:
    """{file: {"functions": {qualname: hash}, "statements": [hashes]}} for the code objects a trace
    recorded (file, co_qualname)."""
    out: dict[str, dict] = {}
    for rel, qualname in ran:
        units = idx.files.get(rel)
        if units is None:
            continue
        entry = out.setdefault(rel, {"functions": {}, "statements": list(units.statements)})
        unit = idx.unit(rel, qualname)
        if unit != MODULE:
            entry["functions"][unit] = units.functions[unit]
    return {rel: {**e, "functions": dict(sorted(e["functions"].items()))} for rel, e in sorted(out.items())}


def static_closure(idx: Index, scripts: list[str]) -> dict[str, dict]:
    """The conservative fallback where no trace of a run exists: the scripts' whole code, and every
    function they can reach by name through the files they import, with the module-level
    statements of every file reached."""
    files: set[str] = set()
    todo = [s for s in scripts if s in idx.files]
    while todo:  # the files reachable by import
        rel = todo.pop()
        if rel not in files:
            files.add(rel)
            todo.extend(idx.files[rel].imports)
    by_name: dict[str, list[tuple[str, str]]] = {}
    for rel in files:
        for qualname in idx.files[rel].functions:
            by_name.setdefault(qualname.split(".")[0], []).append((rel, qualname))
            by_name.setdefault(qualname.split(".")[-1], []).append((rel, qualname))
    reached: set[tuple[str, str]] = set()
    names: set[str] = set()
    for rel in scripts:
        if rel in idx.files:
            reached |= {(rel, q) for q in idx.files[rel].functions}
    for rel in files:
        names |= idx.files[rel].module_names
    todo_names = list(names) + [n for rel, q in reached for n in idx.files[rel].names[q]]
    seen: set[str] = set()
    while todo_names:
        name = todo_names.pop()
        if name in seen:
            continue
        seen.add(name)
        for rel, qualname in by_name.get(name, ()):
            if (rel, qualname) not in reached:
                reached.add((rel, qualname))
                todo_names.extend(idx.files[rel].names[qualname])
    out = {
        rel: {"functions": {}, "statements": list(idx.files[rel].statements)} for rel in sorted(files)
    }
    for rel, qualname in sorted(reached):
        out[rel]["functions"][qualname] = idx.files[rel].functions[qualname]
    return out


def _statements_now(idx: Index, rel: str, recorded: list[str]) -> list[str]:
    """The module-level statements of a recorded file as they are now: the file's own, or, where
    the file is gone, those of a file that holds exactly the same statements (a moved module)."""
    if rel in idx.files:
        return idx.files[rel].statements
    want = Counter(recorded)
    moved = next((f for f in idx.files.values() if Counter(f.statements) == want), None)
    return moved.statements if moved else []


def changes(idx: Index, recorded: dict[str, dict]) -> list[str]:
    """What changed in the recorded units: a function whose hash is found nowhere now, or the
    module-level statements of the recorded files."""
    functions, files = changed_units(idx, recorded)
    found = []
    for rel, qualname in sorted(functions):
        now = idx.files.get(rel)
        state = "changed" if now and qualname in now.functions else "is gone"
        found.append(f"{rel}::{qualname} {state}")
    if files:
        found.append("module-level code of " + ", ".join(sorted(files)) + " changed")
    return found


def changed_units(idx: Index, recorded: dict[str, dict]) -> tuple[set[tuple[str, str]], set[str]]:
    """The recorded functions whose hash is found nowhere now ((file, qualname) as recorded), and
    the recorded files whose module-level statements changed. A statement moved between two files
    the run executed is not a change."""
    functions = {
        (rel, qualname)
        for rel, entry in recorded.items()
        for qualname, digest in entry["functions"].items()
        if digest not in idx.hashes
    }
    now = {rel: _statements_now(idx, rel, e["statements"]) for rel, e in recorded.items()}
    before = Counter(h for e in recorded.values() for h in e["statements"])
    after = Counter(h for statements in now.values() for h in statements)
    files = set()
    if before != after:
        files = {rel for rel, e in recorded.items() if Counter(e["statements"]) != Counter(now[rel])}
    return functions, files
