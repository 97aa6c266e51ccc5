"""The playground's Python side: the export script on this CPU, the committed ONNX files and the
files the page builds its prompts from. The page itself, in Chromium, is checked by
tests/test_browser.py (the playground section), against the answers checked here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import onnxruntime as ort
import pytest
from transformers import AutoTokenizer

from atlas.toy import world

from atlas import BASE_MODEL_DIR, ROOT, InputError, MissingFile, evaluation
from atlas.site import playground
from claims import PLAYGROUND as c

FOLDER = ROOT / "docs" / "generated" / "playground"
SCRIPT = ROOT / "tools" / "export_playground.py"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(BASE_MODEL_DIR)


def load(name: str):
    return json.loads((FOLDER / name).read_text())


def test_page_description_is_current(tokenizer):
    """playground.json is what atlas.site.playground makes from the toy world now."""
    assert load("playground.json") == json.loads(json.dumps(playground.spec(tokenizer)))


def test_check_prompts_are_current(tokenizer):
    assert load("expected.json")["prompts"] == playground.check_prompts(tokenizer)


def test_patterns_rebuild_the_harness_prompts(tokenizer):
    """The patterns, filled in as the page fills them, give the harness's prompt for every task,
    presentation and template (the page's JavaScript does the same fill: tests/test_browser.py)."""
    spec = playground.spec(tokenizer)
    p = spec["patterns"]
    word = "kitab"
    for t in spec["tasks"]:
        demos = "".join(
            p["few_shot_demo"].format(d=d, y=y)
            for d, y in zip(spec["demo_words"], t["demo_answers"])
        )
        for tid, template in enumerate(spec["templates"]):
            instruction = template.format(noun=t["noun"], x=word)
            built = {
                "bare": p["bare"].format(x=word),
                "instruction": p["instruction"].format(instruction=instruction),
                "chat": p["chat_prefix"] + instruction + p["chat_suffix"],
                "few_shot": demos + p["few_shot_query"].format(x=word),
                "fact": t["fact_prompt"].format(x=word),
                "tag": p["tag"].format(task=t["name"], x=word),
            }
            for kind, text in built.items():
                key = (
                    "instruction_held_out"
                    if tid in world.HELD_OUT_TEMPLATE_IDS and kind == "instruction"
                    else kind
                )
                if kind in ("instruction", "chat"):
                    assert text == playground.prompt(tokenizer, t["name"], key, word, tid)
                else:
                    assert text == playground.prompt(tokenizer, t["name"], kind, word)
        assert playground.prompt(tokenizer, t["name"], "chat", word, 0) == evaluation.chat_prompt(
            tokenizer, world.instruction(t["name"], word, 0)
        )


def test_runtime_is_vendored_with_its_licence():
    """The page loads onnxruntime-web from the site itself, at the pinned version."""
    folder = (
        ROOT / "docs" / playground.spec(AutoTokenizer.from_pretrained(BASE_MODEL_DIR))["runtime"]
    )
    assert all((folder / f).is_file() for f in playground.RUNTIME_FILES), (
        "run bash tools/vendor_onnxruntime_web.sh"
    )
    assert "MIT License" in (folder / "LICENSE").read_text()
    assert f"onnxruntime-web {playground.ONNXRUNTIME_WEB}" in (folder / "LICENSE").read_text()


def test_no_template_is_typed_in_the_page_script():
    """The page builds prompts from playground.json only: no template or pattern in its code."""
    script = (ROOT / "docs" / "javascripts" / "playground.js").read_text()
    typed = [t for t in world.INSTRUCTION_TEMPLATES if t.split("{")[0].strip() and t in script]
    typed += [a for a in ("<|user|>", "<|assistant|>", world.ARROW) if a in script]
    assert not typed, f"typed into playground.js instead of read from playground.json: {typed}"


def test_export_script_gives_pytorchs_answers_on_this_cpu(tmp_path):
    """The export, run as the producer runs it, on the shipped base model: the script itself stops
    if one ONNX answer differs from the PyTorch harness's on the grid."""
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--models",
            "base",
            "--grid-words",
            "2",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "export.json").read_text())
    assert report["models"]["base"]["float32_agreement"] == 100
    written = load("expected.json")["models"]
    expected = json.loads((tmp_path / "expected.json").read_text())["models"]["base"]
    assert [r["prediction"] for r in expected] == [r["prediction"] for r in written["base"]]


@pytest.mark.parametrize("model", [m.key for m in playground.MODELS])
def test_committed_model_answers_as_recorded(model, tokenizer):
    """Each committed ONNX file, run on this CPU, gives the answers expected.json records (the same
    file's answers in Python on the machine that exported it)."""
    expected = load("expected.json")
    session = ort.InferenceSession(
        str(FOLDER / f"{model}.onnx"), providers=["CPUExecutionProvider"]
    )
    got = playground.answer_rows(
        playground.onnx_next_logits(session), tokenizer, expected["prompts"]
    )
    assert [g["prediction"] for g in got] == [e["prediction"] for e in expected["models"][model]]
    for g, e in zip(got, expected["models"][model]):
        assert [s[0][0] for s in g["top"]] == [s[0][0] for s in e["top"]]
        assert g["top"][0][0][1] == pytest.approx(e["top"][0][0][1], abs=1e-3)


def test_export_report():
    """Every exported float32 model gave PyTorch's answer on every grid prompt; the float16 weights
    the page loads keep nearly every answer and exact match, and the files total at most 12 MB;
    int8 weights change many answers (the page's reason not to ship them), though exact match
    hardly moves."""
    report = load("export.json")
    assert set(report["models"]) == {m.key for m in playground.MODELS}
    for key, r in report["models"].items():
        assert r["float32_agreement"] == 100, key
        assert r["int8_agreement"] <= c["int8_agreement_at_most_pct"], key
        gap = abs(r["float32_accuracy"] - r["int8_accuracy"])
        assert gap <= c["int8_exact_match_within_points"], key
        assert r["float16_agreement"] >= c["float16_agreement_at_least_pct"], key
        gap = abs(r["float32_accuracy"] - r["float16_accuracy"])
        assert gap <= c["float16_exact_match_within_points"], key
        assert (FOLDER / f"{key}.onnx").stat().st_size == r["float16_bytes"] < r["onnx_bytes"] / 1.9
    assert report["total_float16_bytes"] <= c["models_bytes_at_most"]
    assert sum(f.stat().st_size for f in FOLDER.glob("*.onnx")) == report["total_float16_bytes"]


def test_pages_link_to_the_playground_with_their_model():
    """A technique page whose model is in the playground links to it with that model marked."""
    missing = []
    for m in playground.MODELS:
        text = (ROOT / "docs" / m.page).read_text()
        if not re.search(rf"playground\.md\?model={re.escape(m.key)}(&|\))", text):
            missing.append(m.page)
    assert not missing, f"no link to playground.md?model=... on {missing}"


def test_unknown_model_and_missing_checkpoint_are_explained(tmp_path):
    with pytest.raises(InputError, match="the playground's models are: base, single-task"):
        playground.get_model("single_task")
    with pytest.raises(
        MissingFile,
        match=r"models/hybrid is missing: .*single_task_finetuning.py --inputs instruction",
    ):
        playground.model_dir(playground.get_model("hybrid"), root=tmp_path)
    with pytest.raises(InputError, match="unknown presentation 'few-shot'"):
        playground.prompt(None, "spell", "few-shot", "kitab")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "single_task"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "invalid choice: 'single_task'" in proc.stderr
