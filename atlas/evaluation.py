"""The site's one evaluation harness: batched greedy generation and exact match, split by task and
cluster, by seen / held-out instruction template, and by input presentation.

It takes any causal LM and tokenizer: the toy model with its character tokenizer, or a Hub model
with a BPE tokenizer and its own chat template.

    result = evaluate(model, tokenizer)
    result.accuracy(condition="few_shot")        # one number
    result.by_task()                             # {task: {condition: accuracy}}
    print(result.markdown())                     # the table the pages include
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from atlas.toy import world

from atlas import InputError, UnknownName
from atlas.tables import markdown_table, percent


class Condition(NamedTuple):
    presentation: str  # how the input is presented (bare, instruction, chat, few_shot, ...)
    templates: str  # which instruction templates: "seen", "held_out", or "-" (none)
    label: str  # the name tables and plots show


CONDITIONS: dict[str, Condition] = {
    "bare": Condition("bare", "-", "bare input"),
    "instruction": Condition("instruction", "seen", "instruction"),
    "instruction_held_out": Condition("instruction", "held_out", "instruction, held-out template"),
    "chat": Condition("chat", "seen", "chat template"),
    "chat_held_out": Condition("chat", "held_out", "chat, held-out template"),
    "few_shot": Condition("few_shot", "-", f"few-shot ({world.N_SHOTS} examples)"),
    "few_shot_chat": Condition("few_shot_chat", "-", "few-shot, in the chat template"),
    "fact": Condition("fact", "-", "fact completion"),
    "tag": Condition("tag", "-", "task tag"),
}
CHAT_PRESENTATIONS = ("chat", "few_shot_chat")  # prompts rendered by the tokenizer's chat template
DEFAULT_CONDITIONS = (
    "bare",
    "instruction",
    "instruction_held_out",
    "chat",
    "chat_held_out",
    "few_shot",
    "fact",
)


@dataclass
class Example:
    extra_new_tokens = (
        2  # generated beyond the longest answer: the answer is all the model should say
    )

    task: str
    cluster: str
    condition: str
    word: str
    prompt: str
    answer: str
    prediction: str | None = None

    @property
    def correct(self) -> bool:
        return self.prediction == self.answer


@dataclass
class LenientExample(Example):
    """An example with a free-text answer (a real model's English tasks). The prediction counts if,
    once quotes, emphasis and a final full stop are dropped (and case, unless the task is about
    case), it is the answer or an alias, or holds one as a whole word ("The capital of France is
    Paris"), and holds none of the `rivals` (the other labels of a label task: "positive or
    negative" is no answer)."""

    aliases: tuple[str, ...] = ()
    rivals: tuple[str, ...] = ()
    ignore_case: bool = True
    extra_new_tokens = 16  # room for a sentence around the answer

    def _norm(self, text: str) -> str:
        text = text.strip().strip("*_`'\"“”‘’ ").rstrip(".!").strip("*_`'\"“”‘’ ")
        return text.lower() if self.ignore_case else text

    def _holds(self, text: str, answer: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(self._norm(answer))}(?![\w-])", text) is not None

    @property
    def correct(self) -> bool:
        if self.prediction is None:
            return False
        reply = self._norm(self.prediction)
        answers = (self.answer, *self.aliases)
        if reply in {self._norm(a) for a in answers}:
            return True
        return any(self._holds(reply, a) for a in answers) and not any(
            self._holds(reply, r) for r in self.rivals
        )


def require_chat_template(tokenizer, flag: str | None = None) -> None:
    """Fail with one clear message if the tokenizer cannot render the chat presentations; `flag`
    names the snippet option that leaves them out."""
    if not getattr(tokenizer, "chat_template", None):
        way_out = f"pass {flag} to leave the chat presentations out, or " if flag else ""
        raise InputError(
            f"the tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no chat template, "
            "so the chat "
            f"presentations cannot be built: {way_out}use a tokenizer saved with one "
            "(tokenizer.chat_template = ...; tokenizer.save_pretrained(dir))"
        )


def chat_prompt(tokenizer, user_message: str) -> str:
    require_chat_template(tokenizer)
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message}], tokenize=False, add_generation_prompt=True
    )


def build_examples(
    tokenizer,
    conditions=DEFAULT_CONDITIONS,
    tasks=None,
    n_words: int = 40,
    seed: int = 0,
    n_shots: int = world.N_SHOTS,
) -> list[Example]:
    """The evaluation grid: every task x condition on `n_words` held-out words.

    Templates cycle over the words, so each template is used about equally often; few-shot prompts
    hold `n_shots` solved examples on training words."""
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise UnknownName(
            f"unknown condition(s) {unknown}; known conditions: {', '.join(CONDITIONS)}"
        )
    task_names = list(world.TASKS) if tasks is None else [world.get_task(t).name for t in tasks]
    demo_pool = world.words("train", 500, seed=seed + 7)
    eval_words = world.words("eval", n_words, seed=seed)
    examples = []
    for name in task_names:
        task = world.get_task(name)
        rng = random.Random(f"{name}-{seed}")
        for cond in conditions:
            presentation, templates = CONDITIONS[cond].presentation, CONDITIONS[cond].templates
            template_ids = (
                world.SEEN_TEMPLATE_IDS if templates == "seen" else world.HELD_OUT_TEMPLATE_IDS
            )
            for i, w in enumerate(eval_words):
                tid = template_ids[i % len(template_ids)]
                if presentation == "bare":
                    prompt = world.bare_prompt(w)
                elif presentation == "instruction":
                    prompt = world.instruction_prompt(task, w, tid)
                elif presentation == "chat":
                    prompt = chat_prompt(tokenizer, world.instruction(task, w, tid))
                elif presentation == "few_shot":
                    prompt = world.few_shot_prompt(task, w, rng.sample(demo_pool, n_shots))
                elif presentation == "few_shot_chat":
                    prompt = chat_prompt(
                        tokenizer, world.few_shot_prompt(task, w, rng.sample(demo_pool, n_shots))
                    )
                elif presentation == "fact":
                    prompt = world.fact_prompt(task, w)
                else:
                    prompt = world.tag_prompt(task, w)
                examples.append(Example(name, task.cluster, cond, w, prompt, task.fn(w)))
    return examples


def extract_answer(text: str) -> str:
    """The model's answer: its first line up to the end of the first sentence, without surrounding
    spaces or a closing full stop ("batik. take lomu" -> "batik")."""
    line = text.strip().split("\n")[0]
    return line.split(". ")[0].strip().removesuffix(".").strip()


class _StopAtEndOfFirstLine(StoppingCriteria):
    """Stops a row once its continuation holds a line of text and then a newline: the answer is
    complete. Leading newlines do not count (a chat model may start its reply with one)."""

    def __init__(self, tokenizer, prompt_length: int):
        self.tokenizer, self.prompt_length = tokenizer, prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        texts = self.tokenizer.batch_decode(
            input_ids[:, self.prompt_length :], skip_special_tokens=True
        )
        return torch.tensor(["\n" in t.lstrip() for t in texts], device=input_ids.device)


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int = 16,
    batch_size: int = 256,
    add_special_tokens: bool = True,
) -> list[str]:
    """Greedy continuations of `prompts`, batched (left padding, similar lengths together).

    Pass add_special_tokens=False for prompts rendered by a chat template: they already hold their
    special tokens (BOS included, where the model has one)."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    outputs: list[str] = [""] * len(prompts)
    was_training, padding_side, pad_token = (
        model.training,
        tokenizer.padding_side,
        tokenizer.pad_token,
    )
    model.eval()
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    if (
        pad_token is None
    ):  # many Hub causal LMs have none; EOS is the usual stand-in (restored below)
        tokenizer.pad_token = tokenizer.eos_token
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [prompts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                add_special_tokens=add_special_tokens,
            ).to(model.device)
            stop = StoppingCriteriaList(
                [_StopAtEndOfFirstLine(tokenizer, enc["input_ids"].shape[1])]
            )
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                stopping_criteria=stop,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            texts = tokenizer.batch_decode(
                out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
            )
            for i, text in zip(idx, texts):
                outputs[i] = text
    finally:
        model.train(was_training)
        tokenizer.padding_side, tokenizer.pad_token = padding_side, pad_token
    return outputs


@dataclass
class EvalResult:
    examples: list[Example]
    seconds: float = 0.0

    def _select(self, **filters) -> list[Example]:
        return [e for e in self.examples if all(getattr(e, k) == v for k, v in filters.items())]

    def accuracy(self, **filters) -> float:
        """Exact-match accuracy over the examples whose fields equal `filters`
        (task=, cluster=, condition=)."""
        chosen = self._select(**filters)
        if not chosen:
            raise ValueError(f"no evaluation examples match {filters}")
        return sum(e.correct for e in chosen) / len(chosen)

    @property
    def conditions(self) -> list[str]:
        return list(dict.fromkeys(e.condition for e in self.examples))

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(e.task for e in self.examples))

    def by_task(self) -> dict[str, dict[str, float]]:
        return {
            t: {c: self.accuracy(task=t, condition=c) for c in self.conditions} for t in self.tasks
        }

    def _group_means(self, groups: dict[str, list[str]]) -> dict[str, dict[str, float]]:
        """Per group of tasks, the mean of their accuracies per condition (empty groups left
        out)."""
        table = self.by_task()
        return {
            name: {c: sum(table[t][c] for t in tasks) / len(tasks) for c in self.conditions}
            for name, tasks in groups.items()
            if tasks
        }

    def by_cluster(self) -> dict[str, dict[str, float]]:
        """Each cluster's mean over its tasks."""
        groups: dict[str, list[str]] = {}
        for t in self.tasks:
            groups.setdefault(self._cluster_of(t), []).append(t)
        return self._group_means(groups)

    def _cluster_of(self, task: str) -> str:
        return next(e.cluster for e in self.examples if e.task == task)

    def by_task_split(
        self, held_out_cluster: str = world.HELD_OUT_CLUSTER
    ) -> dict[str, dict[str, float]]:
        """Mean over the seen tasks and over the tasks of the held-out cluster, per condition."""
        world.check_cluster(held_out_cluster)
        return self._group_means(
            {
                "seen tasks": [
                    t for t in self.tasks if world.get_task(t).cluster != held_out_cluster
                ],
                "held-out cluster": [
                    t for t in self.tasks if world.get_task(t).cluster == held_out_cluster
                ],
            }
        )

    def average(self) -> dict[str, float]:
        """Mean over tasks, per condition."""
        return self._group_means({"all": self.tasks})["all"]

    def markdown(self) -> str:
        """Per-task table (accuracy in %), clusters in order, with the average as the last row."""
        rows = [
            [task, self._cluster_of(task), *(percent(row[c]) for c in self.conditions)]
            for task, row in self.by_task().items()
        ]
        rows.append(["**average**", "", *(f"**{percent(v)}**" for v in self.average().values())])
        return markdown_table(
            ["task", "cluster", *(CONDITIONS[c].label for c in self.conditions)],
            rows,
            align="ll" + "r" * len(self.conditions),
        )

    def cluster_markdown(self) -> str:
        """Compact table (accuracy in %): one row per presentation, one column per cluster."""
        clusters, average = self.by_cluster(), self.average()
        rows = [
            [
                CONDITIONS[c].label,
                *(percent(clusters[cl][c]) for cl in clusters),
                f"**{percent(average[c])}**",
            ]
            for c in self.conditions
        ]
        return markdown_table(["presentation", *clusters, "**all tasks**"], rows)

    def outputs_markdown(
        self, tasks=("reverse", "first_letter", "length"), per_cell: int = 1
    ) -> str:
        """A few real prompts and outputs per task and condition, as a table."""
        rows = [
            [
                f"`{task}`",
                CONDITIONS[cond].label,
                _code(e.prompt),
                _code(e.answer),
                _code(e.prediction or ""),
                "right" if e.correct else "wrong",
            ]
            for task in tasks
            for cond in self.conditions
            for e in self._select(task=task, condition=cond)[:per_cell]
        ]
        return markdown_table(
            ["task", "presentation", "prompt", "expected", "output", ""], rows, align="l" * 6
        )

    def summary(self) -> dict:
        """The figures `save` writes; no timing, so the file does not change from run to run."""
        split = (
            {"by_task_split": self.by_task_split()}
            if all(t in world.TASKS for t in self.tasks)
            else {}
        )
        return {
            "average": self.average(),
            **split,
            "by_cluster": self.by_cluster(),
            "by_task": self.by_task(),
            "n_examples": len(self.examples),
        }

    def save(self, directory: str | Path, name: str) -> None:
        """Write `<name>.json` (figures), `<name>.md` and `<name>_clusters.md` (tables),
        `<name>_outputs.md` (real outputs)
        and `<name>_samples.jsonl` (a sample of every prompt and prediction)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.json").write_text(
            json.dumps(_rounded(self.summary()), indent=1) + "\n"
        )
        (directory / f"{name}.md").write_text(self.markdown())
        (directory / f"{name}_clusters.md").write_text(self.cluster_markdown())
        (directory / f"{name}_outputs.md").write_text(self.outputs_markdown())
        with (directory / f"{name}_samples.jsonl").open("w") as f:
            for e in self.examples[:: max(1, len(self.examples) // 200)]:
                f.write(json.dumps(asdict(e)) + "\n")


# What a model trained on one task answers when asked for another: short keys, and their labels.
ASKED_OTHER_LABELS = {
    "its_form": "a {noun} of anything",
    "its_answer": "the {noun} of the word",
    "task_asked": "the task asked for",
}


def asked_for_another_task(result: EvalResult, task: str, form: str) -> dict[str, float]:
    """What a model fine-tuned on `task` answers when an instruction asks for another task: the
    share of answers in the task's `form` (a regex: any spelling, say), the share that are `task`'s
    answer for the word, and the share that do the task asked for (keys: ASKED_OTHER_LABELS)."""
    asked = [e for e in result.examples if e.condition == "instruction" and e.task != task]
    return {
        "its_form": sum(re.fullmatch(form, e.prediction or "") is not None for e in asked)
        / len(asked),
        "its_answer": sum(e.prediction == world.answer(task, e.word) for e in asked) / len(asked),
        "task_asked": sum(e.correct for e in asked) / len(asked),
    }


def shares_markdown(shares: dict[str, float], task: str) -> str:
    """The table of `asked_for_another_task`'s shares, labelled for `task`."""
    noun = world.get_task(task).noun
    return markdown_table(
        ["asked by instruction for another task, the model answered with", "share"],
        [[ASKED_OTHER_LABELS[k].format(noun=noun), f"{percent(v)} %"] for k, v in shares.items()],
    )


def _code(text: str) -> str:
    """Inline code that survives a Markdown table: newlines shown as ⏎, pipes escaped."""
    import html

    return "<code>" + html.escape(text).replace("\n", "⏎").replace("|", "&#124;") + "</code>"


def _rounded(obj):
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    return obj


def evaluate(
    model,
    tokenizer,
    conditions=DEFAULT_CONDITIONS,
    tasks=None,
    n_words: int = 40,
    batch_size: int = 256,
    seed: int = 0,
    n_shots: int = world.N_SHOTS,
) -> EvalResult:
    """Evaluate `model` on the grid of tasks x conditions; greedy decoding, exact match."""
    import time

    start = time.perf_counter()
    examples = build_examples(tokenizer, conditions, tasks, n_words, seed, n_shots)
    return evaluate_examples(model, tokenizer, examples, batch_size, start=start)


def evaluate_examples(
    model, tokenizer, examples: list[Example], batch_size: int = 256, start: float | None = None
) -> EvalResult:
    """Generate and score prebuilt examples (any task set, such as `atlas.english`'s)."""
    import time

    start = time.perf_counter() if start is None else start
    answers = [a for e in examples for a in (e.answer, *getattr(e, "aliases", ()))]
    max_new = max(len(tokenizer.encode(a, add_special_tokens=False)) for a in answers) + max(
        e.extra_new_tokens for e in examples
    )
    for is_chat in (False, True):
        group = [
            e
            for e in examples
            if (CONDITIONS[e.condition].presentation in CHAT_PRESENTATIONS) == is_chat
        ]
        texts = generate(
            model,
            tokenizer,
            [e.prompt for e in group],
            max_new_tokens=max_new,
            batch_size=batch_size,
            add_special_tokens=not is_chat,
        )
        for e, text in zip(group, texts):
            e.prediction = extract_answer(text)
    return EvalResult(examples, time.perf_counter() - start)


def trivial_baselines(
    conditions=("bare", "instruction", "instruction_held_out", "few_shot"),
    n_words: int = 40,
    seed: int = 0,
) -> dict[str, EvalResult]:
    """What answering without a model scores on the harness's grid (the same examples, scored the
    same way), the rows every accuracy table carries beside its models:

    * "constant answer": every prompt of a task gets that task's most frequent answer on these
      words, the best any constant answer can score (on the count cluster a handful of digits,
      one of them common, so far from zero);
    * "copy the input": the answer is the input word itself (right only where a task leaves a
      word unchanged, a palindrome reversed).

        baselines = trivial_baselines()
        baselines["constant answer"].by_task()     # as a model's EvalResult.by_task()
    """
    from collections import Counter

    chat = [c for c in conditions if CONDITIONS[c].presentation in CHAT_PRESENTATIONS]
    if chat:  # the answers do not depend on the presentation; the chat prompts need a tokenizer
        raise UnknownName(f"trivial baselines are scored without a chat template: drop {chat}")
    from dataclasses import replace

    examples = build_examples(None, conditions, None, n_words, seed)
    most_frequent = {
        t: Counter(e.answer for e in examples if e.task == t).most_common(1)[0][0]
        for t in dict.fromkeys(e.task for e in examples)
    }
    constant = [replace(e, prediction=most_frequent[e.task]) for e in examples]
    copied = [replace(e, prediction=e.word) for e in examples]
    return {"constant answer": EvalResult(constant), "copy the input": EvalResult(copied)}


def validation_examples(
    tokenizer,
    conditions=DEFAULT_CONDITIONS,
    tasks=None,
    n_words: int = 40,
    seed: int = 1,
    reported_words: int = 40,
) -> list[Example]:
    """The evaluation grid on validation words: held-out words (never trained on) drawn by another
    seed, without any of the `reported_words` words the reported evaluation uses (`evaluate`'s
    seed 0). A comparison chooses each method's learning rate on these, so the accuracy it then
    reports was not what chose it.

        examples = validation_examples(tokenizer, ["instruction", "few_shot"])
        result = evaluate_examples(model, tokenizer, examples)
    """
    if seed == 0:
        raise InputError("seed 0 draws the reported evaluation's words: pick another seed")
    reported = set(world.words("eval", reported_words, seed=0))
    # A draw is a prefix of a longer draw, so drawing as many more words as could collide keeps
    # `n_words` that are not reported.
    examples = build_examples(tokenizer, conditions, tasks, n_words + len(reported), seed)
    kept = [w for w in dict.fromkeys(e.word for e in examples) if w not in reported][:n_words]
    keep = set(kept)
    return [e for e in examples if e.word in keep]
