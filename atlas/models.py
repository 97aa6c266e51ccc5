"""Loading a causal LM and its tokenizer by one name: a local directory or a Hub id.

`from_pretrained` treats a local path that does not exist as a Hub id and fails with a network
error far from the cause; `load` says what is wrong first.
"""

from __future__ import annotations

from pathlib import Path


def resolve(model: str | Path) -> str:
    """`model` as a `from_pretrained` argument, after checking that a local path is a model directory."""
    text = str(model)
    looks_local = isinstance(model, Path) or text.startswith((".", "/", "~")) or text.count("/") > 1
    path = Path(text).expanduser()
    if looks_local or path.exists():
        if not path.is_dir():
            raise FileNotFoundError(
                f"model directory {path} does not exist. The toy base model is shipped in models/toy-base "
                "(made by `python snippets/pretraining.py`); or give a Hub id such as 'HuggingFaceTB/SmolLM2-135M'."
            )
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{path} is not a model directory: it has no config.json. Save one with "
                "model.save_pretrained(dir) and tokenizer.save_pretrained(dir)."
            )
        return str(path)
    return text


def load(model: str | Path, **kwargs):
    """(model, tokenizer) through the Auto classes, as for any Hub model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = resolve(model)
    return AutoModelForCausalLM.from_pretrained(name, **kwargs), AutoTokenizer.from_pretrained(name)
