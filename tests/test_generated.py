"""The published figures are current: every file in docs/generated was written by a stamped run of
the code as it is now (atlas/provenance.py). Fast (no training), and the same on any CPU: the
machine is recorded in the stamps, never compared here.

When this fails it names the producer, what changed, and the command that regenerates it:
`python tools/update_generated.py` regenerates every stale folder, and only those.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import time

import pytest

from atlas import provenance
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


def test_code_hash_ignores_comments_docstrings_and_layout():
    code = 'def f(x):\n    """Doc."""\n    return x + 1  # one\n'
    same = "def f(x):\n    # a comment\n    return (x +\n            1)\n"
    assert provenance.code_hash(code) == provenance.code_hash(same)
    assert provenance.code_hash(code) != provenance.code_hash(code.replace("+ 1", "+ 2"))


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
    world = copy / "atlas" / "world.py"
    world.write_text(
        world.read_text().replace('"""The toy world:', '"""The toy world (reworded):', 1)
    )
    assert not _stale(copy)


def test_a_code_change_in_a_snippet_makes_its_figures_stale(copy):
    snippet = copy / "snippets" / "single_task_finetuning.py"
    text = snippet.read_text()
    assert "learning_rate=1e-3" in text
    snippet.write_text(text.replace("learning_rate=1e-3", "learning_rate=2e-3", 1))
    # the figures of both its variants (the hybrid is --inputs instruction), and the benchmarks
    # that run it (the PEFT sweep runs it as its full fine-tuning reference), and the playground,
    # which exports the models it saves
    assert _stale(copy) == {
        "single_task_finetuning",
        "hybrid_finetuning",
        "seeds",
        "peft_sweep",
        "benchmark",
        "playground",
    }
    message = "\n".join(str(p) for p in provenance.check(copy))
    assert (
        "snippets/single_task_finetuning.py changed" in message
        and "update_generated.py --only" in message
    )


def test_a_code_change_in_an_imported_atlas_module_makes_figures_stale(copy):
    comparison = copy / "atlas" / "comparison.py"
    comparison.write_text(
        comparison.read_text().replace(
            '"target_bare": _mean(by_task, [target], "bare")',
            '"target_bare": _mean(by_task, [target], "instruction")',
        )
    )
    # atlas.comparison is imported by the comparison snippet, the seeds benchmark and atlas.jobs
    # (the PEFT snippets, their sweep and DPO score with its columns, and the stages benchmark runs
    # DPO, and the playground decodes with its stop rule); the speed benchmark runs them all, and
    # the speed levers train and measure the instruction-tuning job of atlas.jobs
    peft = {"peft_finetuning", "peft_finetuning.flan", "peft_finetuning.ia3", "peft_sweep"}
    peft |= {"dpo", "stages", "playground", "speed_levers"}
    assert (
        _stale(copy)
        == {"comparison", "seeds", "benchmark", "prompt_tuning", "prefix_tuning"} | peft
    )


def test_a_new_base_model_or_lock_makes_figures_stale(copy):
    config = copy / "models" / "toy-base" / "config.json"
    config.write_text(config.read_text().replace('"rms_norm_eps": 1e-06', '"rms_norm_eps": 1e-05'))
    stale = _stale(copy)
    assert "zero_shot_prompting" in stale and "instruction_tuning.tag" in stale
    assert "lora_finetuning" not in stale  # it does not load the toy model
    # pretraining wrote the checkpoint: for it, the new one is an output edited after the run
    assert "models/toy-base/config.json differs from what the run wrote" in str(
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
