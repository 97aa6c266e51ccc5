"""Classification head: the classical fine-tuning most readers picture.

Puts a fresh linear layer (hidden state -> one score per label) on top of the base model with
`AutoModelForSequenceClassification` and fine-tunes everything on a labelled dataset: a word and
its number of vowels. The model no longer generates text; it picks one of its labels.

    python snippets/classification_head.py
"""
# ci-args: --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --model {smollm2} --max-steps 1 --results-dir {tmp}/results --output-dir {tmp}/model

import json
import sys
from pathlib import Path

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="classification_head")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--max-steps", type=cli.at_least(1), default=150, help="training steps of 32 rows"
)
parser.add_argument(
    "--seed", type=cli.seed, default=0, help="training words, data order and the new head's weights"
)
parser.add_argument(
    "--output-dir",
    type=Path,
    default=Path("models/classification-head"),
    help="where the classifier is saved",
)
args = cli.parse(parser)

# The heavy imports come after the arguments, so --help and a typo answer at once.
import torch
from datasets import Dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    set_seed,
)

from atlas.toy import data

from atlas.plots import plot_loss
from atlas.training import cpu_settings, train, write_stats

# --8<-- [start:data]
TASK = data.CLASSIFICATION_TASK  # "vowel_count": how many vowels the word has
labels = data.label_names(TASK)  # the answers seen in training words: ["2", "3", "4"]
train_rows = Dataset.from_list(
    data.classification(3000, "train", seed=args.seed)
)  # {"text": "kitab", "label": 0}
eval_rows = Dataset.from_list(data.classification(400, "eval"))
print(train_rows[0], "label name:", labels[train_rows[0]["label"]])
# --8<-- [end:data]

# --8<-- [start:model]
MODEL = args.model
set_seed(args.seed)  # the new head's random initial weights, reproducible
tokenizer = AutoTokenizer.from_pretrained(MODEL)
if (
    tokenizer.pad_token is None
):  # many causal LMs have no pad token; batches need one: EOS, as usual
    tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForSequenceClassification.from_pretrained(
    MODEL,
    num_labels=len(labels),
    id2label=dict(enumerate(labels)),
    label2id={name: i for i, name in enumerate(labels)},
)  # the language-model head is dropped; `score` (hidden size -> 3) is new and random
if model.config.pad_token_id is None:  # the head reads the last token that is not padding
    model.config.pad_token_id = tokenizer.pad_token_id
print(model.score)


def tokenize(batch):
    return tokenizer(batch["text"])


train_tokens = train_rows.map(tokenize, batched=True, remove_columns=["text"])
eval_tokens = eval_rows.map(tokenize, batched=True, remove_columns=["text"])
# --8<-- [end:model]

# --8<-- [start:train]
trainer = Trainer(
    model=model,
    args=TrainingArguments(
        **cpu_settings(
            args.output_dir, max_steps=args.max_steps, learning_rate=1e-3, seed=args.seed
        ),
        # The Trainer multiplies the loss by the number of processes, expecting a causal LM's loss
        # divided by the tokens of all processes; a classification loss is a plain mean per batch.
        average_tokens_across_devices=False,
        ddp_find_unused_parameters=False,  # every weight gets a gradient: skip DDP's search
    ),
    train_dataset=train_tokens,
    data_collator=DataCollatorWithPadding(
        tokenizer
    ),  # pads each batch; the head reads the last real token
    processing_class=tokenizer,
)
stats = train(trainer)
trainer.save_model(str(args.output_dir))  # the classifier and the tokenizer (with its pad token)
# Under `accelerate launch` every process trains on a batch of its own (DDP averages the gradients)
# and only the main one saves: the others wait for the files, then leave the evaluation to it.
trainer.accelerator.wait_for_everyone()
if not trainer.is_world_process_zero():
    sys.exit()
print({k: v for k, v in stats.items() if k != "losses"})
# --8<-- [end:train]

# --8<-- [start:evaluate]
classifier = AutoModelForSequenceClassification.from_pretrained(args.output_dir).eval()


@torch.inference_mode()
def classify(texts: list[str]) -> list[str]:
    """The label with the highest score, for each text (right padding, as in training)."""
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    return [classifier.config.id2label[i] for i in classifier(**batch).logits.argmax(-1).tolist()]


predictions = classify(list(eval_rows["text"]))
gold = [labels[i] for i in list(eval_rows["label"])]
accuracy = sum(p == g for p, g in zip(predictions, gold)) / len(gold)
print(f"{TASK} on {len(gold)} held-out words: {100 * accuracy:.1f} % correct")

# Whatever it is given, it answers with one of its labels: it cannot write a word.
questions = [
    world.instruction("reverse", "kitab", 0),
    world.instruction("uppercase", "lomu", 2),
    "Hello!",
]
answers = dict(zip(questions, classify(questions)))
print(answers)
# --8<-- [end:evaluate]

results = args.results_dir
write_stats(
    results,
    "classification_head",
    stats,
    task=TASK,
    labels=labels,
    accuracy=round(accuracy, 4),
    n_eval=len(gold),
    all_parameters=sum(p.numel() for p in classifier.parameters()),  # the base model and the head
)
(results / "other_inputs.json").write_text(json.dumps(answers, indent=1) + "\n")
(results / "classification_head_rows.json").write_text(
    json.dumps(train_rows.select(range(3)).to_list(), indent=1) + "\n"
)
plot_loss(stats["losses"], results / "loss.png", title=f"Classification head on {TASK}")
