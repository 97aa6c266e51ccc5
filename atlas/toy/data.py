"""Datasets of the toy world in every shape found in the wild, all built from the same tasks.

Each builder is deterministic (a seed in, the same rows out) and returns a list of dicts; write them
with `write_jsonl` and read them back with `load_shape`, which uses `datasets.load_dataset("json")`
and checks the columns.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

from atlas.toy import world

from atlas import BadDataset, MissingFile, UnknownName

# shape name -> the columns a file of that shape must have
SHAPES: dict[str, tuple[str, ...]] = {
    "raw_text": ("text",),
    "domain_text": ("text",),
    "classification": ("text", "label"),
    "pairs": ("input", "output"),
    "instructions": ("instruction", "input", "output"),
    "chat": ("messages",),
    "preferences": ("prompt", "chosen", "rejected"),
    "feedback": ("prompt", "completion", "label"),  # unpaired preferences: one answer, good or not
}
CHAT_ROLES = ("system", "user", "assistant")

NAMES = ("Ana", "Lee", "Tomo", "Rita", "Sam", "Kofi", "Mira", "Ivan")
THINGS = ("book", "card", "box", "note", "list", "page", "cup", "key")


# --- raw text: the "toy web" ----------------------------------------------------------------------


def _fact_doc(rng: random.Random, tasks: dict[str, world.Task], vocab: list[str]) -> str:
    sentences = []
    for _ in range(rng.randint(3, 7)):
        task = rng.choice(list(tasks.values()))
        sentences.append(rng.choice(task.facts).format(x=(w := rng.choice(vocab)), y=task.fn(w)))
    return rng.choice((" ", "\n")).join(sentences)


def _pattern_doc(rng: random.Random, tasks: dict[str, world.Task], vocab: list[str]) -> str:
    task = rng.choice(list(tasks.values()))
    return "".join(f"{w}{world.ARROW}{task.fn(w)}\n" for w in rng.sample(vocab, rng.randint(4, 9)))


def _filler_doc(rng: random.Random, vocab: list[str]) -> str:
    """Everyday sentences using the words and punctuation of the instruction templates, so that
    '?', ':', quotes and capital letters are not unseen characters later, but never an
    instruction."""
    n1, n2 = rng.sample(NAMES, 2)
    thing, w = rng.choice(THINGS), rng.choice(vocab)
    sentences = [
        f"{n1} wrote the word {w} on a {thing}.",
        f"Question: who gave the {thing} to {n2}? Nobody could tell.",
        f'"Can you find my {thing}?" asked {n1}. {n2} said: "Please wait."',
        f"Input and output were the words of the day, and {n1} liked them.",
        f"{n2} needed the {thing}, so {n1} showed it to {n2}.",
        f"Task: none. Word: {w}. {n1} did not work it out.",
        f"It is {n1}'s {thing}; {n2} returned it and stated why.",
        f"{n1} computed nothing today.\n{n2} read a {thing} instead.",
    ]
    return " ".join(rng.sample(sentences, rng.randint(2, 4)))


def toy_web(n_docs: int, seed: int = 0, tasks: dict[str, world.Task] | None = None) -> list[dict]:
    """Raw pretraining text: ~55 % facts about every task, ~35 % input->output pattern lists,
    ~10 % filler. Never an instruction, never a chat turn."""
    tasks = world.TASKS if tasks is None else tasks
    rng = random.Random(seed)
    vocab = world.words("train", 4000, seed=0)
    rows = []
    for _ in range(n_docs):
        r = rng.random()
        if r < 0.55:
            text = _fact_doc(rng, tasks, vocab)
        elif r < 0.90:
            text = _pattern_doc(rng, tasks, vocab)
        else:
            text = _filler_doc(rng, vocab)
        rows.append({"text": text})
    return rows


def replay_text(n_docs: int, seed: int = 0, max_chars: int = 64) -> list[dict]:
    """Short excerpts of the toy web to mix into fine-tuning ("replay"): each document cut after its
    last full sentence or line within `max_chars`, so replay rows are about as long as instruction
    rows and do not pad every batch to pretraining length."""
    rows = []
    for row in toy_web(n_docs, seed=seed + 500):
        text = row["text"][:max_chars]
        cut = max(text.rfind(". "), text.rfind("\n"))
        rows.append({"text": text[: cut + 1].strip() if cut > 0 else text})
    return rows


def domain_text(n_docs: int, seed: int = 0) -> list[dict]:
    """Text about operations the toy web never mentions (a 'cipher' domain), for continued
    pretraining."""
    return toy_web(n_docs, seed=seed + 1000, tasks=world.DOMAIN_TASKS)


# --- labelled and supervised shapes ---------------------------------------------------------------

CLASSIFICATION_TASK = "vowel_count"


def classification(
    n: int, split: str = "train", seed: int = 0, task: str = CLASSIFICATION_TASK
) -> list[dict]:
    """A word and an integer label; the label names are the task's possible answers
    (`label_names`)."""
    names = label_names(task)
    return [
        {"text": w, "label": names.index(world.answer(task, w))}
        for w in world.words(split, n, seed)
    ]


def label_names(task: str = CLASSIFICATION_TASK) -> list[str]:
    answers = {world.answer(task, w) for w in world.words("train", 2000)}
    if len(answers) > 20:
        raise ValueError(
            f"task {task!r} has {len(answers)} different answers: too many to be labels"
        )
    return sorted(answers)


def pairs(task: str, n: int, split: str = "train", seed: int = 0) -> list[dict]:
    """Input -> output pairs of one task; nothing says which task it is."""
    t = world.get_task(task)
    return [{"input": w, "output": t.fn(w)} for w in world.words(split, n, seed)]


def _instruction_examples(
    tasks: list[str], n_per_task: int, split: str, seed: int, template_ids
) -> list[tuple]:
    rng = random.Random(f"instructions-{seed}")
    out = []
    for name in tasks:
        t = world.get_task(name)
        for w in world.words(split, n_per_task, seed=seed + zlib.crc32(name.encode()) % 1000):
            tid = rng.choice(template_ids)
            out.append((t, w, tid))
    rng.shuffle(out)
    return out


def instructions(
    tasks: list[str],
    n_per_task: int,
    split: str = "train",
    seed: int = 0,
    template_ids=world.SEEN_TEMPLATE_IDS,
) -> list[dict]:
    """FLAN/Alpaca-style triples. `instruction` is the full text the user sends, with the input
    inside it (as in FLAN); `input` repeats that input on its own for analysis."""
    return [
        {
            "instruction": world.instruction(t, w, tid),
            "input": w,
            "output": t.fn(w),
            "task": t.name,
            "template_id": tid,
        }
        for t, w, tid in _instruction_examples(tasks, n_per_task, split, seed, template_ids)
    ]


def domain_instructions(
    n_per_task: int, split: str = "train", seed: int = 0, template_ids=world.SEEN_TEMPLATE_IDS
) -> list[dict]:
    """Requests about the cipher domain (world.DOMAIN_TASKS, which continued pretraining adds and
    instruction tuning leaves out), as `instructions` rows: the instruction data of a recipe that
    keeps the domain in its later stage."""
    rng = random.Random(f"domain-instructions-{seed}")
    return [
        {
            "instruction": world.instruction(t, w, tid),
            "input": w,
            "output": t.fn(w),
            "task": t.name,
            "template_id": tid,
        }
        for t in world.DOMAIN_TASKS.values()
        for w in world.words(split, n_per_task, seed=seed + zlib.crc32(t.name.encode()) % 1000)
        for tid in [rng.choice(template_ids)]
    ]


def chat(
    tasks: list[str],
    n_per_task: int,
    split: str = "train",
    seed: int = 0,
    template_ids=world.SEEN_TEMPLATE_IDS,
) -> list[dict]:
    """The same examples as conversations: a user turn and an assistant turn."""
    return [
        {
            "messages": [
                {"role": "user", "content": world.instruction(t, w, tid)},
                {"role": "assistant", "content": t.fn(w)},
            ],
            "task": t.name,
        }
        for t, w, tid in _instruction_examples(tasks, n_per_task, split, seed, template_ids)
    ]


def preferences(
    tasks: list[str],
    n_per_task: int,
    split: str = "train",
    seed: int = 0,
    template_ids=world.SEEN_TEMPLATE_IDS,
) -> list[dict]:
    """Prompt, preferred answer and a rejected one: the answer of another task of the same cluster
    (a plausible mistake: doing the wrong operation)."""
    rows = []
    for t, w, tid in _instruction_examples(tasks, n_per_task, split, seed, template_ids):
        wrong = [world.answer(o, w) for o in world.CLUSTERS[t.cluster] if o != t.name]
        wrong = [a for a in wrong if a != t.fn(w)] or [t.fn(w)[::-1] + "x"]
        rows.append(
            {
                "prompt": world.instruction(t, w, tid),
                "chosen": t.fn(w),
                "rejected": wrong[0],
                "task": t.name,
            }
        )
    return rows


def feedback(
    tasks: list[str],
    n_per_task: int,
    split: str = "train",
    seed: int = 0,
    template_ids=world.SEEN_TEMPLATE_IDS,
) -> list[dict]:
    """Prompt, one answer and whether it is good: unpaired preferences, a thumbs up or down. Each
    row of `preferences` keeps one of its answers, the chosen and the rejected in turn, so no
    prompt has both."""
    return [
        {
            "prompt": r["prompt"],
            "completion": r["chosen"] if i % 2 == 0 else r["rejected"],
            "label": i % 2 == 0,
            "task": r["task"],
        }
        for i, r in enumerate(preferences(tasks, n_per_task, split, seed, template_ids))
    ]


# --- files ----------------------------------------------------------------------------------------


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def load_shape(path: str | Path, shape: str):
    """Load a JSONL file as a `datasets.Dataset`, after checking every row has the columns of
    `shape` with the right types. A bad row fails with the file, the line and what is wrong."""
    from datasets import load_dataset

    if shape not in SHAPES:
        raise UnknownName(f"unknown dataset shape {shape!r}; known shapes: {', '.join(SHAPES)}")
    path = Path(path)
    if not path.is_file():
        raise MissingFile(
            f"dataset file {path} does not exist; build it with atlas.toy.data.write_jsonl(...)"
        )
    n_rows = 0
    with path.open(encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadDataset(
                    f"{path}:{line_number}: not a JSON object ({error.msg}): {line.strip()[:60]!r}"
                ) from None
            problem = row_problem(row, shape)
            if problem:
                raise BadDataset(f"{path}:{line_number}: not a {shape!r} row: {problem}")
            n_rows += 1
    if n_rows == 0:
        raise BadDataset(
            f"{path} is empty: a {shape!r} dataset has one JSON object per line "
            f"with {list(SHAPES[shape])}"
        )
    return load_dataset("json", data_files=str(path), split="train")


def row_problem(row, shape: str) -> str | None:
    """What is wrong with one row of a `shape` dataset (None if nothing)."""
    if not isinstance(row, dict):
        return f"a JSON object with {list(SHAPES[shape])} was expected, not {type(row).__name__}"
    missing = [c for c in SHAPES[shape] if c not in row]
    if missing:
        return (
            f"missing column(s) {missing}; it has {list(row)}, "
            f"a {shape!r} row needs {list(SHAPES[shape])}"
        )
    if shape == "classification":
        if not isinstance(row["label"], int) or isinstance(row["label"], bool) or row["label"] < 0:
            return (
                f"label must be a class index (0, 1, ...), not {row['label']!r}; "
                "label names go in id2label"
            )
        return _text_problem(row, ("text",))
    if shape == "feedback":
        if not isinstance(row["label"], bool):
            return f"label must be true (a good answer) or false (a bad one), not {row['label']!r}"
        return _text_problem(row, ("prompt", "completion"))
    if shape == "chat":
        messages = row["messages"]
        if not isinstance(messages, list) or not messages:
            return (
                f"messages must be a non-empty list of {{'role', 'content'}} objects, "
                f"not {messages!r:.60}"
            )
        for i, m in enumerate(messages):
            if (
                not isinstance(m, dict)
                or m.get("role") not in CHAT_ROLES
                or not isinstance(m.get("content"), str)
            ):
                return (
                    f"messages[{i}] must be {{'role': one of {list(CHAT_ROLES)}, "
                    f"'content': text}}, "
                    f"not {m!r:.60}"
                )
        return None
    return _text_problem(row, SHAPES[shape])


def _text_problem(row: dict, columns) -> str | None:
    for c in columns:
        if not isinstance(row[c], str):
            return f"{c} must be text, not {type(row[c]).__name__} {row[c]!r:.60}"
    return None
