"""Every notebook the site offers runs outside the checkout, installed the way its first cell says.

A fresh virtual environment in a temporary folder gets the pinned stack (the packages of the
project's environment, minus the project itself: the network is closed, so they are hard-linked, not
downloaded), and a wheel of the project built from this checkout. Each notebook, as committed in
notebooks/ (what Colab opens; what the site's hook writes), is executed there with nbclient in a
working folder outside the checkout. The notebooks' install cell runs once first, with ATLAS_PROJECT
pointing at the wheel (as a reader would point it at a download); in each notebook it then finds the
project and does nothing. Each notebook's settings (ATLAS_NOTEBOOK_ARGS) are its snippet's first
`# ci-args:` line without the folder flags, at the `SHORTEST` values, so that every run writes
where a reader's notebook writes.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from atlas.ci import FOLDER_FLAGS, ci_variants
from conftest import ROOT, SNIPPETS, load_script

HOOKS = load_script("tools/mkdocs_hooks.py")
SNIPPETS_BY = {p.stem: p for p in SNIPPETS}
SHORT = "--max-steps 1 --eval-words 2"
# The shortest settings a notebook runs with here: what is tested is that it runs outside the
# checkout, not what it measures (tests/test_snippets.py checks that on the scripts).
SHORTEST = {
    "--max-steps": "1",
    "--eval-words": "2",
    "--eval-reviews": "1",
    "--eval-others": "1",
    "--requests": "10",
    "--pairs": "2",
    "--epochs": "1",
    "--facts": "8",
}
# One task of the real model's presentation grid is enough to run it through.
ALSO = {"real_model_presentation": {"--tasks": ["capital"]}}
# The comparison reads the results of runs that are not their snippet's first ci-args line: a
# reader runs these notebooks with these settings first, and so does the test.
COMPARISON_READS = [
    ("single_task_finetuning", f"--inputs instruction {SHORT}"),  # hybrid_finetuning/
    ("instruction_tuning", f"--inputs none {SHORT}"),
    ("instruction_tuning", f"--inputs tag {SHORT}"),
    ("peft_finetuning", f"--job flan {SHORT}"),
]
# Notebooks that load what another saves: DPO, KTO and new facts start from the instruction-tuned
# model; the comparison reads every technique's results.
NEEDS_INSTRUCTION_TUNED = ("dpo", "kto", "new_knowledge")


def notebook_args(path: Path) -> str:
    """The snippet's first ci-args line without its folder flags and without a `--model` of the
    checkout's own folders (outside it, the defaults name the package's base model and the
    reader's own runs), at the `SHORTEST` settings of the flags the snippet has."""
    words = shlex.split(ci_variants(path)[0])
    kept, skip = {}, False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word in FOLDER_FLAGS or (word == "--model" and words[i + 1].startswith("models/")):
            skip = True
            continue
        if word.startswith("--"):
            kept[word] = []
            last = word
        else:
            kept[last].append(word)
    text = path.read_text()
    kept |= {flag: [value] for flag, value in SHORTEST.items() if f'"{flag}"' in text}
    kept |= ALSO.get(path.stem, {})
    settings = [w for flag, values in kept.items() for w in (flag, *values)]
    assert not any("{" in w for w in settings), f"{path.name}: {settings} needs the checkout"
    return shlex.join(settings)


def notebook_runs() -> list[tuple[str, str]]:
    """(notebook, settings) in a reader's order: the instruction-tuned model first, the comparison
    last."""
    runs = [(p.stem, notebook_args(p)) for p in SNIPPETS]
    first = [r for r in runs if r[0] == "instruction_tuning"]
    last = [r for r in runs if r[0] == "comparison"]
    middle = [r for r in runs if r not in first + last]
    return first + middle + COMPARISON_READS + last


def lend_packages(site: Path) -> None:
    """Every package of the project's environment but the project itself (its editable install
    would make the first cell find `atlas` in the checkout), in the fresh environment's own
    site-packages: hard links where the file system allows, copies elsewhere. (Packages lent by a
    path file or symbolic links lie outside the environment's prefix, which dill, through
    `datasets`' fingerprints, takes for code to pickle by value: it fails.)"""
    ours = Path(sysconfig.get_paths()["purelib"])

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:  # another file system
            shutil.copy2(src, dst)

    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("adaptation_atlas", "__editable__", "_virtualenv")) or name.endswith(
            ".pth"
        ):
            continue
        if entry.is_dir():
            shutil.copytree(entry, site / entry.name, copy_function=link, symlinks=True)
        else:
            link(entry, site / entry.name)


RUNNER = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook, workdir = sys.argv[1], sys.argv[2]
    nb = nbformat.read(notebook, as_version=4)
    start = time.time()
    # Two notebooks run at once. Over TCP each kernel picks free ports and binds them later, so
    # both can pick the same one ("Address already in use": a CI run failed so); Unix sockets in
    # a folder of the kernel's own cannot collide.
    with tempfile.TemporaryDirectory() as sockets:
        kernel = KernelManager(
            kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel")
        )
        NotebookClient(nb, km=kernel, timeout=600,
                       resources={"metadata": {"path": workdir}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    print(json.dumps({"seconds": time.time() - start, "outputs": len(outputs)}))
    """
)


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A fresh environment, a wheel of the project, the notebooks and a working folder, all
    outside the checkout."""
    tmp = tmp_path_factory.mktemp("outside")
    assert ROOT not in tmp.parents
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    venv_site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    lend_packages(venv_site)
    # The wheel is built from a copy of what it packs, so the build leaves nothing in the checkout
    source = tmp / "source"
    shutil.copytree(ROOT / "atlas", source / "atlas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models" / "toy-base", source / "models" / "toy-base")
    shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(wheels), str(source)],
        check=True,
        cwd=tmp,
    )
    wheel = next(wheels.glob("adaptation_atlas-*.whl"))
    notebooks = tmp / "notebooks"
    notebooks.mkdir()
    for script in SNIPPETS:
        shutil.copy2(HOOKS.COMMITTED / f"{script.stem}.ipynb", notebooks / f"{script.stem}.ipynb")
    workdir = tmp / "work"
    workdir.mkdir()
    return {"python": python, "wheel": wheel, "notebooks": notebooks, "workdir": workdir}


def test_the_committed_notebooks_are_the_snippets_as_they_are(tmp_path):
    """notebooks/ (what Colab opens from GitHub) holds one notebook per snippet, each the one the
    site's hook writes from it now, and its first cell links to its own Colab address."""
    written = tmp_path / "notebooks"
    HOOKS.write_notebooks(written)
    committed = sorted(p.name for p in HOOKS.COMMITTED.glob("*.ipynb"))
    assert committed == sorted(p.name for p in written.glob("*.ipynb")), (
        "notebooks/ lacks a snippet's notebook or holds one whose snippet is gone: "
        "run `.venv/bin/python tools/mkdocs_hooks.py`"
    )
    for name in committed:
        assert (HOOKS.COMMITTED / name).read_text() == (written / name).read_text(), (
            f"notebooks/{name} is not its snippet as it is now: "
            "run `.venv/bin/python tools/mkdocs_hooks.py` and commit the notebooks"
        )
        first = json.loads((written / name).read_text())["cells"][0]
        url = HOOKS.colab_url(name.removesuffix(".ipynb"))
        assert url in "".join(first["source"]) and url.endswith(f"/notebooks/{name}")


def test_every_notebook_opens_with_its_title_then_the_install_cell():
    """The first cell says what the notebook is, the second installs the project where it is
    missing; no cell holds the lines that say how the tests run the script."""
    for script in SNIPPETS:
        cells = HOOKS.snippet_to_notebook(script).cells
        assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), script.name
        assert cells[1].cell_type == "code" and cells[1].source == HOOKS.INSTALL_CELL, script.name
        assert 'find_spec("atlas") is None' in cells[1].source
        assert not any("ci-args" in c.source for c in cells), script.name
        # then the settings: a note, and the argument parser folded in a tagged cell of its own
        note, settings, technique = cells[2], cells[3], cells[4]
        assert note.cell_type == "markdown", script.name
        assert note.source == HOOKS.settings_note(script.read_text()), script.name
        assert "ATLAS_NOTEBOOK_ARGS" in note.source, script.name
        assert settings.metadata["jupyter"]["source_hidden"], script.name
        assert settings.metadata["tags"] == [HOOKS.SETTINGS_TAG], script.name
        assert "args = cli.parse(" in settings.source, script.name
        assert "cli.parse(" not in technique.source, script.name
        # every code cell is whole Python: no statement is cut between two cells
        for cell in cells:
            if cell.cell_type == "code":
                ast.parse(cell.source)


def test_the_site_s_notebooks_show_the_committed_run_s_tables_and_plots(tmp_path):
    """A notebook on the site shows, under its cells, every table and plot its page's run wrote,
    byte for byte the published files, each once and named; the committed notebooks (what Colab
    opens and a reader runs) hold no outputs."""
    import base64

    def joined(value) -> str:  # a notebook file keeps a multi-line text as a list of its lines
        return "".join(value) if isinstance(value, list) else value

    HOOKS.write_notebooks(tmp_path, with_outputs=True)
    with_outputs = set()
    for script in SNIPPETS:
        producer, files = HOOKS.run_outputs(script)
        cells = json.loads((tmp_path / f"{script.stem}.ipynb").read_text())["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert len(outputs) == 2 * len(files), script.name  # each file: its name, then it
        shown = {
            joined(name["text"]).removesuffix(":\n"): data["data"]
            for name, data in zip(outputs[::2], outputs[1::2])
        }
        assert sorted(shown) == [str(f.relative_to(ROOT)) for f in files], script.name
        for path in files:
            data = shown[str(path.relative_to(ROOT))]
            if path.suffix == ".png":
                assert base64.b64decode(joined(data["image/png"])) == path.read_bytes()
            else:  # a table rendered, other Markdown (tabs, code) as its text
                lines = path.read_text().splitlines()
                kind = "text/markdown" if lines[0].startswith("|") else "text/plain"
                text = joined(data[kind])
                assert text.startswith("\n".join(lines[: HOOKS.OUTPUT_ROWS + 2])), path
        if files:
            with_outputs.add(script.stem)
            assert producer.shell() in "".join(joined(c["source"]) for c in cells[:3]), script.name
    # the runs that write no table or plot: the toy tokenizer's, and DPO on the real model's (its
    # page shows the tables of benchmarks/real_dpo.py, over four rates and three seeds)
    assert {p.stem for p in SNIPPETS} - with_outputs == {"toy_tokenizer", "dpo_real_model"}
    # each file under the cell that writes it: here the evaluate section names the loss plot
    cells = json.loads((tmp_path / "lora_finetuning.ipynb").read_text())["cells"]
    writer = next(c for c in cells if "_cost.md" in joined(c["source"]))
    names = [joined(o["text"]) for o in writer["outputs"] if o["output_type"] == "stream"]
    assert "docs/generated/lora_finetuning/lora_bare.md:\n" in names  # f"{NAME}.md"
    assert "docs/generated/lora_finetuning/lora_bare_cost.md:\n" in names
    for committed in HOOKS.COMMITTED.glob("*.ipynb"):
        cells = json.loads(committed.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells), committed.name


def test_the_wheel_carries_the_base_model(outside):
    import zipfile

    names = set(zipfile.ZipFile(outside["wheel"]).namelist())
    shipped = {p.name for p in (ROOT / "models" / "toy-base").iterdir() if p.is_file()}
    assert {f"atlas/toy_base/{name}" for name in shipped} <= names
    assert not any(n.startswith(("snippets/", "tests/", "docs/", "models/")) for n in names)


def test_every_notebook_runs_outside_the_checkout(outside):
    """Each notebook runs to its end in the working folder, after the install cell installed the
    project: two at a time (the machine's two cores), each waiting for the notebooks whose saved
    model or results it reads."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
        "ATLAS_PROJECT": str(outside["wheel"]),
        "PIP_NO_INDEX": "1",  # everything but the project is there already: no download
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HF_HUB_OFFLINE": "1",
        # Two notebooks side by side on two cores, one thread each: two threads each would
        # oversubscribe the cores, and OpenMP's waiting threads then slow both runs several times
        # over (the two SmolLM2 notebooks took 106 and 192 s side by side, 26 and 25 s alone)
        "OMP_NUM_THREADS": "1",
    }
    env.pop("ATLAS_PUBLISH", None)
    # The install cell installs the project once, before the notebooks run side by side
    subprocess.run(
        [outside["python"], "-c", HOOKS.INSTALL_CELL], env=env, check=True, cwd=outside["workdir"]
    )

    def run(name: str, settings: str) -> dict:
        done = subprocess.run(
            [outside["python"], "-c", RUNNER]
            + [str(outside["notebooks"] / f"{name}.ipynb"), str(outside["workdir"])],
            capture_output=True,
            text=True,
            env={**env, "ATLAS_NOTEBOOK_ARGS": settings},
            cwd=outside["workdir"],
        )
        assert done.returncode == 0, (
            f"notebook {name} ({settings}) failed outside the checkout:\n{done.stderr[-4000:]}"
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"notebook {name} ({settings}): {result['seconds']:.0f} s", flush=True)
        return result

    runs = notebook_runs()
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = {}
        for name, settings in runs:
            waits = []
            if name in NEEDS_INSTRUCTION_TUNED:
                waits = [
                    started[
                        ("instruction_tuning", notebook_args(SNIPPETS_BY["instruction_tuning"]))
                    ]
                ]
            if name == "comparison":
                waits = list(started.values())

            def job(name=name, settings=settings, waits=waits):
                for w in waits:
                    w.result()
                return run(name, settings)

            started[(name, settings)] = pool.submit(job)
        results = {key: future.result() for key, future in started.items()}
    for (name, settings), result in results.items():
        assert result["outputs"], f"notebook {name} ({settings}) printed nothing"
    installed = subprocess.run(
        [outside["python"], "-c", "import atlas; print(atlas.__file__, atlas.BASE_MODEL_DIR)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=outside["workdir"],
        check=True,
    ).stdout
    assert str(outside["python"].parents[1]) in installed, installed  # the wheel's
    assert str(ROOT) not in installed, installed
    # What the runs wrote lies in the working folder: runs/ and the models they saved
    written = {p.name for p in outside["workdir"].iterdir()}
    assert {"runs", "models"} <= written, written
    assert (outside["workdir"] / "models" / "instruction-tuned" / "config.json").is_file()
