"""Every snippet that takes `--model` runs to the end on a causal LM of another family than the toy
Llama, with another kind of tokenizer: what a reader does when they point a snippet at their model.

The model is built here, in seconds: a GPT-2 (learned positions, fused attention `c_attn`, Conv1D
layers) with random weights, and a SentencePiece-style BPE tokenizer (Metaspace, not characters)
trained on the toy world's text, with a chat template but, as GPT-2's own, no pad token.
"""

from __future__ import annotations

import json
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from atlas.toy import data, world

from atlas import ROOT, InputError
from atlas.ci import SNIPPETS

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n"
    "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}</s>{% endgeneration %}"
    "{% else %}{{ m['content'] }}</s>{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
# snippet -> the arguments of a short run (steps, evaluation size); the test adds --model and
# the output folders
RUNS = {
    "zero_shot_prompting": "--eval-words 1",
    "few_shot_prompting": "--eval-words 1",
    "single_task_finetuning": "--max-steps 2 --eval-words 1",
    "instruction_tuning": "--max-steps 2 --eval-words 1",
    "classification_head": "--max-steps 2",
    "lora_finetuning": "--max-steps 2 --eval-reviews 2 --eval-others 1",
    "real_model_presentation": f"--items {world.N_SHOTS + 1}",
    "chat_sft": "--max-steps 2 --eval-words 2",
    "pitfalls": "--pairs 2",
    "peft_finetuning": "--max-steps 2 --eval-words 1",
    "prompt_tuning": "--max-steps 2 --eval-words 1",
    "prefix_tuning": "--max-steps 2 --eval-words 1",
    "continued_pretraining": "--max-steps 2 --eval-words 1",
    "dpo": "--max-steps 2 --eval-words 1 --requests 10",
    "kto": "--max-steps 2 --eval-words 1 --requests 10",
    "dpo_real_model": "--max-steps 1 --requests 4 --eval-words 2 --eval-others 1",
    "new_knowledge": "--epochs 1 --facts 4 --eval-words 1",
}


# Snippets whose data is the model's own wrong answers (a real chat model's: they make pairs only
# from non-empty replies)
ANSWERS_NEEDED = ("dpo_real_model",)


@pytest.fixture(scope="module")
def gpt2_model(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("gpt2-bpe")
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    bpe.decoder = decoders.Metaspace()
    texts = [d["text"] for d in data.toy_web(300)] + [
        world.instruction(t, "kitab", 0) for t in world.TASKS
    ]
    bpe.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "</s>"])
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", unk_token="<unk>")
    tokenizer.chat_template = CHAT_TEMPLATE
    assert tokenizer.pad_token is None  # as GPT-2's: the snippets must cope
    tokenizer.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=32,
        n_layer=2,
        n_head=2,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)  # random weights, safetensors
    return folder


def test_every_model_snippet_is_tried_here():
    takes_model = {p.stem for p in SNIPPETS if '"--model"' in p.read_text()}
    assert takes_model == {name.split()[0] for name in RUNS}


@pytest.mark.parametrize("name", RUNS)
def test_snippet_runs_to_the_end_on_another_family(name, gpt2_model, tmp_path, monkeypatch):
    snippet, *variant = name.split()
    args = [
        *variant,
        *shlex.split(RUNS[name]),
        "--model",
        str(gpt2_model),
        "--results-dir",
        str(tmp_path / "results"),
    ]
    if "--output-dir" in (ROOT / "snippets" / f"{snippet}.py").read_text():
        args += ["--output-dir", str(tmp_path / "model")]
    # In this process, as `python snippets/x.py ARGS` would run it (runpy executes the file as
    # __main__ with that argv): the heavy imports are paid once for all the snippets, not once
    # each. tests/test_snippets.py runs every snippet in a child process of its own.
    script = ROOT / "snippets" / f"{snippet}.py"
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    monkeypatch.chdir(ROOT)
    if snippet in ANSWERS_NEEDED:
        # an untrained model answers nothing, so there is no wrong answer to reject: the snippet
        # gets that far (the model, its tokenizer and chat template loaded, every request asked
        # and judged) and stops with its one clear error
        with pytest.raises(InputError, match="no wrong answers"):
            runpy.run_path(str(script), run_name="__main__")
        return
    runpy.run_path(str(script), run_name="__main__")
    written = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert any(w.endswith(".json") for w in written), written
    for path in (tmp_path / "results").glob(
        "*.md"
    ):  # tables name the model used, not the default one
        assert "SmolLM2" not in path.read_text(), path.name
    if snippet == "lora_finetuning":
        stats = json.loads((tmp_path / "results" / "lora_bare_training.json").read_text())
        assert stats["lora_targets"] == "all-linear" and stats["model"] == gpt2_model.name
