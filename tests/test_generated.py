"""The published figures are current: every file in docs/generated was written by a stamped run of
the code as it is now (atlas/site/provenance.py). Fast (no training), and the same on any CPU: the
machine is recorded in the stamps, never compared here.

When this fails it names the producer, what changed, and the command that regenerates it:
`python tools/update_generated.py` regenerates every stale folder, and only those.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atlas.site import code_units, provenance
from conftest import ROOT, load_script


def test_every_published_figure_is_current():
    start = time.perf_counter()
    problems = provenance.check()
    assert not problems, "stale or unstamped figures:\n" + "\n".join(str(p) for p in problems)
    assert time.perf_counter() - start < 10


def test_every_generated_folder_has_a_producer():
    folders = {p.name for p in (ROOT / provenance.GENERATED).iterdir() if p.is_dir()}
    assert folders == {p.folder for p in provenance.PRODUCERS}


def test_every_snippet_that_writes_figures_has_a_producer():
    """A snippet with a `--results-dir` publishes figures: its default run must be stamped."""
    scripts = {p.script for p in provenance.PRODUCERS}
    publishing = {
        f"snippets/{p.name}"
        for p in (ROOT / "snippets").glob("*.py")
        if "--results-dir" in p.read_text()
    }
    assert publishing <= scripts, publishing - scripts


def test_stamps_say_what_made_them():
    for producer in provenance.PRODUCERS:
        stamp = provenance.read_stamp(producer.folder, producer.name)
        assert stamp["command"] == producer.shell()
        assert stamp["outputs"], producer.name
        assert {"cpu", "isa", "native_bf16", "torch"} <= set(stamp["made_on"]) or "note" in stamp, (
            producer.name
        )


def _units(source: str):
    return code_units.units_of_source(source)


def test_a_hash_leaves_out_docstrings_comments_help_texts_and_error_messages():
    code = (
        "def f(p, x):\n"
        '    """Doc."""\n'
        '    p.add_argument("--n", type=int, default=1, help="how many")\n'
        "    if x < 0:\n"
        '        raise InputError(f"{x} is negative")  # say so\n'
        "    return x + 1\n"
    )
    same = (
        "def f(p, x):\n"
        "    # a comment\n"
        '    p.add_argument("--n", type=int, default=1, help="how many items, at least one")\n'
        "    if x < 0:\n"
        '        raise InputError("give a number >= 0")\n'
        "    return (x +\n"
        "            1)\n"
    )
    assert _units(code).functions == _units(same).functions
    for change in (("default=1", "default=2"), ("x + 1", "x + 2"), ("InputError", "ValueError")):
        assert _units(code).functions != _units(code.replace(*change)).functions, change


def _project(files: dict[str, str]) -> code_units.Index:
    return code_units._index_trees({rel: ast.parse(text) for rel, text in files.items()})


def test_a_call_hashes_as_the_function_it_calls_wherever_it_lives():
    words = "def words(n):\n    return n + 1\n"
    here = _project(
        {
            "atlas/world.py": words,
            "atlas/caller.py": "from atlas import world\n\ndef f():\n    return world.words(3)\n",
        }
    )
    moved = _project(
        {
            "atlas/world.py": "",
            "atlas/toy/data.py": words,
            "atlas/caller.py": (
                "from atlas.toy.data import words\n\ndef f():\n    return words(3)\n"
            ),
        }
    )
    edited = _project(
        {
            "atlas/world.py": words.replace("n + 1", "n + 2"),
            "atlas/caller.py": "from atlas import world\n\ndef f():\n    return world.words(3)\n",
        }
    )
    other = _project(
        {
            "atlas/world.py": words,
            "atlas/english.py": words.replace("n + 1", "n * 2"),
            "atlas/caller.py": (
                "from atlas import english\n\ndef f():\n    return english.words(3)\n"
            ),
        }
    )
    f = {
        name: idx.files["atlas/caller.py"].functions["f"]
        for name, idx in locals().items()
        if isinstance(idx, code_units.Index)
    }
    assert f["here"] == f["moved"]  # moved into a sub-package, imported another way: the same
    assert f["here"] != f["edited"]  # the function it calls changed
    assert f["here"] != f["other"]  # it calls another function of the same name
    # its own text is the same in all four: the change is in what it calls
    own = {idx.files["atlas/caller.py"].own_functions["f"] for idx in (here, edited)}
    assert len(own) == 1


def test_a_constant_used_only_as_help_text_is_not_code():
    code = (
        'MODEL_HELP = "a model folder"\nSEP = " | "\nN = 3\n\n'
        "def f(p):\n"
        '    p.add_argument("--m", help=MODEL_HELP + SEP)\n'
        "    return SEP.join(['a', 'b'])\n"
    )
    reworded = code.replace("a model folder", "a model folder or a Hub id")
    assert _units(code).statements == _units(reworded).statements
    assert len(_units(code).statements) == 2  # SEP is used in code too, N is code
    assert _units(code).statements != _units(code.replace("N = 3", "N = 4")).statements
    assert _units(code).statements != _units(code.replace('" | "', '" / "')).statements


def test_text_keywords_count_outside_argparse():
    code = "def f(t):\n    return t.write(rows, description='kept')\n"
    assert _units(code).functions != _units(code.replace("kept", "other")).functions


def test_statement_order_counts():
    code = "import random\nrandom.seed(0)\nX = random.random()\n"
    swapped = "import random\nX = random.random()\nrandom.seed(0)\n"
    assert _units(code).statements != _units(swapped).statements


def test_a_trace_maps_code_objects_to_units():
    idx = code_units.index(ROOT)
    unit = idx.unit
    assert unit("atlas/toy/world.py", "words") == "words"
    assert unit("atlas/toy/world.py", "words.<locals>.<genexpr>") == "words"
    assert (
        unit("atlas/evaluation.py", "EvalResult.by_task.<locals>.<dictcomp>")
        == "EvalResult.by_task"
    )
    assert unit("atlas/evaluation.py", "EvalResult") == code_units.MODULE  # the class body
    assert unit("atlas/toy/world.py", "<lambda>") == code_units.MODULE
    assert unit("atlas/toy/world.py", "<module>") == code_units.MODULE


def test_no_stamp_holds_a_whole_scratch_folder_as_an_input():
    """`data/`, `runs/` and `models/` are filled differently on every machine (a clean clone's tests
    write `data/` before the staleness check runs): a stamp may hold a model or dataset folder
    inside them, never one of them whole."""
    for producer in provenance.PRODUCERS:
        for stamp in provenance.read_stamps(producer.folder).values():
            inputs = set(stamp.get("inputs", {}))
            assert not inputs & {"data", "runs", "models"}, (producer.name, inputs)
            # a build's package metadata (pip's in-tree egg-info), read by importlib.metadata,
            # is in no clean clone
            assert not [i for i in inputs if ".egg-info" in i], (producer.name, inputs)


def test_a_run_under_the_trace_records_its_code_its_children_and_what_it_read(tmp_path):
    """The trace covers every Python process a run starts, the model folders it opens (through
    their config.json) and the arguments as parsed; a folder opened as a whole (as `datasets` and
    `shutil.rmtree` do) is not an input: on a clean clone earlier runs fill `data/` differently."""
    trace_dir = tmp_path / "trace"
    trace_dir.mkdir()
    results = tmp_path / "results"
    child = (
        "import subprocess, sys; subprocess.run([sys.executable, 'snippets/toy_world.py', "
        f"'--results-dir', {str(results)!r}], check=True); "
        "from atlas import models; models.resolve('models/toy-base'); "
        "open('models/toy-base/config.json').read(); "
        "import os; os.close(os.open('models', os.O_RDONLY))"
    )
    env = {
        **os.environ,
        "ATLAS_TRACE_DIR": str(trace_dir),
        "PYTHONPATH": str(ROOT / "tools" / "trace"),
    }
    subprocess.run([sys.executable, "-c", child], cwd=ROOT, env=env, check=True, timeout=120)
    trace = provenance.Trace.load(trace_dir, "snippets/toy_world.py")
    assert trace.settings["python processes"] == 2
    assert ("snippets/toy_world.py", "<module>") in trace.ran
    assert ("atlas/models.py", "resolve") in trace.ran
    assert ("atlas/cli.py", "parse") in trace.ran
    assert trace.read == {"models/toy-base"} and not trace.wrote
    assert trace.settings["arguments as parsed"]["results_dir"] == str(results)


def test_producer_for_a_test_run_leaves_out_output_folders():
    p = provenance.producer_for_run(
        "snippets/instruction_tuning.py",
        ["--inputs", "none", "--results-dir", "/tmp/r", "--output-dir", "/tmp/m"],
    )
    assert p is provenance.BY_NAME["instruction_tuning.none"]
    assert (
        provenance.producer_for_run("snippets/instruction_tuning.py", ["--max-steps", "1"]) is None
    )


@pytest.fixture
def copy(tmp_path):
    """The parts of the repository that decide the figures, copied."""
    for rel in (
        "atlas",
        "snippets",
        "benchmarks",
        "tools",  # the playground's export script
        "configs",  # the multi-process benchmark's accelerate config
        "docs/generated",
        "models/toy-base",
        "requirements",
    ):
        shutil.copytree(
            ROOT / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__", "trainer")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert not provenance.check(tmp_path), "the copy should start current"
    return tmp_path


def _stale(root) -> set[str]:
    return {p.producer for p in provenance.check(root)}


def test_a_comment_or_a_docstring_does_not_make_figures_stale(copy):
    snippet = copy / "snippets" / "single_task_finetuning.py"
    snippet.write_text(
        snippet.read_text().replace('TASK = "spell"', 'TASK = "spell"  # a new comment', 1)
    )
    world = copy / "atlas" / "toy" / "world.py"
    world.write_text(
        world.read_text().replace('"""The toy world:', '"""The toy world (reworded):', 1)
    )
    assert not _stale(copy)


def test_a_code_change_in_a_snippet_makes_its_figures_stale(copy):
    snippet = copy / "snippets" / "single_task_finetuning.py"
    text = snippet.read_text()
    assert "default=1e-3" in text
    snippet.write_text(text.replace("default=1e-3", "default=2e-3", 1))
    assert _stale(copy) == RUNNING_SINGLE_TASK
    message = "\n".join(str(p) for p in provenance.check(copy))
    assert (
        "module-level code of snippets/single_task_finetuning.py changed" in message
        and "update_generated.py --only" in message
    )


# The producers whose stamps hold a static closure (figures older than traced stamps) that reaches
# snippets/single_task_finetuning.py: they run it in subprocesses.
STATIC_RUNNING_IT = {"seeds", "peft_sweep", "benchmark"}
# What single_task_finetuning.py's figures reach: both of its variants (the hybrid is --inputs
# instruction), the traced benchmark that runs it, and the static closures above.
RUNNING_SINGLE_TASK = {
    "single_task_finetuning",
    "hybrid_finetuning",
    "learning_forgetting",
    "rate_selection",
} | STATIC_RUNNING_IT


def test_help_texts_and_error_messages_in_cli_stale_nothing(copy):
    """The bar of issue 31: every producer imports atlas.cli; its words are not what a run
    computes (the message of a raised error included; a `parser.error(...)` call still counts)."""
    cli = copy / "atlas" / "cli.py"
    text = cli.read_text()
    edits = [
        ('MODEL_HELP = "a model directory', 'MODEL_HELP = "a model folder'),
        ('help="where the tables, figures and samples go', 'help="where the tables and plots go'),
        ('f"{value} is not a finite number"', 'f"{value} is infinite or not a number"'),
    ]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    cli.write_text(text)
    assert not _stale(copy)


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("preference_sources", '"row"'),
        ("domain_requests", '"model"'),
        ("rate_selection", '"method"'),
        ("made_up_nouns", '"asked, for example"'),
    ],
)
def test_editing_a_benchmark_s_tables_reruns_its_tables_step_only(copy, name, header):
    """how-this-site-works#provenance: a benchmark split into its runs and its tables script; an
    edit of how a table is drawn (a column header here) stales the seconds-long tables producer,
    not the runs."""
    tables = copy / "benchmarks" / f"{name}_tables.py"
    text = tables.read_text()
    assert header in text
    tables.write_text(text.replace(header, header[:-1] + ' (three seeds)"', 1))
    assert _stale(copy) == {f"{name}.tables"}


def _move_bare_prompt(copy) -> Path:
    """Move world.bare_prompt, unchanged, into atlas/toy/data.py, its callers told; the new file."""
    world, data = copy / "atlas" / "toy" / "world.py", copy / "atlas" / "toy" / "data.py"
    source = world.read_text()
    start = source.index("def bare_prompt(")
    end = source.index("\ndef ", start + 1)
    function = source[start:end]
    world.write_text(source[:start] + source[end:])
    data.write_text(data.read_text() + "\n\n" + function)
    for path in [*(copy / "atlas").rglob("*.py"), *(copy / "snippets").glob("*.py")]:
        text = path.read_text()
        if "world.bare_prompt" in text:
            text = text.replace("world.bare_prompt", "data.bare_prompt")
            if "from atlas.toy import data" not in text:  # a caller that needs the new module
                text = text.replace("from atlas", "from atlas.toy import data\nfrom atlas", 1)
            path.write_text(text)
    assert "def bare_prompt" not in world.read_text()
    return data


def test_moving_a_function_to_another_module_stales_nothing(copy):
    _move_bare_prompt(copy)
    assert not _stale(copy)


def test_following_a_move_keeps_an_edit_of_the_moved_function_a_change(copy):
    """After a move, `--follow-moves` re-keys the stamps to where the code is now: a later edit of
    the moved function then reads as that function changed (which a quick rerun can vouch for),
    not as a unit that is gone (which blocks every adoption until the producers rerun)."""
    update = load_script("tools/update_generated.py")
    data = _move_bare_prompt(copy)
    producer = provenance.BY_NAME["single_task_finetuning"]
    stamp = provenance.read_stamps(producer.folder, copy)[producer.name]
    moves = update.follow_moves(stamp, code_units.index(copy))
    assert moves == {"atlas/toy/world.py::bare_prompt": "atlas/toy/data.py::bare_prompt"}
    assert "bare_prompt" in stamp["code"]["atlas/toy/data.py"]["functions"]
    assert "bare_prompt" not in stamp["code"]["atlas/toy/world.py"]["functions"]
    provenance.save_stamp(producer, stamp, copy)
    assert not _stale(copy)  # the same units, at their new address
    data.write_text(data.read_text().replace('    return f"{word}\\n"', "    return word + '\\n'"))
    reasons = provenance.stale_reasons(producer, stamp, copy)
    assert "atlas/toy/data.py::bare_prompt changed" in reasons, reasons


def test_following_moves_never_guesses():
    """A gone unit is re-keyed only where its new place is certain: the function of the same name
    among those with its hash, the file of the same name among those with its statements; where
    two are as good, or an empty file is all that matches, the stamp is left for its next run."""
    update = load_script("tools/update_generated.py")
    body = "def f(n):\n    return n + 1\n"

    def record(idx):
        digest = next(h for f in idx.files.values() for q, h in f.functions.items() if q == "f")
        return {"atlas/old.py": {"functions": {"f": digest}, "statements": []}}

    # f left atlas/old.py (which is still there) for another module
    one = _project(
        {"atlas/old.py": "", "atlas/toy/new.py": body, "benchmarks/b.py": body.replace("f(", "g(")}
    )
    assert update.unit_moves(one, record(one))["atlas/old.py::f"] == "atlas/toy/new.py::f"
    two = _project({"atlas/old.py": "", "atlas/toy/new.py": body, "benchmarks/b.py": body})
    with pytest.raises(code_units.Unplaceable):
        update.unit_moves(two, record(two))
    with pytest.raises(code_units.Unplaceable):  # and adopting a stamp would not guess either
        code_units.rehash(two, record(two))
    empty = _project({"atlas/toy/__init__.py": "", "atlas/site/__init__.py": ""})
    with pytest.raises(code_units.Unplaceable):  # a module without statements matches any such file
        update.unit_moves(empty, {"atlas/gone.py": {"functions": {}, "statements": []}})


def test_no_stamp_records_code_where_it_no_longer_is():
    """Every file and function a stamp's code record names is where the record says: after moving
    code, run `python tools/update_generated.py --follow-moves` (see the test above)."""
    idx = code_units.index(ROOT)
    elsewhere = set()
    for folder in (ROOT / "docs" / "generated").iterdir():
        if not (folder / provenance.STAMP).is_file():
            continue
        for name, stamp in provenance.read_stamps(folder.name).items():
            for rel, entry in stamp.get("code", {}).items():
                here = idx.files.get(rel)
                if here is None:
                    elsewhere.add(f"{name} records {rel}")
                    continue
                elsewhere |= {
                    f"{name} records {rel}::{q}"
                    for q in entry["functions"]
                    if q not in here.functions
                }
    assert not elsewhere, sorted(elsewhere)


def test_editing_a_function_stales_only_the_producers_that_ran_it(copy):
    """The bar of issue 31: a function a snippet calls, edited, stales that snippet's producer (and
    the static closures that reach it), not every producer."""
    evaluation = copy / "atlas" / "evaluation.py"
    text = evaluation.read_text()
    body = text[text.index("def shares_markdown(") :]
    assert '"%"' in body or "%" in body
    edited = body.replace('f"{percent(v)} %"', 'f"{percent(v)}%"', 1)
    assert edited != body
    evaluation.write_text(text.replace(body, edited))
    assert _stale(copy) == RUNNING_SINGLE_TASK


def test_editing_a_function_no_run_executed_stales_nothing(copy):
    """atlas/ci.py is imported by the speed benchmark (in its static closure), but only the tests
    call `on_real_model`: no run executed it, and no code a run executed calls it."""
    ci = copy / "atlas" / "ci.py"
    text = ci.read_text()
    old = 'def on_real_model(args: str) -> bool:\n    return "{smollm2}" in args'
    assert old in text
    ci.write_text(
        text.replace(old, 'def on_real_model(args: str) -> bool:\n    return "smollm2" in args')
    )
    assert not _stale(copy)


def test_a_changed_figure_stales_what_reads_it(copy):
    """A rerun that wrote a different figure stales the producers that read that figure: the
    comparison, and the snippet timings, whose run of the comparison snippet read it too."""
    rel = "docs/generated/single_task_finetuning/single_task.json"
    path = copy / rel
    path.write_text(path.read_text().replace('"n_examples"', '"n_examples" ', 1))
    stamps = provenance.read_stamps("single_task_finetuning", copy)
    stamps["single_task_finetuning"]["outputs"][rel] = provenance.file_hash(path)  # "its rerun"
    provenance.stamp_path("single_task_finetuning", copy).write_text(json.dumps(stamps))
    assert _stale(copy) == {"comparison", "benchmark"}


def test_a_model_folder_written_over_stales_what_read_it(copy):
    """models/instruction-tuned is not in git: DPO, KTO, the new-facts runs and the playground
    read it, and a run written over it (a four-step run, say) stales them all, in a fresh clone as
    here. The snippet timings do not: they start DPO, KTO and new facts from the model their own
    instruction-tuning run made."""
    folder = copy / "models" / "instruction-tuned"
    shutil.copytree(ROOT / "models" / "toy-base", folder)  # not the model instruction tuning made
    stale = provenance.check(copy)
    assert {p.producer for p in stale} == {
        "dpo",
        "kto",
        "new_knowledge",
        "new_knowledge.sft",
        "playground",
    }
    assert "models/instruction-tuned changed since the run read it" in str(stale[0])


def test_a_run_that_read_a_model_its_maker_did_not_make_is_stale(copy):
    """Stamped after `instruction_tuning.py --max-steps 4` wrote over the folder: the DPO figures
    then rest on a model no stamped run made, which shows even where the folder is not kept."""
    stamps = provenance.read_stamps("dpo", copy)
    stamps["dpo"]["inputs"]["models/instruction-tuned"] = "0" * 64
    provenance.stamp_path("dpo", copy).write_text(json.dumps(stamps))
    assert "instruction_tuning's stamped run did not make" in str(
        next(p for p in provenance.check(copy) if p.producer == "dpo")
    )


def test_quick_producers_are_stamped_from_a_traced_run():
    """The bar of issue 31: no producer of a few minutes is stamped without a run."""
    update = load_script("tools/update_generated.py")
    for producer in provenance.PRODUCERS:
        if producer.minutes > update.CHEAP_MINUTES:
            continue
        stamp = provenance.read_stamp(producer.folder, producer.name)
        assert stamp["code from"] == "a trace of the run", producer.name
        assert "stamped without a run" not in stamp["made_at"], producer.name
        assert "adopted with evidence" not in stamp, producer.name


def test_an_adopted_stamp_names_reruns_that_ran_its_changed_code():
    """Every stamp adopted with evidence lists reruns of quick producers, each traced, on the same
    kind of CPU, that reproduced its figures."""
    for producer in provenance.PRODUCERS:
        stamp = provenance.read_stamp(producer.folder, producer.name)
        for witness in stamp.get("adopted with evidence", []):
            rerun = provenance.BY_NAME[witness["rerun"]]
            theirs = provenance.read_stamp(rerun.folder, rerun.name)
            assert theirs["code from"] == "a trace of the run"
            assert theirs["made_at"]["reproduced the figures it replaced"] is True
            # figures made on another kind of machine are adopted by hand, and the stamp says so
            assert provenance.same_kind(theirs["made_on"], stamp["made_on"]) or stamp.get(
                "made on a machine no developer has"
            )
            assert witness["ran"], producer.name


def rerun_as_witness(copy, update, reproduced: bool) -> None:
    """single_task_finetuning's stamp as a rerun with the copy's code would write it."""
    stamps = provenance.read_stamps("single_task_finetuning", copy)
    previous = stamps["single_task_finetuning"]
    stamp = json.loads(json.dumps(previous))
    stamp["code"] = code_units.rehash(code_units.index(copy), previous["code"])
    stamp["made_at"]["reproduced the figures it replaced"] = reproduced
    stamp["figures also made by"] = (
        update.also_made_by(previous, stamp["code"]) if reproduced else {}
    )
    stamps["single_task_finetuning"] = stamp
    provenance.stamp_path("single_task_finetuning", copy).write_text(json.dumps(stamps))


def test_evidence_is_a_rerun_that_ran_the_changed_code_and_reproduced(copy):
    update = load_script("tools/update_generated.py")
    world = copy / "atlas" / "toy" / "world.py"
    text = world.read_text()
    old = '    return f"{word}\\n"'
    assert old in text
    world.write_text(text.replace(old, '    line = f"{word}\\n"\n    return line'))
    seeds = provenance.BY_NAME["seeds"]
    assert "seeds" in _stale(copy)
    assert update.evidence_for(seeds, copy) is None  # no quick producer ran the new code yet

    rerun_as_witness(copy, update, reproduced=True)
    evidence = update.evidence_for(seeds, copy)
    assert evidence and evidence[0]["rerun"] == "single_task_finetuning"
    assert evidence[0]["ran"] == ["atlas/toy/world.py::bare_prompt"]
    rerun_as_witness(copy, update, reproduced=False)  # its figures changed: no evidence
    assert update.evidence_for(seeds, copy) is None


def test_a_rerun_vouches_only_for_the_versions_that_made_the_same_figures(copy):
    """Two edits in a row: a rerun that reproduced the figures of the first edit says nothing of
    the code before it (the reviewer's case: rerun, figures change, rerun again)."""
    update = load_script("tools/update_generated.py")
    stamps = provenance.read_stamps("single_task_finetuning", copy)
    stamp = stamps["single_task_finetuning"]
    stamp["figures also made by"] = {}  # it reproduced only its own (new) figures
    provenance.stamp_path("single_task_finetuning", copy).write_text(json.dumps(stamps))
    world = copy / "atlas" / "toy" / "world.py"
    world.write_text(
        world.read_text().replace('    return f"{word}\\n"', "    return word + '\\n'")
    )
    assert update.evidence_for(provenance.BY_NAME["seeds"], copy) is None


def test_a_new_base_model_or_lock_makes_figures_stale(copy):
    config = copy / "models" / "toy-base" / "config.json"
    config.write_text(config.read_text().replace('"rms_norm_eps": 1e-06', '"rms_norm_eps": 1e-05'))
    stale = _stale(copy)
    assert "zero_shot_prompting" in stale and "instruction_tuning.tag" in stale
    assert "lora_finetuning" not in stale  # it does not load the toy model
    # pretraining wrote the checkpoint: for it, the new one is an output edited after the run
    assert "models/toy-base differs from what the run wrote" in str(
        next(p for p in provenance.check(copy) if p.producer == "pretraining")
    )
    lock = copy / "requirements" / "runtime.txt"
    lock.write_text(lock.read_text().replace("numpy==", "numpy==0.", 1))
    assert _stale(copy) >= {p.name for p in provenance.PRODUCERS}


def test_a_changed_config_file_makes_its_figures_stale(copy):
    config = copy / "configs" / "accelerate" / "cpu-2-processes.yaml"
    config.write_text(config.read_text().replace("num_processes: 2", "num_processes: 3"))
    assert _stale(copy) == {"multi_process"}


@pytest.mark.parametrize("producer", provenance.PRODUCERS, ids=lambda p: p.name)
def test_every_producer_script_runs_its_main(producer):
    """A script whose `main()` is never called exits 0 and writes nothing (benchmarks/seeds.py did,
    unnoticed, until the update tool refused a run that wrote nothing)."""
    tree = ast.parse((ROOT / producer.script).read_text())
    if not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
        return  # a script read top to bottom, like the snippets
    guards = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert guards and "main()" in ast.unparse(guards[-1]), producer.script


def test_a_hand_edit_or_a_stray_file_shows(copy):
    table = copy / "docs" / "generated" / "comparison" / "comparison.md"
    table.write_text(table.read_text().replace("|", "| ", 1))
    (copy / "docs" / "generated" / "comparison" / "extra.md").write_text("| a | b |\n")
    message = "\n".join(str(p) for p in provenance.check(copy))
    assert "comparison.md differs from what the run wrote" in message
    assert "extra.md written by no stamped run" in message


def test_stamps_are_valid_json_with_sorted_producers():
    for folder in {p.folder for p in provenance.PRODUCERS}:
        text = provenance.stamp_path(folder).read_text()
        assert list(json.loads(text)) == sorted(json.loads(text)), folder


def test_tolerance_across_cpu_kinds_scales_with_the_examples_behind_a_figure():
    import figures

    one_task = figures.tolerance(0.5, 40)
    mean_of_eleven = figures.tolerance(0.5, 440)
    assert (
        0.4 < one_task < 0.5
        and 0.1 < mean_of_eleven < 0.16
        and figures.tolerance(0.0, 40) == 1 / 40
    )
    summary = {
        "average": {"instruction": 0.5},
        "by_task": {t: {"instruction": 0.5} for t in "abcdefghijk"},
        "by_cluster": {"x": {"instruction": 0.5}},
        "n_examples": 440,
    }
    moved = json.loads(json.dumps(summary))
    moved["by_task"]["a"]["instruction"] = 0.7  # one task's cell: within what 40 examples allow
    assert not figures._compare(moved, summary, "f")
    moved["average"]["instruction"] = 0.7  # a mean over 440 examples: too far
    assert figures._compare(moved, summary, "f") == [
        "f.average.instruction: 0.7, committed 0.5 (n=440)"
    ]


def test_a_producer_does_not_claim_files_another_producer_stamped():
    """Two producers write into flan_curves/: files of one touched while the other runs (its
    tables re-rendered, say) stay the first one's."""
    update = load_script("tools/update_generated.py")
    own = ROOT / "docs/generated/flan_curves/levers.md"
    other = ROOT / "docs/generated/flan_curves/clusters.md"
    saved = {p: p.stat() for p in (own, other)}
    start = time.time() - 1
    try:
        for p in saved:
            os.utime(p)  # both written "during the run"
        written = {
            str(p.relative_to(ROOT))
            for p in update.outputs_since(provenance.BY_NAME["flan_levers"], start)
        }
    finally:
        for p, st in saved.items():
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert str(own.relative_to(ROOT)) in written
    assert str(other.relative_to(ROOT)) not in written


def test_a_rerun_reproduced_its_figures_when_every_old_one_came_back_byte_for_byte():
    update = load_script("tools/update_generated.py")
    before = {"d/x.json": "a", "d/x.md": "b", "d/x_timing.json": "t"}
    assert update.reproduced(before, dict(before))
    assert update.reproduced(before, {**before, "d/x_timing.json": "u"})  # wall clock aside
    assert update.reproduced(before, {**before, "d/x_curve.json": "c"})  # a new output
    assert not update.reproduced(before, {**before, "d/x.md": "changed"})
    assert not update.reproduced(before, {"d/x.json": "a", "d/x_timing.json": "t"})  # one missing


AVX2_MACHINE = {
    "cpu": "AMD EPYC",
    "cores": 2,
    "isa": "avx2",
    "aten_capability": "AVX2",
    "native_bf16": False,
    "torch": "2.13.0+cpu",
}


def test_a_wider_cpu_held_to_avx2_is_a_machine_of_the_avx2_kind():
    """Under provenance.AS_AVX2 (ATen, MKL and oneDNN held to AVX2) a CPU with AVX-512 records
    itself as AVX2, its own instruction set beside it, so its reruns can reproduce AVX2 figures."""
    code = (
        "import json; from atlas.site import provenance as p; m = p.machine(); "
        "print(json.dumps([m, p.describe_machine(m), p.held_to_avx2()]))"
    )
    env = {**os.environ, **provenance.AS_AVX2}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    made_on, words, held = json.loads(out.stdout)
    assert held and made_on["isa"] == "avx2" and made_on["aten_capability"] == "AVX2"
    assert provenance.same_kind(made_on, {**AVX2_MACHINE, "torch": made_on["torch"]})
    assert made_on["native_bf16"] is False  # its kernels emulate bfloat16, as an AVX2 CPU's do
    if made_on.get("cpu_isa"):  # a wider CPU: what it is stays on record, and on the pages
        assert made_on["cpu_isa"] in provenance.WIDER_THAN_AVX2
        assert made_on["held_by"] == provenance.AS_AVX2
        assert "held to AVX2 kernels" in words


def _wider_than_avx2() -> bool:
    import torch

    return torch.backends.cpu.get_cpu_capability() not in ("AVX2", "DEFAULT", "NO AVX")


@pytest.mark.skipif(not _wider_than_avx2(), reason="needs a CPU wider than AVX2 (AVX-512)")
def test_a_wider_cpu_trains_other_bytes_unless_held_to_avx2(tmp_path):
    """how-this-site-works#provenance: on an AVX-512 CPU a fine-tuning run's weights come out as
    other bytes than the same run held to AVX2 (why --as-avx2 exists); held twice, they are one."""
    args = ["--inputs", "instruction", "--max-steps", "4", "--eval-words", "1"]

    def weights(name: str, env: dict) -> bytes:
        out = tmp_path / name
        subprocess.run(
            [sys.executable, "snippets/single_task_finetuning.py", *args]
            + ["--results-dir", str(out / "results"), "--output-dir", str(out / "model")],
            cwd=ROOT,
            env={**os.environ, "OMP_NUM_THREADS": "1", **env},
            capture_output=True,
            check=True,
        )
        return (out / "model" / "model.safetensors").read_bytes()

    held = weights("held", provenance.AS_AVX2)
    assert held == weights("held_again", provenance.AS_AVX2)
    assert weights("native", {}) != held


def test_a_rerun_on_another_cpu_kind_is_refused_with_the_way_out():
    update = load_script("tools/update_generated.py")
    wider = {**AVX2_MACHINE, "isa": "avx512_bf16", "aten_capability": "AVX512", "native_bf16": True}
    assert update.kind_problem(None, wider) is None  # a first run replaces nothing
    assert update.kind_problem({"made_on": AVX2_MACHINE}, dict(AVX2_MACHINE)) is None
    problem = update.kind_problem({"made_on": AVX2_MACHINE}, wider)
    assert "--as-avx2" in problem and "--change-kind" in problem
    assert "AVX2" in problem and "AVX-512 with BF16" in problem
    # the other way round there is no holding back: only --change-kind
    problem = update.kind_problem({"made_on": wider}, dict(AVX2_MACHINE))
    assert "--change-kind" in problem and "--as-avx2" not in problem


def test_held_to_avx2_a_run_that_picks_bfloat16_by_the_cpu_flags_is_refused(monkeypatch):
    """atlas.training.native_bf16 reads /proc/cpuinfo, which AS_AVX2 does not change: pretraining
    would train in bfloat16 on AVX2 kernels, as no AVX2 machine does. It is refused before it
    runs."""
    update = load_script("tools/update_generated.py")
    producer = provenance.BY_NAME["pretraining"]
    stamp = provenance.read_stamp(producer.folder, producer.name)
    assert "native_bf16" in stamp["code"]["atlas/training.py"]["functions"]
    monkeypatch.setattr(provenance, "machine", lambda: stamp["made_on"])
    for name, value in provenance.AS_AVX2.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(update.subprocess, "run", lambda *a, **k: pytest.fail("it ran"))
    with pytest.raises(SystemExit, match="native_bf16"):
        update.regenerate(producer)
    assert update.asks_for_bf16({update.BF16_QUESTION}) and not update.asks_for_bf16(set())


def test_evidence_covers_a_change_the_record_sees_only_through_a_caller(copy):
    """A stamp adopted after a function gained a call keeps the units it had: lora_targets' record
    holds atlas.training.save but not the _refuse_diverged that save calls since. An edit of
    _refuse_diverged then shows only in save's hash with what it calls; a quick rerun that ran
    save with the new callee and reproduced figures made with the old one vouches for it."""
    update = load_script("tools/update_generated.py")
    name = "lora_targets"
    producer = provenance.BY_NAME[name]
    recorded = provenance.read_stamp(producer.folder, name, copy)["code"]["atlas/training.py"]
    assert "save" in recorded["functions"] and "_refuse_diverged" not in recorded["functions"], (
        "lora_targets was rerun since, and its record now holds _refuse_diverged: build this "
        "case on a stamp whose record lacks a callee, or write one"
    )
    training = copy / "atlas" / "training.py"
    text = training.read_text()
    old = "    broken = sum(int(not torch.isfinite(p).all()) for p in trained)\n"
    assert old in text
    training.write_text(
        text.replace(
            old, old.replace("broken =", "broken_tensors =") + ("    broken = broken_tensors\n")
        )
    )
    assert name in _stale(copy)
    assert update.evidence_for(producer, copy) is None  # no quick producer ran it yet

    rerun_as_witness(copy, update, reproduced=True)
    evidence = update.evidence_for(producer, copy)
    assert evidence and evidence[0]["rerun"] == "single_task_finetuning"
    assert evidence[0]["ran"] == ["atlas/training.py::save" + update.WITH_CALLS]
    rerun_as_witness(copy, update, reproduced=False)
    assert update.evidence_for(producer, copy) is None
