"""The toy world: tasks, templates, words, tokenizer and dataset shapes, and their error messages."""

from __future__ import annotations

import json
import re

import pytest
from transformers import AutoTokenizer

from atlas import data, models, world
from atlas.evaluation import build_examples, require_chat_template
from atlas.tokenizer import build_tokenizer


def test_tasks_clusters_phrasings_templates():
    assert len(world.TASKS) >= 12
    assert len(world.CLUSTERS) >= 4 and all(len(v) >= 2 for v in world.CLUSTERS.values())
    assert world.HELD_OUT_CLUSTER in world.CLUSTERS
    assert len(world.INSTRUCTION_TEMPLATES) >= 6 and len(world.HELD_OUT_TEMPLATE_IDS) >= 2
    for task in world.TASKS.values():
        assert len(task.facts) >= 3
        # the facts and the instructions name the operation with the same words
        assert all(task.noun in f for f in task.facts)
        assert all(task.noun in world.instruction(task, "kitab", t) for t in range(len(world.INSTRUCTION_TEMPLATES)))


def test_operations():
    expected = {"reverse": "batik", "sort": "abikt", "first_letter": "k", "last_letter": "b", "rotate": "itabk",
                "double": "kkiittaabb", "spell": "k-i-t-a-b", "length": "5", "vowel_count": "2",
                "consonant_count": "3", "uppercase": "KITAB", "remove_vowels": "ktb", "swap_ends": "bitak",
                "second_letter": "i"}
    assert {name: world.answer(name, "kitab") for name in expected} == expected


def test_train_and_eval_words_are_disjoint_and_reproducible():
    train, evaluation = world.words("train", 4000), world.words("eval", 200)
    assert not set(train) & set(evaluation)
    assert world.words("eval", 200) == evaluation
    assert all(3 <= len(w) <= 7 and w.isalpha() for w in train + evaluation)


def test_unknown_task_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown task 'revers'.*reverse"):
        world.get_task("revers")
    with pytest.raises(KeyError, match="unknown task"):
        data.pairs("revers", 3)


def test_toy_web_never_contains_an_instruction_or_a_chat_turn():
    nouns = "|".join(re.escape(t.noun) for t in world.TASKS.values())
    patterns = [re.compile(re.escape(t).replace(r"\{noun\}", f"({nouns})").replace(r"\{x\}", "[a-z]+"))
                for t in world.INSTRUCTION_TEMPLATES]
    tokenizer = build_tokenizer()
    for row in data.toy_web(5000):
        text = row["text"]
        assert not any(p.search(text) for p in patterns), text
        assert not any(tok in text for tok in tokenizer.all_special_tokens), text
    # ...but it does state facts about every task, held-out cluster included
    text = " ".join(r["text"] for r in data.toy_web(3000))
    for task in world.TASKS.values():
        assert f"the {task.noun} of " in text


def test_toy_web_uses_training_words_only():
    evaluation = set(world.words("eval", 40))
    text = "\n".join(r["text"] for r in data.toy_web(3000))
    inputs = set(re.findall(r"^(\w+) -> ", text, re.MULTILINE)) | set(re.findall(r" of (\w+)\b", text))
    assert len(inputs) > 1000 and not evaluation & inputs


def test_builders_are_deterministic():
    assert data.toy_web(50, seed=3) == data.toy_web(50, seed=3)
    assert data.instructions(["reverse"], 5) == data.instructions(["reverse"], 5)


@pytest.mark.parametrize("shape,rows", [
    ("raw_text", lambda: data.toy_web(5)),
    ("domain_text", lambda: data.domain_text(5)),
    ("classification", lambda: data.classification(5)),
    ("pairs", lambda: data.pairs("reverse", 5)),
    ("instructions", lambda: data.instructions(["reverse", "sort"], 5)),
    ("chat", lambda: data.chat(["reverse"], 5)),
    ("preferences", lambda: data.preferences(["reverse", "sort"], 5)),
])
def test_every_shape_loads_with_datasets(shape, rows, tmp_path):
    ds = data.load_shape(data.write_jsonl(rows(), tmp_path / f"{shape}.jsonl"), shape)
    assert set(data.SHAPES[shape]) <= set(ds.column_names) and ds.num_rows >= 5


def test_preference_pairs_reject_a_wrong_answer():
    for row in data.preferences(list(world.TASKS), 20):
        assert row["chosen"] != row["rejected"]


def test_domain_text_is_about_operations_the_toy_web_lacks():
    domain = " ".join(r["text"] for r in data.domain_text(500))
    web = " ".join(r["text"] for r in data.toy_web(3000))
    for task in world.DOMAIN_TASKS.values():
        assert f"the {task.noun} of " in domain and f"the {task.noun} of " not in web


def test_wrong_columns_get_one_clear_error(tmp_path):
    path = data.write_jsonl(data.pairs("reverse", 3), tmp_path / "pairs.jsonl")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['instruction'\].*needs"):
        data.load_shape(path, "instructions")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_shape(tmp_path / "nope.jsonl", "pairs")
    with pytest.raises(KeyError, match="unknown dataset shape"):
        data.load_shape(path, "alpaca")


def test_tokenizer_loads_like_a_hub_tokenizer(tmp_path):
    build_tokenizer().save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    text = 'Word: kitab\nTask: give its "reverse"?'
    ids = tok(text)["input_ids"]
    assert len(ids) == len(text) and tok.decode(ids) == text  # one token per character, lossless
    assert tok.pad_token and tok.eos_token and tok.pad_token_id != tok.eos_token_id
    messages = [{"role": "user", "content": "Write the reverse of: kitab"}, {"role": "assistant", "content": "batik"}]
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


def test_unknown_condition_gets_one_clear_error():
    with pytest.raises(KeyError, match="unknown condition"):
        build_examples(build_tokenizer(), conditions=("zero_shot",))


def test_missing_model_directory_gets_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*snippets/pretraining.py"):
        models.load(tmp_path / "no-such-model")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        models.load(tmp_path)
    assert models.resolve("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"


def test_dataset_shapes_page_shows_every_shape(run_snippet):
    run = run_snippet("dataset_shapes")
    shapes = json.loads((run.results() / "shapes.json").read_text())
    assert list(shapes) == list(data.SHAPES)
