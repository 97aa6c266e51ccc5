"""The toy world: string tasks, their clusters, fact phrasings and instruction templates.

Everything here is pure Python and deterministic. The same tasks appear in every dataset shape
(`atlas.toy.data`) and in the one evaluation harness (`atlas.evaluation`).

Three words to keep apart (see docs/index.md):
  * a *task* here is a user task, a string operation such as "reverse";
  * a *fact phrasing* is how the pretraining text states a task's result
    ("the reverse of kitab is batik.");
  * an *instruction template* is how a user asks for it ("Write the reverse of: kitab").
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Callable

from atlas import InputError, UnknownName

VOWELS = "aeiou"
CONSONANTS = "bdfgklmnprstvz"


# --- the operations -------------------------------------------------------------------------


def _rotate(word: str) -> str:
    return word[1:] + word[0]


def _double(word: str) -> str:
    return "".join(ch * 2 for ch in word)


def _swap_ends(word: str) -> str:
    return word[-1] + word[1:-1] + word[0] if len(word) > 1 else word


@dataclass(frozen=True)
class Task:
    """One user task: a string operation with the words used to talk about it.

    `noun` names the operation the same way in the pretraining facts and in the instruction
    templates ("the reverse of kitab" / "Write the reverse of: kitab"): instruction tuning can only
    unlock an operation that the base model already associates with a name.
    """

    name: str
    cluster: str
    noun: str
    fn: Callable[[str], str]
    facts: tuple[str, ...]  # each with {x} (input) and {y} (output)


def _facts(noun: str, verb_is: str = "is") -> tuple[str, ...]:
    return (
        f"the {noun} of {{x}} {verb_is} {{y}}.",
        f"for {{x}}, the {noun} {verb_is} {{y}}.",
        f"{{y}} {verb_is} the {noun} of {{x}}.",
        f"we know that the {noun} of {{x}} {verb_is} {{y}}.",
        f"take {{x}}: its {noun} {verb_is} {{y}}.",
    )


def _task(
    name: str, cluster: str, noun: str, fn: Callable[[str], str], verb_is: str = "is"
) -> Task:
    return Task(name, cluster, noun, fn, _facts(noun, verb_is))


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        # position: read one letter
        _task("first_letter", "position", "first letter", lambda w: w[0]),
        _task("last_letter", "position", "last letter", lambda w: w[-1]),
        _task("second_letter", "position", "second letter", lambda w: w[1]),
        # order: rearrange the letters
        _task("reverse", "order", "reverse", lambda w: w[::-1]),
        _task("sort", "order", "sorted letters", lambda w: "".join(sorted(w)), verb_is="are"),
        _task("rotate", "order", "rotation", _rotate),
        _task("swap_ends", "order", "swapped ends", _swap_ends, verb_is="are"),
        # transform: rewrite every letter
        _task("uppercase", "transform", "uppercase", str.upper),
        _task("double", "transform", "doubled letters", _double, verb_is="are"),
        _task("spell", "transform", "spelling", lambda w: "-".join(w)),
        _task(
            "remove_vowels",
            "transform",
            "consonants only",
            lambda w: "".join(c for c in w if c not in VOWELS),
            verb_is="are",
        ),
        # count: answer with a number
        _task("length", "count", "length", lambda w: str(len(w))),
        _task(
            "vowel_count", "count", "number of vowels", lambda w: str(sum(c in VOWELS for c in w))
        ),
        _task(
            "consonant_count",
            "count",
            "number of consonants",
            lambda w: str(sum(c not in VOWELS for c in w)),
        ),
    ]
}

CLUSTERS: dict[str, list[str]] = {}
for _t in TASKS.values():
    CLUSTERS.setdefault(_t.cluster, []).append(_t.name)

# The cluster left out of multi-task instruction tuning and used to measure transfer to unseen
# tasks.
HELD_OUT_CLUSTER = "count"
N_SHOTS = 4  # solved examples in a few-shot prompt, everywhere on the site


def get_task(name: str) -> Task:
    """Return the task called `name`, or fail with the list of task names."""
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownName(
            f"unknown task {name!r}; the toy world's tasks are: {', '.join(TASKS)}"
        ) from None


def as_task(task: str | Task) -> Task:
    """A Task given itself or its name."""
    return task if isinstance(task, Task) else get_task(task)


def check_cluster(name: str) -> str:
    if name not in CLUSTERS:
        raise UnknownName(
            f"unknown cluster {name!r}; the toy world's clusters are: {', '.join(CLUSTERS)}"
        )
    return name


# --- instruction templates --------------------------------------------------------------------
# {noun} is the task's name for itself, {x} the input word. Wording and layout both vary.
# 24 for training, in many wordings and layouts (FLAN: template variety is what carries over to new
# phrasings). The last three are never trained on: they measure generalisation to new phrasings.

INSTRUCTION_TEMPLATES: tuple[str, ...] = (
    "What is the {noun} of {x}?",
    "Give the {noun} of {x}.",
    "Write the {noun} of: {x}",
    "Find the {noun} of the word {x}.",
    'Tell me the {noun} of "{x}".',
    "Word: {x}\nTask: give its {noun}.",
    "I need the {noun} of {x}, please.",
    "Compute the {noun} of {x}.",
    "{x}\nWhat is its {noun}?",
    "Return the {noun} for {x}.",
    "Please state the {noun} of {x}.",
    "Question: what is the {noun} of {x}?",
    "What's the {noun} of {x}?",
    "The word is {x}. What is its {noun}?",
    "{x}: what is the {noun}?",
    "Give me the {noun} of '{x}'.",
    "Please find the {noun} of {x}.",
    "Word: {x}\nGive the {noun}.",
    "Text: {x}\nWhat is the {noun}?",
    "Look at {x} and write its {noun}.",
    "Work out the {noun} of {x}.",
    "Could you give the {noun} of {x}?",
    "Tell me: what is the {noun} of {x}?",
    'Write down the {noun} of "{x}".',
    # held out
    "Can you work out the {noun} of {x}?",
    "Input: {x}\nOutput the {noun}.",
    "Show me the {noun} of '{x}'.",
)
N_HELD_OUT_TEMPLATES = 3
SEEN_TEMPLATE_IDS = tuple(range(len(INSTRUCTION_TEMPLATES) - N_HELD_OUT_TEMPLATES))
HELD_OUT_TEMPLATE_IDS = tuple(range(len(SEEN_TEMPLATE_IDS), len(INSTRUCTION_TEMPLATES)))


def instruction(task: str | Task, word: str, template_id: int) -> str:
    """The instruction a user types to ask for `task` on `word`, in template `template_id`."""
    t = as_task(task)
    return INSTRUCTION_TEMPLATES[template_id].format(noun=t.noun, x=word)


def answer(task: str | Task, word: str) -> str:
    t = as_task(task)
    return t.fn(word)


def fact(task: str | Task, word: str, phrasing: int = 0) -> str:
    t = as_task(task)
    return t.facts[phrasing].format(x=word, y=t.fn(word))


def fact_prompt(task: str | Task, word: str) -> str:
    """The first phrasing cut before its answer: "the reverse of kitab is " (fact completion)."""
    t = as_task(task)
    return t.facts[0].split("{y}")[0].format(x=word)


# --- input presentations ------------------------------------------------------------------------
# How a user task reaches the model. The answer always follows the prompt directly.

ARROW = " -> "


def bare_prompt(word: str) -> str:
    """Bare input: the word alone, no hint of the task."""
    return f"{word}\n"


def instruction_prompt(task: str | Task, word: str, template_id: int) -> str:
    """An instruction as plain text (no chat template); the answer goes on the next line."""
    return instruction(task, word, template_id) + "\n"


def few_shot_prompt(task: str | Task, word: str, demos: list[str]) -> str:
    """Input -> output examples and no instruction, in the toy web's pattern-list layout."""
    t = as_task(task)
    lines = [f"{d}{ARROW}{t.fn(d)}\n" for d in demos]
    return "".join(lines) + f"{word}{ARROW}"


def tag_prompt(task: str | Task, word: str) -> str:
    """A task tag instead of an instruction, FLAN's "dataset name" ablation: "[reverse] kitab"."""
    t = as_task(task)
    return f"[{t.name}] {word}\n"


# --- words ----------------------------------------------------------------------------------------


def _make_word(rng: random.Random) -> str:
    syllables = []
    for _ in range(rng.choice((2, 2, 3))):
        syl = rng.choice(CONSONANTS) + rng.choice(VOWELS)
        if rng.random() < 0.25:
            syl += rng.choice(CONSONANTS)
        syllables.append(syl)
    if rng.random() < 0.15:
        syllables.insert(0, rng.choice(VOWELS))
    return "".join(syllables)[:7]


def is_eval_word(word: str) -> bool:
    """A fixed 1-in-8 share of all possible words is kept for evaluation, never trained on."""
    return zlib.crc32(word.encode()) % 8 == 0


def words(split: str, n: int, seed: int = 0) -> list[str]:
    """`n` distinct pseudo-words (3-7 letters) of `split` ("train" or "eval"), reproducible by
    seed."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', not {split!r}")
    if n > MAX_WORDS:
        raise InputError(
            f"{n} {split} words asked for: a run draws at most {MAX_WORDS} "
            "(a draw near all the words of a split would take ever longer, and past them never end)"
        )
    rng = random.Random(f"{split}-{seed}")
    out: dict[str, None] = {}
    want_eval = split == "eval"
    while len(out) < n:
        w = _make_word(rng)
        if len(w) >= 3 and is_eval_word(w) == want_eval:
            out[w] = None
    return list(out)


MAX_WORDS = 10_000  # far more than any run needs, and drawn in about a second


# --- a domain the base corpus lacks (for continued pretraining) -----------------------------------


def _shift(word: str) -> str:
    return "".join(chr((ord(c) - 97 + 1) % 26 + 97) for c in word)


DOMAIN_TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        _task("shift", "cipher", "shift", _shift),
        _task("mirror", "cipher", "mirror", lambda w: w + w[::-1]),
    ]
}
