"""The comparison: the claims of docs/comparison.md, and that its table is read from the figures
each technique's snippet wrote (nothing retyped). The snippet trains nothing: CI runs it in full."""

from __future__ import annotations

import json

import pytest

from atlas import GENERATED_DIR
from atlas.comparison import COLUMNS, columns
from claims import COMPARISON as CLAIMS

# comparison row -> (folder, result name) of the snippet run behind it
TRAINED = {
    "single-task fine-tuning": ("single_task_finetuning", "single_task"),
    "hybrid (one task, with instructions)": ("hybrid_finetuning", "hybrid"),
    "instruction tuning (FLAN style)": ("instruction_tuning", "instruction_tuned"),
    "same data, no template": ("instruction_tuning", "no_template"),
    "same data, task tag": ("instruction_tuning", "task_tag"),
    "LoRA r=8 (single-task rows)": ("peft_finetuning", "lora_spell"),
    "LoRA r=8 (instruction-tuning rows)": ("peft_finetuning", "lora_flan"),
    "prompt tuning (single-task rows)": ("prompt_tuning", "prompt_text_spell"),
    "prefix tuning (single-task rows)": ("prefix_tuning", "prefix_spell"),
    "continued pretraining (domain text)": ("continued_pretraining", "continued"),
    "DPO after instruction tuning (beta 0.1)": ("dpo", "dpo_beta0.1"),
}
# The rows trained on the instruction-tuning data: all weights, LoRA beside them, or DPO after it
INSTRUCTION_TUNED = (
    "instruction tuning (FLAN style)",
    "LoRA r=8 (instruction-tuning rows)",
    "DPO after instruction tuning (beta 0.1)",
)


@pytest.fixture(scope="module")
def rows(run_snippet) -> dict[str, dict]:
    run = run_snippet("comparison")
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads((run.results() / "comparison.json").read_text())["rows"]


@pytest.mark.parametrize("row", TRAINED)
def test_each_row_is_read_from_its_technique_s_figures(rows, row):
    folder, name = TRAINED[row]
    by_task = json.loads((GENERATED_DIR / folder / f"{name}.json").read_text())["by_task"]
    training = json.loads((GENERATED_DIR / folder / f"{name}_training.json").read_text())
    expected = columns(by_task, target="spell")
    assert {k: rows[row][k] for k in COLUMNS} == expected
    assert rows[row]["trainable_parameters"] == training["trainable_parameters"]


@pytest.mark.parametrize("column", ["other_seen_instruction", "held_out_templates"])
def test_only_instruction_tuning_does_many_tasks_asked_in_words(rows, column):
    """Instruction tuning, by full fine-tuning or LoRA, beats every other row."""
    others = [
        r[column]
        for name, r in rows.items()
        if name not in INSTRUCTION_TUNED and isinstance(r[column], float)
    ]
    for name in INSTRUCTION_TUNED:
        tuned = rows[name][column]
        assert len(others) >= 7 and tuned >= max(others) + CLAIMS["instruction_tuning_lead_points"]


def test_dpo_keeps_instruction_tuning_s_shape_but_lower(rows):
    dpo, tuned = (
        rows["DPO after instruction tuning (beta 0.1)"],
        rows["instruction tuning (FLAN style)"],
    )
    assert dpo["target_bare"] <= CLAIMS["dpo_bare_at_most"]
    for column in ("target_instruction", "other_seen_instruction", "held_out_templates"):
        assert dpo[column] <= tuned[column] - CLAIMS["dpo_below_instruction_tuning_points"], column


def test_every_adaptation_trains_within_the_front_page_s_minutes(rows):
    """docs/index.md: "adapted N ways, each in under two minutes" (the rows' training seconds)."""
    seconds = {n: r["seconds"] for n, r in rows.items() if r["trainable_parameters"]}
    assert len(seconds) >= 10
    slow = {n: s for n, s in seconds.items() if s >= CLAIMS["training_minutes_at_most"] * 60}
    assert not slow, slow
