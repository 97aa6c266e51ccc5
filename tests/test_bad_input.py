"""Bad input gets one clear error: each mistake a reader makes with a snippet, made as they would.

Every run here stops before the work starts (no model is trained), exits non-zero with one line that
says what is wrong, shows no traceback, and leaves nothing behind: not in the published figures, not
in the output folder it was given.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atlas.toy import data

from atlas import GENERATED_DIR, ROOT, BadDataset
from atlas.ci import SNIPPETS

ENV = {**os.environ, "HF_HUB_OFFLINE": "0"}  # a Hub id would go to the network: none may be tried


def snapshot() -> dict[str, float]:
    """Every file of the published figures and the shipped model, with its modification time."""
    files = [*GENERATED_DIR.rglob("*"), *(ROOT / "models").rglob("*")]
    return {str(f): f.stat().st_mtime for f in files if f.is_file()}


def run(snippet: str, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "snippets" / f"{snippet}.py"), *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_clear_line(proc: subprocess.CompletedProcess, snippet: str, *words: str) -> str:
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{snippet}.py: error: "), proc.stderr[-3000:]
    for word in words:
        assert word in line, line
    return line


@pytest.fixture(scope="module")
def empty_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("empty-model")


@pytest.fixture(scope="module")
def config_only(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("config-only")
    (folder / "config.json").write_text((ROOT / "models" / "toy-base" / "config.json").read_text())
    return folder


@pytest.fixture(scope="module")
def no_tokenizer(tmp_path_factory) -> Path:
    """A model saved without its tokenizer (model.save_pretrained alone)."""
    folder = tmp_path_factory.mktemp("no-tokenizer")
    for name in ("config.json", "model.safetensors"):
        shutil.copy(ROOT / "models" / "toy-base" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model-copy") / "toy-base"
    shutil.copytree(ROOT / "models" / "toy-base", folder)
    return folder


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory) -> dict[str, Path]:
    """Copies of the base model whose config says something else: a masked LM (BERT's kind), an
    encoder-decoder (T5's) and a model whose embedding is smaller than its tokenizer (the tokenizer
    of another model saved beside it)."""
    changes = {
        "masked_lm": {"architectures": ["BertForMaskedLM"], "model_type": "bert"},
        "encoder_decoder": {
            "architectures": ["T5ForConditionalGeneration"],
            "is_encoder_decoder": True,
        },
        "other_vocabulary": {"vocab_size": 8},
        # damaged copies, which from_pretrained reports with a traceback (None: the key is gone)
        "no_model_type": {"model_type": None},
        "width_edited": {"hidden_size": 64},
        "width_not_a_number": {"hidden_size": "big"},
        "no_vocabulary_size": {"vocab_size": None},
        "header_cut_short": {},
        "tensors_cut_short": {},
        "a_tensor_without_shape": {},
        "a_shard_missing": {},
        "unknown_model_type": {"model_type": "toyformer"},
    }
    out = {}
    for name, change in changes.items():
        folder = tmp_path_factory.mktemp(name) / "model"
        shutil.copytree(ROOT / "models" / "toy-base", folder)
        config = json.loads((folder / "config.json").read_text()) | change
        config = {k: v for k, v in config.items() if v is not None}
        (folder / "config.json").write_text(json.dumps(config))
        out[name] = folder
    weights = out["header_cut_short"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    weights = out["tensors_cut_short"] / "model.safetensors"  # an interrupted copy
    weights.write_bytes(weights.read_bytes()[:-1000])
    weights = out["a_tensor_without_shape"] / "model.safetensors"
    whole = weights.read_bytes()
    length = int.from_bytes(whole[:8], "little")
    header = json.loads(whole[8 : 8 + length])
    del header[next(k for k in header if k != "__metadata__")]["shape"]
    text = json.dumps(header).encode()
    weights.write_bytes(len(text).to_bytes(8, "little") + text + whole[8 + length :])
    (out["a_shard_missing"] / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors"}})
    )
    return out


# (snippet, arguments, words the error line must hold): the table of issue 11, one row each
ARGUMENT_ROWS = {
    "misspelt --results-dir": (
        "zero_shot_prompting",
        ["--results-dirr", "{tmp}/x"],
        ["unrecognized", "--results-dirr"],
    ),
    "misspelt --model": (
        "zero_shot_prompting",
        ["--modle", "models/toy-base"],
        ["unrecognized", "--modle"],
    ),
    "abbreviated flag": ("zero_shot_prompting", ["--eval", "3"], ["unrecognized", "--eval"]),
    "local path with a typo": (
        "zero_shot_prompting",
        ["--model", "models/toy-bse"],
        ["toy-bse does not exist", "toy-base"],
    ),
    "path that does not exist": (
        "few_shot_prompting",
        ["--model", "/no/such/dir"],
        ["/no/such/dir does not exist"],
    ),
    "empty folder as model": ("single_task_finetuning", ["--model", "{empty}"], ["no config.json"]),
    "config without weights": ("instruction_tuning", ["--model", "{config_only}"], ["no weights"]),
    "model without its tokenizer": (
        "zero_shot_prompting",
        ["--model", "{no_tokenizer}"],
        ["no tokenizer", "tokenizer.save_pretrained"],
    ),
    "project model by its bare name": (
        "zero_shot_prompting",
        ["--model", "toy-base"],
        ["no folder 'toy-base' here", "models/toy-base"],
    ),
    "a file as model": ("chat_sft", ["--model", "{file}"], ["is a file, not a model directory"]),
    "empty model name": ("few_shot_prompting", ["--model", ""], ["model name is empty"]),
    "negative seed": ("classification_head", ["--seed", "-1"], ["--seed", "not a seed"]),
    "seed beyond numpy's": ("single_task_finetuning", ["--seed", "5000000000"], ["--seed"]),
    "infinite learning rate": (
        "peft_finetuning",
        ["--learning-rate", "inf"],
        ["--learning-rate", "not a finite number"],
    ),
    "results folder where none can be made": (
        "toy_world",
        ["--results-dir", "/proc/atlas-results"],
        ["--results-dir", "/proc"],
    ),
    "zero steps": ("single_task_finetuning", ["--max-steps", "0"], ["--max-steps", "less than 1"]),
    "negative steps": ("instruction_tuning", ["--max-steps", "-1"], ["--max-steps", "less than 1"]),
    "zero evaluation words": ("zero_shot_prompting", ["--eval-words", "0"], ["--eval-words"]),
    "replay of one": ("instruction_tuning", ["--replay", "1"], ["--replay", "not in [0, 1)"]),
    "replay above one": ("instruction_tuning", ["--replay", "1.5"], ["--replay", "not in [0, 1)"]),
    "steps not a number": (
        "classification_head",
        ["--max-steps", "ten"],
        ["'ten' is not an integer"],
    ),
    "too many templates": ("instruction_tuning", ["--templates", "99"], ["--templates"]),
    "unknown held-out cluster": (
        "instruction_tuning",
        ["--held-out-cluster", "colour"],
        ["colour"],
    ),
    "results folder under a file": (
        "few_shot_prompting",
        ["--results-dir", "{file}/results"],
        ["is a file"],
    ),
    "output folder is a file": (
        "classification_head",
        ["--output-dir", "{file}"],
        ["--output-dir", "not a folder"],
    ),
    "no old text at all": ("continued_pretraining", ["--mix", "1"], ["--mix", "not in [0, 1)"]),
    "beta of zero": ("dpo", ["--beta", "0"], ["--beta"]),
    "unknown DPO method": ("dpo", ["--method", "ppo"], ["--method", "ppo"]),
    "unknown English task": (
        "real_model_presentation",
        ["--tasks", "capitol"],
        ["unknown English task 'capitol'", "capital"],
    ),
    "too few real-model items": (
        "real_model_presentation",
        ["--items", "2"],
        ["--items", "less than 5"],
    ),
    # issue 33: nothing a run writes may land in what the project ships or publishes
    "adapter saved into the shipped model": (
        "peft_finetuning",
        ["--output-dir", "models/toy-base"],
        ["--output-dir", "shipped base model"],
    ),
    "classifier saved over the shipped model": (
        "classification_head",
        ["--output-dir", "models/toy-base"],
        ["--output-dir", "shipped base model"],
    ),
    "model saved inside the shipped model": (
        "single_task_finetuning",
        ["--output-dir", "models/toy-base/tuned"],
        ["--output-dir", "shipped base model"],
    ),
    "model saved over the model it loads": (
        "single_task_finetuning",
        ["--model", "{model_copy}", "--output-dir", "{model_copy}"],
        ["--output-dir", "the model the run loads"],
    ),
    "results written into the published figures": (
        "few_shot_prompting",
        ["--results-dir", "docs/generated/few_shot_prompting"],
        ["--results-dir", "published figures", "runs/"],
    ),
    "an empty results folder": ("toy_world", ["--results-dir", ""], ["--results-dir", "empty"]),
    "more evaluation words than a run can draw": (
        "zero_shot_prompting",
        ["--eval-words", "100000000"],
        ["--eval-words", "10000"],
    ),
    "a LoRA rank wider than the model": (
        "peft_finetuning",
        ["--rank", "100000"],
        ["--rank", "width (128)"],
    ),
    # refused by the snippet after the parse: the record of its settings is taken back
    "last-reply loss with the pad-masked collator": (
        "chat_sft",
        ["--loss", "last", "--eos", "pad-masked"],
        ["--loss last", "--eos"],
    ),
    "a masked language model": (
        "zero_shot_prompting",
        ["--model", "{masked_lm}"],
        ["BertForMaskedLM", "not a causal language model", "--model smollm2"],
    ),
    "an encoder-decoder model": (
        "few_shot_prompting",
        ["--model", "{encoder_decoder}"],
        ["encoder-decoder", "T5ForConditionalGeneration"],
    ),
    "a tokenizer of another model": (
        "instruction_tuning",
        ["--model", "{other_vocabulary}"],
        ["has 8 rows", "tokenizer belongs to another model"],
    ),
    "a prefix past the positions the model knows": (
        "prefix_tuning",
        ["--virtual-tokens", "5000"],
        ["--virtual-tokens", "256 positions"],
    ),
    # a fresh audit: damaged model folders, counts without a bound, flags a method does not read
    "a config without model_type": (
        "zero_shot_prompting",
        ["--model", "{no_model_type}"],
        ["has no model_type", "save_pretrained"],
    ),
    "a config whose width is not the weights'": (
        "zero_shot_prompting",
        ["--model", "{width_edited}"],
        ["token embedding of shape", "hidden_size 64"],
    ),
    "a config size that is not a number": (
        "peft_finetuning",
        ["--rank", "4", "--model", "{width_not_a_number}"],
        ["hidden_size is 'big'"],
    ),
    "a config without vocab_size": (
        "few_shot_prompting",
        ["--model", "{no_vocabulary_size}"],
        ["has no vocab_size"],
    ),
    "weights whose header is cut short": (
        "zero_shot_prompting",
        ["--model", "{header_cut_short}"],
        ["model.safetensors is cut short or is not a safetensors file"],
    ),
    "weights whose tensors are cut short": (
        "zero_shot_prompting",
        ["--model", "{tensors_cut_short}"],
        ["model.safetensors is cut short or is not a safetensors file"],
    ),
    "weights with a tensor without its shape": (
        "zero_shot_prompting",
        ["--model", "{a_tensor_without_shape}"],
        ["model.safetensors is cut short or is not a safetensors file"],
    ),
    "a sharded model with a shard missing": (
        "zero_shot_prompting",
        ["--model", "{a_shard_missing}"],
        ["lacks 1 of the 1 weight files", "model-00002-of-00002.safetensors"],
    ),
    "a model_type transformers does not know": (
        "zero_shot_prompting",
        ["--model", "{unknown_model_type}"],
        ["model_type 'toyformer' is not one transformers"],
    ),
    "an end of text compared with no chat template": (
        "real_model_presentation",
        ["--no-chat", "--end-of-text", "<|endoftext|>"],
        ["--end-of-text", "--no-chat has none"],
    ),
    "years of pretraining steps": (
        "pretraining",
        ["--max-steps", "1000000000", "--output-dir", "{tmp}/x"],
        ["--max-steps", "50000"],
    ),
    "years of fine-tuning steps": ("chat_sft", ["--max-steps", "100000000"], ["--max-steps"]),
    "years of passes over the facts": ("new_knowledge", ["--epochs", "100000000"], ["--epochs"]),
    "more reviews than memory holds": (
        "lora_finetuning",
        ["--eval-reviews", "100000000"],
        ["--eval-reviews", "10000"],
    ),
    "a learning rate that overflows": (
        "single_task_finetuning",
        ["--learning-rate", "1e30"],
        ["--learning-rate", "infinity"],
    ),
    "replay that leaves no rows of its own": (
        "instruction_tuning",
        ["--replay", "0.999999"],
        ["--replay", "0.9"],
    ),
    "more preference requests than words": (
        "dpo",
        ["--model", "models/toy-base", "--requests", "100000000"],
        ["--requests", "10000 words"],
    ),
    "more pitfall pairs than words": ("pitfalls", ["--pairs", "100000000"], ["--pairs"]),
    "beta for SFT, which has no reference": (
        "dpo",
        ["--model", "models/toy-base", "--method", "sft", "--beta", "0.5"],
        ["--beta", "SFT has none"],
    ),
    "an SFT weight outside RPO": (
        "dpo",
        ["--model", "models/toy-base", "--sft-weight", "3"],
        ["--sft-weight", "RPO"],
    ),
    "domain requests for tagged inputs": (
        "instruction_tuning",
        ["--inputs", "tag", "--domain-requests", "5"],
        ["--domain-requests", "--inputs tag"],
    ),
    "another model's answers from a folder that is not one": (
        "dpo",
        ["--model", "models/toy-base", "--answers-from", "{file}"],
        ["--answers-from"],
    ),
    "templates for bare inputs": (
        "instruction_tuning",
        ["--inputs", "none", "--templates", "3"],
        ["--templates", "--inputs none"],
    ),
    "an empty results folder for the comparison to read": (
        "comparison",
        ["--generated-dir", ""],
        ["--generated-dir", "is empty"],
    ),
    "a file as the folder the comparison reads": (
        "comparison",
        ["--generated-dir", "{file}"],
        ["--generated-dir", "is not a folder"],
    ),
    "an empty end-of-text token": (
        "real_model_presentation",
        ["--end-of-text", ""],
        ["--end-of-text is empty"],
    ),
    "an end-of-text token the vocabulary lacks": (
        "real_model_presentation",
        ["--end-of-text", "zzzq"],
        ["--end-of-text 'zzzq' is not a token"],
    ),
}


# Rows whose mistake shows once the run has started (its arguments were fine): the results folder
# then holds the record of the run's settings (atlas.cli.record) and nothing else. A run refused at
# its arguments, by the parser or by the snippet's own checks, takes its record back.
FAILS_AFTER_THE_ARGUMENTS = {"unknown English task"}


def only_the_record(results: Path) -> bool:
    """Whether `results` holds nothing but a run's record of its settings."""
    names = [p.name for p in results.rglob("*")]
    return len(names) == 1 and names[0].startswith("run") and names[0].endswith(".json")


@pytest.mark.parametrize("row", ARGUMENT_ROWS)
def test_a_mistake_in_the_arguments_stops_before_any_work(
    row, tmp_path, empty_folder, config_only, no_tokenizer, model_copy, odd_models
):
    snippet, args, words = ARGUMENT_ROWS[row]
    (tmp_path / "a-file").write_text("not a folder")
    fields = {
        **odd_models,
        "tmp": tmp_path,
        "empty": empty_folder,
        "config_only": config_only,
        "no_tokenizer": no_tokenizer,
        "model_copy": model_copy,
        "file": tmp_path / "a-file",
    }
    args = [a.format(**fields) for a in args]
    if "--results-dir" not in args:  # a fresh folder: the run must not even create it
        args += ["--results-dir", str(tmp_path / "results")]
    before = snapshot()
    proc = run(snippet, *args)
    line = assert_one_clear_line(proc, snippet, *words)
    assert len(proc.stderr.strip().splitlines()) == 1, (
        proc.stderr
    )  # argparse's usage block is not repeated
    assert snapshot() == before, "a failed run changed the published figures or the shipped model"
    assert not (tmp_path / "x").exists(), line
    if row in FAILS_AFTER_THE_ARGUMENTS:
        assert only_the_record(tmp_path / "results"), line
    else:
        assert not (tmp_path / "results").exists(), line


def test_a_tokenizer_without_chat_template_names_the_flag_that_leaves_chat_out(tmp_path):
    model = tmp_path / "no-template"
    shutil.copytree(ROOT / "models" / "toy-base", model)
    config = json.loads((model / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    (model / "chat_template.jinja").unlink(missing_ok=True)
    results = tmp_path / "results"
    ask = ["--model", str(model), "--eval-words", "1", "--results-dir", str(results)]
    proc = run("zero_shot_prompting", *ask)
    assert_one_clear_line(proc, "zero_shot_prompting", "no chat template", "--no-chat")
    assert only_the_record(results)
    proc = run("zero_shot_prompting", *ask, "--no-chat")
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads((results / "zero_shot.json").read_text())
    assert set(figures["average"]) == {"instruction", "instruction_held_out"}


def test_traceback_on_request(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from atlas import cli; from atlas.toy import world; cli.parse(cli.parser('x'), []); "
            "world.get_task('revrse')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**ENV, "ATLAS_TRACEBACK": "1"},
    )
    assert (
        proc.returncode == 1
        and "Traceback" in proc.stderr
        and "unknown task 'revrse'" in proc.stderr
    )


def test_an_unknown_english_task_stops_before_the_heavy_imports(tmp_path):
    """real_model_presentation.py checks --tasks against atlas/english.py before torch and
    transformers load, as it checks every other argument: a typo answers at once."""
    code = (
        "import runpy, sys\n"
        "sys.argv = [sys.argv[1], '--tasks', 'capitol', '--results-dir', sys.argv[2]]\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except Exception as error:\n"
        "    print('STOPPED', type(error).__name__, error)\n"
        "print('HEAVY', sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    snippet = ROOT / "snippets" / "real_model_presentation.py"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(snippet), str(tmp_path / "results")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.strip().splitlines()
    assert "unknown English task 'capitol'" in lines[-2], proc.stdout + proc.stderr[-2000:]
    assert lines[-1] == "HEAVY []"


@pytest.mark.parametrize("path", SNIPPETS, ids=[p.stem for p in SNIPPETS])
def test_help_explains_every_flag_before_the_heavy_imports(path):
    """--help prints the purpose and every flag's help and default, and imports neither torch nor
    transformers (which take seconds): it answers at once."""
    code = (
        "import runpy, sys\n"
        "sys.argv = [sys.argv[1], '--help']\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"
    text = proc.stdout
    purpose = path.read_text().split('"""')[1].strip().splitlines()[0]
    assert purpose in text
    options = text.split("options:")[1]
    flags = [
        line.split()[0]
        for line in options.splitlines()
        if line.startswith("  --") and "--help" not in line
    ]
    assert "--results-dir" in flags
    for flag in flags:
        block = options.split(flag, 1)[1].split("\n  -")[0]
        assert "default:" in block, f"{path.name} {flag}: no default shown"


def test_a_notebook_kernel_s_own_arguments_are_not_the_snippet_s(monkeypatch):
    """In Jupyter, sys.argv is the kernel's (`-f kernel.json`): the snippet uses its defaults."""
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    from atlas import cli

    parser = cli.parser("x", results="toy_world")
    parser.add_argument("--eval-words", type=cli.at_least(1), default=40)
    args = cli.parse(parser)
    assert args.eval_words == 40 and args.results_dir == ROOT / "runs" / "toy_world"


def test_a_default_run_writes_its_own_folder_not_the_published_one():
    """`few_shot_prompting.py --eval-words 1` with every folder at its default: the figures go to
    runs/few_shot_prompting (printed), and nothing under docs/generated or models/ changes."""
    runs = ROOT / "runs" / "few_shot_prompting"
    existed = runs.exists()
    before = snapshot()
    try:
        proc = run("few_shot_prompting", "--eval-words", "1", timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert snapshot() == before, "a reader's run changed the published figures"
        assert (runs / "by_shots.json").is_file()
        # the folder records the run that wrote it: its settings, defaults included, as given
        record = json.loads((runs / "run.json").read_text())
        assert record["argv"] == ["--eval-words", "1"]
        assert record["settings"]["eval_words"] == 1
        assert record["settings"]["results_dir"] == str(runs)
    finally:
        if not existed:
            shutil.rmtree(runs, ignore_errors=True)


def test_a_folder_given_with_a_tilde_is_the_home_folder(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "snippets" / "toy_world.py"), "--results-dir", "~/tw"],
        cwd=tmp_path,
        env={**ENV, "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "home" / "tw").is_dir() and not (tmp_path / "~").exists()


# A Hub id with no cached copy, where the Hub is off (HF_HUB_OFFLINE=1: `models.resolve`) or cannot
# be reached (here a closed local port: `models.loading_problem`, which asks the host once instead
# of the 50 s of retries and the 73-line traceback of from_pretrained).
@pytest.mark.parametrize(
    "env,words",
    [
        ({"HF_HUB_OFFLINE": "1"}, ["gpt2 is a Hub id", "HF_HUB_OFFLINE=1"]),
        ({"HF_ENDPOINT": "http://127.0.0.1:9"}, ["gpt2 is a Hub id", "not reachable"]),
    ],
    ids=["hub off", "hub unreachable"],
)
def test_a_hub_id_without_a_copy_answers_at_once_and_names_the_shipped_copy(env, words):
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "snippets" / "zero_shot_prompting.py"), "--model", "gpt2"],
        cwd=ROOT,
        env={**ENV, **env, "HF_HOME": "/nonexistent-hf-home"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.perf_counter() - start < 10
    assert_one_clear_line(proc, "zero_shot_prompting", *words, "--model smollm2")


@pytest.mark.parametrize(
    "env,dialled,words",
    [
        ({"HF_ENDPOINT": "http://127.0.0.1"}, ("127.0.0.1", 80), ["not reachable"]),
        ({"HF_ENDPOINT": "https://127.0.0.1"}, ("127.0.0.1", 443), ["not reachable"]),
        ({"HF_ENDPOINT": "huggingface.co"}, None, ["HF_ENDPOINT='huggingface.co'", "not a URL"]),
        ({"HTTPS_PROXY": "http://127.0.0.1:3128"}, None, []),
    ],
    ids=["http on port 80", "https on port 443", "an endpoint without a scheme", "behind a proxy"],
)
def test_the_hub_is_asked_where_it_is_served(monkeypatch, env, dialled, words):
    """The probe dials the endpoint's own port (80 for http), says what is wrong with an endpoint
    that is not a URL, and behind a proxy dials nothing (the Hub is reached through the proxy, so a
    direct connection that fails would say nothing)."""
    import socket

    from atlas import models

    for key in ("HF_ENDPOINT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    calls = []

    def refuse(address, timeout):
        calls.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    problem = models._hub_unreachable()
    assert calls == ([dialled] if dialled else [])
    if words:
        assert all(word in problem for word in words), problem
    else:
        assert problem is None


def test_a_cached_hub_model_loads_offline_where_the_hub_cannot_be_reached(monkeypatch):
    """huggingface_hub reads HF_HUB_OFFLINE once, when imported: the switch reaches its flag too,
    which transformers asks before every download."""
    from huggingface_hub import constants

    from atlas import models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(models, "_hub_unreachable", lambda: "not reachable from here (test)")
    monkeypatch.setattr(models, "_cached", lambda repo_id: True)
    assert models.loading_problem("owner/cached-model") is None
    assert constants.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"


def test_an_embedding_narrower_than_the_model_is_whole_where_the_config_names_its_width(odd_models):
    """OPT-350m projects a 512-wide token embedding (word_embed_proj_dim) up to hidden_size 1024:
    the folder is whole, while the same widths without that key are a damaged config."""
    from atlas import models

    folder = odd_models["width_edited"]  # hidden_size 64, the embedding as wide as toy-base's
    width = json.loads((ROOT / "models" / "toy-base" / "config.json").read_text())["hidden_size"]
    config = json.loads((folder / "config.json").read_text())
    assert "hidden_size 64" in models._damaged(folder, config)
    assert models._damaged(folder, config | {"word_embed_proj_dim": width}) is None


def test_a_known_model_type_is_told_without_importing_transformers():
    """The model checks run at the arguments, before the heavy imports: a model_type with a folder
    of its name in transformers/models is known without importing transformers (seconds), so a
    mistake in another flag still answers at once."""
    code = (
        "import sys; from atlas import models; "
        "assert models._unknown_model_type('llama') is None; "
        "assert models._unknown_model_type('openai-gpt') is None; "  # its folder is openai
        "print('transformers' in sys.modules)"
    )
    first = subprocess.run(
        [
            sys.executable,
            "-c",
            code.replace("assert models._unknown_model_type('openai-gpt') is None; ", ""),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.stdout.strip() == "False", first.stderr[-2000:]
    second = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert second.stdout.strip() == "True", second.stderr[-2000:]


def test_a_flag_left_at_its_default_is_recorded_with_its_value(tmp_path):
    """A snippet refuses a flag its method does not read by whether it was given (`cli.given`),
    so the flag keeps its real default and the run record holds it, not null."""
    from atlas import cli

    for argv, given in (([], False), (["--beta", "0.5"], True)):
        parser = cli.parser("a run", results="")
        parser.add_argument("--beta", type=float, default=0.1)
        folder = tmp_path / f"given-{given}"
        args = cli.parse(parser, argv=[*argv, "--results-dir", str(folder)])
        assert cli.given("--beta") is given
        recorded = json.loads((folder / "run.json").read_text())["settings"]["beta"]
        assert recorded == args.beta == (0.5 if given else 0.1)


@pytest.mark.parametrize(
    "flag,bound,over",
    [
        ("--max-steps", "50000", "50001"),
        ("--replay", "0.9", "0.91"),
        ("--eval-words", "10000", "10001"),
    ],
)
def test_a_bound_is_the_most_a_flag_takes(tmp_path, flag, bound, over):
    """The bound itself is accepted; one past it is refused, naming the bound."""
    from atlas import cli

    def parse(value: str):
        parser = cli.parser("a run", results="")
        parser.add_argument(flag, type=float if "." in bound else int)
        return cli.parse(parser, argv=[flag, value, "--results-dir", str(tmp_path / value)])

    assert getattr(parse(bound), flag[2:].replace("-", "_")) == float(bound)
    with pytest.raises(SystemExit) as stopped:
        parse(over)
    assert stopped.value.code == 2


@pytest.mark.parametrize("rate", ["5", "10"])
def test_a_run_whose_weights_diverge_stops_and_saves_nothing(tmp_path, rate):
    """A learning rate far too large sends the weights to NaN while the logged loss can read 0.0,
    like success, or (at 5, with native bfloat16) leaves them finite while the loss climbs from 3
    to thousands: either way the run says so in one line instead of saving and scoring a broken
    model."""
    proc = run(
        "single_task_finetuning",
        *("--learning-rate", rate, "--max-steps", "8", "--eval-words", "1"),
        *("--results-dir", str(tmp_path / "results"), "--output-dir", str(tmp_path / "model")),
    )
    assert_one_clear_line(proc, "single_task_finetuning", "training diverged", "--learning-rate")
    assert not any((tmp_path / "model").iterdir())
    assert only_the_record(tmp_path / "results")


def test_a_second_run_into_a_folder_in_use_stops_at_once(tmp_path):
    """Two runs into one results folder would mix their files (last writer wins): while one
    runs, the other stops with one line; when the first has ended, however it ended, the folder is
    free again."""
    folder = tmp_path / "results"
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "snippets" / "zero_shot_prompting.py")]
        + ["--eval-words", "5000", "--results-dir", str(folder)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not (folder / "run.json").exists():  # written once the folder is held
            assert first.poll() is None and time.time() < deadline, "the first run did not start"
            time.sleep(0.2)
        second = run("zero_shot_prompting", "--eval-words", "1", "--results-dir", str(folder))
        assert_one_clear_line(second, "zero_shot_prompting", "another run is writing into it")
        assert json.loads((folder / "run.json").read_text())["settings"]["eval_words"] == 5000
    finally:
        first.kill()
        first.wait()
    again = run("toy_world", "--results-dir", str(folder), timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]


@pytest.mark.parametrize(
    "text,words",
    [('{"task": "sp', ["is not a whole JSON object"]), ("{}", ["has no 'task'"])],
)
def test_a_damaged_results_file_names_itself_in_the_comparison(tmp_path, text, words):
    generated = tmp_path / "generated"
    shutil.copytree(GENERATED_DIR, generated, ignore=shutil.ignore_patterns("*.png", "*.onnx"))
    damaged = generated / "single_task_finetuning" / "single_task_training.json"
    damaged.write_text(text)
    proc = run(
        "comparison",
        *("--generated-dir", str(generated), "--results-dir", str(tmp_path / "results")),
    )
    assert_one_clear_line(proc, "comparison", str(damaged), "run the snippet", *words)


def test_asking_for_more_words_than_a_run_can_draw_raises_at_once():
    from atlas.toy import world

    from atlas import InputError

    start = time.perf_counter()
    with pytest.raises(InputError, match="at most 10000"):
        world.words("eval", 100_000_000)
    assert time.perf_counter() - start < 1


# --- datasets: checked by type, row by row ------------------------------------------------


@pytest.mark.parametrize(
    "shape,text,words",
    [
        (
            "pairs",
            '{"input": "kitab", "output": "batik"}\n{"input": "lomu", "output": \n',
            [":2:", "not a JSON object"],
        ),
        (
            "classification",
            '{"text": "kitab", "label": "two"}\n',
            [":1:", "label must be a class index"],
        ),
        (
            "classification",
            '{"text": "kitab", "label": true}\n',
            [":1:", "label must be a class index"],
        ),
        ("chat", '{"messages": "hello"}\n', [":1:", "messages must be a non-empty list"]),
        ("chat", '{"messages": [{"role": "robot", "content": "hi"}]}\n', [":1:", "messages[0]"]),
        ("pairs", '{"input": "kitab", "output": 5}\n', [":1:", "output must be text"]),
        ("pairs", '["kitab", "batik"]\n', [":1:", "JSON object"]),
        (
            "instructions",
            '{"input": "kitab", "output": "batik"}\n',
            [":1:", "missing column(s) ['instruction']"],
        ),
        ("preferences", "", ["is empty"]),
        ("raw_text", "\n\n", ["is empty"]),
    ],
)
def test_a_bad_row_names_its_file_and_line(tmp_path, shape, text, words):
    path = tmp_path / f"{shape}.jsonl"
    path.write_text(text)
    with pytest.raises(BadDataset) as error:
        data.load_shape(path, shape)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message, message


def test_divergence_is_read_from_the_loss_as_well_as_the_weights():
    from types import SimpleNamespace

    import torch

    from atlas import InputError
    from atlas.training import _refuse_diverged

    def trainer(losses: list[float]):
        model = torch.nn.Linear(2, 2)
        model.config = SimpleNamespace(vocab_size=100)  # a uniform guess: ln 100, about 4.6
        history = [{"loss": loss} for loss in losses]
        return SimpleNamespace(
            model=model,
            args=SimpleNamespace(learning_rate=5.0),
            state=SimpleNamespace(log_history=history),
        )

    _refuse_diverged(trainer([3.0, 1.0]))  # it learned
    _refuse_diverged(trainer([0.69, 0.9]))  # rose, but below a uniform guess (a DPO loss, say)
    _refuse_diverged(trainer([14.5, 14.7]))  # started above a guess (a chat model, a bare label)
    _refuse_diverged(trainer([3.0, 9.0]))  # rose, but not to twice a uniform guess
    _refuse_diverged(trainer([]))  # nothing logged: the weights alone decide
    with pytest.raises(InputError, match="loss went from 3 to 2.09e"):
        _refuse_diverged(trainer([3.0, 2090.0]))
    with pytest.raises(InputError, match="loss went from 3 to nan"):
        _refuse_diverged(trainer([3.0, float("nan")]))
