"""Provenance of the published figures: which command wrote each file in `docs/generated/`, from
which inputs, on which machine, and whether any of those inputs has changed since.

Every folder of `docs/generated/` holds a `provenance.json` with one *stamp* per producer (a snippet
or benchmark run with fixed arguments) that writes into it. A stamp records:

- `code`: the project code the run **executed**, as units (atlas.site.code_units: each function and
  method that ran, and the module-level statements of each file it ran), each with a hash of its
  syntax tree without docstrings, help texts or error messages; recorded by a trace of the run and
  of every Python process it started (tools/trace), or, for figures no traced run has made yet, by
  the scripts' static closure (`code from` says which);
- `inputs`: the arguments, the runtime lock, and every file and model folder the run opened
  (a model folder by the bytes of all its files), whether git keeps it or not;
- `artifacts`: the model folders the run wrote, so a run that reads one is checked against the run
  that made it, even where the folder is not kept (a fresh clone);
- `outputs`: the SHA-256 of every file the run wrote, so a hand edit shows;
- `settings`: the arguments as parsed, the thread count, how many Python processes ran;
- `made_on`: the CPU, its vector extensions, torch and Python versions, the commit and the date.

A figure is stale when a unit its run executed now hashes differently (a function moved to another
module keeps its hash; code the run never executed does not count), an input changed, or an output
was edited. The machine is recorded, not hashed: figures made on another CPU are not
stale, only different in their last float bits.

    problems = check()          # [] when every figure is current
    python tools/update_generated.py           # regenerate what is stale, and only that
"""

from __future__ import annotations

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
from atlas.site import code_units

STAMP = "provenance.json"
GENERATED = "docs/generated"
BASE_MODEL = "models/toy-base"
SHIPPED = (BASE_MODEL,)  # the model folders git keeps: a run that changes one is seen
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
    Producer(
        "kto",
        "kto",
        ("snippets/kto.py", "--model", "models/instruction-tuned"),
        runs=("snippets/instruction_tuning.py",),
        minutes=2,
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
        "learning_forgetting",
        "learning_forgetting",
        ("benchmarks/learning_forgetting.py",),
        runs=("snippets/single_task_finetuning.py", "snippets/instruction_tuning.py"),
        reads=("peft_sweep/summary.json",),
        minutes=20,
    ),
    Producer(
        "soft_prompt_budget",
        "soft_prompt_budget",
        ("benchmarks/soft_prompt_budget.py",),
        runs=("snippets/prompt_tuning.py", "snippets/prefix_tuning.py"),
        reads=("peft_sweep/sweep.json",),
        minutes=30,
    ),
    Producer(
        "lora_alpha",
        "lora_alpha",
        ("benchmarks/lora_alpha.py",),
        runs=("snippets/peft_finetuning.py",),
        minutes=35,
    ),
    Producer(
        "lora_targets",
        "lora_targets",
        ("benchmarks/lora_targets.py",),
        runs=("snippets/peft_finetuning.py",),
        minutes=12,
    ),
    Producer(
        "chat_loss_turns",
        "chat_loss_turns",
        ("benchmarks/chat_loss_turns.py",),
        runs=("snippets/chat_sft.py",),
        minutes=16,
    ),
    Producer(
        "new_knowledge.sft",
        "new_knowledge",
        ("snippets/new_knowledge.py", "--model", "models/instruction-tuned"),
        runs=("snippets/instruction_tuning.py",),
        minutes=1,
    ),
    Producer(
        "new_knowledge",
        "new_knowledge",
        ("benchmarks/new_knowledge.py",),
        runs=("snippets/new_knowledge.py",),
        minutes=30,
    ),
    Producer(
        "dpo_start",
        "dpo_start",
        ("benchmarks/dpo_start.py",),
        runs=("snippets/dpo.py",),
        reads=("dpo_grid/summary.json",),
        minutes=20,
    ),
    Producer(
        "cpt_rates",
        "cpt_rates",
        ("benchmarks/cpt_rates.py",),
        runs=("snippets/continued_pretraining.py",),
        minutes=19,  # on 2 AVX2 cores; about 7 with native bf16
    ),
    Producer(
        "cpt_old_text",
        "cpt_rates",
        ("benchmarks/cpt_old_text.py",),
        runs=("snippets/continued_pretraining.py",),
        reads=("cpt_rates/summary.json",),  # the page's mix at the same rates
        minutes=19,  # on 2 AVX2 cores; about 7 with native bf16
    ),
    Producer(
        "dpo_grid",
        "dpo_grid",
        ("benchmarks/dpo_grid.py",),
        runs=("snippets/instruction_tuning.py", "snippets/dpo.py"),
        minutes=45,
    ),
    # Computing and rendering apart: the runs (long) write runs.json; the tables script (seconds)
    # reads it, and the runs' script never names it, so a change to a table or a plot reruns the
    # tables step only.
    Producer(
        "preference_sources",
        "preference_sources",
        ("benchmarks/preference_sources.py",),
        runs=("snippets/instruction_tuning.py", "snippets/dpo.py", "snippets/kto.py"),
        minutes=25,
    ),
    Producer(
        "preference_sources.tables",
        "preference_sources",
        ("benchmarks/preference_sources_tables.py",),
        reads=("preference_sources/runs.json", "dpo_grid/runs.json"),
        minutes=0.1,
    ),
    Producer(
        "domain_requests",
        "domain_requests",
        ("benchmarks/domain_requests.py",),
        runs=("snippets/continued_pretraining.py", "snippets/instruction_tuning.py"),
        minutes=15,
    ),
    Producer(
        "domain_requests.tables",
        "domain_requests",
        ("benchmarks/domain_requests_tables.py",),
        reads=("domain_requests/runs.json", "stages/stages.json"),
        minutes=0.1,
    ),
    Producer(
        "held_out_form",
        "held_out_form",
        ("benchmarks/held_out_form.py",),
        runs=("snippets/instruction_tuning.py",),
        minutes=8,
    ),
    Producer(
        "held_out_form.tables",
        "held_out_form",
        ("benchmarks/held_out_form_tables.py",),
        reads=("held_out_form/runs.json",),
        minutes=0.1,
    ),
    Producer(
        "dpo_real_model",
        "dpo_real_model",
        ("snippets/dpo_real_model.py",),
        minutes=5,
    ),
    Producer(
        "real_dpo",
        "real_dpo",
        ("benchmarks/real_dpo.py",),
        runs=("snippets/dpo_real_model.py",),
        minutes=40,
    ),
    Producer(
        "real_dpo.tables",
        "real_dpo",
        ("benchmarks/real_dpo_tables.py",),
        reads=("real_dpo/runs.json",),
        minutes=0.1,
    ),
    Producer(
        "rate_selection",
        "rate_selection",
        ("benchmarks/rate_selection.py",),
        runs=(
            "snippets/single_task_finetuning.py",
            "snippets/instruction_tuning.py",
            "snippets/peft_finetuning.py",
            "snippets/prompt_tuning.py",
            "snippets/prefix_tuning.py",
        ),
        reads=("peft_sweep/sweep.json",),
        minutes=60,
    ),
    # The comparison table from the swept settings: reads the two sweeps' runs, trains nothing.
    Producer(
        "swept_table",
        "swept_table",
        ("benchmarks/swept_table.py",),
        reads=(
            "learning_forgetting/runs.json",
            "learning_forgetting/summary.json",
            "peft_sweep/sweep.json",
        ),
        minutes=0.1,
    ),
    Producer(
        "rate_selection.tables",
        "rate_selection",
        ("benchmarks/rate_selection_tables.py",),
        reads=("rate_selection/runs.json", "swept_table/summary.json"),
        minutes=0.1,
    ),
    Producer(
        "made_up_nouns",
        "made_up_nouns",
        ("benchmarks/made_up_nouns.py",),
        minutes=10,
    ),
    Producer(
        "made_up_nouns.tables",
        "made_up_nouns",
        ("benchmarks/made_up_nouns_tables.py",),
        reads=("made_up_nouns/runs.json",),
        minutes=0.1,
    ),
    Producer(
        "benchmark",
        "benchmark",
        ("benchmarks/run.py",),
        runs=tuple(f"snippets/{p.name}" for p in sorted((ROOT / "snippets").glob("*.py"))),
        minutes=14,
    ),
    Producer("toy_vs_real", "benchmark", ("benchmarks/toy_vs_real.py",), minutes=3),
    Producer(
        "real_lora_vs_full",
        "real_lora_vs_full",
        ("benchmarks/real_lora_vs_full.py",),
        runs=("snippets/lora_finetuning.py",),
        minutes=30,
    ),
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


LISTING = "/ (names)"  # an input key: the names of the files in a folder, not their bytes


def input_hash(root: Path, key: str) -> str | None:
    """The hash of an input as it is now (None if it is not there)."""
    if key.endswith(LISTING):
        folder = root / key[: -len(LISTING)]
        if not folder.is_dir():
            return None
        names = sorted(p.name for p in folder.iterdir() if p.name != STAMP)
        return _sha256("\n".join(names).encode())
    path = root / key
    return path_hash(path) if path.exists() else None


def path_hash(path: Path) -> str:
    """The bytes of a file, or of every file in a folder by relative name (a model folder; its
    `trainer/` checkpoints left out), cached on names, sizes and modification times."""
    if path.is_file():
        files = [(path.name, path)]
    else:
        files = [
            (str(p.relative_to(path)), p)
            for p in sorted(path.rglob("*"))
            if p.is_file() and "trainer" not in p.relative_to(path).parts
        ]
    return _hash_files(
        tuple((name, p.stat().st_mtime_ns, p.stat().st_size, str(p)) for name, p in files)
    )


@functools.lru_cache(maxsize=64)
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


ENVIRONMENT = "environment (" + ", ".join(LOCKS) + ", [tool.atlas])"


def input_key(rel: str) -> str | None:
    """What a file a run opened counts as: the model folder it lies in (`models/<name>`), or the
    file itself; None for what is not an input (code, the stamps, caches)."""
    parts = Path(rel).parts
    if not parts or parts[0] in (".venv", ".git", "site", "tests") or rel.endswith((".py", ".pyc")):
        return None
    if "__pycache__" in parts or Path(rel).name == STAMP or Path(rel).name.startswith(".atlas-"):
        return None
    if parts[0] in ("models", "data", "runs") and len(parts) == 1:
        return None  # a scratch folder itself (listed or made by the run), never an input whole
    if parts[0] in ("models", "data", "runs") and len(parts) > 2:  # a model or dataset folder
        name = parts[1]
        if name.startswith(".") and (".partial-" in name or ".old-" in name):
            name = name[1:].split(".partial-")[0].split(".old-")[0]  # atlas.training.save's
        return f"{parts[0]}/{name}"
    return rel


@dataclass
class Trace:
    """What a producer's run executed and opened, from the records of tools/trace (one file per
    Python process of the run)."""

    ran: list[tuple[str, str]]
    read: set[str]  # input keys (files, model folders) the run opened and did not write
    wrote: set[str]  # input keys it wrote (model folders: its artifacts)
    settings: dict

    @classmethod
    def load(cls, folder: Path, script: str) -> "Trace":
        ran: set[tuple[str, str]] = set()
        opened: dict[str, bool] = {}
        main, processes = None, 0
        listed: set[str] = set()
        for path in sorted(folder.glob("*.json")):
            record = json.loads(path.read_text())
            processes += 1
            listed |= set(record.get("listed", []))
            ran |= {tuple(x) for x in record["ran"]}
            for rel, writes in record["opened"]:
                opened[rel] = opened.get(rel, False) or writes
            argv = record.get("argv") or [""]
            if main is None and str(argv[0]).endswith(script):
                main = record
        wrote = {k for rel, w in opened.items() if w and (k := input_key(rel))}
        read = {k for rel, w in opened.items() if not w and (k := input_key(rel))} - wrote
        written_folders = {str(Path(rel).parent) for rel, w in opened.items() if w}
        read |= {  # a folder whose files the run listed (a glob): a new file there changes it
            folder + LISTING
            for folder in listed
            if folder not in written_folders and input_key(folder + "/x") is not None
        }
        main = main or {}
        parsed = main.get("settings") or [{}]  # the run's first parse is its own arguments
        settings = {
            "arguments as parsed": parsed[0].get("args", {}),
            "OMP_NUM_THREADS": main.get("threads"),
            "python processes": processes,
        }
        return cls(sorted(ran), read, wrote, settings)


def static_inputs(producer: Producer, root: Path = ROOT) -> set[str]:
    """Where no trace of a run exists: the inputs its declaration names (the figures it reads,
    config files), and the base model unless it writes it."""
    keys = set(producer.files)
    for pattern in producer.reads:
        for path in sorted(glob.glob(str(root / GENERATED / pattern))):
            if Path(path).name != STAMP:
                keys.add(str(Path(path).relative_to(root)))
    if BASE_MODEL not in producer.also_writes:
        keys.add(BASE_MODEL)
    for a, b in zip(producer.args, producer.args[1:]):
        if a == "--model" and b.startswith("models/"):
            keys.add(b)
    return keys


# --- the machine -------------------------------------------------------------------------------


# The environment that holds a CPU with AVX-512 to the kernels an AVX2 CPU runs: ATen's dispatch
# level, and the highest instruction set MKL and oneDNN may use. Under it a run on an AVX-512 CPU
# gives an AVX2 machine's float bytes (checked: reruns reproduce AVX2-made figures byte for byte),
# so that one kind of machine can rerun, and vouch for, the other's figures
# (tools/update_generated.py --as-avx2).
AS_AVX2 = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}
WIDER_THAN_AVX2 = ("amx_bf16", "avx512_bf16", "avx512f")


def held_to_avx2() -> bool:
    """Whether this process runs under AS_AVX2 (every one of its variables set as it says)."""
    return all(os.environ.get(k) == v for k, v in AS_AVX2.items())


def machine() -> dict:
    """The CPU and software a run is made on (recorded, never compared for staleness). A CPU with
    AVX-512 held to AVX2 (AS_AVX2) is recorded as AVX2, with the CPU's own set beside it."""
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
    isa = next((f for f in (*WIDER_THAN_AVX2, "avx2") if f in flags), "baseline")
    aten = torch.backends.cpu.get_cpu_capability()
    made_on = {
        "cpu": model.group(1).strip() if model else platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "isa": isa,
        "aten_capability": aten,
        "native_bf16": native_bf16(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if isa in WIDER_THAN_AVX2 and held_to_avx2() and aten == "AVX2":
        # the kernels are AVX2's, bfloat16 included (emulated, as on an AVX2 CPU)
        made_on.update(isa="avx2", native_bf16=False, cpu_isa=isa, held_by=dict(AS_AVX2))
    return made_on


def same_kind(a: dict, b: dict) -> bool:
    """Whether two machines give the same float bytes: same instruction set as the kernels use it
    (the CPU's, or AVX2 where a wider CPU is held to it), the same kernels chosen by ATen, and the
    same torch."""
    return all(a.get(k) == b.get(k) for k in ("isa", "aten_capability", "torch"))


ISA_WORDS = {
    "amx_bf16": "AMX",
    "avx512_bf16": "AVX-512 with BF16",
    "avx512f": "AVX-512",
    "avx2": "AVX2",
}


def describe_machine(made_on: dict) -> str:
    """'an AMD EPYC, 2 cores (AVX2, no native bfloat16)'; for a wider CPU held to AVX2: 'an AMD
    EPYC, 2 cores (AVX-512 with BF16 held to AVX2 kernels, no native bfloat16)'."""
    cpu = made_on.get("cpu") or "a CPU that was not recorded"
    bf16 = "native bfloat16" if made_on.get("native_bf16") else "no native bfloat16"
    isa = ISA_WORDS.get(made_on.get("isa", ""), made_on.get("isa", "?"))
    if made_on.get("cpu_isa"):
        isa = f"{ISA_WORDS.get(made_on['cpu_isa'], made_on['cpu_isa'])} held to {isa} kernels"
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
    trace: Trace | None = None,
    made_on: dict | None = None,
    note: str | None = None,
    evidence: list[dict] | None = None,
    previous: dict | None = None,
    elsewhere: bool = False,
    code: dict | None = None,
) -> dict:
    """Record that `producer` wrote `outputs`: from a `trace` of its run (the code it executed,
    the files and model folders it read, what it wrote), or, with none, from the static closure of
    its scripts and its declared inputs (`note` says why no run stands behind it).

    `code`: the units to record instead (an adopted stamp's, rehashed where they are now).
    `evidence`: for a stamp adopted without a rerun, the reruns that show the changed code leaves
    its figures as they are (see tools/update_generated.py); `previous` is then the stamp it
    replaces, whose machine and date the figures keep. `elsewhere`: the figures were made on a
    machine no developer has (a borrowed GPU machine, another CPU kind), said in the stamp."""
    idx = code_units.index(root)
    if trace is not None:
        code = code if code is not None else code_units.units_of_trace(idx, trace.ran)
        keys, artifacts = trace.read, trace.wrote
    else:
        if code is None:
            code = code_units.static_closure(idx, [producer.script, *producer.runs])
        keys, artifacts = static_inputs(producer, root), set(producer.also_writes)
    hashes = {k: input_hash(root, k) for k in sorted(keys)}
    stamp = {
        "command": producer.shell(),
        "code from": "a trace of the run" if trace is not None else "the scripts' static closure",
        "code": code,
        "inputs": {
            "arguments": " ".join(producer.args),
            ENVIRONMENT: _environment_hash(root),
            **{k: h for k, h in hashes.items() if h is not None},
        },
        "artifacts": {k: path_hash(root / k) for k in sorted(artifacts) if (root / k).exists()},
        "outputs": output_hashes(outputs, root),
        "made_on": made_on if made_on is not None else machine(),
        "made_at": {
            "commit": _git("rev-parse", "--short", "HEAD", root=root),
            "date": datetime.date.today().isoformat(),
        },
    }
    if trace is not None:
        stamp["settings"] = trace.settings
    if previous is not None:  # adopted: the figures are those of the earlier run
        stamp["made_at"] = previous["made_at"]
        for key in ("settings", "note"):
            if key in previous:
                stamp[key] = previous[key]
    if evidence is not None:
        stamp["adopted with evidence"] = evidence
    if elsewhere or (previous or {}).get("made on a machine no developer has"):
        stamp["made on a machine no developer has"] = True
    if note:  # no run and no evidence: a run made on a machine no developer has, or older figures
        stamp["note"] = note
        stamp["made_at"] = {**stamp["made_at"], "stamped without a run": True}
    return save_stamp(producer, stamp, root)


def save_stamp(producer: Producer, stamp: dict, root: Path = ROOT) -> dict:
    """Write `stamp` as `producer`'s in its folder's provenance.json (the others kept, sorted)."""
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


def artifacts(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Model folders the stamped runs wrote: folder -> (producer, hash)."""
    out = {}
    for producer in PRODUCERS:
        stamp = read_stamps(producer.folder, root).get(producer.name, {})
        for key, digest in stamp.get("artifacts", {}).items():
            out[key] = (producer.name, digest)
    return out


def stale_reasons(producer: Producer, stamp: dict, root: Path = ROOT, made=None) -> list[str]:
    """Why a stamp no longer vouches for its figures ([] while it does)."""
    if "code" not in stamp:
        return ["its stamp predates stamps that record the code a run executed"]
    reasons = code_units.changes(code_units.index(root), stamp["code"])
    recorded = stamp["inputs"]
    if recorded.get("arguments") != " ".join(producer.args):
        reasons.append("its arguments changed")
    if recorded.get(ENVIRONMENT) != _environment_hash(root):
        reasons.append(f"{ENVIRONMENT} changed")
    made = artifacts(root) if made is None else made
    for key, digest in recorded.items():
        if key in ("arguments", ENVIRONMENT):
            continue
        now = input_hash(root, key)
        if key in made and made[key][1] != digest:  # checked even where the folder is not kept
            reasons.append(f"the run read a {key} that {made[key][0]}'s stamped run did not make")
        elif now is not None:
            if now != digest:
                maker = made.get(key, ("",))[0]
                reasons.append(
                    f"{key} changed since the run read it"
                    + (f" (made by {maker}: rerun it, then this)" if maker else "")
                )
        elif key not in made and not any(
            a == key or a.startswith(key + "/") for a in stamp.get("artifacts", {})
        ):  # a folder the run itself wrote into (data/ on a clean clone) is not an input lost
            reasons.append(f"input {key} is gone")
    for rel, digest in stamp["outputs"].items():
        path = root / rel
        if not path.is_file():
            reasons.append(f"output {rel} is missing")
        elif file_hash(path) != digest:
            reasons.append(f"{rel} differs from what the run wrote (edited by hand?)")
    for key in SHIPPED:
        if key in stamp.get("artifacts", {}) and path_hash(root / key) != stamp["artifacts"][key]:
            reasons.append(f"{key} differs from what the run wrote")
    return reasons


def check(root: Path = ROOT) -> list[Problem]:
    """Every published figure whose inputs changed since it was written, whose bytes differ from
    what its producer wrote, or that no producer claims."""
    problems: list[Problem] = []
    owned: set[str] = set()
    made = artifacts(root)
    for producer in PRODUCERS:
        stamp = read_stamps(producer.folder, root).get(producer.name)
        if stamp is None:
            problems.append(
                Problem(producer.name, [f"no stamp in {GENERATED}/{producer.folder}/{STAMP}"])
            )
            continue
        owned |= set(stamp["outputs"])
        reasons = stale_reasons(producer, stamp, root, made)
        if reasons:
            problems.append(Problem(producer.name, reasons))
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
                    "or add its producer to atlas.site.provenance.PRODUCERS"
                ],
            )
        )
    return problems
