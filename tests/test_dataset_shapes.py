"""Datasets and their shapes: the claims of docs/dataset-shapes.md. Every shape is built by the toy
world, written as JSONL, loaded with `datasets`, and checked by column and type."""

from __future__ import annotations

import json
import re

import pytest

from atlas.toy import data


@pytest.mark.parametrize(
    "shape,rows",
    [
        ("raw_text", lambda: data.toy_web(5)),
        ("domain_text", lambda: data.domain_text(5)),
        ("classification", lambda: data.classification(5)),
        ("pairs", lambda: data.pairs("reverse", 5)),
        ("instructions", lambda: data.instructions(["reverse", "sort"], 5)),
        ("chat", lambda: data.chat(["reverse"], 5)),
        ("preferences", lambda: data.preferences(["reverse", "sort"], 5)),
        ("feedback", lambda: data.feedback(["reverse", "sort"], 5)),
    ],
)
def test_every_shape_loads_with_datasets(shape, rows, tmp_path):
    ds = data.load_shape(data.write_jsonl(rows(), tmp_path / f"{shape}.jsonl"), shape)
    assert set(data.SHAPES[shape]) <= set(ds.column_names) and ds.num_rows >= 5


def test_wrong_columns_get_one_clear_error(tmp_path):
    path = data.write_jsonl(data.pairs("reverse", 3), tmp_path / "pairs.jsonl")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['instruction'\].*needs"):
        data.load_shape(path, "instructions")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_shape(tmp_path / "nope.jsonl", "pairs")
    with pytest.raises(KeyError, match="unknown dataset shape"):
        data.load_shape(path, "alpaca")


def test_dataset_shapes_page_shows_every_shape(run_snippet):
    run = run_snippet("dataset_shapes")
    shapes = json.loads((run.results() / "shapes.json").read_text())
    unpaired = json.loads((run.results() / "unpaired.json").read_text())
    assert [*shapes, *unpaired] == list(data.SHAPES)


def test_unpaired_feedback_has_one_answer_per_prompt_good_and_bad(tmp_path):
    """The unpaired preference shape KTO trains on: no prompt holds two answers, and a label says
    whether its one answer is right."""
    from atlas.toy import world

    rows = data.feedback(["reverse", "sort"], 10)
    assert len({r["prompt"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {True, False}
    for r in rows:  # right (for a word of the request) exactly when labelled good
        words = re.findall(r"[a-z]+", r["prompt"])
        assert any(world.answer(r["task"], w) == r["completion"] for w in words) == r["label"], r
    bad = data.write_jsonl([{**rows[0], "label": "yes"}], tmp_path / "bad.jsonl")
    with pytest.raises(ValueError, match="label must be true"):
        data.load_shape(bad, "feedback")
