"""The toy world: tasks, templates, words, tokenizer and dataset shapes, and their error
messages."""

from __future__ import annotations

import re

import pytest

from atlas.toy import data, world
from atlas.toy.tokenizer import build_tokenizer

from atlas import models
from atlas.evaluation import build_examples


def test_tasks_clusters_phrasings_templates():
    assert len(world.TASKS) >= 12
    assert len(world.CLUSTERS) >= 4 and all(len(v) >= 2 for v in world.CLUSTERS.values())
    assert world.HELD_OUT_CLUSTER in world.CLUSTERS
    assert len(world.INSTRUCTION_TEMPLATES) >= 6 and len(world.HELD_OUT_TEMPLATE_IDS) >= 2
    for task in world.TASKS.values():
        assert len(task.facts) >= 3
        # the facts and the instructions name the operation with the same words
        assert all(task.noun in f for f in task.facts)
        assert all(
            task.noun in world.instruction(task, "kitab", t)
            for t in range(len(world.INSTRUCTION_TEMPLATES))
        )


def test_operations():
    expected = {
        "reverse": "batik",
        "sort": "abikt",
        "first_letter": "k",
        "last_letter": "b",
        "rotate": "itabk",
        "double": "kkiittaabb",
        "spell": "k-i-t-a-b",
        "length": "5",
        "vowel_count": "2",
        "consonant_count": "3",
        "uppercase": "KITAB",
        "remove_vowels": "ktb",
        "swap_ends": "bitak",
        "second_letter": "i",
    }
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
    patterns = [
        re.compile(re.escape(t).replace(r"\{noun\}", f"({nouns})").replace(r"\{x\}", "[a-z]+"))
        for t in world.INSTRUCTION_TEMPLATES
    ]
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
    inputs = set(re.findall(r"^(\w+) -> ", text, re.MULTILINE)) | set(
        re.findall(r" of (\w+)\b", text)
    )
    assert len(inputs) > 1000 and not evaluation & inputs


def test_builders_are_deterministic():
    assert data.toy_web(50, seed=3) == data.toy_web(50, seed=3)
    assert data.instructions(["reverse"], 5) == data.instructions(["reverse"], 5)


def test_preference_pairs_reject_a_wrong_answer():
    for row in data.preferences(list(world.TASKS), 20):
        assert row["chosen"] != row["rejected"]


def test_domain_text_is_about_operations_the_toy_web_lacks():
    domain = " ".join(r["text"] for r in data.domain_text(500))
    web = " ".join(r["text"] for r in data.toy_web(3000))
    for task in world.DOMAIN_TASKS.values():
        assert f"the {task.noun} of " in domain and f"the {task.noun} of " not in web


def test_unknown_condition_gets_one_clear_error():
    with pytest.raises(KeyError, match="unknown condition"):
        build_examples(build_tokenizer(), conditions=("zero_shot",))


def test_missing_model_directory_gets_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*snippets/pretraining.py"):
        models.load(tmp_path / "no-such-model")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        models.load(tmp_path)
    assert models.resolve("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"
