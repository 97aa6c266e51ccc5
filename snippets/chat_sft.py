"""Chat SFT: the toy base model fine-tuned on conversations, in its tokenizer's chat template.

The same loss and trainer as instruction tuning, another input shape: rows are `messages` lists
(some with a system message, some with a second request about the first answer, "now reverse
that"), TRL's SFTTrainer renders them with the tokenizer's chat template, and
`assistant_only_loss=True` puts the loss on the assistant's tokens only (the template marks them
with `{% generation %}`). The counting cluster is never trained on.

Each pitfall of the pitfalls page is one argument away from this run:

    python snippets/chat_sft.py                          # the recipe
    python snippets/chat_sft.py --loss all               # loss on the prompt too
    python snippets/chat_sft.py --loss last              # loss on the last reply only
    python snippets/chat_sft.py --eos untrained          # EOS outside {% generation %}
    python snippets/chat_sft.py --eos pad-masked         # pad = EOS, masked by the collator
    python snippets/chat_sft.py --template none          # the same requests as plain text
    python snippets/chat_sft.py --packing bfd            # TRL packing, each example kept apart
    python snippets/chat_sft.py --packing wrapped        # packing that lets examples see each other
    python snippets/chat_sft.py --model models/instruction-tuned   # start from an instruct model
"""
# ci-args: --max-steps 4 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model
# ci-args: --max-steps 2 --eval-words 2 --loss last --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --max-steps 2 --eval-words 2 --eos pad-masked --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --max-steps 2 --eval-words 2 --packing wrapped --template none --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501
# ci-args: --model {smollm2} --max-steps 1 --eval-words 2 --results-dir {tmp}/results --output-dir {tmp}/model  # noqa: E501

import json
import random
from pathlib import Path

from atlas.toy import world

from atlas import BASE_MODEL_DIR, cli

parser = cli.parser(__doc__, results="chat_sft")
parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
parser.add_argument(
    "--loss",
    choices=["assistant", "last", "all"],
    default="assistant",
    help="loss on every assistant turn, on the last assistant turn only, or on the whole "
    "conversation (with --template none the first two are the same: a plain row's completion "
    "is its last reply)",
)
parser.add_argument(
    "--eos",
    choices=["trained", "untrained", "pad-masked"],
    default="trained",
    help="the end-of-turn EOS in the loss; outside the assistant mask; or masked as padding",
)
parser.add_argument(
    "--template",
    choices=["chat", "none"],
    default="chat",
    help="render conversations with the chat template, or as plain text (request, newline)",
)
parser.add_argument(
    "--packing",
    choices=["none", "bfd", "wrapped"],
    default="none",
    help="no packing; TRL's packing with positions restarted per example; or wrapped rows",
)
parser.add_argument("--max-steps", type=cli.at_least(1), default=150, help="steps of 32 rows")
parser.add_argument("--learning-rate", type=cli.positive, default=2e-3, help="peak learning rate")
parser.add_argument("--seed", type=cli.seed, default=0, help="training words, data order")
parser.add_argument(
    "--eval-words", type=cli.at_least(2), default=20, help="held-out words per task"
)
parser.add_argument(
    "--output-dir", type=Path, default=Path("models/chat-tuned"), help="where the model is saved"
)
args = cli.parse(parser)
if args.eos == "pad-masked" and args.packing == "bfd":
    parser.error("--eos pad-masked brings its own collator, which TRL's bfd packing cannot use")
if args.loss == "last" and args.eos != "trained":
    parser.error("--loss last masks by prompt and completion: use it with the default --eos")
if args.eos == "untrained" and (args.loss == "all" or args.template == "none"):
    parser.error(
        "--eos untrained moves EOS out of the assistant mask: use the default --loss/--template"
    )

# The heavy imports come after the arguments, so --help and a typo answer at once.
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling
from trl import SFTTrainer
from trl.chat_template_utils import get_training_chat_template, has_generation_markers

from atlas import chat, evaluation
from atlas.plots import plot_loss
from atlas.training import save, sft_config, train, write_stats

# --8<-- [start:data]
train_tasks = [t for t, task in world.TASKS.items() if task.cluster != world.HELD_OUT_CLUSTER]
rows = chat.conversations(train_tasks, n_per_task=450, seed=args.seed)
random.Random(args.seed).shuffle(rows)
print(f"{len(rows)} conversations; for example {rows[0]['messages']}")
# --8<-- [end:data]

# --8<-- [start:train]
MODEL = args.model  # the shipped toy base model; or a Hub id
model = AutoModelForCausalLM.from_pretrained(MODEL)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
evaluation.require_chat_template(tokenizer)  # a base model from the Hub may have none
config = sft_config(
    args.output_dir,
    max_steps=args.max_steps,
    learning_rate=args.learning_rate,
    seed=args.seed,
    completion_only_loss=True,  # prompt-completion rows (--template none) only
)
config.assistant_only_loss = args.loss == "assistant"  # needs {% generation %} in the template
config.max_length = 192  # the longest conversation (a system message, two turns) fits whole
config.train_sampling_strategy = "group_by_length"  # batches of like lengths: less padding
# --8<-- [end:train]

# --8<-- [start:levers]
dataset = Dataset.from_list([{"messages": r["messages"]} for r in rows])
collator = None
if args.eos == "untrained":
    # A template whose end-of-turn EOS lies outside {% generation %}: the assistant mask skips it.
    inside = "{{ message['content'] }}<eos>{% endgeneration %}"
    if inside not in tokenizer.chat_template:
        parser.error(f"--eos untrained rewrites the toy template; this template has no {inside}")
    tokenizer.chat_template = tokenizer.chat_template.replace(
        inside, "{{ message['content'] }}{% endgeneration %}<eos>"
    )
if args.eos == "pad-masked":
    # The classic recipe: pad = EOS, and a collator that masks every pad id in the labels, which
    # masks every EOS too. (TRL's own collator masks padding by position and keeps EOS.)
    tokenizer.pad_token = tokenizer.eos_token
    classic = DataCollatorForLanguageModeling(tokenizer, mlm=False)  # labels = input ids, pads -100

    def collator(features: list[dict]) -> dict:
        return classic([{"input_ids": f["input_ids"]} for f in features])

    config.assistant_only_loss = False  # this collator knows nothing of assistant masks
# --8<-- [end:levers]

# --8<-- [start:last_reply]
if args.loss == "last":
    # Loss on the last assistant turn only: each conversation as a prompt (every turn before the
    # last reply) and a completion (that reply); TRL masks the prompt, first answers included.
    dataset = Dataset.from_list(
        [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
    )
    config.assistant_only_loss = False
# --8<-- [end:last_reply]

# --8<-- [start:plain_text_and_packing]
if args.template == "none":
    # The same conversations as plain text: each request on its line, the answer on the next.
    def plain(messages: list[dict]) -> dict:
        before = "".join(m["content"] + "\n" for m in messages[:-1])
        return {"prompt": before, "completion": messages[-1]["content"]}

    dataset = Dataset.from_list([plain(r["messages"]) for r in rows])
    config.assistant_only_loss = False
    config.completion_only_loss = args.loss != "all"  # the last reply is the completion
if args.packing != "none":
    config.packing, config.packing_strategy = True, args.packing
    # rows of up to 256 tokens, 8 per step: about the tokens of 32 unpacked conversations
    config.max_length, config.per_device_train_batch_size = 256, 8
# --8<-- [end:plain_text_and_packing]

if config.assistant_only_loss and not has_generation_markers(tokenizer.chat_template):
    try:  # TRL marks the templates of known model families itself
        get_training_chat_template(tokenizer)
    except ValueError:
        parser.error(
            f"{MODEL}'s chat template has no {{% generation %}} markers: add them, or --loss all"
        )

trainer = SFTTrainer(
    model=model,
    args=config,
    train_dataset=dataset,
    processing_class=tokenizer,
    data_collator=collator,
)
stats = train(trainer)  # trainer.train(), timed
save(trainer, args.output_dir)
print({k: v for k, v in stats.items() if k != "losses"})

# --8<-- [start:evaluate]
tuned = AutoModelForCausalLM.from_pretrained(args.output_dir)
tokenizer = AutoTokenizer.from_pretrained(MODEL)  # the template the model is asked in
conditions = ["chat", "chat_held_out", "instruction", "few_shot"]
result = evaluation.evaluate(tuned, tokenizer, conditions=conditions, n_words=args.eval_words)
print(result.cluster_markdown())
chatml = AutoTokenizer.from_pretrained(MODEL)
chatml.chat_template = chat.CHATML_TEMPLATE  # another model family's template
in_chatml = evaluation.evaluate(tuned, chatml, conditions=["chat"], n_words=args.eval_words)
second_turn = chat.second_turn_accuracy(tuned, tokenizer, n_words=args.eval_words)
stops = chat.stop_by_itself(tuned, tokenizer, chat.chat_requests(tokenizer, args.eval_words // 2))
unfinished_prompts = chat.unfinished_requests(tokenizer)
unfinished = chat.stop_by_itself(tuned, tokenizer, unfinished_prompts)
# --8<-- [end:evaluate]

split = result.by_task_split(world.HELD_OUT_CLUSTER)
figures = {
    "chat_seen": split["seen tasks"]["chat"],
    "chat_held_out_wording": split["seen tasks"]["chat_held_out"],
    "plain_instruction": split["seen tasks"]["instruction"],
    "chatml_template": in_chatml.by_task_split(world.HELD_OUT_CLUSTER)["seen tasks"]["chat"],
    "second_turn": second_turn,
    "stops_within_64": sum(s for _, s in stops) / len(stops),
    "few_shot": result.accuracy(condition="few_shot"),
    "held_out_cluster": split["held-out cluster"]["chat"],
}
print({k: round(100 * v) for k, v in figures.items()})

NAME = "chat_sft"
results = args.results_dir
result.save(results, NAME)
(results / f"{NAME}_figures.json").write_text(json.dumps(figures, indent=1) + "\n")
(results / f"{NAME}_rows.json").write_text(
    json.dumps([r["messages"] for r in rows[:3]], indent=1, ensure_ascii=False) + "\n"
)
continuations = {  # "reply": text the model wrote (not compared across CPU kinds)
    "after a request": [{"reply": t} for t, _ in stops[:4]],
    "after the first words of a request": [
        {"prompt": p, "reply": t} for p, (t, _) in zip(unfinished_prompts, unfinished)
    ],
}
(results / f"{NAME}_continuations.json").write_text(json.dumps(continuations, indent=1) + "\n")
write_stats(
    results,
    NAME,
    stats,
    model=Path(MODEL).name,
    loss=args.loss,
    eos=args.eos,
    template=args.template,
    packing=args.packing,
    rows=len(rows),
)
plot_loss(stats["losses"], results / f"{NAME}_loss.png", title="Chat SFT")
