"""The toy tokenizer (snippets/toy_tokenizer.py, shown on docs/how-this-site-works.md): one token
per character, loaded like a Hub tokenizer, with a chat template that marks the assistant's
tokens."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from atlas.toy.tokenizer import build_tokenizer

from atlas.evaluation import build_examples, require_chat_template


def test_tokenizer_loads_like_a_hub_tokenizer(tmp_path):
    build_tokenizer().save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    text = 'Word: kitab\nTask: give its "reverse"?'
    ids = tok(text)["input_ids"]
    assert len(ids) == len(text) and tok.decode(ids) == text  # one token per character, lossless
    assert tok.pad_token and tok.eos_token and tok.pad_token_id != tok.eos_token_id
    messages = [
        {"role": "user", "content": "Write the reverse of: kitab"},
        {"role": "assistant", "content": "batik"},
    ]
    prompt = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt == "<|user|>Write the reverse of: kitab<eos><|assistant|>"
    enc = tok.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    trained = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tok.decode(trained) == "batik<eos>"


def test_tokenizer_without_chat_template_gets_one_clear_error():
    tok = build_tokenizer()
    tok.chat_template = None
    with pytest.raises(ValueError, match="has no chat template"):
        require_chat_template(tok)
    with pytest.raises(ValueError, match="has no chat template"):
        build_examples(tok, conditions=("chat",), tasks=["reverse"], n_words=2)
    assert build_examples(tok, conditions=("instruction", "few_shot"), tasks=["reverse"], n_words=2)
