"""The project's code as units a run can execute, each with a hash of what it does.

A *unit* is a module-level function (`words`), a method (`EvalResult.save`), or the module-level
statements of a file, in order (constants, a class's own lines, `if __name__ == "__main__": ...`).
Its hash is taken over its syntax tree after removing what cannot change a figure:

- docstrings, comments and layout (they are not in the tree);
- the texts of `help=`, `description=`, `metavar=` and `epilog=` in argparse calls, and module
  constants used only as such texts (`MODEL_HELP`);
- the messages of raised errors (`raise InputError(f"...")` hashes as `raise InputError`): a run
  that raises writes no figure (a call such as `parser.error(...)` still counts);
- a function's own name, and where the functions it calls live: a call of another project function
  (`world.words(...)`, or `words(...)` after `from atlas.toy.world import words`) hashes as the
  called function's own hash, so moving a function to another module changes no hash, while calling
  another function, or editing the one called, does; imports of project modules are left out.

A producer's stamp (atlas.site.provenance) records the units its run executed; the figures are
current while each recorded unit still hashes the same where it was, or, where it is gone, the same
hash is found elsewhere (it moved).
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
ARGPARSE_CALLS = {"add_argument", "ArgumentParser", "add_parser", "add_argument_group", "_Parser"}
MODULE = "<module>"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class FileUnits:
    functions: dict[str, str] = field(default_factory=dict)  # qualified name -> hash
    statements: list[str] = field(default_factory=list)  # module-level statements, in order
    # The same without the hashes of the functions they call: what changed in their own text
    own_functions: dict[str, str] = field(default_factory=dict)
    own_statements: list[str] = field(default_factory=list)
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
    def hashes(self) -> dict[str, tuple[str, str]]:
        """Where a function with each hash is now: hash -> (file, qualified name)."""
        return {h: (rel, q) for rel, f in self.files.items() for q, h in f.functions.items()}

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

    def now(self, rel: str, qualname: str, recorded: str) -> str | None:
        """The hash now of a recorded function: where it was, or, where it is gone from there, the
        recorded hash if a function elsewhere has it (it moved); None if it is gone."""
        units = self.files.get(rel)
        if units is not None and qualname in units.functions:
            return units.functions[qualname]
        return recorded if recorded in self.hashes else None


def project_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for d in CODE_DIRS
        for p in (root / d).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def _stats(root: Path) -> tuple:
    """Each project file with its modification time and size: the key the parses are cached on."""
    return tuple(
        (rel, (root / rel).stat().st_mtime_ns, (root / rel).stat().st_size)
        for rel in project_files(root)
    )


def index(root: Path) -> Index:
    """Parse the project's code under `root` (cached on each file's size and modification time)."""
    return _index(str(root), _stats(root))


@functools.lru_cache(maxsize=8)
def _parsed(root: str, stats: tuple) -> tuple:
    """The project's trees, read once for `_index` and `units_as_recorded`."""
    rels = [rel for rel, _, _ in stats]
    return _prepared({rel: ast.parse(Path(root, rel).read_text(), rel) for rel in rels})


@functools.lru_cache(maxsize=8)
def _index(root: str, stats: tuple) -> Index:
    return _index_prepared(*_parsed(root, stats))


def _prepared(trees: dict[str, ast.Module]) -> tuple:
    """The trees, their import tables, the help-only names, and each top-level function's own
    hash (what a call of it hashes as)."""
    modules = _module_names(list(trees))
    tables = {rel: _ImportTable(tree, modules) for rel, tree in trees.items()}
    local: dict[tuple[str, str], str] = {}  # (file, function) -> hash without resolved calls
    for rel, tree in trees.items():
        plain = _Normalize(tables[rel], rel, {})
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local[(rel, node.name)] = _sha(_dump(plain.visit(copy.deepcopy(node))))
    return trees, tables, _help_only_names(trees.values()), local


def _index_prepared(trees, tables, help_only, local) -> Index:
    return Index(
        {rel: _units(tree, rel, tables[rel], help_only, local) for rel, tree in trees.items()}
    )


def _index_trees(trees: dict[str, ast.Module]) -> Index:
    return _index_prepared(*_prepared(trees))


def units_as_recorded(root: Path, rel: str, recorded: dict[str, dict]) -> FileUnits:
    """The units of file `rel` hashed as if every function a stamp's record holds still had the
    own text it recorded: a unit whose recorded hash comes back changed only through callees the
    record holds (each of them shows its own change); one whose hash does not come back changed
    through a callee the record lacks."""
    trees, tables, help_only, local = _parsed(str(root), _stats(root))
    local = dict(local)
    for recorded_rel, entry in recorded.items():
        for qualname, digest in entry.get("own", {}).get("functions", {}).items():
            if "." not in qualname:  # calls resolve to top-level functions only
                local[(recorded_rel, qualname)] = digest
    return _units(trees[rel], rel, tables[rel], help_only, local)


def units_of_source(source: str, rel: str = "atlas/example.py") -> FileUnits:
    """The units of one file's source, on its own (calls into other files are not resolved)."""
    return _index_trees({rel: ast.parse(source)}).files[rel]


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


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _help_only_names(trees) -> set[str]:
    """Names every use of which (in the whole project) is as an argparse help text: the constants
    that hold only words for a reader."""
    in_help: Counter = Counter()
    used: Counter = Counter()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in ARGPARSE_CALLS:
                for k in node.keywords:
                    if k.arg in TEXT_KEYWORDS:
                        for n in ast.walk(k.value):
                            if isinstance(n, ast.Name):
                                in_help[n.id] += 1
                            elif isinstance(n, ast.Attribute):
                                in_help[n.attr] += 1
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used[node.id] += 1
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                used[node.attr] += 1
    return {name for name, n in in_help.items() if used[name] == n}


class _ImportTable:
    """How a file's names reach the project's modules and functions."""

    def __init__(self, tree: ast.Module, modules: dict[str, str]):
        self.modules = modules
        self.aliases: dict[str, str] = {}  # name -> file of a project module
        self.names: dict[str, tuple[str, str]] = {}  # name -> (file, attribute) imported
        self.imports: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or _is_project(node.module)):
                base = node.module or ""
                for a in node.names:
                    full = f"{base}.{a.name}" if base else a.name
                    if full in modules:
                        self.aliases[a.asname or a.name] = modules[full]
                        self.imports.add(modules[full])
                    elif base in modules:
                        self.names[a.asname or a.name] = (modules[base], a.name)
                        self.imports.add(modules[base])
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in modules:
                        if a.asname:
                            self.aliases[a.asname] = modules[a.name]
                        self.imports.add(modules[a.name])


class _Normalize(ast.NodeTransformer):
    """Removes from a tree what cannot change a figure (see the module's docstring), and replaces
    each call of a project function by that function's hash."""

    def __init__(self, table: _ImportTable, rel: str, local: dict[tuple[str, str], str]):
        self.table = table
        self.rel = rel
        self.local = local

    def _function(self, target: tuple[str, str]) -> ast.Name | None:
        digest = self.local.get(target)
        return ast.Name(id=f"<function {digest}>", ctx=ast.Load()) if digest else None

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
        if _call_name(node) in ARGPARSE_CALLS:
            node.keywords = [k for k in node.keywords if k.arg not in TEXT_KEYWORDS]
        return self.generic_visit(node)

    def visit_Raise(self, node):
        if isinstance(node.exc, ast.Call):
            node.exc = node.exc.func
        node.cause = None
        return self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.table.aliases:
            target = (self.table.aliases[node.value.id], node.attr)
            return self._function(target) or ast.Name(id=node.attr, ctx=node.ctx)
        return self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            target = self.table.names.get(node.id, (self.rel, node.id))
            return self._function(target) or node
        return node

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level or _is_project(module):
            modules = self.table.modules
            kept = [
                a
                for a in node.names
                if f"{module}.{a.name}" not in modules
                and a.name not in modules
                and not self._function(self.table.names.get(a.asname or a.name, ("", "")))
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


def _units(
    tree: ast.Module,
    rel: str,
    table: _ImportTable,
    help_only: set[str],
    local: dict[tuple[str, str], str],
) -> FileUnits:
    out = FileUnits(imports=set(table.imports))
    normalize = _Normalize(table, rel, local)
    own = _Normalize(table, rel, {})

    def function(node, prefix: str) -> None:
        name = prefix + node.name
        out.names[name] = _names_in(node)
        out.functions[name] = _sha(_dump(normalize.visit(copy.deepcopy(node))))
        out.own_functions[name] = _sha(_dump(own.visit(copy.deepcopy(node))))

    def klass(node: ast.ClassDef, prefix: str) -> ast.ClassDef:
        """Registers the methods; returns the class without them (its own lines)."""
        name = prefix + node.name
        out.classes.add(name)
        own = []
        for child in node.body:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if name + "." + child.name in out.functions:  # a property's setter
                    function(child, name + ".setter of ")
                else:
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
        elif _only_help_text(node, help_only):
            continue
        out.module_names |= _names_in(node)
        kept = normalize.visit(ast.Module(body=[copy.deepcopy(node)], type_ignores=[]))
        if kept.body:
            out.statements.append(_sha(_dump(kept)))
            plain = own.visit(ast.Module(body=[copy.deepcopy(node)], type_ignores=[]))
            out.own_statements.append(_sha(_dump(plain)))
    return out


def _only_help_text(node: ast.stmt, help_only: set[str]) -> bool:
    """`MODEL_HELP = "a model directory ..."`: a constant used only as an argument's help."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return False
    target = node.targets[0]
    return isinstance(target, ast.Name) and target.id in help_only and _is_text(node.value)


def _is_text(node: ast.expr) -> bool:
    """A string literal, or literals joined with +."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left) and _is_text(node.right)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


# --- what a run executed, as units -----------------------------------------------------------


def record(idx: Index, units: dict[str, set[str]]) -> dict[str, dict]:
    """What a stamp keeps of the units {file: {qualname, ...}}: for each file, the hashes of those
    functions and of its module-level statements, and the same without the hashes of what they
    call ("own"), which says whose own text changed."""
    out = {}
    for rel in sorted(units):
        f = idx.files[rel]
        names = sorted(units[rel])
        out[rel] = {
            "functions": {q: f.functions[q] for q in names},
            "statements": list(f.statements),
            "own": {
                "functions": {q: f.own_functions[q] for q in names},
                "statements": list(f.own_statements),
            },
        }
    return out


def units_of_trace(idx: Index, ran: list[tuple[str, str]]) -> dict[str, dict]:
    """The record (see `record`) of the code objects a trace saw run, (file, co_qualname)."""
    units: dict[str, set[str]] = {}
    for rel, qualname in ran:
        if rel in idx.files:
            unit = idx.unit(rel, qualname)
            units.setdefault(rel, set()).update([] if unit == MODULE else [unit])
    return record(idx, units)


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
    units: dict[str, set[str]] = {rel: set() for rel in files}
    for rel, qualname in reached:
        units[rel].add(qualname)
    return record(idx, units)


class Unplaceable(Exception):
    """A unit a stamp records is gone from its place, and several units now could be it."""


def moved_file(idx: Index, rel: str, statements: list[str]) -> str | None:
    """Where a module that is gone from `rel` is now: the one file of the same name with exactly
    its module-level statements, else the one file of any name with them (never by statements
    alone where it has none: every empty `__init__.py` would do); None where no file has them."""
    same = [r for r, f in idx.files.items() if f.statements == statements]
    named = [r for r in same if Path(r).name == Path(rel).name]
    found = named or (same if statements else [])
    if len(found) > 1:
        raise Unplaceable(f"{rel}: {len(found)} files hold its module-level statements now")
    return found[0] if found else None


def moved_function(
    idx: Index, rel: str, qualname: str, digest: str, moved_to: str | None = None
) -> tuple[str, str] | None:
    """Where a function gone from its place is now: the one function with its hash and its name
    (in the file its module moved to, where several), else the one function with its hash; None
    where no function has its hash (it changed, or is gone). Identical copies hash alike, so a
    hash alone can point at several."""
    same = [(r, q) for r, f in idx.files.items() for q, h in f.functions.items() if h == digest]
    named = [(r, q) for r, q in same if q == qualname]
    if len(named) > 1 and moved_to is not None:
        named = [(r, q) for r, q in named if r == moved_to]
    found = named or same
    if len(found) > 1:
        raise Unplaceable(f"{rel}::{qualname}: {len(found)} functions have its hash now")
    return found[0] if found else None


def rehash(idx: Index, recorded: dict[str, dict]) -> dict[str, dict]:
    """The recorded units as they are now, each where it is now (a moved function under its new
    file and name, a moved module's statements under its new file); a unit that is gone is left
    out (its callers changed and show that). Raises Unplaceable where a moved unit's new place
    is not certain."""
    units: dict[str, set[str]] = {}
    for rel, entry in recorded.items():
        place = rel if rel in idx.files else moved_file(idx, rel, entry["statements"])
        if place is not None:
            units.setdefault(place, set())
        here = idx.files.get(rel)
        for qualname, digest in entry["functions"].items():
            if here is not None and qualname in here.functions:
                units[rel].add(qualname)
            elif where := moved_function(idx, rel, qualname, digest, place):
                units.setdefault(where[0], set()).add(where[1])
    return record(idx, units)


def _statements_now(idx: Index, rel: str, recorded: list[str]) -> list[str]:
    """The module-level statements of a recorded file as they are now: the file's own, or, where
    the file is gone, those of a file that holds exactly the same statements (a moved module)."""
    if rel in idx.files:
        return idx.files[rel].statements
    moved = next((f for f in idx.files.values() if f.statements == recorded), None)
    return moved.statements if moved else []


def changed_units(
    idx: Index, recorded: dict[str, dict]
) -> tuple[dict[tuple[str, str], str | None], set[str]]:
    """The recorded functions that changed, each with its hash now (None where it is gone), and the
    recorded files whose module-level statements changed (in content or order)."""
    functions = {}
    for rel, entry in recorded.items():
        for qualname, digest in entry["functions"].items():
            now = idx.now(rel, qualname, digest)
            if now != digest:
                functions[(rel, qualname)] = now
    files = {
        rel
        for rel, e in recorded.items()
        if _statements_now(idx, rel, e["statements"]) != e["statements"]
    }
    return functions, files


def changes(idx: Index, recorded: dict[str, dict]) -> list[str]:
    """What changed in the recorded units, in words ([] when nothing did)."""
    functions, files = changed_units(idx, recorded)
    found = [
        f"{rel}::{qualname} {'changed' if now else 'is gone'}"
        for (rel, qualname), now in sorted(functions.items())
    ]
    if files:
        found.append("module-level code of " + ", ".join(sorted(files)) + " changed")
    return found


def own_changes(
    idx: Index, recorded: dict[str, dict]
) -> tuple[dict[tuple[str, str], str | None], set[str]]:
    """The recorded units whose own text changed (not only what they call): functions, each with
    its own hash now (None where it is gone), and files whose module-level statements changed in
    their own text. A change that reaches a unit only through a function it calls shows in that
    function, which is recorded too where it ran."""
    functions, files = changed_units(idx, recorded)
    own_functions = {}
    for (rel, qualname), now in functions.items():
        own = recorded[rel].get("own", {}).get("functions", {}).get(qualname)
        if now is None:
            own_functions[(rel, qualname)] = None
            continue
        where = (rel, qualname)
        if rel not in idx.files or qualname not in idx.files[rel].functions:
            # moved: the one function with its hash and name (raises Unplaceable where several)
            where = moved_function(idx, rel, qualname, now) or where
        own_now = idx.files[where[0]].own_functions[where[1]]
        if own != own_now:
            own_functions[where] = own_now
    own_files = set()
    for rel in files:
        before = recorded[rel].get("own", {}).get("statements")
        now = idx.files[rel].own_statements if rel in idx.files else None
        if before != now:
            own_files.add(rel)
    return own_functions, own_files
