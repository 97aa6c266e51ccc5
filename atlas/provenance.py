"""Provenance of the published figures: which command wrote each file in `docs/generated/`, from
which inputs, on which machine, and whether any of those inputs has changed since.

Every folder of `docs/generated/` holds a `provenance.json` with one *stamp* per producer (a snippet
or benchmark run with fixed arguments) that writes into it. A stamp records:

- `inputs`: a hash of everything that decides the figures — the code that runs (the script, the
  `atlas` modules it imports, and for a benchmark the snippets it runs), the arguments, the base
  checkpoint where the script loads it, the generated files it reads, and the runtime lock file;
- `outputs`: the SHA-256 of every file the run wrote, so a hand edit shows;
- `made_on`: the CPU, its vector extensions, torch and Python versions, the commit and the date.

Code is hashed as its syntax tree without docstrings, so a comment, a docstring or reformatting does
not make figures stale; a changed line of code does. The machine is recorded, not hashed: figures
made on another CPU are not stale, only different in their last float bits.

    problems = check()          # [] when every figure is current
    python tools/update_generated.py           # regenerate what is stale, and only that
"""

from __future__ import annotations

import ast
import datetime
import functools
import glob
import hashlib
import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from atlas import ROOT
from atlas.ci import FOLDER_FLAGS

STAMP = "provenance.json"
GENERATED = "docs/generated"
BASE_MODEL = "models/toy-base"
# The runtime lock (the packages that compute the figures); the docs and test tools have their own
# lock, which does not touch a figure. Packages installed without their dependencies are pinned in
# pyproject.toml's [tool.atlas] table and hashed with it.
LOCKS = ("requirements/runtime.txt",)
UPDATE_COMMAND = "python tools/update_generated.py"


@dataclass(frozen=True)
class Producer:
    """One command that writes published figures into `docs/generated/<folder>`."""

    name: str
    folder: str
    command: tuple[str, ...]  # a script under the repository root and its arguments
    runs: tuple[
        str, ...
    ] = ()  # scripts the command runs in subprocesses (their code is an input too)
    reads: tuple[str, ...] = ()  # globs, relative to docs/generated, of the figures it reads
    also_writes: tuple[str, ...] = ()  # outputs outside the folder (the base checkpoint)
    files: tuple[str, ...] = ()  # other files the command reads (configs), hashed by content
    minutes: float = 1.0  # roughly, on 2 cores: shown before a long update

    @property
    def script(self) -> str:
        return self.command[0]

    @property
    def args(self) -> tuple[str, ...]:
        return self.command[1:]

    def shell(self) -> str:
        return "python " + " ".join(self.command)


TOY_FINE_TUNING = (
    "snippets/single_task_finetuning.py",
    "snippets/instruction_tuning.py",
    "snippets/classification_head.py",
)

# In dependency order: a producer comes after those whose figures or checkpoint it reads.
PRODUCERS: tuple[Producer, ...] = (
    Producer(
        "pretraining",
        "pretraining",
        ("snippets/pretraining.py",),
        also_writes=(BASE_MODEL,),
        minutes=16,
    ),
    # The same default run where the CPU lacks bfloat16 (float32, into a temporary folder): its
    # time and the model it makes, beside the shipped run's figures
    Producer(
        "pretraining_float32",
        "pretraining_float32",
        ("benchmarks/pretraining_float32.py",),
        runs=("snippets/pretraining.py", "benchmarks/run.py"),  # and its peak measurement
        reads=("pretraining/training.json", "pretraining/base_model.json"),
        minutes=35,
    ),
    Producer("toy_world", "toy_world", ("snippets/toy_world.py",), minutes=0.1),
    Producer("toy_tokenizer", "toy_tokenizer", ("snippets/toy_tokenizer.py",), minutes=0.1),
    Producer("dataset_shapes", "dataset_shapes", ("snippets/dataset_shapes.py",), minutes=0.1),
    Producer(
        "zero_shot_prompting",
        "zero_shot_prompting",
        ("snippets/zero_shot_prompting.py",),
        minutes=0.3,
    ),
    Producer(
        "few_shot_prompting", "few_shot_prompting", ("snippets/few_shot_prompting.py",), minutes=0.5
    ),
    Producer(
        "single_task_finetuning",
        "single_task_finetuning",
        ("snippets/single_task_finetuning.py",),
        minutes=0.7,
    ),
    Producer(
        "classification_head",
        "classification_head",
        ("snippets/classification_head.py",),
        minutes=0.4,
    ),
    Producer(
        "hybrid_finetuning",
        "hybrid_finetuning",
        ("snippets/single_task_finetuning.py", "--inputs", "instruction"),
        minutes=1,
    ),
    Producer(
        "instruction_tuning", "instruction_tuning", ("snippets/instruction_tuning.py",), minutes=1.6
    ),
    Producer(
        "instruction_tuning.none",
        "instruction_tuning",
        ("snippets/instruction_tuning.py", "--inputs", "none"),
        minutes=1.6,
    ),
    Producer(
        "instruction_tuning.tag",
        "instruction_tuning",
        ("snippets/instruction_tuning.py", "--inputs", "tag"),
        minutes=1.6,
    ),
    Producer("peft_finetuning", "peft_finetuning", ("snippets/peft_finetuning.py",), minutes=0.7),
    Producer(
        "peft_finetuning.flan",
        "peft_finetuning",
        ("snippets/peft_finetuning.py", "--job", "flan"),
        minutes=1.3,
    ),
    Producer(
        "peft_finetuning.ia3",
        "peft_finetuning",
        ("snippets/peft_finetuning.py", "--method", "ia3"),
        minutes=0.7,
    ),
    Producer(
        "continued_pretraining",
        "continued_pretraining",
        ("snippets/continued_pretraining.py",),
        minutes=1,
    ),
    # DPO starts from the instruction-tuned model that the instruction_tuning producer saves (its
    # code is an input): run that producer, or `python snippets/instruction_tuning.py`, first
    Producer(
        "dpo",
        "dpo",
        ("snippets/dpo.py", "--model", "models/instruction-tuned"),
        runs=("snippets/instruction_tuning.py",),
        minutes=1,
    ),
    Producer("prompt_tuning", "prompt_tuning", ("snippets/prompt_tuning.py",), minutes=1),
    Producer("prefix_tuning", "prefix_tuning", ("snippets/prefix_tuning.py",), minutes=1),
    Producer(
        "comparison",
        "comparison",
        ("snippets/comparison.py",),
        reads=(
            "pretraining/base_model.json",
            "single_task_finetuning/single_task*.json",
            "classification_head/classification_head_*.json",
            "hybrid_finetuning/hybrid*.json",
            "instruction_tuning/*.json",
            "peft_finetuning/*.json",
            "prompt_tuning/*.json",
            "prefix_tuning/*.json",
            "continued_pretraining/continued*.json",
            "dpo/dpo_beta0.1*.json",
        ),
        minutes=0.1,
    ),
    Producer(
        "real_model_presentation",
        "real_model_presentation",
        ("snippets/real_model_presentation.py",),
        minutes=2.5,
    ),
    Producer("lora_finetuning", "lora_finetuning", ("snippets/lora_finetuning.py",), minutes=1.5),
    Producer(
        "lora_finetuning.chat",
        "lora_finetuning",
        ("snippets/lora_finetuning.py", "--inputs", "chat"),
        minutes=2.5,
    ),
    Producer("chat_sft", "chat_sft", ("snippets/chat_sft.py",), minutes=1),
    Producer("pitfalls", "pitfalls", ("snippets/pitfalls.py",), minutes=0.5),
    # The playground exports the checkpoints these snippets save (run them, or their producers,
    # first): their code is an input, like the base model's.
    Producer(
        "playground",
        "playground",
        ("tools/export_playground.py",),
        runs=(
            "snippets/single_task_finetuning.py",
            "snippets/instruction_tuning.py",
            "snippets/chat_sft.py",
        ),
        minutes=3,
    ),
    Producer("seeds", "seeds", ("benchmarks/seeds.py",), runs=TOY_FINE_TUNING, minutes=40),
    Producer(
        "chat_pitfalls",
        "chat_pitfalls",
        ("benchmarks/chat_pitfalls.py",),
        runs=("snippets/chat_sft.py", "snippets/instruction_tuning.py"),
        minutes=45,
    ),
    Producer(
        "peft_sweep",
        "peft_sweep",
        ("benchmarks/peft_sweep.py",),
        runs=(
            "snippets/peft_finetuning.py",
            "snippets/prompt_tuning.py",
            "snippets/prefix_tuning.py",
            "snippets/single_task_finetuning.py",
            "snippets/instruction_tuning.py",
        ),
        minutes=70,
    ),
    Producer(
        "stages",
        "stages",
        ("benchmarks/stages.py",),
        runs=(
            "snippets/continued_pretraining.py",
            "snippets/instruction_tuning.py",
            "snippets/dpo.py",
        ),
        minutes=25,
    ),
    Producer(
        "benchmark",
        "benchmark",
        ("benchmarks/run.py",),
        runs=tuple(f"snippets/{p.name}" for p in sorted((ROOT / "snippets").glob("*.py"))),
        minutes=14,
    ),
    Producer("toy_vs_real", "benchmark", ("benchmarks/toy_vs_real.py",), minutes=3),
    # FLAN's curves: the thread count is an argument because float sums (and so the fragile
    # held-out figures) move with it; --jobs only changes the wall time.
    Producer(
        "flan_clusters",
        "flan_curves",
        ("benchmarks/flan_curves.py", "clusters", "--jobs", "18", "--threads", "1"),
        runs=("snippets/instruction_tuning.py",),
        minutes=70,
    ),
    Producer(
        "flan_sizes",
        "flan_curves",
        ("benchmarks/flan_curves.py", "sizes", "--jobs", "10", "--threads", "2"),
        runs=("snippets/pretraining.py", "snippets/instruction_tuning.py"),
        reads=("pretraining/training.json", "pretraining/base_model.json"),
        minutes=240,
    ),
    Producer(
        "flan_levers",
        "flan_curves",
        ("benchmarks/flan_curves.py", "levers", "--jobs", "2", "--threads", "1"),
        runs=("snippets/instruction_tuning.py",),
        reads=("flan_curves/clusters.json",),
        minutes=30,
    ),
    Producer(
        "multi_process",
        "multi_process",
        ("benchmarks/multi_process.py",),
        runs=("snippets/classification_head.py",),
        files=("configs/accelerate/cpu-2-processes.yaml",),
        minutes=4,
    ),
    # Speed levers: trains the instruction-tuning job itself (atlas.jobs, atlas.training); it
    # imports the peak measurement from benchmarks/run.py, listed here so its code is an input too
    Producer(
        "speed_levers",
        "speed",
        ("benchmarks/speed_levers.py",),
        runs=("benchmarks/run.py",),
        reads=("seeds/seeds.json",),
        minutes=16,
    ),
)
BY_NAME = {p.name: p for p in PRODUCERS}


def producers_of(script: str) -> list[Producer]:
    return [p for p in PRODUCERS if p.script == script]


def producer_for_run(script: str, args: list[str]) -> Producer | None:
    """The producer whose published run a test run of `script` with `args` repeats: the same
    arguments once the output folders (`--results-dir`, `--output-dir`, `--data-dir`) are left
    out."""
    kept, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in FOLDER_FLAGS:
            skip = True
        else:
            kept.append(a)
    return next((p for p in producers_of(script) if list(p.args) == kept), None)


# --- hashing ----------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    return _sha256(path.read_bytes())


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=512)
def code_hash(source: str) -> str:
    """A hash of what the code does: its syntax tree without docstrings (comments and layout are
    not in the tree)."""
    tree = _strip_docstrings(ast.parse(source))
    return (
        "ast:"
        + _sha256(ast.dump(tree, annotate_fields=True, include_attributes=False).encode())[:32]
    )


def _atlas_imports(source: str) -> set[str]:
    """The `atlas` modules a file imports (as paths relative to the root), `atlas/__init__.py`
    included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "atlas":
                found.add("atlas/__init__.py")
                found.update(f"atlas/{a.name}.py" for a in node.names)
            elif node.module.startswith("atlas."):
                found.update({"atlas/__init__.py", node.module.replace(".", "/") + ".py"})
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "atlas" or a.name.startswith("atlas."):
                    found.update({"atlas/__init__.py", a.name.replace(".", "/") + ".py"})
    return found


def code_files(producer: Producer, root: Path = ROOT) -> list[str]:
    """The script, the scripts it runs, and every `atlas` module they import, directly or not."""
    todo = [producer.script, *producer.runs]
    seen: set[str] = set()
    while todo:
        rel = todo.pop()
        if rel in seen or not (root / rel).is_file():
            continue
        seen.add(rel)
        todo.extend(_atlas_imports((root / rel).read_text()))
    return sorted(seen)


def _base_model_hash(root: Path) -> str:
    return _hash_files(
        tuple(
            (p.name, p.stat().st_mtime_ns, p.stat().st_size, str(p))
            for p in sorted((root / BASE_MODEL).iterdir())
            if p.is_file()
        )
    )


@functools.lru_cache(maxsize=16)
def _hash_files(files: tuple) -> str:
    """A hash of named files' bytes (cached on their names, sizes and modification times)."""
    h = hashlib.sha256()
    for name, _, _, path in files:
        h.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()


def _environment_hash(root: Path) -> str:
    h = hashlib.sha256()
    for lock in LOCKS:
        h.update(_lock_body(root / lock).encode())
    pyproject = (root / "pyproject.toml").read_text()
    table = re.search(r"^\[tool\.atlas\]\n(.*?)(?=^\[|\Z)", pyproject, re.S | re.M)
    h.update((table.group(1) if table else "").encode())
    return h.hexdigest()


def _lock_body(path: Path) -> str:
    """A lock file without its comment lines (pip-compile's header names the command, not the
    packages)."""
    if not path.is_file():
        return ""
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )


def inputs(producer: Producer, root: Path = ROOT) -> dict[str, str]:
    """Everything that decides a producer's figures, each as a hash (or the arguments as text)."""
    files = code_files(producer, root)
    out = {rel: code_hash((root / rel).read_text()) for rel in files}
    out["arguments"] = " ".join(producer.args)
    sources = "".join(
        (root / rel).read_text() for rel in files if rel.startswith(("snippets/", "benchmarks/"))
    )
    if "BASE_MODEL_DIR" in sources and BASE_MODEL not in producer.also_writes:
        out[BASE_MODEL] = _base_model_hash(root)
    for rel in producer.files:
        out[rel] = file_hash(root / rel)
    for pattern in producer.reads:
        for path in sorted(glob.glob(str(root / GENERATED / pattern))):
            if Path(path).name == STAMP:  # a stamp is not a figure
                continue
            rel = str(Path(path).relative_to(root))
            out[rel] = file_hash(Path(path))
    out["environment (" + ", ".join(LOCKS) + ", [tool.atlas])"] = _environment_hash(root)
    return out


# --- the machine -------------------------------------------------------------------------------


def machine() -> dict:
    """The CPU and software a run is made on (recorded, never compared for staleness)."""
    import torch

    from atlas.training import native_bf16

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    flags = (
        set(re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.M).group(1).split())
        if "flags" in cpuinfo
        else set()
    )
    isa = next(
        (f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2") if f in flags), "baseline"
    )
    return {
        "cpu": model.group(1).strip() if model else platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "isa": isa,
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def same_kind(a: dict, b: dict) -> bool:
    """Whether two machines give the same float bytes: same instruction set as the CPU reports it,
    the same kernels chosen by ATen, and the same torch."""
    return all(a.get(k) == b.get(k) for k in ("isa", "aten_capability", "torch"))


def describe_machine(made_on: dict) -> str:
    """'an AMD EPYC, 2 cores (AVX2, no native bfloat16)'."""
    cpu = made_on.get("cpu") or "a CPU that was not recorded"
    bf16 = "native bfloat16" if made_on.get("native_bf16") else "no native bfloat16"
    isa = {
        "amx_bf16": "AMX",
        "avx512_bf16": "AVX-512 with BF16",
        "avx512f": "AVX-512",
        "avx2": "AVX2",
    }.get(made_on.get("isa", ""), made_on.get("isa", "?"))
    cores = f"{made_on['cores']} cores" if made_on.get("cores") else "cores not recorded"
    article = "" if cpu.startswith(("a ", "an ")) else "an " if cpu[:1].lower() in "aeiou" else "a "
    return f"{article}{cpu}, {cores} ({isa}, {bf16})"


def _git(*args: str, root: Path = ROOT) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


# --- stamps ------------------------------------------------------------------------------------


def stamp_path(folder: str, root: Path = ROOT) -> Path:
    return root / GENERATED / folder / STAMP


def read_stamps(folder: str, root: Path = ROOT) -> dict[str, dict]:
    path = stamp_path(folder, root)
    return json.loads(path.read_text()) if path.is_file() else {}


def read_stamp(folder: str, producer: str | None = None, root: Path = ROOT) -> dict:
    stamps = read_stamps(folder, root)
    name = producer or folder
    if name not in stamps:
        raise KeyError(
            f"{stamp_path(folder, root)} has no stamp for {name!r}; it has {list(stamps)}"
        )
    return stamps[name]


def output_hashes(paths: list[Path], root: Path = ROOT) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.name != STAMP and "trainer" not in f.relative_to(root).parts:
                out[str(f.relative_to(root))] = file_hash(f)
    return dict(sorted(out.items()))


def write_stamp(
    producer: Producer,
    outputs: list[Path],
    root: Path = ROOT,
    made_on: dict | None = None,
    note: str | None = None,
) -> dict:
    """Record that `producer`, run now from the current inputs, wrote `outputs`."""
    stamp = {
        "command": producer.shell(),
        "inputs": inputs(producer, root),
        "outputs": output_hashes(outputs, root),
        "made_on": made_on if made_on is not None else machine(),
        "made_at": {
            "commit": _git("rev-parse", "--short", "HEAD", root=root),
            "date": datetime.date.today().isoformat(),
        },
    }
    if note:  # stamped by `update_generated.py --adopt`: the outputs are older than this stamp
        stamp["note"] = note
        stamp["made_at"]["stamped without a run"] = True
    stamps = read_stamps(producer.folder, root)
    stamps[producer.name] = stamp
    path = stamp_path(producer.folder, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(stamps.items())), indent=1) + "\n")
    return stamp


# --- checking ----------------------------------------------------------------------------------


@dataclass
class Problem:
    producer: str
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        p = BY_NAME.get(self.producer)
        if p is None:
            return f"{self.producer}: " + "; ".join(self.reasons)
        fix = f"regenerate with `{UPDATE_COMMAND} --only {self.producer}`" + (
            f" (runs `{p.shell()}`, about {p.minutes:g} min)" if p else ""
        )
        return f"{self.producer}: " + "; ".join(self.reasons) + f" -> {fix}"


def check(root: Path = ROOT) -> list[Problem]:
    """Every published figure whose inputs changed since it was written, whose bytes differ from
    what its producer wrote, or that no producer claims."""
    problems: list[Problem] = []
    owned: set[str] = set()
    for producer in PRODUCERS:
        problem = Problem(producer.name)
        stamps = read_stamps(producer.folder, root)
        stamp = stamps.get(producer.name)
        if stamp is None:
            problem.reasons.append(f"no stamp in {GENERATED}/{producer.folder}/{STAMP}")
            problems.append(problem)
            continue
        now = inputs(producer, root)
        recorded = stamp["inputs"]
        for key in sorted(set(now) | set(recorded)):
            if key not in recorded:
                problem.reasons.append(f"new input {key}")
            elif key not in now:
                problem.reasons.append(f"input {key} is gone")
            elif now[key] != recorded[key]:
                problem.reasons.append(
                    f"{key} changed" if key != "arguments" else "its arguments changed"
                )
        for rel, digest in stamp["outputs"].items():
            owned.add(rel)
            path = root / rel
            if not path.is_file():
                problem.reasons.append(f"output {rel} is missing")
            elif file_hash(path) != digest:
                problem.reasons.append(f"{rel} differs from what the run wrote (edited by hand?)")
        if problem.reasons:
            problems.append(problem)
    strays = sorted(
        str(p.relative_to(root))
        for p in (root / GENERATED).rglob("*")
        if p.is_file() and p.name != STAMP and str(p.relative_to(root)) not in owned
    )
    if strays:
        problems.append(
            Problem(
                "(no producer)",
                [
                    f"{', '.join(strays)} written by no stamped run: delete it, "
                    "or add its producer to atlas.provenance.PRODUCERS"
                ],
            )
        )
    return problems
