"""Shared fixtures: run a snippet exactly as a reader would (`python snippets/x.py`), once per
session, with the arguments of its `# ci-args:` lines (atlas/ci.py, shared with the benchmarks).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas import ROOT
from atlas.ci import SNIPPETS, ci_args, ci_variants, format_args, on_real_model  # noqa: F401  (tests import them from here)


@dataclass
class SnippetRun:
    name: str
    tmp: Path
    returncode: int
    stdout: str
    stderr: str

    def results(self) -> Path:
        return self.tmp / "results"


# The snippet runs that tests/test_snippets.py will ask for (each `# ci-args:` line) are started
# ahead of the tests, one at a time in a background thread, while the tests go on in the main
# thread: much of a run is single-threaded (imports, tokenizing, decoding), so two at once use the
# two cores better. The results do not change: each run is its own process with the snippets' own
# thread count. A session that does not collect those tests starts nothing ahead.
def _prefetch_list(session) -> list[tuple[str, int]]:
    keys = []
    for item in session.items:
        if item.originalname == "test_snippet_runs":
            path, variant = item.callspec.params["path"], item.callspec.params["variant"]
            keys.append((path.stem, variant))
    return keys


@pytest.fixture(scope="session")
def run_snippet(tmp_path_factory, request):
    import threading
    from concurrent.futures import Future

    runs: dict[tuple[str, int], Future] = {}
    lock = threading.Lock()

    def claim(key: tuple[str, int]) -> Future | None:
        """The key's future if it was started already; else start it here (return None)."""
        with lock:
            if key in runs:
                return runs[key]
            runs[key] = Future()
            return None

    def execute(key: tuple[str, int]) -> None:
        name, variant = key
        path = ROOT / "snippets" / f"{name}.py"
        try:
            assert path.is_file(), f"no snippet {path}"
            tmp = tmp_path_factory.mktemp(f"{name}-{variant}")
            args = shlex.split(format_args(ci_args(path, variant), tmp))
            env = {
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
                "OMP_WAIT_POLICY": "PASSIVE",  # two runs share the cores: idle threads sleep
            }
            proc = subprocess.run(
                [sys.executable, str(path), *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1200,
            )
            runs[key].set_result(SnippetRun(name, tmp, proc.returncode, proc.stdout, proc.stderr))
        except BaseException as error:  # the test that asks for the run reports it
            runs[key].set_exception(error)

    def prefetch() -> None:
        for key in _prefetch_list(request.session):
            if claim(key) is None:
                execute(key)

    threading.Thread(target=prefetch, daemon=True).start()

    def run(name: str, variant: int = 0) -> SnippetRun:
        key = (name, variant)
        if claim(key) is None:
            execute(key)
        return runs[key].result()

    return run


def assert_whole_grid(rates: list[float], runs: dict) -> None:
    """A comparing benchmark's runs ({label: {rate: {seed: ...}}}) each cover its whole
    learning-rate grid, at least the protocol's width, on at least the protocol's seeds."""
    from atlas.site import protocol

    assert len(rates) >= protocol.GRID_WIDTH
    for label, by_rate in runs.items():
        assert [float(r) for r in by_rate] == rates, label
        assert all(len(by_seed) >= len(protocol.SEEDS) for by_seed in by_rate.values()), label


def load_script(rel: str):
    """A script of the repository (a benchmark) imported as a module, so a test calls its own
    functions instead of copies of them; its `main()` does not run."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(rel).stem, ROOT / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SiteBuild:
    site: Path  # the built site (site_dir)
    returncode: int
    log: str  # what mkdocs printed


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> SiteBuild:
    """The site built once per session, strictly, as `bash scripts/serve.sh build` builds it."""
    site = tmp_path_factory.mktemp("site") / "site"
    proc = mkdocs_build(ROOT, "--site-dir", str(site))
    return SiteBuild(site, proc.returncode, proc.stdout + proc.stderr)


def mkdocs_build(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of the site in `project`, its output captured."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about MkDocs 2
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
