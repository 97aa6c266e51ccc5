"""The speed report (benchmarks/run.py, committed in docs/generated/benchmark/): it covers every
snippet as a reader runs it, names the CPU, and its table is the one its figures render. Its
staleness is checked by tests/test_generated.py like every other figure; timings are never
compared here (they are the machine's, not the code's)."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from atlas.ci import SNIPPETS
from conftest import load_script

run = load_script("benchmarks/run.py")


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads((GENERATED_DIR / "benchmark" / "benchmark.json").read_text())


def test_every_snippet_is_timed_as_a_reader_runs_it(report):
    assert set(report["snippets"]) == {p.stem for p in SNIPPETS}
    for path in SNIPPETS:
        timed = report["snippets"][path.stem]
        short = path.stem in run.SHORT_RUN_ONLY
        assert timed["run"] == ("short (CI arguments)" if short else "default"), path.stem
        assert timed["model"] == run.default_model(path)
        assert timed["seconds"] > 0 and timed["peak_mib"] > 0


def test_default_arguments_keep_only_the_output_folders():
    for path in SNIPPETS:
        args = run.default_args(path)
        assert all(a in run.FOLDER_FLAGS for a in args[::2]), (path.stem, args)


def test_the_report_names_the_cpu_and_its_peak(report):
    from atlas import provenance

    made_on = provenance.read_stamp("benchmark", "benchmark")["made_on"]
    assert made_on["cpu"] and report["cpu"]["vector_extensions"]
    assert report["cpu_peak_gflops"]["float32"] > 0
    share = report["pretraining_share_of_peak"]
    expected = "bfloat16" if report["cpu"]["native_bf16"] else "float32"
    assert share["dtype"] == expected and 0 < share["share"] < 1


def test_the_table_is_rendered_from_the_figures(report):
    table = (GENERATED_DIR / "benchmark" / "benchmark.md").read_text()
    assert table == run.table(report)
