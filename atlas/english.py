"""User tasks in English for a real model: the toy world's string tasks phrased in English, and
short tasks that a 135 M-parameter chat model can do (facts, formatting, labels, sums).

Each task has one instruction template and a few items (input, answer, other accepted answers);
`examples` builds them in any input presentation the evaluation harness knows, scored leniently
(the answer, or a reply that holds it as a word; see `atlas.evaluation.LenientExample`).

    examples = english.examples(tokenizer, conditions=["bare", "instruction", "chat"])
    result = evaluate_examples(model, tokenizer, examples)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atlas.toy import world

from atlas import UnknownName

if TYPE_CHECKING:  # the harness imports torch: imported where prompts are built, so a script
    # can check task names before that import
    from atlas.evaluation import LenientExample

CONDITIONS_USED = ("bare", "instruction", "chat", "few_shot", "few_shot_chat")


@dataclass(frozen=True)
class EnglishTask:
    name: str
    cluster: str
    template: str  # the instruction, with {x} for the input
    items: tuple[tuple, ...]  # (input, answer, *other accepted answers)
    ignore_case: bool = True
    labels: bool = False  # a label task: a reply naming another label too is wrong


def _toy(name: str, template: str, n: int = 8) -> EnglishTask:
    """A toy-world task on toy words, asked in English."""
    task = world.get_task(name)
    return EnglishTask(
        name,
        "letters (toy tasks)",
        template,
        tuple((w, task.fn(w)) for w in world.words("eval", n, seed=11)),
    )


TASKS: dict[str, EnglishTask] = {
    t.name: t
    for t in [
        EnglishTask(
            "capital",
            "facts",
            "What is the capital of {x}?",
            (
                ("France", "Paris"),
                ("Japan", "Tokyo"),
                ("Italy", "Rome"),
                ("Germany", "Berlin"),
                ("Spain", "Madrid"),
                ("Egypt", "Cairo"),
                ("Russia", "Moscow"),
                ("England", "London"),
            ),
        ),
        EnglishTask(
            "color",
            "facts",
            "What color is {x}?",
            (
                ("grass", "green"),
                ("the sky on a clear day", "blue"),
                ("snow", "white"),
                ("a ripe banana", "yellow"),
                ("coal", "black"),
                ("a ripe tomato", "red"),
                ("milk", "white"),
                ("chocolate", "brown"),
            ),
        ),
        EnglishTask(
            "opposite",
            "facts",
            'What is the opposite of the word "{x}"?',
            (
                ("hot", "cold"),
                ("big", "small", "little"),
                ("up", "down"),
                ("day", "night"),
                ("fast", "slow"),
                ("happy", "sad"),
                ("wet", "dry"),
                ("black", "white"),
            ),
        ),
        EnglishTask(
            "plural",
            "formatting",
            'What is the plural of the word "{x}"?',
            (
                ("cat", "cats"),
                ("box", "boxes"),
                ("child", "children"),
                ("mouse", "mice"),
                ("man", "men"),
                ("foot", "feet"),
                ("city", "cities"),
                ("book", "books"),
            ),
        ),
        EnglishTask(
            "number_in_words",
            "formatting",
            "Write the number {x} in words.",
            (
                ("3", "three"),
                ("7", "seven"),
                ("10", "ten"),
                ("12", "twelve"),
                ("20", "twenty"),
                ("5", "five"),
                ("9", "nine"),
                ("15", "fifteen"),
            ),
        ),
        EnglishTask(
            "capitals_of_word",
            "formatting",
            'Write the word "{x}" in capital letters.',
            (
                ("apple", "APPLE"),
                ("house", "HOUSE"),
                ("green", "GREEN"),
                ("table", "TABLE"),
                ("river", "RIVER"),
                ("music", "MUSIC"),
                ("paper", "PAPER"),
                ("light", "LIGHT"),
            ),
            ignore_case=False,
        ),
        EnglishTask(
            "sum",
            "facts",
            "What is {x}?",
            (
                ("2 + 3", "5", "five"),
                ("4 + 4", "8", "eight"),
                ("1 + 6", "7", "seven"),
                ("5 + 2", "7", "seven"),
                ("3 + 3", "6", "six"),
                ("7 + 1", "8", "eight"),
                ("2 + 2", "4", "four"),
                ("6 + 3", "9", "nine"),
            ),
        ),
        EnglishTask(
            "sentiment",
            "labels",
            "Is this review positive or negative? Review: {x}",
            (
                ("I loved this movie, it was wonderful.", "positive"),
                ("The food was cold and terrible.", "negative"),
                ("What a great day, everything went well.", "positive"),
                ("I hated every minute of it.", "negative"),
                ("The staff were kind and helpful.", "positive"),
                ("It broke after one day. Awful.", "negative"),
                ("This is the best book I have read.", "positive"),
                ("The worst service I have ever had.", "negative"),
            ),
            labels=True,
        ),
        _toy("first_letter", 'What is the first letter of the word "{x}"?'),
        _toy("last_letter", 'What is the last letter of the word "{x}"?'),
        _toy("reverse", 'Write the word "{x}" backwards.'),
        _toy("length", 'How many letters are in the word "{x}"?'),
    ]
}


# Short reviews for fine-tuning a real model on one narrow task (LoRA page). Train and eval reviews
# are about different things, so the eval reviews are new sentences, not repeats.
_POSITIVE = (
    "wonderful",
    "great",
    "excellent",
    "lovely",
    "superb",
    "delightful",
    "fantastic",
    "brilliant",
)
_NEGATIVE = ("terrible", "awful", "horrible", "dreadful", "boring", "disappointing", "poor", "bad")
_SUBJECTS = {
    "train": (
        "movie",
        "food",
        "service",
        "hotel",
        "book",
        "concert",
        "game",
        "phone",
        "room",
        "trip",
    ),
    "eval": ("show", "meal", "staff", "album", "park", "car"),
}
_REVIEWS = (
    "The {s} was {a}.",
    "What a {a} {s}!",
    "I found the {s} {a}.",
    "Honestly, the {s} was {a}.",
    "Our {s} was {a} from start to end.",
    "A {a} {s}, all in all.",
)


def reviews(n: int, split: str = "train", seed: int = 0) -> list[dict]:
    """`n` short reviews with their label:
    {"input": "The meal was superb.", "output": "positive"}."""
    import random

    if split not in _SUBJECTS:
        raise KeyError(f"split must be one of {list(_SUBJECTS)}, not {split!r}")
    rng = random.Random(f"reviews-{split}-{seed}")
    out = []
    for i in range(n):
        label, adjectives = ("positive", _POSITIVE) if i % 2 == 0 else ("negative", _NEGATIVE)
        text = rng.choice(_REVIEWS).format(s=rng.choice(_SUBJECTS[split]), a=rng.choice(adjectives))
        out.append({"input": text[0].upper() + text[1:], "output": label})
    return out


def get_task(name: str) -> EnglishTask:
    if name not in TASKS:
        raise UnknownName(f"unknown English task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def instruction(task: EnglishTask, x: str) -> str:
    return task.template.format(x=x) + " Answer with one word."


def few_shot_text(task: EnglishTask, item: tuple, demos: list[tuple]) -> str:
    """Input -> output examples and no instruction, the toy world's layout. The prompt ends at the
    arrow, without its trailing space: a BPE tokenizer writes " Paris" as one token, space
    included."""
    return (
        "".join(f"{d[0]}{world.ARROW}{d[1]}\n" for d in demos) + f"{item[0]}{world.ARROW.rstrip()}"
    )


def examples(
    tokenizer, conditions=CONDITIONS_USED, tasks=None, n_shots: int = world.N_SHOTS
) -> list[LenientExample]:
    """Every item of every task (names, or EnglishTask objects) in every presentation. Few-shot
    demos are the task's next items."""
    from atlas.evaluation import LenientExample, chat_prompt

    unknown = [c for c in conditions if c not in CONDITIONS_USED]
    if unknown:
        raise UnknownName(f"English tasks support the conditions {CONDITIONS_USED}, not {unknown}")
    out = []
    for task in [t if isinstance(t, EnglishTask) else get_task(t) for t in (tasks or TASKS)]:
        for i, item in enumerate(task.items):
            demos = [task.items[(i + k) % len(task.items)] for k in range(1, n_shots + 1)]
            for cond in conditions:
                if cond == "bare":
                    prompt = f"{item[0]}\n"
                elif cond == "instruction":  # plain text; the answer goes on the next line
                    prompt = instruction(task, item[0]) + "\n"
                elif cond == "chat":  # the same instruction as the user's turn
                    prompt = chat_prompt(tokenizer, instruction(task, item[0]))
                elif cond == "few_shot":
                    prompt = few_shot_text(task, item, demos)
                else:  # few_shot_chat: the same examples as the user's turn
                    prompt = chat_prompt(tokenizer, few_shot_text(task, item, demos))
                rivals = tuple({i[1] for i in task.items} - {item[1]}) if task.labels else ()
                out.append(
                    LenientExample(
                        task.name,
                        task.cluster,
                        cond,
                        item[0],
                        prompt,
                        item[1],
                        aliases=tuple(item[2:]),
                        rivals=rivals,
                        ignore_case=task.ignore_case,
                    )
                )
    return out
