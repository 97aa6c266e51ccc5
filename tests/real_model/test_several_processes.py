"""Several processes: the claims of docs/real-model/several-processes.md. The CPU run is launched
here exactly as the page and `benchmarks/multi_process.py` launch it (`accelerate launch` with
`configs/accelerate/cpu-2-processes.yaml`); the GPU configs are checked, not run."""

from __future__ import annotations

import json
import re

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.commands.launch import launch_command_parser

from atlas import GENERATED_DIR, ROOT
from claims import CLASSIFICATION_HEAD
from claims import MULTI_PROCESS as CLAIMS
from conftest import load_script

CONFIGS = sorted((ROOT / "configs" / "accelerate").glob("*.yaml"))
PAGE = ROOT / "docs" / "real-model" / "several-processes.md"


benchmark = load_script("benchmarks/multi_process.py")  # the test runs its commands


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("two-processes")
    figures = benchmark.run(2, 0, tmp)
    figures["tmp"] = tmp
    return figures


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads((GENERATED_DIR / "multi_process" / "multi_process.json").read_text())


def test_two_cpu_processes_train_one_model(two_processes, run_snippet):
    """Launched on two processes, the snippet trains with twice the rows per step, saves one
    checkpoint, and reaches the single-process run's accuracy."""
    single = run_snippet("classification_head")
    assert single.returncode == 0, single.stderr[-4000:]
    alone = json.loads((single.results() / "classification_head_training.json").read_text())
    assert two_processes["global_batch"] == 2 * 32 and two_processes["steps"] == alone["steps"]
    assert (two_processes["tmp"] / "model" / "model.safetensors").is_file()
    assert two_processes["accuracy"] >= CLASSIFICATION_HEAD["accuracy_at_least"]
    assert abs(two_processes["accuracy"] - alone["accuracy"]) <= CLAIMS["accuracy_within_points"]


def test_committed_runs_agree_on_every_seed(committed):
    one, two = committed["runs"]["1"], committed["runs"]["2"]
    assert set(one) == set(two) and len(one) >= 3
    for seed in one:
        assert two[seed]["global_batch"] == 2 * one[seed]["global_batch"]
        assert two[seed]["steps"] == one[seed]["steps"]
        gap = abs(two[seed]["accuracy"] - one[seed]["accuracy"])
        assert gap <= CLAIMS["accuracy_within_points"], seed


def test_the_page_shows_the_command_it_measured(committed):
    page = PAGE.read_text()
    assert committed["commands"]["2"] in page
    assert committed["config"] == "configs/accelerate/cpu-2-processes.yaml"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_config_is_one_accelerate_accepts(config):
    """Loads with accelerate's own loader (which rejects unknown keys), and every FSDP or
    DeepSpeed option is an option of `accelerate launch`; the page shows it."""
    loaded = load_config_from_file(str(config))
    options = {action.dest for action in launch_command_parser()._actions}
    nested = {**loaded.fsdp_config, **loaded.deepspeed_config}
    assert not set(nested) - options, set(nested) - options
    assert loaded.num_processes >= 2 and loaded.num_processes % loaded.num_machines == 0
    assert f'--8<-- "configs/accelerate/{config.name}"' in PAGE.read_text()


def test_the_tested_config_is_the_cpu_one():
    loaded = load_config_from_file(str(ROOT / benchmark.CONFIG))
    assert loaded.num_machines == 1 and loaded.num_processes == 2
    assert re.search(r"--num_cpu_threads_per_process 1\b", " ".join(benchmark.LAUNCHES[2]))


def test_the_trainer_scales_the_loss_by_the_number_of_processes():
    """The page's reason for `average_tokens_across_devices=False`, read from the pinned
    transformers: the Trainer multiplies the loss by the processes when the model takes a token
    count. If this changes, the page's sentence and the snippet's argument are to be revisited."""
    import inspect

    from transformers import Trainer

    source = inspect.getsource(Trainer.compute_loss)
    assert "self.args.average_tokens_across_devices" in source
    assert "self.accelerator.num_processes" in source and "loss *=" in source


def test_two_processes_on_one_cpu_gain_little(committed):
    """On the CPU the committed runs were made on, two processes share the cores one process
    uses: their rows per second (mean over seeds) stay below the page's factor."""
    rate = {p: committed["summary"][p]["rows_per_second"]["mean"] for p in ("1", "2")}
    assert rate["2"] < CLAIMS["speedup_below"] * rate["1"]
