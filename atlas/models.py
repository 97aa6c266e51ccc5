"""Loading a causal LM and its tokenizer by one name: a local directory or a Hub id.

`from_pretrained` treats a local path that does not exist as a Hub id and fails with a network
error far from the cause; `resolve` says what is wrong first, without touching the network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from atlas import ROOT, MissingFile

WEIGHTS = ("*.safetensors", "pytorch_model*.bin", "*.gguf")  # what from_pretrained can load
# Files a tokenizer is loaded from: save_pretrained's, and the vocabularies slow tokenizers read
# (sentencepiece models, BPE vocab and merges, tiktoken files). A folder with none has no tokenizer.
TOKENIZER_FILES = (
    "tokenizer*",
    "*.model",
    "*.spm",
    "*.tiktoken",
    "vocab*",
    "merges.txt",
    "tekken.json",
    "bpe.codes",
)


def looks_local(model: str | Path) -> bool:
    """A Hub id is `name` or `owner/name`; anything else, or a name whose first part is a local
    folder (`models/toy-bse`), is meant as a path."""
    text = str(model)
    if (
        isinstance(model, Path)
        or text.startswith((".", "/", "~", "\\"))
        or text.count("/") > 1
        or "\\" in text
    ):
        return True
    return "/" in text and Path(text.split("/")[0]).is_dir()


def resolve(model: str | Path) -> str:
    """`model` as a `from_pretrained` argument, after checking that a local path is a model
    directory with a config and weights; a Hub id is returned unchanged."""
    text = str(model)
    if not text.strip():
        raise MissingFile("the model name is empty: give a model directory or a Hub id")
    path = Path(text).expanduser()
    if not (looks_local(model) or path.exists()):
        if text == OFFLINE_REAL_MODEL:
            from atlas.real_model import smollm2

            return smollm2()
        if (ROOT / "models" / text).is_dir():  # meant as this project's model, not a Hub id
            raise MissingFile(
                f"there is no folder {text!r} here, so from_pretrained would look for it on "
                f"the Hub; this project's model of that name is {ROOT / 'models' / text}: "
                "pass that path"
            )
        if _offline() and not _cached(text):
            raise MissingFile(
                f"{text} is a Hub id, and the Hub is off here (HF_HUB_OFFLINE=1) with no copy "
                "of it in the Hugging Face cache. This project ships SmolLM2-135M-Instruct "
                f"offline: pass --model {OFFLINE_REAL_MODEL}, or a model folder"
            )
        return text
    if path.is_file():
        raise MissingFile(
            f"{path} is a file, not a model directory: give the folder that holds its config.json"
        )
    if not path.is_dir():
        near = (
            sorted(p.name for p in path.parent.iterdir() if p.is_dir())
            if path.parent.is_dir()
            else []
        )
        hint = f" (that folder holds: {', '.join(near)})" if near else ""
        raise MissingFile(
            f"model directory {path} does not exist{hint}. The toy base model is models/toy-base "
            "(made by `python snippets/pretraining.py`); "
            "or give a Hub id such as 'HuggingFaceTB/SmolLM2-135M'."
        )
    if not (path / "config.json").is_file():
        adapter = (
            " It holds a PEFT adapter: load it with peft.AutoPeftModelForCausalLM."
            if (path / "adapter_config.json").is_file()
            else ""
        )
        raise MissingFile(
            f"{path} is not a model directory: it has no config.json.{adapter} Save a model with "
            "model.save_pretrained(dir) and tokenizer.save_pretrained(dir)."
        )
    if not any(next(path.glob(pattern), None) for pattern in WEIGHTS):
        raise MissingFile(
            f"{path} has a config.json but no weights (model.safetensors): "
            "it was saved without them "
            "or the copy is incomplete. Save the model again with model.save_pretrained(dir)."
        )
    if not any(f.is_file() for pattern in TOKENIZER_FILES for f in path.glob(pattern)):
        raise MissingFile(
            f"{path} holds a model but no tokenizer (tokenizer.json, tokenizer_config.json): "
            "save the tokenizer beside it with tokenizer.save_pretrained(dir)."
        )
    problem = _not_a_causal_lm(path) or _vocabulary_mismatch(path)
    if problem:
        raise MissingFile(problem)
    return str(path)


# The class-name endings of models that do not generate text (an encoder with a head of its own);
# AutoModelForCausalLM would refuse them with a list of every class it knows, or load BERT as a
# decoder without a word. (An allowlist of causal names would refuse Gemma 3's
# ...ForConditionalGeneration, which AutoModelForCausalLM loads.)
NOT_CAUSAL_ENDINGS = (
    "ForMaskedLM",
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "ForMultipleChoice",
    "ForNextSentencePrediction",
    "ForPreTraining",
)


def _config(path: Path) -> dict:
    try:
        config = json.loads((path / "config.json").read_text())
    except ValueError as error:
        config = error
    if not isinstance(config, dict):
        raise MissingFile(
            f"{path / 'config.json'} is not a JSON object ({config}): the copy is damaged; save "
            "the model again with model.save_pretrained(dir)"
        )
    return config


# Sizes a config states that must be positive integers (a damaged copy may hold anything).
SIZES = ("vocab_size", "hidden_size", "num_hidden_layers", "max_position_embeddings")
SAVE_AGAIN = "the copy is damaged: save the model again with model.save_pretrained(dir)"


def _damaged(path: Path, config: dict) -> str | None:
    """Why the folder's config or weights cannot be loaded (None if they look whole): no
    model_type or one this transformers does not know, a size that is not a positive integer, a
    safetensors file cut short or not one, a shard its index names that is missing, or a token
    embedding whose shape is not the config's vocabulary and width. from_pretrained reports
    each of these as a traceback from deep inside the loading."""
    text_config = config.get("text_config") or {}
    model_type = config.get("model_type") or text_config.get("model_type")
    if not model_type:
        return f"{path / 'config.json'} has no model_type: {SAVE_AGAIN}"
    unknown = _unknown_model_type(model_type)
    if unknown:
        return f"{path / 'config.json'}: {unknown}"
    sizes = {**text_config, **config}
    for key in SIZES:
        value = sizes.get(key)
        if value is not None and not (isinstance(value, int) and value > 0):
            return (
                f"{path / 'config.json'}: {key} is {value!r}, not a positive integer: {SAVE_AGAIN}"
            )
    missing = _missing_shards(path)
    if missing:
        return missing
    # The embedding's width is hidden_size unless the config names another (OPT-350m projects its
    # 512-wide embedding, word_embed_proj_dim, up to a hidden_size of 1024)
    width_key = next((k for k in EMBEDDING_WIDTHS if k in sizes), "hidden_size")
    want = [sizes.get("vocab_size"), sizes.get(width_key)]
    for weights in sorted(path.glob("*.safetensors")):
        header = _safetensors_header(weights)
        if header is None:
            return (
                f"{weights} is cut short or is not a safetensors file (its header and the tensors "
                f"it lists do not match the file's {weights.stat().st_size} bytes): {SAVE_AGAIN}"
            )
        embedding = next(
            (v.get("shape") for k, v in header.items() if k.endswith(EMBEDDING_NAMES)), None
        )
        if embedding and want[0] is None:
            return f"{path / 'config.json'} has no vocab_size: {SAVE_AGAIN}"
        if embedding and None not in want and list(embedding) != want:
            return (
                f"{weights} has a token embedding of shape {list(embedding)}, but config.json says "
                f"vocab_size {want[0]} and {width_key} {want[1]}: the config belongs to another "
                "model, or was edited; save the model again with model.save_pretrained(dir)"
            )
    return None


# Config keys that give the token embedding's width where it is not hidden_size.
EMBEDDING_WIDTHS = ("word_embed_proj_dim", "embedding_size")


def _unknown_model_type(model_type: object) -> str | None:
    """Why transformers cannot build `model_type` (None if it can): AutoConfig would raise a
    ValueError listing every type it knows. Most types have a folder of that name in
    transformers/models, found without importing transformers (3 s, at the arguments); only the
    others are looked up in its mapping."""
    import importlib.util

    spec = importlib.util.find_spec("transformers")
    if isinstance(model_type, str) and spec and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        if (package / "models" / model_type.replace("-", "_")).is_dir():
            return None
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if isinstance(model_type, str) and model_type in CONFIG_MAPPING_NAMES:
        return None
    return (
        f"model_type {model_type!r} is not one transformers {transformers.__version__} knows: "
        "a newer transformers may know it (this project pins its versions in pyproject.toml), "
        "or the copy is damaged"
    )


def _missing_shards(path: Path) -> str | None:
    """Why a sharded model is incomplete (None if it is not sharded, or whole): a shard its
    index names is not in the folder."""
    index = path / "model.safetensors.index.json"
    if not index.is_file():
        return None
    try:
        shards = set(json.loads(index.read_text())["weight_map"].values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"{index} is not a shard index (no weight_map): {SAVE_AGAIN}"
    missing = sorted(s for s in shards if not (path / str(s)).is_file())
    if missing:
        return (
            f"{path} lacks {len(missing)} of the {len(shards)} weight files its index names "
            f"({', '.join(missing[:3])}): the copy is incomplete; copy or download it again"
        )
    return None


# The token embedding's name in the common decoders' weights (Llama and most since, GPT-2,
# GPT-NeoX), whose shape is [vocab_size, hidden_size].
EMBEDDING_NAMES = ("embed_tokens.weight", "wte.weight", "embed_in.weight")


# The safetensors format's own limit on its header (the JSON table before the tensors).
SAFETENSORS_MAX_HEADER = 100_000_000


def _safetensors_header(file: Path) -> dict | None:
    """The tensor table of a safetensors file ({name: {"shape": ...}}), or None if the file is
    cut short or is not one: its first 8 bytes are the header's length, then the header (JSON),
    then the tensors' bytes, which end exactly where the largest of their data_offsets says."""
    try:
        size = file.stat().st_size
        with file.open("rb") as f:
            length = int.from_bytes(f.read(8), "little")
            if not 0 < length <= min(size - 8, SAFETENSORS_MAX_HEADER):
                return None
            header = json.loads(f.read(length))
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
        whole = all(isinstance(v["shape"], list) for v in tensors.values())
    except (KeyError, IndexError, TypeError, ValueError):  # a tensor without its shape or place
        return None
    return tensors if whole and 8 + length + end == size else None


def _not_a_causal_lm(path: Path) -> str | None:
    """Why the model in `path` is not one a causal-LM snippet can use (None if it is): an
    encoder-decoder (T5, BART) or an encoder (BERT's masked LM), which AutoModelForCausalLM would
    refuse with a list of every class it knows, or load as something else without a word."""
    config = _config(path)
    names = config.get("architectures") or []
    what = ", ".join(names) or config.get("model_type", "a model")
    hint = (
        "these snippets train and prompt decoder-only language models (AutoModelForCausalLM), "
        f"such as models/toy-base or --model {OFFLINE_REAL_MODEL}"
    )
    if config.get("is_encoder_decoder"):
        return f"{path} holds an encoder-decoder model ({what}): {hint}"
    if names and all(name.endswith(NOT_CAUSAL_ENDINGS) for name in names):
        return f"{path} holds {what}, not a causal language model: {hint}"
    return None


def _vocabulary_mismatch(path: Path) -> str | None:
    """Why the tokenizer in `path` does not fit its model (None if it does, or cannot be told
    without loading): a token id past the model's embedding rows fails deep inside the forward
    pass with an IndexError."""
    config = _config(path)
    rows = config.get("vocab_size") or (config.get("text_config") or {}).get("vocab_size")
    tokenizer_file = path / "tokenizer.json"
    if not isinstance(rows, int) or not tokenizer_file.is_file():
        return None
    try:
        tokenizer = json.loads(tokenizer_file.read_text())
    except ValueError as error:
        return f"{tokenizer_file} is not valid JSON ({error}): save the tokenizer again"
    if not isinstance(tokenizer, dict):
        return f"{tokenizer_file} is not a tokenizer (not a JSON object): save the tokenizer again"
    vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    ids = list(vocab.values()) if isinstance(vocab, dict) else list(range(len(vocab)))
    ids += [t["id"] for t in tokenizer.get("added_tokens") or [] if isinstance(t.get("id"), int)]
    if ids and max(ids) >= rows:
        return (
            f"the tokenizer in {path} has token ids up to {max(ids)}, but the model's embedding "
            f"has {rows} rows (vocab_size): the tokenizer belongs to another model. Save the "
            "model's own tokenizer beside it with tokenizer.save_pretrained(dir)"
        )
    return None


OFFLINE_REAL_MODEL = "smollm2"  # the name of the real model the project ships (atlas.real_model)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _unreachable() -> str | None:
    """Not called: `_hub_unreachable` replaced it (it dialled port 443 for an http endpoint, and
    the Hub's host directly behind a proxy). It stays while published stamps list it among the
    code their figures were made with (tools/update_generated.py adopts a stamp only while every
    unit it lists still exists); remove it once `update_generated.py --check` passes without it."""
    import socket
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname
    try:
        socket.create_connection((host, endpoint.port or 443), timeout=3).close()
    except OSError as error:
        return f"not reachable from here ({host}: {error.strerror or error})"
    return None


def _hub_unreachable() -> str | None:
    """Why the Hub cannot be reached from here (None if it can, or if that cannot be told by one
    connection): asked once, in a few seconds, instead of the minute of retries from_pretrained
    spends before its traceback. Behind a proxy the Hub's host is not dialled directly, so the
    question is left to the download."""
    import socket
    import urllib.request
    from urllib.parse import urlsplit

    endpoint_text = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    endpoint = urlsplit(endpoint_text)
    if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
        return (
            f"at HF_ENDPOINT={endpoint_text!r}, which is not a URL such as https://huggingface.co "
            "(a scheme and a host): set it to one, or unset it"
        )
    host = endpoint.hostname
    if urllib.request.getproxies().get(endpoint.scheme) and not urllib.request.proxy_bypass(host):
        return None
    try:
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        socket.create_connection((host, port), timeout=3).close()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        return f"not reachable from here ({host}: {reason})"
    return None


def _go_offline() -> None:
    """Load from the Hugging Face cache without asking the Hub, for the rest of the run: the
    environment variable for child processes, and huggingface_hub's flag, which it read from the
    environment when it was imported (transformers asks huggingface_hub)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True


def loading_problem(model: str) -> str | None:
    """What `resolve` leaves to from_pretrained and from_pretrained reports badly (None if
    nothing): for a model folder, a damaged config or weights (`_damaged`); for a Hub id, a Hub
    that cannot be reached with no cached copy, at once instead of after a minute of retries (with
    a cached copy, the Hub is switched off for the run, so the copy loads without them)."""
    path = Path(model)
    if path.is_dir():
        return _damaged(path, _config(path))
    if _offline():
        return None  # resolve has answered for a Hub id with no cached copy
    unreachable = _hub_unreachable()
    if unreachable and not _cached(model):
        return (
            f"{model} is a Hub id, and the Hub is {unreachable}, with no copy of it in the "
            "Hugging Face cache. This project ships SmolLM2-135M-Instruct offline: pass "
            f"--model {OFFLINE_REAL_MODEL}, or a model folder"
        )
    if unreachable:
        _go_offline()
    return None


def local_config(model: str | Path | None) -> dict | None:
    """A local model folder's config.json (checked by `resolve` already), or None for a Hub id
    or no model."""
    if not model:
        return None
    path = Path(str(model)).expanduser()
    return _config(path) if (path / "config.json").is_file() else None


def _cached(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds `repo_id`'s config (so it loads offline)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:  # not a valid repository id
        return False


def load(model: str | Path, **kwargs):
    """(model, tokenizer) through the Auto classes, as for any Hub model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = resolve(model)
    return AutoModelForCausalLM.from_pretrained(name, **kwargs), AutoTokenizer.from_pretrained(name)
