"""The two training jobs the parameter-efficient pages train with every method, and what they
measure afterwards: the same data, budget and harness as the full fine-tuning pages.

* `spell`: single-task fine-tuning, the word alone -> its spelling ("kitab" -> "k-i-t-a-b"),
  150 steps of 32, as on docs/techniques/single-task-finetuning.md;
* `flan`: FLAN-style instruction tuning, eleven tasks asked by 24 templates, a quarter replay text,
  the count cluster held out, 300 steps of 32, as on docs/techniques/instruction-tuning.md.

    rows = jobs.training_rows("flan", seed=0)          # prompt/completion rows for SFTTrainer
    result = jobs.measure(model, tokenizer, "flan")    # the harness's grid, one EvalResult
    figures = jobs.summary(result, "flan")             # target, other tasks, few-shot, templates
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from atlas.toy import data, world

from atlas import UnknownName
from atlas.comparison import columns
from atlas.stopping import continuations


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    steps: int  # of 32 rows, as on the full fine-tuning page
    full_learning_rate: float  # the full fine-tuning page's learning rate
    target: str  # the column of atlas.comparison that measures what the job trains
    target_label: str


SPELL_TASK = "spell"
JOBS: dict[str, Job] = {
    "spell": Job(
        "spell",
        "single-task: the word alone -> its spelling",
        steps=150,
        full_learning_rate=1e-3,
        target="target_bare",
        target_label="spell, bare input",
    ),
    "flan": Job(
        "flan",
        "instruction tuning: 11 tasks by instruction, replay text, count held out",
        steps=300,
        full_learning_rate=2e-3,
        target="seen_instruction",
        target_label="seen tasks, asked by instruction",
    ),
}
CONDITIONS = ["bare", "instruction", "instruction_held_out", "few_shot"]


def get_job(name: str) -> Job:
    if name not in JOBS:
        raise UnknownName(f"unknown job {name!r}: choose one of {', '.join(JOBS)}")
    return JOBS[name]


# --8<-- [start:rows]
def training_rows(job: str, seed: int = 0) -> list[dict]:
    """The job's prompt/completion rows, exactly as its full fine-tuning snippet builds them."""
    if get_job(job).name == "spell":
        pairs = data.pairs(SPELL_TASK, n=3000, seed=seed)
        return [{"prompt": world.bare_prompt(p["input"]), "completion": p["output"]} for p in pairs]
    train_tasks = [n for n, t in world.TASKS.items() if t.cluster != world.HELD_OUT_CLUSTER]
    examples = data.instructions(
        train_tasks, n_per_task=700, seed=seed, template_ids=world.SEEN_TEMPLATE_IDS
    )
    rows = [{"prompt": e["instruction"] + "\n", "completion": e["output"]} for e in examples]
    n_replay = round(len(rows) * 0.25 / (1 - 0.25))  # a quarter of the rows: pretraining text
    rows += [{"prompt": "", "completion": r["text"]} for r in data.replay_text(n_replay, seed=seed)]
    random.Random(seed).shuffle(rows)
    return rows


# --8<-- [end:rows]


def measure(model, tokenizer, job: str, n_words: int = 40, decoding: str = "generate"):
    """Every task, bare, by instruction (seen and held-out templates) and few-shot. `decoding`:
    "generate", the harness's batched `generate` (every full and LoRA/IA³ model); "forward", the
    same greedy answers computed by `forward_greedy`, as training computed (prompt-learning
    adapters: prompt and prefix tuning)."""
    import time

    from atlas.evaluation import EvalResult, build_examples, evaluate, extract_answer

    get_job(job)
    if decoding == "generate":
        return evaluate(model, tokenizer, conditions=CONDITIONS, n_words=n_words)
    start = time.perf_counter()
    examples = build_examples(tokenizer, CONDITIONS, None, n_words, 0, world.N_SHOTS)
    answers = [a for e in examples for a in (e.answer, *getattr(e, "aliases", ()))]
    max_new = max(len(tokenizer.encode(a, add_special_tokens=False)) for a in answers) + max(
        e.extra_new_tokens for e in examples
    )
    texts = forward_greedy(model, tokenizer, [e.prompt for e in examples], max_new)
    for e, text in zip(examples, texts):
        e.prediction = extract_answer(text)
    return EvalResult(examples, time.perf_counter() - start)


def summary(by_task: dict[str, dict[str, float]], job: str) -> dict[str, float]:
    """The figures the parameter-efficient pages compare, from the harness's per-task accuracies:
    the job's own target, the other tasks by instruction, held-out templates, held-out cluster,
    and few-shot on all tasks (the forgetting measure of the site)."""
    figures = columns(by_task, SPELL_TASK)
    held_out = world.CLUSTERS[world.HELD_OUT_CLUSTER]
    seen = [t for t in by_task if t not in held_out]
    figures["seen_instruction"] = sum(by_task[t]["instruction"] for t in seen) / len(seen)
    figures["target"] = figures[get_job(job).target]
    return figures


def measure_validation(model, tokenizer, job: str, n_words: int = 40, decoding: str = "generate"):
    """`measure` on validation words (atlas.evaluation.validation_examples: held-out words the
    reported evaluation does not use), what a comparison chooses a learning rate on. `decoding` as
    in `measure`."""
    import time

    from atlas.evaluation import (
        EvalResult,
        evaluate_examples,
        extract_answer,
        validation_examples,
    )

    get_job(job)
    start = time.perf_counter()
    examples = validation_examples(tokenizer, CONDITIONS, None, n_words)
    if decoding == "generate":
        return evaluate_examples(model, tokenizer, examples, start=start)
    answers = [a for e in examples for a in (e.answer, *getattr(e, "aliases", ()))]
    max_new = max(len(tokenizer.encode(a, add_special_tokens=False)) for a in answers) + max(
        e.extra_new_tokens for e in examples
    )
    texts = forward_greedy(model, tokenizer, [e.prompt for e in examples], max_new)
    for e, text in zip(examples, texts):
        e.prediction = extract_answer(text)
    return EvalResult(examples, time.perf_counter() - start)


def forward_greedy(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    """Greedy continuations computed as training computes: the model's own forward pass on each
    whole prompt, no padding (prompts of one token length together), then one token at a time on
    the KV cache that pass returned.

    Why not `generate`: with prompt-learning adapters (prompt and prefix tuning), PEFT builds the
    virtual tokens and their positions itself, and in batched `generate` with left padding (and,
    for prefix tuning, on prompts shorter than the prefix) its answers differ from the forward pass
    the adapter was trained with (snippets/prefix_tuning.py measures by how much). The prompt's
    pass goes through the adapter (it adds the soft prompt or the prefix, which then sit in the
    cache); the new tokens go through the base model on that cache, at the positions after it."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    groups: dict[int, list[int]] = {}
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    for i, ids in enumerate(encoded):
        groups.setdefault(len(ids), []).append(i)
    outputs = [""] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for indices in groups.values():
                for start in range(0, len(indices), 256):
                    batch = indices[start : start + 256]
                    ids = torch.tensor([encoded[i] for i in batch])
                    n_prompt = ids.shape[1]
                    out = model(  # the last position's logits only: all that is used
                        input_ids=ids,
                        attention_mask=torch.ones_like(ids),
                        use_cache=True,
                        logits_to_keep=1,
                    )
                    active = torch.ones(len(batch), dtype=torch.bool)  # rows not finished yet
                    for _ in range(max_new_tokens):
                        step = out.logits[:, -1:].argmax(-1)
                        step[~active] = tokenizer.eos_token_id  # a finished row only pads
                        ids = torch.cat([ids, step], dim=1)
                        done = [d for _, d in continuations(tokenizer, ids[:, n_prompt:])]
                        active = ~torch.tensor(done)
                        if not active.any():
                            break
                        cache = out.cache  # soft prompt or prefix, prompt, new tokens so far
                        out = base(
                            input_ids=step,
                            attention_mask=torch.ones(len(batch), cache.get_seq_length() + 1),
                            cache=cache,
                            use_cache=True,
                            logits_to_keep=1,
                        )
                    for i, (text, _) in zip(batch, continuations(tokenizer, ids[:, n_prompt:])):
                        outputs[i] = text
    finally:
        model.train(was_training)
    return outputs
