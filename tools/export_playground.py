"""Export the playground's toy checkpoints to ONNX for the browser, and check them.

    python tools/export_playground.py    # ~3 min on 2 cores; needs the checkpoints the pages make

Writes docs/generated/playground/: one `<model>.onnx` per model (weights inside, stored in float16:
half the download; the arithmetic stays float32), the
toy world as the page needs it (`playground.json`), the fixed prompts the browser test runs with
every model's answer (`expected.json`), and what the export measured (`export.json`, `export.md`).

Each exported float32 model must give the PyTorch model's greedy answers, computed by the site's
harness, on every prompt of the evaluation grid in the playground's presentations; the script fails
if one differs. The same grid then measures what the page's float16 weights change, and what int8
weights (onnxruntime's dynamic quantisation) would.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atlas import BASE_MODEL_DIR, cli  # noqa: E402
from atlas.site import playground

GRID_WORDS = 10  # held-out words per task and presentation in the equality check

parser = cli.parser(__doc__, results="playground")
parser.add_argument(
    "--models",
    nargs="+",
    choices=[m.key for m in playground.MODELS],
    default=[m.key for m in playground.MODELS],
    help="the playground models to export (default: all of them)",
)
parser.add_argument(
    "--grid-words", type=cli.at_least(1), default=GRID_WORDS, help="words per task in the check"
)
args = cli.parse(parser)

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from atlas import ROOT, THREADS, evaluation  # noqa: E402
from atlas.tables import markdown_table  # noqa: E402

torch.set_num_threads(THREADS)
models = [playground.get_model(k) for k in args.models]
directories = {m.key: playground.model_dir(m) for m in models}  # every checkpoint there, first
args.results_dir.mkdir(parents=True, exist_ok=True)

# One tokenizer for all: every checkpoint is the toy model with the toy tokenizer.
tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL_DIR)
for key, directory in directories.items():
    if AutoTokenizer.from_pretrained(directory).get_vocab() != tokenizer.get_vocab():
        raise SystemExit(f"{directory} has another tokenizer than the base model's")
spec = playground.spec(tokenizer)
max_new = spec["grid_max_new_tokens"]  # the harness's budget on the grid
checks = playground.check_prompts(tokenizer)
grid = evaluation.build_examples(tokenizer, playground.PRESENTATIONS, n_words=args.grid_words)
options = ort.SessionOptions()
options.intra_op_num_threads = THREADS


def store_weights_in_float16(path: Path) -> None:
    """Rewrite the ONNX model at `path` with every float32 weight stored in float16 and cast back
    to float32 where the graph reads it: half the download, and the arithmetic stays float32 (the
    browser's WebAssembly kernels compute in float32; only the weights are rounded)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    kept, casts = [], []
    for weight in graph.initializer:
        if weight.data_type != TensorProto.FLOAT:
            kept.append(weight)
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(weight).astype(np.float16), weight.name + ".float16"
        )
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [weight.name], to=TensorProto.FLOAT))
    graph.ClearField("initializer")
    graph.initializer.extend(kept)
    inputs = [i for i in graph.input if i.name not in {c.output[0] for c in casts}]
    graph.ClearField("input")
    graph.input.extend(inputs)
    nodes = casts + list(graph.node)  # the casts first: every node after them reads their output
    graph.ClearField("node")
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def harness_answers(model, prompts: list[str]) -> list[str]:
    """The site's harness: batched greedy generation, the first line as the answer."""
    texts = evaluation.generate(model, tokenizer, prompts, max_new_tokens=max_new)
    return [evaluation.extract_answer(t) for t in texts]


def onnx_answers(onnx_session: ort.InferenceSession, examples) -> list[str]:
    """The page's greedy answers, from an ONNX model, to the grid's prompts."""
    rows = playground.greedy(
        playground.onnx_next_logits(onnx_session), tokenizer, [e.prompt for e in examples], max_new
    )
    return [r["prediction"] for r in rows]


def agreement(a: list[str], b: list[str]) -> float:
    return 100 * sum(x == y for x, y in zip(a, b)) / len(a)


expected = {"prompts": checks, "models": {}}
report = {"grid_prompts": len(grid), "grid_words": args.grid_words, "models": {}}
for m in models:
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        directories[m.key], dtype=torch.float32, attn_implementation="eager"
    )
    path = args.results_dir / f"{m.key}.onnx"  # what the page downloads: float16 weights
    with tempfile.TemporaryDirectory() as tmp:
        float32_path = Path(tmp) / "float32.onnx"
        playground.export(model, float32_path)
        exported = session(float32_path)
        # The page's decoding, in Python: unpadded whole-sequence forward passes of the ONNX model.
        if {c["max_new_tokens"] for c in checks} != {max_new}:
            raise SystemExit(
                "the check prompts' words are the grid's kind: they get the grid's budget"
            )
        harness_checks = harness_answers(model, [c["prompt"] for c in checks])
        harness_grid = harness_answers(model, [e.prompt for e in grid])
        onnx_grid = onnx_answers(exported, grid)
        onnx_checks = playground.answer_rows(
            playground.onnx_next_logits(exported), tokenizer, checks
        )
        different = [(e.prompt, a, b) for e, a, b in zip(grid, onnx_grid, harness_grid) if a != b]
        different += [
            (c["prompt"], r["prediction"], h)
            for c, r, h in zip(checks, onnx_checks, harness_checks)
            if r["prediction"] != h
        ]
        if different:
            raise SystemExit(
                f"{m.key}: the ONNX model answers {len(different)} prompt(s) otherwise than the "
                f"PyTorch model, first {different[0]!r}"
            )
        int8_path = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(float32_path), str(int8_path), weight_type=QuantType.QInt8)
        int8_grid = onnx_answers(session(int8_path), grid)
        int8_bytes = int8_path.stat().st_size
        onnx_bytes = float32_path.stat().st_size
        shutil.copyfile(float32_path, path)
    store_weights_in_float16(path)
    shipped = session(path)
    float16_grid = onnx_answers(shipped, grid)
    answers = [e.answer for e in grid]
    # The browser test expects the answers of the file the page loads.
    expected["models"][m.key] = playground.answer_rows(
        playground.onnx_next_logits(shipped), tokenizer, checks
    )
    report["models"][m.key] = {
        "label": m.label,
        "parameters": sum(p.numel() for p in model.parameters()),
        "onnx_bytes": onnx_bytes,
        "float16_bytes": path.stat().st_size,
        "int8_bytes": int8_bytes,
        "float32_agreement": agreement(onnx_grid, harness_grid),
        "float16_agreement": agreement(float16_grid, harness_grid),
        "int8_agreement": agreement(int8_grid, harness_grid),
        "float32_accuracy": agreement(onnx_grid, answers),
        "float16_accuracy": agreement(float16_grid, answers),
        "int8_accuracy": agreement(int8_grid, answers),
        "seconds": time.perf_counter() - start,
    }
    print(f"{m.key}: {report['models'][m.key]}", flush=True)

report["total_onnx_bytes"] = sum(r["onnx_bytes"] for r in report["models"].values())
report["total_float16_bytes"] = sum(r["float16_bytes"] for r in report["models"].values())
report["total_int8_bytes"] = sum(r["int8_bytes"] for r in report["models"].values())
runtime = ROOT / "docs" / spec["runtime"]  # what the page loads of onnxruntime-web
report["runtime_bytes"] = sum(
    (runtime / f).stat().st_size for f in playground.RUNTIME_FILES if (runtime / f).is_file()
)
(args.results_dir / "playground.json").write_text(json.dumps(spec, indent=1) + "\n")
(args.results_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
(args.results_dir / "export.json").write_text(json.dumps(report, indent=1) + "\n")
rows = [
    [
        r["label"],
        f"{r['onnx_bytes'] / 1e6:.1f} MB",
        f"{r['float16_bytes'] / 1e6:.1f} MB",
        f"{r['int8_bytes'] / 1e6:.1f} MB",
        f"{r['float16_agreement']:.1f} % / {r['int8_agreement']:.0f} %",
        f"{r['float32_accuracy']:.1f} / {r['float16_accuracy']:.1f} / {r['int8_accuracy']:.1f} %",
    ]
    for r in report["models"].values()
]
header = [
    "model",
    "float32",
    "float16 weights (this page)",
    "int8 weights",
    "same answer as PyTorch: float16 / int8",
    "exact match: float32 / float16 / int8",
]
(args.results_dir / "export.md").write_text(markdown_table(header, rows) + "\n")
print(f"wrote {args.results_dir}; {np.round(report['total_onnx_bytes'] / 1e6, 1)} MB of models")
