"""Few-shot prompting (in-context learning): solved input -> output examples, no instruction.

Shows the base model k solved examples of a task and a new input, for k = 0 to 8, and measures
exact match on every task. No weight changes, and nothing in the input names the task: the model
must infer it from the examples. `--model` asks any causal LM instead (a folder or a Hub id).

    python snippets/few_shot_prompting.py
"""
# ci-args: --results-dir {tmp}/results
# ci-args: --model {smollm2} --eval-words 1 --results-dir {tmp}/results

import json

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="few_shot_prompting")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--eval-words", type=cli.at_least(1), default=40, help="held-out words per task"
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
from transformers import AutoModelForCausalLM, AutoTokenizer

from atlas.evaluation import evaluate
from atlas.plots import plot_curves
from atlas.tables import markdown_table

# --8<-- [start:ask]
MODEL = args.model  # the shipped toy base model; or a Hub id such as "HuggingFaceTB/SmolLM2-135M"
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)

prompt = world.few_shot_prompt("reverse", "kitab", demos=["lomu", "dasi", "perun", "tivako"])
inputs = tokenizer(prompt, return_tensors="pt")
output = model.generate(
    **inputs, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id
)
reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
print(prompt + reply)
# --8<-- [end:ask]

# --8<-- [start:evaluate]
by_shots, by_task = {}, {}
for k in (0, 1, 2, 4, 8):  # number of solved examples in the input
    result = evaluate(model, tokenizer, conditions=["few_shot"], n_shots=k, n_words=args.eval_words)
    by_shots[k] = result.by_cluster()
    by_shots[k]["all tasks"] = result.average()
    by_task[k] = {task: row["few_shot"] for task, row in result.by_task().items()}
    print(
        f"k={k}: "
        + "  ".join(f"{name} {100 * row['few_shot']:3.0f}%" for name, row in by_shots[k].items())
    )
# --8<-- [end:evaluate]

results = args.results_dir
results.mkdir(parents=True, exist_ok=True)
groups = list(by_shots[0])
rows = [[k, *(f"{100 * by_shots[k][g]['few_shot']:.0f}" for g in groups)] for k in by_shots]
(results / "by_shots.md").write_text(
    markdown_table(["examples in the input", *groups], rows, align="r" * (len(groups) + 1))
)
(results / "by_shots.json").write_text(
    json.dumps(
        {
            k: {
                "clusters": {g: round(v["few_shot"], 4) for g, v in by_shots[k].items()},
                "tasks": {t: round(v, 4) for t, v in by_task[k].items()},
            }
            for k in by_shots
        },
        indent=1,
    )
    + "\n"
)
(results / "example.json").write_text(
    json.dumps({"prompt": prompt, "reply": reply}, indent=1) + "\n"
)
plot_curves(
    {g: [(k, 100 * by_shots[k][g]["few_shot"]) for k in by_shots] for g in groups},
    results / "by_shots.png",
    xlabel="solved examples in the input (k)",
    ylabel="exact match (%)",
    title="Few-shot prompting of the base model",
)
