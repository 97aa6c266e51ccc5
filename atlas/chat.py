"""Conversations in the toy world: chat rows with system messages and follow-up turns, the
second-turn evaluation, the end-of-sequence check, and the templates a chat model can be asked in.

    rows = conversations(tasks, n_per_task=300, seed=0)   # {"messages": [...], "task": ...}
    second_turn_accuracy(model, tokenizer)                # "now reverse that", answered right
    stops = stop_by_itself(model, tokenizer, prompts)     # [(continuation, stopped), ...]

The chat presentations of single requests (seen and held-out wordings) are measured by the one
evaluation harness (`atlas.evaluation`); this module adds what a conversation has and a single
request has not.
"""

from __future__ import annotations

import random

import torch

from atlas.toy import data, world

from atlas.evaluation import extract_answer, generate

SYSTEM_MESSAGES = (
    "You are a helpful assistant for word puzzles.",
    "Answer with the result only.",
    "You work on single words.",
)
# The second request refers to the first answer ("that"): the model must read the conversation.
FOLLOW_UP_TEMPLATES = (
    "Now give the {noun} of that.",
    "And the {noun} of your answer?",
    "Take that and write its {noun}.",
)
# Follow-ups are asked of word answers only (a letter or a number has no interesting reverse).
FOLLOW_UP_TASKS = ("reverse", "uppercase", "sort")
FIRST_TURN_TASKS = ("reverse", "sort", "rotate", "swap_ends", "remove_vowels")

# Another model family's template, character for character (ChatML, used by SmolLM2 and Qwen):
# asking the toy chat model in it is the "template mismatch" pitfall.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def follow_up(task: str, template_id: int) -> str:
    """The second request, about the previous answer."""
    return FOLLOW_UP_TEMPLATES[template_id].format(noun=world.get_task(task).noun)


def two_turns(
    first_task: str, word: str, template_id: int, second_task: str, follow_id: int
) -> list[dict]:
    """A user request, its answer, a follow-up about that answer (the last assistant turn is the
    answer to the follow-up)."""
    first = world.answer(first_task, word)
    return [
        {"role": "user", "content": world.instruction(first_task, word, template_id)},
        {"role": "assistant", "content": first},
        {"role": "user", "content": follow_up(second_task, follow_id)},
        {"role": "assistant", "content": world.answer(second_task, first)},
    ]


# --8<-- [start:conversations]
def conversations(
    tasks: list[str],
    n_per_task: int,
    seed: int = 0,
    system_share: float = 0.25,
    two_turn_share: float = 0.6,
) -> list[dict]:
    """Chat rows: one request and its answer (`data.chat`), a system message before a share of
    them, and a follow-up turn after a share of those whose task has a word answer."""
    rng = random.Random(f"conversations-{seed}")
    rows = data.chat(tasks, n_per_task, seed=seed)
    for row in rows:
        messages = row["messages"]
        if row["task"] in FIRST_TURN_TASKS and rng.random() < two_turn_share:
            second, first_answer = rng.choice(FOLLOW_UP_TASKS), messages[1]["content"]
            messages += [
                {
                    "role": "user",
                    "content": follow_up(second, rng.randrange(len(FOLLOW_UP_TEMPLATES))),
                },
                {"role": "assistant", "content": world.answer(second, first_answer)},
            ]
        if rng.random() < system_share:
            messages.insert(0, {"role": "system", "content": rng.choice(SYSTEM_MESSAGES)})
    return rows


# --8<-- [end:conversations]


def second_turn_prompts(tokenizer, n_words: int = 20) -> list[tuple[str, str]]:
    """(prompt, expected answer) for follow-ups on held-out words; the first answer in the
    conversation is the right one, so only the second turn is measured."""
    rng = random.Random("second-turn")
    out = []
    for w in world.words("eval", n_words):
        for first in FIRST_TURN_TASKS:
            second = rng.choice(FOLLOW_UP_TASKS)
            follow_id = rng.randrange(len(FOLLOW_UP_TEMPLATES))
            messages = two_turns(first, w, rng.choice(world.SEEN_TEMPLATE_IDS), second, follow_id)
            prompt = tokenizer.apply_chat_template(
                messages[:-1], tokenize=False, add_generation_prompt=True
            )
            out.append((prompt, messages[-1]["content"]))
    return out


def second_turn_accuracy(model, tokenizer, n_words: int = 20) -> float:
    pairs = second_turn_prompts(tokenizer, n_words)
    outputs = generate(model, tokenizer, [p for p, _ in pairs], add_special_tokens=False)
    return sum(extract_answer(o) == a for o, (_, a) in zip(outputs, pairs)) / len(pairs)


@torch.inference_mode()
def stop_by_itself(
    model, tokenizer, prompts: list[str], max_new_tokens: int = 64
) -> list[tuple[str, bool]]:
    """Greedy continuations with no stop rule but the model's own EOS: (the continuation with its
    special tokens, whether the model ended it within `max_new_tokens`)."""
    model.eval()
    padding_side, pad_token = tokenizer.padding_side, tokenizer.pad_token
    tokenizer.padding_side = "left"
    tokenizer.pad_token = pad_token or tokenizer.eos_token  # many Hub tokenizers have no pad
    try:
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    finally:
        tokenizer.padding_side, tokenizer.pad_token = padding_side, pad_token
    new = out[:, enc["input_ids"].shape[1] :]
    stopped = (new == tokenizer.eos_token_id).any(dim=1).tolist()
    eos = tokenizer.eos_token
    texts = [  # up to the first EOS: what follows is padding
        t.split(eos)[0] + eos if s else t
        for t, s in zip(tokenizer.batch_decode(new, skip_special_tokens=False), stopped)
    ]
    return list(zip(texts, stopped))


def chat_requests(tokenizer, n_words: int = 10) -> list[str]:
    """Single requests in the chat template, one per seen task and held-out word."""
    rng = random.Random("chat-requests")
    seen = [t for t in world.TASKS if world.TASKS[t].cluster != world.HELD_OUT_CLUSTER]
    requests = [
        world.instruction(t, w, rng.choice(world.SEEN_TEMPLATE_IDS))
        for w in world.words("eval", n_words)
        for t in seen
    ]
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": r}], tokenize=False, add_generation_prompt=True
        )
        for r in requests
    ]


def unfinished_requests(tokenizer, n: int = 3) -> list[str]:
    """The chat template up to the first words of a user's request: what does a model write next?
    (A model trained with loss on the prompt has learnt to write requests too.)"""
    out = []
    for i, t in enumerate(FIRST_TURN_TASKS[:n]):
        request = world.instruction(t, "kitab", i)
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": request}], tokenize=False
        )
        out.append(rendered[: rendered.index(request)] + " ".join(request.split()[:2]) + " ")
    return out
