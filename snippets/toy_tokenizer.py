"""The toy tokenizer: one token per character, with a chat template, loaded like a Hub tokenizer.

Builds the character-level tokenizer with `tokenizers`, saves it, loads it back with
`AutoTokenizer.from_pretrained`, and renders a conversation with `apply_chat_template`. Needs no
model.

    python snippets/toy_tokenizer.py
"""
# ci-args: --output-dir {tmp}/tokenizer --results-dir {tmp}/results

import json
from pathlib import Path

from atlas import ROOT, cli

parser = cli.parser(__doc__, results="toy_tokenizer")
parser.add_argument(
    "--output-dir",
    type=Path,
    default=ROOT / "data" / "toy-tokenizer",
    help="where the tokenizer is saved",
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from transformers import AutoTokenizer

from atlas.toy.tokenizer import build_tokenizer

# --8<-- [start:build]
build_tokenizer().save_pretrained(args.output_dir)
tokenizer = AutoTokenizer.from_pretrained(args.output_dir)  # the same call as for a Hub model id
print(f"{len(tokenizer)} tokens; pad={tokenizer.pad_token!r} eos={tokenizer.eos_token!r}")

ids = tokenizer("the reverse of kitab is batik.")["input_ids"]
print(len(ids), "tokens:", tokenizer.convert_ids_to_tokens(ids)[:12], "...")
# --8<-- [end:build]

# --8<-- [start:chat]
messages = [
    {"role": "user", "content": "Write the reverse of: kitab"},
    {"role": "assistant", "content": "batik"},
]
prompt = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
print(repr(prompt))  # what a chat model sees before it answers

# Which tokens are the assistant's? TRL's assistant-only loss trains on exactly these.
encoded = tokenizer.apply_chat_template(
    messages, return_dict=True, return_assistant_tokens_mask=True
)
tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
trained_on = "".join(t for t, m in zip(tokens, encoded["assistant_masks"]) if m)
print("loss on:", repr(trained_on))
# --8<-- [end:chat]

results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
(results / "tokenizer.json").write_text(
    json.dumps(
        {
            "vocabulary_size": len(tokenizer),
            "tokens_in_example": len(ids),
            "chat_prompt": prompt,
            "assistant_tokens": trained_on,
        },
        indent=1,
    )
    + "\n"
)
