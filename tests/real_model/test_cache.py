"""The real model's local copy (atlas.real_model.smollm2): made once on first use, safely by two
runs at once, into a cache folder that need not exist yet, and leaving nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

MAKE = "from atlas.real_model import smollm2; print(smollm2())"


def test_two_first_runs_at_once_both_get_the_same_whole_copy(tmp_path):
    cache = tmp_path / "no" / "such" / "cache"  # not made yet: the first run makes it
    env = {**os.environ, "ATLAS_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", MAKE], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    paths = [run.communicate(timeout=600)[0].strip().splitlines()[-1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert paths[0] == paths[1]
    left = sorted(p.name for p in cache.iterdir())
    assert left == [os.path.basename(paths[0])], left  # no .partial folder left behind
    assert (cache / left[0] / "model.safetensors").is_file()
    assert "{% generation %}" in (cache / left[0] / "chat_template.jinja").read_text()
