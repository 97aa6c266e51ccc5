"""Adaptation Atlas's toy world: tasks (`world`), tokenizer, datasets (`data`), evaluation, plots."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository checkout
BASE_MODEL_DIR = ROOT / "models" / "toy-base"  # the shipped base model, made by snippets/pretraining.py
GENERATED_DIR = ROOT / "docs" / "generated"  # tables, figures and samples the snippets write for the pages
