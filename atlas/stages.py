"""The stages around instruction tuning: continued pretraining on a new domain, and what each stage
makes a model able to do, measured with the site's one harness.

The domain is the toy world's *cipher* (world.DOMAIN_TASKS: `shift`, every letter moved one place
on, and `mirror`, the word followed by its reverse). The toy web never mentions it;
`data.domain_text` writes facts and pattern lists about it and nothing else.

    examples = domain_examples(n_words=20)           # shift and mirror: few-shot, fact, request
    figures, result = measure(model, tokenizer)      # the six numbers the stages page reports
"""

from __future__ import annotations

import random

from atlas.toy import world

from atlas.evaluation import Example, evaluate, evaluate_examples

DOMAIN_CONDITIONS = ("few_shot", "fact", "instruction")

# What the stages page reports for one model, in order: (key, label).
MEASURES = {
    "domain_few_shot": "cipher tasks, few-shot",
    "domain_fact": "cipher facts (completion)",
    "domain_instruction": "cipher tasks, asked by instruction",
    "general_few_shot": "toy-web tasks, few-shot",
    "general_fact": "toy-web facts (completion)",
    "general_instruction": "toy-web tasks, asked by instruction",
}


def domain_examples(
    n_words: int = 20, seed: int = 0, conditions=DOMAIN_CONDITIONS
) -> list[Example]:
    """The harness's presentations for the cipher tasks, on the words and templates
    `evaluation.build_examples` uses for the toy web's tasks."""
    demo_pool = world.words("train", 500, seed=seed + 7)
    eval_words = world.words("eval", n_words, seed=seed)
    examples = []
    for task in world.DOMAIN_TASKS.values():
        rng = random.Random(f"{task.name}-{seed}")
        for condition in conditions:
            for i, word in enumerate(eval_words):
                if condition == "few_shot":
                    prompt = world.few_shot_prompt(task, word, rng.sample(demo_pool, world.N_SHOTS))
                elif condition == "fact":
                    prompt = world.fact_prompt(task, word)
                elif condition == "instruction":
                    template = world.SEEN_TEMPLATE_IDS[i % len(world.SEEN_TEMPLATE_IDS)]
                    prompt = world.instruction_prompt(task, word, template)
                else:
                    raise ValueError(
                        f"no cipher presentation {condition!r}; use {DOMAIN_CONDITIONS}"
                    )
                examples.append(
                    Example(task.name, task.cluster, condition, word, prompt, task.fn(word))
                )
    return examples


def measure(model, tokenizer, n_words: int = 20):
    """The cipher tasks and the toy web's tasks, each few-shot, as a fact and asked by instruction:
    what a stage added (the cipher) and what it kept or changed (the rest). Returns the six
    figures of MEASURES and the harness's result on the toy web's tasks (its per-task table)."""
    domain = evaluate_examples(model, tokenizer, domain_examples(n_words)).by_task()
    general = evaluate(model, tokenizer, conditions=DOMAIN_CONDITIONS, n_words=n_words)

    def mean(by_task, condition):
        return sum(row[condition] for row in by_task.values()) / len(by_task)

    figures = {
        f"{part}_{condition}": mean(by_task, condition)
        for part, by_task in (("domain", domain), ("general", general.by_task()))
        for condition in DOMAIN_CONDITIONS
    }
    return figures, general


# --- preference tuning ----------------------------------------------------------------------------


def answered_requests(model, tokenizer, n_per_task: int, split: str = "train", seed: int = 0):
    """New requests and the model's answers to them: (prompt, request row, answer) triples. The
    prompt is the request as the instruction-tuned model reads it (instruction and newline); the
    tasks are instruction tuning's (the held-out cluster left out); `seed` draws words the
    instruction-tuning run did not train on."""
    from atlas.toy import data

    from atlas.evaluation import extract_answer, generate

    tasks = [n for n, t in world.TASKS.items() if t.cluster != world.HELD_OUT_CLUSTER]
    requests = data.instructions(tasks, n_per_task, split=split, seed=seed + 1000)
    prompts = [r["instruction"] + "\n" for r in requests]
    longest = max(len(tokenizer.encode(r["output"], add_special_tokens=False)) for r in requests)
    answers = [extract_answer(t) for t in generate(model, tokenizer, prompts, longest + 2)]
    return list(zip(prompts, requests, answers))


def preference_rows(model, tokenizer, n_per_task: int, split: str = "train", seed: int = 0):
    """On-policy preference pairs, built as real preference data is: the model answers requests,
    each answer is judged (here exactly), and every wrong answer becomes a pair: the right answer
    chosen, the model's own answer rejected."""
    return [
        {"prompt": p, "chosen": r["output"], "rejected": a, "task": r["task"]}
        for p, r, a in answered_requests(model, tokenizer, n_per_task, split, seed)
        if a != r["output"]
    ]


def feedback_rows(model, tokenizer, n_per_task: int, split: str = "train", seed: int = 0):
    """On-policy unpaired preferences, as a product collects them: the model answers requests and
    each answer is labelled good or bad (here judged exactly); nobody writes the right answer."""
    return [
        {"prompt": p, "completion": a, "label": a == r["output"], "task": r["task"]}
        for p, r, a in answered_requests(model, tokenizer, n_per_task, split, seed)
    ]


def answer_logprobs(model, tokenizer, prompts: list[str], answers: list[str]) -> list[float]:
    """log p(answer + EOS | prompt) under `model`, summed over the answer's tokens: the quantity DPO
    compares between the trained model and its reference."""
    import torch

    values = []
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for prompt, answer in zip(prompts, answers):
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            a = tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([p + a])
            logits = model(input_ids=ids).logits[0, len(p) - 1 : -1]
            values.append(logits.log_softmax(-1).gather(1, torch.tensor(a)[:, None]).sum().item())
    model.train(was_training)
    return values


def preference_figures(model, reference, tokenizer, pairs: list[dict]) -> dict[str, float]:
    """On held-out pairs: `accuracy`, the share where training raised the chosen answer against the
    rejected one (DPO's implicit reward, beta * log pi/pi_ref, higher for chosen: the sign does
    not depend on beta); `margin`, the mean of that difference of log-ratios in nats (DPO's reward
    margin divided by beta); `prefers_chosen`, the share where the model gives the chosen answer
    the higher probability outright; `chosen_logp_change`, how far the chosen answers'
    log-probability moved (a model that pushes both answers down has drifted from its reference)."""
    prompts = [p["prompt"] for p in pairs]
    chosen, rejected = [p["chosen"] for p in pairs], [p["rejected"] for p in pairs]
    lp_c, lp_r = (
        answer_logprobs(model, tokenizer, prompts, chosen),
        answer_logprobs(model, tokenizer, prompts, rejected),
    )
    ref_c, ref_r = (
        answer_logprobs(reference, tokenizer, prompts, chosen),
        answer_logprobs(reference, tokenizer, prompts, rejected),
    )
    deltas = [(c - rc) - (r - rr) for c, rc, r, rr in zip(lp_c, ref_c, lp_r, ref_r)]
    n = len(pairs)
    return {
        "accuracy": sum(d > 0 for d in deltas) / n,
        "margin": sum(deltas) / n,
        "prefers_chosen": sum(c > r for c, r in zip(lp_c, lp_r)) / n,
        "chosen_logp_change": sum(c - rc for c, rc in zip(lp_c, ref_c)) / n,
    }


def answer_changes(before, after) -> dict[str, int]:
    """What training changed on the requests asked by instruction (the trained tasks' clusters),
    from two results of the same harness: how many, how many were wrong before, and how many
    wrong answers it fixed and right ones it broke."""

    def asked(result) -> dict:
        return {
            (e.task, e.condition, e.word): e.correct
            for e in result.examples
            if e.condition.startswith("instruction") and e.cluster != world.HELD_OUT_CLUSTER
        }

    right_before, right_after = asked(before), asked(after)
    return {
        "requests": len(right_before),
        "wrong_before": sum(not ok for ok in right_before.values()),
        "fixed": sum(right_after[k] and not ok for k, ok in right_before.items()),
        "broken": sum(ok and not right_after[k] for k, ok in right_before.items()),
    }


def sibling_answers(result) -> list:
    """The harness's instruction examples (seen and held-out templates) answered with the answer of
    another task of the same cluster: the instruction-tuned model's typical mistake, doing the
    wrong operation."""
    wrong = []
    for e in result.examples:
        if e.condition not in ("instruction", "instruction_held_out") or e.correct:
            continue
        siblings = [o for o in world.CLUSTERS[e.cluster] if o != e.task]
        if any(e.prediction == world.answer(o, e.word) for o in siblings):
            wrong.append(e)
    return wrong
