"""mkdocs-macros module: the numbers in the pages' prose, read from the files the snippets wrote.

A page never types a measured figure by hand. It renders it from `docs/generated/` (what a snippet
wrote), from `tests/claims.py` (the margins the tests assert), from `atlas.toy.world` (the toy
world's sizes), or from a constant or `# ci-args:` value in the code itself, so a regenerated figure
or a changed margin changes the sentence too:

    The full run took {{ fig("pretraining/training.json", "seconds") | minutes }} minutes.
    At least {{ claims.INSTRUCTION_TUNING["seen_at_least"] | pct }} % on seen tasks.
    {{ world.SEEN_TEMPLATE_IDS | length }} training templates.
    Made on {{ made_on("pretraining") }}.
    Blocks of {{ constant("snippets/pretraining.py", "BLOCK") }} characters.
    CI runs it for {{ ci_arg("pretraining", "--max-steps") }} steps.

A missing file or key fails the strict build (mkdocs.yml sets `on_error_fail` and `on_undefined`).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "generated"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _claims():
    """tests/claims.py, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("atlas_claims", ROOT / "tests" / "claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fig(path: str, *keys):
    """The value at `keys` in the JSON file `docs/generated/<path>`."""
    file = GENERATED / path
    if not file.is_file():
        raise FileNotFoundError(f"{file} does not exist: run the snippet that writes it ")
    value = json.loads(file.read_text())
    for i, key in enumerate(keys):
        if isinstance(value, list):
            key = int(key)
        elif key not in value:
            raise KeyError(
                f"{path}: no key {key!r} under {list(keys[:i])}; keys there: {list(value)[:12]}"
            )
        value = value[key]
    return value


def made_on(folder: str, producer: str | None = None) -> str:
    """The machine that wrote a generated folder's figures, in words, from its provenance stamp."""
    from atlas.site import provenance

    return provenance.describe_machine(provenance.read_stamp(folder, producer)["made_on"])


def made_on_all(*folders: str) -> str:
    """The machine(s) that wrote every stamp in these generated folders, in words ("X and Y" when
    they differ), for a sentence about figures that come from several runs."""
    from atlas.site import provenance

    found = []
    for folder in folders:
        stamps = provenance.read_stamps(folder)
        if not stamps:
            raise FileNotFoundError(f"{provenance.stamp_path(folder)} holds no stamp")
        for stamp in stamps.values():
            words = provenance.describe_machine(stamp["made_on"])
            if words not in found:
                found.append(words)
    return " and ".join(found)


def constant_baseline(cluster: str, n_words: int = 40) -> float:
    """What always giving each task of `cluster` its most frequent answer scores, as exact match, on
    the harness's evaluation words (the words every accuracy on the site is measured on): the
    trivial baseline beside a held-out cluster's accuracy (atlas.evaluation.trivial_baselines)."""
    from atlas.toy import world

    from atlas.evaluation import trivial_baselines

    world.check_cluster(cluster)
    constant = trivial_baselines(("instruction",), n_words)["constant answer"]
    return constant.by_cluster()[cluster]["instruction"]


def stamps() -> dict[str, list[str]]:
    """The producers of the published figures, grouped by what stands behind their stamps: a
    traced run, a traced run's code adopted with evidence, a static closure (figures older than
    traced stamps), a run on a machine no developer has."""
    from atlas.site import provenance

    groups: dict[str, list[str]] = {"traced": [], "evidence": [], "static": [], "elsewhere": []}
    for producer in provenance.PRODUCERS:
        stamp = provenance.read_stamp(producer.folder, producer.name)
        if stamp.get("made on a machine no developer has"):
            groups["elsewhere"].append(producer.name)
        elif "adopted with evidence" in stamp:
            groups["evidence"].append(producer.name)
        elif stamp.get("code from") == "a trace of the run":
            groups["traced"].append(producer.name)
        else:
            groups["static"].append(producer.name)
    return groups


def constant(path: str, name: str):
    """The literal a repository file gives `name`, read from its syntax tree: an assignment
    (`BLOCK, BATCH = 128, 32` gives BLOCK 128) or a keyword argument (`hidden_size=128`)."""
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = zip(target.elts, node.value.elts)
                else:
                    pairs = [(target, node.value)]
                for t, v in pairs:
                    if isinstance(t, ast.Name) and t.id == name:
                        return ast.literal_eval(v)
        elif isinstance(node, ast.keyword) and node.arg == name:
            return ast.literal_eval(node.value)
    raise KeyError(f"{path} gives no literal value to {name!r}")


def default(snippet: str, flag: str):
    """The default a snippet's `parser.add_argument(flag, ..., default=...)` gives, read from its
    syntax tree (a literal: what a reader's run without the flag uses)."""
    path = ROOT / "snippets" / f"{snippet}.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == flag
        ):
            for keyword in node.keywords:
                if keyword.arg == "default":
                    return ast.literal_eval(keyword.value)
    raise KeyError(f"snippets/{snippet}.py has no literal default for {flag}")


def base_config(key: str):
    """A field of the shipped base model's `config.json` (models/toy-base): its shape as saved."""
    return json.loads((ROOT / "models" / "toy-base" / "config.json").read_text())[key]


def ci_arg(snippet: str, flag: str, variant: int = 0) -> str:
    """The value of `flag` in a snippet's `# ci-args:` line (the smaller run the tests make)."""
    from atlas.ci import ci_variants

    lines = ci_variants(ROOT / "snippets" / f"{snippet}.py")
    args = shlex.split(lines[variant])
    if flag not in args:
        raise KeyError(
            f"snippets/{snippet}.py: no {flag} in ci-args line {variant}: {lines[variant]}"
        )
    return args[args.index(flag) + 1]


def differs(a: dict, b: dict) -> bool:
    """Whether two figures' seed ranges ({"min", "max"}, as the summaries hold them) do not overlap:
    the site's rule for a measured difference (atlas.site.protocol.differs)."""
    from atlas.site.protocol import differs as ranges_differ

    return ranges_differ([a["min"], a["max"]], [b["min"], b["max"]])


def pct(value: float, digits: int = 0) -> str:
    """A fraction as a percentage number, without the % sign: 0.781 -> '78'; the tables' own
    rounding (`atlas.tables.percent`: float noise removed, then half to even)."""
    from atlas.tables import percent

    return percent(value, digits)


def points(value: float) -> str:
    """A difference of fractions in percentage points, without a sign: -0.15 -> '15'."""
    from atlas.tables import percent

    return percent(abs(value))


def num(value: float, digits: int = 0) -> str:
    """A number with thousands separators: 1062784 -> '1,062,784'."""
    return f"{value:,.{digits}f}"


def minutes(seconds: float, digits: int = 1) -> str:
    """Seconds as minutes: 940.7 -> '15.7'."""
    return f"{seconds / 60:.{digits}f}"


def millions(value: float, digits: int = 1) -> str:
    """A count in millions: 14745600 -> '14.7'."""
    return f"{value / 1e6:.{digits}f}"


def mean_of(runs: list[dict], *keys: str) -> float:
    """The mean over seeds of one figure: `runs | mean_of("preference", "accuracy")` for
    [{"preference": {"accuracy": 0.8}}, ...] (a benchmark's per-seed records)."""
    values = []
    for run in runs:
        for key in keys:
            run = run[key]
        values.append(run)
    return sum(values) / len(values)


def colab(stem: str, text: str = "open it in Colab") -> str:
    """A link, reading `text`, that opens snippets/<stem>.py's committed notebook in Colab."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    from mkdocs_hooks import COMMITTED, colab_url

    if not (COMMITTED / f"{stem}.ipynb").is_file():
        raise FileNotFoundError(f"no committed notebook notebooks/{stem}.ipynb")
    return f"[{text}]({colab_url(stem)})"


def define_env(env):
    from atlas.toy import world

    env.variables["world"] = world
    # The clusters multi-task instruction tuning trains on: all but the held-out one.
    env.variables["seen_clusters"] = [c for c in world.CLUSTERS if c != world.HELD_OUT_CLUSTER]
    env.variables["claims"] = _claims()
    # The installed (pinned) versions of the libraries a page's behaviour depends on
    from importlib.metadata import version

    env.variables["versions"] = {
        name: version(name) for name in ("torch", "transformers", "peft", "trl")
    }
    env.macro(fig)
    env.macro(made_on)
    env.macro(made_on_all)
    env.macro(constant)
    env.macro(stamps)
    env.macro(constant_baseline)
    env.macro(ci_arg)
    env.macro(base_config)
    env.macro(default)
    env.macro(differs)
    env.macro(colab)
    for f in (pct, points, num, minutes, millions, mean_of):
        env.filter(f)
