"""Running a script as a reader does, in a child process, with its wall time and peak memory: what
the benchmarks measure.

    run = run_script(ROOT / "snippets/prompt_tuning.py", ["--seed", "1"], threads=1)
    run["seconds"], run["peak_mib"], run["returncode"], run["stderr"]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from atlas import ROOT

# Runs a script in a child and prints its own peak resident memory (KiB on Linux) last. The parent
# must not have imported torch: Linux keeps a parent's peak memory across fork and exec.
RUNNER = (
    "import resource, runpy, sys; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__'); "
    "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def run_script(script: str | Path, args: list[str], threads: int | None = None) -> dict:
    """Run `script` with `args` from the repository root; `threads` sets OMP_NUM_THREADS (the
    snippets' own default is atlas.THREADS)."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    peak = [line for line in proc.stdout.splitlines() if line.startswith("PEAK_KIB")]
    return {
        "returncode": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_mib": round(int(peak[-1].split()[1]) / 1024) if peak else None,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }
