"""The speed report (benchmarks/run.py, committed in docs/generated/benchmark/): it covers every
snippet as a reader runs it, names the CPU, and its table is the one its figures render. Its
staleness is checked by tests/test_generated.py like every other figure; timings are never
compared here (they are the machine's, not the code's)."""

from __future__ import annotations

import json

import pytest

import claims
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
    from atlas.site import provenance

    made_on = provenance.read_stamp("benchmark", "benchmark")["made_on"]
    assert made_on["cpu"] and report["cpu"]["vector_extensions"]
    assert report["cpu_peak_gflops"]["float32"] > 0
    share = report["pretraining_share_of_peak"]
    expected = "bfloat16" if report["cpu"]["native_bf16"] else "float32"
    assert share["dtype"] == expected and 0 < share["share"] < 1


def test_the_table_is_rendered_from_the_figures(report):
    table = (GENERATED_DIR / "benchmark" / "benchmark.md").read_text()
    assert table == run.table(report)


# The levers (benchmarks/speed_levers.py, committed in docs/generated/speed/): every lever the
# benchmark defines is measured, the tables are the ones its figures render, and every sentence the
# page says about them holds, with a margin (claims.SPEED_LEVERS).
speed = load_script("benchmarks/speed_levers.py")


@pytest.fixture(scope="module")
def levers() -> dict:
    return json.loads((GENERATED_DIR / "speed" / "levers.json").read_text())


def test_every_lever_is_measured_on_the_page_recipe_s_job(levers):
    assert list(levers["levers"]) == list(speed.LEVERS)
    from atlas import THREADS, jobs

    job = jobs.get_job(speed.JOB)
    for name, r in levers["levers"].items():
        change = speed.LEVERS[name]
        assert r["steps"] * r["batch_size"] == job.steps * speed.BATCH_SIZE, name  # same rows
        assert r["steps"] == change.get("steps", job.steps), name
        assert r["batch_size"] == change.get("batch_size", speed.BATCH_SIZE), name
        assert r["threads"] == change.get("threads", THREADS), name
        assert r["training_seconds"] > 0 and set(r["quality"]) == set(speed.QUALITY)
        # padding is the only difference between the two token rates
        assert r["computed_tokens_per_second"] >= r["tokens_per_second"], name
    assert levers["seed_range"] == speed.seed_range()  # the seeds the page quotes


def test_the_lever_tables_are_rendered_from_the_figures(levers):
    assert (GENERATED_DIR / "speed" / "levers.md").read_text() == speed.table(levers)
    assert (GENERATED_DIR / "speed" / "evaluation.md").read_text() == speed.evaluation_table(levers)


def outside_by(levers: dict, name: str) -> float:
    """How far (percentage points) a lever's furthest figure lies outside the seed range."""
    worst = 0.0
    for key, value in levers["levers"][name]["quality"].items():
        low, high = levers["seed_range"][key]
        worst = max(worst, 100 * (low - value), 100 * (value - high))
    return worst


def slower(levers: dict, name: str) -> float:
    return (
        levers["levers"][name]["training_seconds"]
        / levers["levers"]["page recipe"]["training_seconds"]
    )


def test_what_the_page_says_about_each_lever(levers):
    c = claims.SPEED_LEVERS
    base = levers["levers"]["page recipe"]
    margin = c["outside_the_seed_range_by_points"]
    # one thread: slower, the same results
    assert slower(levers, "one thread") >= c["one_thread_slower_at_least"]
    assert levers["levers"]["one thread"]["quality"] == base["quality"]
    # padding: a real share, yet padding-free batches are slower and compute none
    assert (
        1 - base["tokens_per_second"] / base["computed_tokens_per_second"]
        >= c["padding_share_at_least"]
    )
    free = levers["levers"]["padding-free batches"]
    assert free["tokens_per_second"] == free["computed_tokens_per_second"]
    assert slower(levers, "padding-free batches") >= c["padding_free_slower_at_least"]
    # grouping rows by length: the one faster lever, and it moves the results
    grouped = "rows of similar length together"
    assert 1 / slower(levers, grouped) >= c["grouped_faster_at_least"]
    g = levers["levers"][grouped]
    assert (
        1 - g["tokens_per_second"] / g["computed_tokens_per_second"]
        <= c["grouped_padding_share_at_most"]
    )
    # "the only faster lever here"
    assert all(slower(levers, n) > 1 for n in speed.LEVERS if n not in ("page recipe", grouped))
    assert outside_by(levers, grouped) >= margin
    # fewer, fuller steps: not faster, and they learn less (a figure below the range)
    fuller = "fewer, fuller steps (64 × 150)"
    assert 1 / slower(levers, fuller) <= c["fuller_steps_speedup_at_most"]
    assert any(
        100 * (levers["seed_range"][k][0] - v) >= margin
        for k, v in levers["levers"][fuller]["quality"].items()
    )
    assert slower(levers, "torch.compile (inductor)") >= c["compile_slower_at_least"]
    # "no lever measured here makes it faster without changing its results"
    for name in speed.LEVERS:
        if name != "page recipe":
            assert slower(levers, name) >= 1 / c["fuller_steps_speedup_at_most"] or (
                outside_by(levers, name) >= margin
            ), name


def test_what_the_page_says_about_evaluation(levers):
    c = claims.SPEED_LEVERS
    runs = {
        (r["batch_size"], r["kv_cache"]): r for r in levers["levers"]["page recipe"]["evaluation"]
    }
    assert list(runs) == [(b, True) for b in speed.EVAL_BATCH_SIZES] + [(256, False)]
    assert all(r["same_answers"] == r["prompts"] for r in runs.values())
    default = runs[(256, True)]["seconds"]
    assert (
        max(runs[(64, True)]["seconds"], default) / min(runs[(64, True)]["seconds"], default)
        <= c["small_batches_ratio_at_most"]
    )
    assert runs[(1024, True)]["seconds"] / default >= c["large_batch_slower_at_least"]
    assert runs[(256, False)]["seconds"] / default >= c["no_cache_slower_at_least"]


def test_prompt_and_prefix_tuning_run_in_about_a_minute(report):
    """With the KV cache in their forward-pass decoding, both snippets' default runs take about
    the toy budget: at most a fifth over it (one run on a shared machine moves by more than a
    tenth from day to day: 58, 60, 62 and 66 s for the same prompt-tuning run on the same kind of
    CPU). Where one is over, the page says so (how-this-site-works#speed renders it), and training
    is the smaller part of its time."""
    for name in ("prompt_tuning", "prefix_tuning"):
        run = report["snippets"][name]
        assert run["seconds"] < 1.2 * report["toy_budget_seconds"], name
        if run["seconds"] > report["toy_budget_seconds"]:
            assert run["training_seconds"] < run["seconds"] / 2, name


# The full pretraining run where the CPU lacks bfloat16 (benchmarks/pretraining_float32.py,
# committed in docs/generated/pretraining_float32/): the snippet's default run, in float32, beside
# the shipped run; the model it made is held to the base model's bars (claims.PRETRAINING).
float32 = load_script("benchmarks/pretraining_float32.py")


@pytest.fixture(scope="module")
def float32_run() -> dict:
    return json.loads((GENERATED_DIR / "pretraining_float32" / "run.json").read_text())


def test_the_float32_run_is_the_default_run_on_a_cpu_without_bf16(float32_run):
    from atlas.site import provenance

    made_on = provenance.read_stamp("pretraining_float32")["made_on"]
    assert made_on["native_bf16"] is False and float32_run["cpu"]["native_bf16"] is False
    # the same steps of the same blocks as the shipped run, whose figures are today's
    assert float32_run["shipped"] == float32.figures(float32.SHIPPED)
    assert float32_run["float32"]["tokens"] == float32_run["shipped"]["tokens"]
    share = float32_run["float32"]["model_gflops_per_second"] / float32_run["peak_gflops_float32"]
    assert float32_run["share_of_peak"] == round(share, 3) and 0 < share < 1


def test_the_float32_table_is_rendered_from_the_figures(float32_run):
    rendered = (GENERATED_DIR / "pretraining_float32" / "run.md").read_text()
    assert rendered == float32.table(float32_run)


def test_the_float32_model_meets_the_base_model_s_bars(float32_run):
    """The page: trained in float32, the model clears the base model's bars on average over tasks,
    and each of those accuracies is within a few points of the shipped model's."""
    c, accuracy = claims.PRETRAINING, float32_run["float32"]["accuracy"]
    assert accuracy["instruction"] <= c["zero_shot_at_most"]
    assert accuracy["few_shot"] >= c["few_shot_at_least"]
    assert accuracy["fact"] >= c["fact_at_least"]
    assert accuracy["few_shot"] - accuracy["instruction"] >= c["few_shot_over_words_points"]
    shipped = float32_run["shipped"]["accuracy"]
    for presentation, value in accuracy.items():  # "each of those accuracies is within N points"
        assert abs(value - shipped[presentation]) <= claims.PRETRAINING_FLOAT32["within_points"]
