"""The playground's side in Python: the toy checkpoints exported to ONNX for the browser, the
description of the toy world the page builds its prompts from, and the answers the page must give.

Nothing about prompts is typed twice: `spec()` renders every presentation through `atlas.toy.world`
and the tokenizer's own chat template, with placeholders, and the page fills the placeholders in.
The page decodes as `greedy` does here: the whole sequence through the model at every step (no KV
cache, no padding), greedy, stopped by the harness's rule (the end-of-sequence token, or a line of
text and then a newline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from atlas.toy import world

from atlas import ROOT, InputError, MissingFile, evaluation
from atlas.stopping import continuations


# The models side by side, in the order the page shows them: each one directory a snippet saves,
# and the page that explains it.
@dataclass(frozen=True)
class PlaygroundModel:
    key: str  # the name in the page's URL: playground/?model=single-task
    label: str
    directory: str  # relative to the repository root
    page: str  # the technique page, relative to docs/
    made_by: str  # the command that writes `directory`


MODELS: tuple[PlaygroundModel, ...] = (
    PlaygroundModel(
        "base",
        "base model",
        "models/toy-base",
        "techniques/pretraining.md",
        "python snippets/pretraining.py",
    ),
    PlaygroundModel(
        "single-task",
        "single-task (spell, bare input)",
        "models/single-task",
        "techniques/single-task-finetuning.md",
        "python snippets/single_task_finetuning.py",
    ),
    PlaygroundModel(
        "hybrid",
        "hybrid (spell, in instructions)",
        "models/hybrid",
        "techniques/hybrid-finetuning.md",
        "python snippets/single_task_finetuning.py --inputs instruction",
    ),
    PlaygroundModel(
        "instruction-tuned",
        "instruction-tuned (FLAN-style)",
        "models/instruction-tuned",
        "techniques/instruction-tuning.md",
        "python snippets/instruction_tuning.py",
    ),
    PlaygroundModel(
        "chat-tuned",
        "chat SFT",
        "models/chat-tuned",
        "techniques/chat-sft.md",
        "python snippets/chat_sft.py",
    ),
)
BY_KEY = {m.key: m for m in MODELS}

# The presentations the page offers: conditions of the evaluation harness, so that a label, a
# template set and a prompt mean the same here as in every table of the site.
PRESENTATIONS = ("bare", "instruction", "instruction_held_out", "few_shot", "chat", "fact", "tag")
# The browser runtime, vendored into docs/assets/vendor/onnxruntime-web-<version>/ by
# tools/vendor_onnxruntime_web.sh (which reads the version here).
ONNXRUNTIME_WEB = "1.30.0"
# The files of its npm package the page loads: the ES module API (WebAssembly backend only), its
# Emscripten loader and the WebAssembly binary.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
DEMO_SEED = 11  # which training words the page's few-shot prompts show (fixed, so a test can
# rebuild the page's prompts in Python)
MAX_WORD_LETTERS = 12  # the longest word the page accepts (the toy world's words have 3 to 7)
TOP_K = 5  # next-token probabilities the page shows for each of the first answer characters
PROBABILITY_STEPS = 3
# A fixed set of prompts every model answers in the browser test: one task of each cluster, every
# presentation, each time another held-out word.
CHECK_TASKS = ("spell", "reverse", "first_letter", "length")


def get_model(key: str) -> PlaygroundModel:
    try:
        return BY_KEY[key]
    except KeyError:
        raise InputError(
            f"unknown playground model {key!r}; the playground's models are: {', '.join(BY_KEY)}"
        ) from None


def model_dir(model: PlaygroundModel, root: Path = ROOT) -> Path:
    """The checkpoint's directory, or one clear error saying which snippet makes it."""
    path = root / model.directory
    if not (path / "config.json").is_file():
        raise MissingFile(
            f"{model.directory} is missing: the playground exports the checkpoint that "
            f"`{model.made_by}` saves there; run that first"
        )
    return path


# --- what the page builds its prompts from ------------------------------------------------


def _placeholder_task() -> world.Task:
    """A task whose noun and answer are placeholders, to render the world's prompt functions as
    patterns: instruction_prompt(...) -> "Write the {noun} of: {x}\n"."""
    return world.Task("{task}", "{cluster}", "{noun}", lambda w: "{y}", ("{fact}",))


def demo_words() -> list[str]:
    return world.words("train", world.N_SHOTS, seed=DEMO_SEED)


def spec(tokenizer) -> dict:
    """Everything the page needs to build the harness's prompts and read the model's tokens."""
    evaluation.require_chat_template(tokenizer)
    task = _placeholder_task()
    sentinel = "\x00"
    chat_prefix, chat_suffix = evaluation.chat_prompt(tokenizer, sentinel).split(sentinel)
    query = world.few_shot_prompt(task, "{x}", [])
    demo_line = world.few_shot_prompt(task, "{x}", ["{d}"]).removesuffix(query)
    demos = demo_words()
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return {
        "runtime": f"assets/vendor/onnxruntime-web-{ONNXRUNTIME_WEB}/",  # relative to the site root
        "runtime_module": RUNTIME_FILES[0],
        "vocab": vocab,
        "special_tokens": sorted(tokenizer.all_special_tokens, key=len, reverse=True),
        "eos_id": tokenizer.eos_token_id,
        "unk_id": tokenizer.unk_token_id,
        "max_positions": tokenizer.model_max_length,
        "grid_max_new_tokens": grid_max_new_tokens(tokenizer),
        "extra_new_tokens": evaluation.Example.extra_new_tokens,
        "max_word_letters": MAX_WORD_LETTERS,
        "top_k": TOP_K,
        "probability_steps": PROBABILITY_STEPS,
        "tasks": [
            {
                "name": t.name,
                "cluster": t.cluster,
                "noun": t.noun,
                "fact_prompt": t.facts[0].split("{y}")[0],
                "demo_answers": [t.fn(d) for d in demos],
            }
            for t in world.TASKS.values()
        ],
        "held_out_cluster": world.HELD_OUT_CLUSTER,
        "templates": list(world.INSTRUCTION_TEMPLATES),
        "seen_template_ids": list(world.SEEN_TEMPLATE_IDS),
        "held_out_template_ids": list(world.HELD_OUT_TEMPLATE_IDS),
        "demo_words": demos,
        "default_word": world.words("eval", 1, seed=DEMO_SEED)[0],  # held out of every training
        "presentations": [
            {
                "key": key,
                "label": evaluation.CONDITIONS[key].label,
                "kind": evaluation.CONDITIONS[key].presentation,
                "templates": evaluation.CONDITIONS[key].templates,
            }
            for key in PRESENTATIONS
        ],
        "patterns": {
            "bare": world.bare_prompt("{x}"),
            "instruction": world.instruction_prompt(task, "{x}", 0).replace(
                world.instruction(task, "{x}", 0), "{instruction}"
            ),
            "few_shot_demo": demo_line,
            "few_shot_query": query,
            "tag": world.tag_prompt(task, "{x}"),
            "chat_prefix": chat_prefix,
            "chat_suffix": chat_suffix,
        },
        "models": [
            {
                "key": m.key,
                "label": m.label,
                "url": m.page.removesuffix(".md") + "/",  # the page's address on the site
                "file": f"{m.key}.onnx",
            }
            for m in MODELS
        ],
    }


def grid_max_new_tokens(tokenizer) -> int:
    """The harness's budget on the site's evaluation grid: its longest answer plus two tokens."""
    grid = evaluation.build_examples(tokenizer, ("bare",))  # every task on the grid's words
    longest = max(len(tokenizer.encode(e.answer, add_special_tokens=False)) for e in grid)
    return longest + evaluation.Example.extra_new_tokens


def max_new_tokens(tokenizer, word: str, grid_budget: int) -> int:
    """The page's budget for `word`: the harness's on the site's grid, or, for a word longer than
    the grid's, the longest answer any task gives for it plus two tokens."""
    answers = [t.fn(word) for t in world.TASKS.values()]
    longest = max(len(tokenizer.encode(a, add_special_tokens=False)) for a in answers)
    return max(grid_budget, longest + evaluation.Example.extra_new_tokens)


def template_ids(presentation: str) -> tuple[int, ...]:
    """The instruction templates a presentation draws from: the seen set or the held-out one."""
    seen = evaluation.CONDITIONS[presentation].templates == "seen"
    return world.SEEN_TEMPLATE_IDS if seen else world.HELD_OUT_TEMPLATE_IDS


def prompt(tokenizer, task: str, presentation: str, word: str, template_id: int | None = None):
    """The prompt the page builds for `task` on `word`, made by the harness's own functions.
    `template_id` picks the instruction template (default: the first of the presentation's set)."""
    t = world.get_task(task)
    if presentation not in PRESENTATIONS:
        raise InputError(
            f"unknown presentation {presentation!r}; "
            f"the playground's are: {', '.join(PRESENTATIONS)}"
        )
    tid = template_ids(presentation)[0] if template_id is None else template_id
    kind = evaluation.CONDITIONS[presentation].presentation
    if kind == "bare":
        return world.bare_prompt(word)
    if kind == "instruction":
        return world.instruction_prompt(t, word, tid)
    if kind == "chat":
        return evaluation.chat_prompt(tokenizer, world.instruction(t, word, tid))
    if kind == "few_shot":
        return world.few_shot_prompt(t, word, demo_words())
    if kind == "fact":
        return world.fact_prompt(t, word)
    return world.tag_prompt(t, word)


def check_prompts(tokenizer) -> list[dict]:
    """The fixed set the browser test runs through every model: each of CHECK_TASKS in every
    presentation, each on its own held-out word; instruction templates cycle through their set."""
    words = world.words("eval", len(CHECK_TASKS) * len(PRESENTATIONS), seed=DEMO_SEED)
    grid_budget = grid_max_new_tokens(tokenizer)
    rows = []
    for i, (presentation, task) in enumerate((p, t) for p in PRESENTATIONS for t in CHECK_TASKS):
        ids = template_ids(presentation)
        tid = ids[i % len(ids)]
        rows.append(
            {
                "task": task,
                "presentation": presentation,
                "word": words[i],
                "template_id": tid,
                "prompt": prompt(tokenizer, task, presentation, words[i], tid),
                "answer": world.answer(task, words[i]),
                "max_new_tokens": max_new_tokens(tokenizer, words[i], grid_budget),
            }
        )
    return rows


# --- decoding -------------------------------------------------------------------------------


def greedy(
    next_logits: Callable[[np.ndarray], np.ndarray], tokenizer, prompts: list[str], max_new: int
) -> list[dict]:
    """Greedy continuations the way the page computes them: `next_logits(ids)` maps a batch of
    token ids (rows of one length, no padding) to the last position's logits. Each result holds
    the continuation, the extracted answer, and the top-k next-token probabilities of the first
    PROBABILITY_STEPS steps."""
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        groups.setdefault(len(ids), []).append(i)
    results: list[dict] = [{} for _ in prompts]
    for indices in groups.values():
        ids = np.array([encoded[i] for i in indices], dtype=np.int64)
        n_prompt = ids.shape[1]
        active = np.ones(len(indices), dtype=bool)
        top = [[] for _ in indices]
        for step in range(max_new):
            logits = next_logits(ids[active]).astype(np.float64)
            new = np.full((len(indices), 1), tokenizer.eos_token_id, dtype=np.int64)
            new[active, 0] = logits.argmax(-1)
            if step < PROBABILITY_STEPS:
                probs = np.exp(logits - logits.max(-1, keepdims=True))
                probs /= probs.sum(-1, keepdims=True)
                for row, p in zip(np.flatnonzero(active), probs):
                    best = np.argsort(-p, kind="stable")[:TOP_K]
                    top[row].append(
                        [[tokenizer.convert_ids_to_tokens(int(j)), float(p[j])] for j in best]
                    )
            ids = np.concatenate([ids, new], axis=1)
            done = [d for _, d in continuations(tokenizer, ids[:, n_prompt:])]
            active = ~np.array(done)
            if not active.any():
                break
        for row, i in enumerate(indices):
            text, _ = continuations(tokenizer, ids[row : row + 1, n_prompt:])[0]
            results[i] = {
                "continuation": text,
                "prediction": evaluation.extract_answer(text),
                "top": top[row],
            }
    return results


def answer_rows(next_logits, tokenizer, rows: list[dict]) -> list[dict]:
    """`greedy` on rows of check_prompts(), each with its own budget."""
    results: list[dict] = [{} for _ in rows]
    for budget in sorted({r["max_new_tokens"] for r in rows}):
        indices = [i for i, r in enumerate(rows) if r["max_new_tokens"] == budget]
        prompts = [rows[i]["prompt"] for i in indices]
        for i, result in zip(indices, greedy(next_logits, tokenizer, prompts, budget)):
            results[i] = result
    return results


def torch_next_logits(model):
    import torch

    def next_logits(ids: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            rows = torch.from_numpy(ids)
            out = model(input_ids=rows, attention_mask=torch.ones_like(rows), logits_to_keep=1)
        return out.logits[:, -1].float().numpy()

    return next_logits


def onnx_next_logits(session):
    def next_logits(ids: np.ndarray) -> np.ndarray:
        return session.run(["logits"], {"input_ids": ids})[0]

    return next_logits


# --- export ---------------------------------------------------------------------------------


def export(model, path: Path) -> None:
    """Write `model` (a causal LM in float32, eager attention) as ONNX: input_ids [batch, sequence]
    in, the last position's logits [batch, vocabulary] out, one file with its weights inside."""
    import torch

    class LastLogits(torch.nn.Module):
        def __init__(self, lm):
            super().__init__()
            self.lm = lm

        def forward(self, input_ids):
            # An all-ones mask, as the page has no padding (without one, transformers looks for
            # packed sequences with an operator ONNX lacks).
            mask = torch.ones_like(input_ids)
            out = self.lm(
                input_ids=input_ids, attention_mask=mask, use_cache=False, logits_to_keep=1
            )
            return out.logits[:, -1]

    model.eval()
    example = torch.tensor([[5, 6, 7, 8]], dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(
            LastLogits(model),
            (example,),
            str(path),
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
            external_data=False,
        )
