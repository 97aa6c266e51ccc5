"""The toy model's character-level tokenizer, built with `tokenizers` and wrapped as a
`PreTrainedTokenizerFast`, so that `AutoTokenizer.from_pretrained(path)` and
`apply_chat_template` work on it exactly as on a Hub tokenizer.
"""

from __future__ import annotations

import string

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, EOS, UNK, *ROLE_TOKENS)

# Every character the toy world writes, plus the rest of printable ASCII so that a reader's own
# prompt never hits <unk>.
CHARACTERS = "".join(
    dict.fromkeys(
        " \n" + string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation
    )
)

# --8<-- [start:chat-template]
# A ChatML-like template. The {% generation %} block marks the assistant's tokens, which is what
# TRL's `assistant_only_loss=True` (and `return_assistant_tokens_mask=True`) rely on. Each turn ends
# with the EOS token, so a chat model stops by itself after its answer.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>{% generation %}{{ message['content'] }}<eos>{% endgeneration %}"
    "{% elif message['role'] in ['system', 'user'] %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<eos>"
    "{% else %}"
    "{{ raise_exception('unknown role: ' + message['role']) }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# --8<-- [end:chat-template]


def build_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character; special tokens for padding, end of text and chat roles."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + tuple(CHARACTERS))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    # Split the text into single characters (newlines included); special tokens are matched first.
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()  # join characters back without spaces
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        eos_token=EOS,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=256,
        clean_up_tokenization_spaces=False,
    )
    return tokenizer
