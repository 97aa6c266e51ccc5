"""The shipped SmolLM2 copy's chat template carries TRL's `{% generation %}` markers
(atlas.real_model.with_generation_markers), so the chat SFT page's recipe (assistant-only loss)
runs on it as written; the markers change no rendered character."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from atlas import BASE_MODEL_DIR
from atlas.real_model import with_generation_markers

GGUF_TEMPLATE = (  # SmolLM2-135M-Instruct's template, as its GGUF file holds it
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CONVERSATIONS = [
    [{"role": "user", "content": "Reverse kitab."}, {"role": "assistant", "content": "batik"}],
    [
        {"role": "system", "content": "Answer with the result only."},
        {"role": "user", "content": "Reverse kitab."},
        {"role": "assistant", "content": "batik"},
        {"role": "user", "content": "And its length?"},
        {"role": "assistant", "content": "5"},
    ],
]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(BASE_MODEL_DIR)  # any tokenizer renders a template


def test_the_gguf_template_is_the_one_the_loader_marks():
    from gguf import GGUFReader

    from atlas.real_model import GGUF_FILE, gguf_dir

    field = GGUFReader(str(gguf_dir() / GGUF_FILE)).fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode() == GGUF_TEMPLATE


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=["one turn", "system, two turns"])
@pytest.mark.parametrize("prompt", [False, True], ids=["whole", "generation prompt"])
def test_the_markers_change_no_rendered_character(tokenizer, conversation, prompt):
    messages = conversation[:-1] if prompt else conversation
    render = [
        tokenizer.apply_chat_template(
            messages, chat_template=t, tokenize=False, add_generation_prompt=prompt
        )
        for t in (GGUF_TEMPLATE, with_generation_markers(GGUF_TEMPLATE))
    ]
    assert render[0] == render[1]


def test_the_markers_cover_each_reply_and_its_end_of_turn(tokenizer):
    marked = with_generation_markers(GGUF_TEMPLATE)
    out = tokenizer.apply_chat_template(
        CONVERSATIONS[1],
        chat_template=marked,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    trained = tokenizer.decode([i for i, m in zip(ids, mask) if m])
    assert trained.replace(" ", "") == "batik<|im_end|>5<|im_end|>".replace(" ", "")
    assert with_generation_markers(marked) == marked
