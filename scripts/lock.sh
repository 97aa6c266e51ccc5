#!/usr/bin/env bash
# Re-make the lock files from pyproject.toml, with hashes (run after changing a pin there):
#   requirements/runtime.txt  the packages that compute the figures (an input of every figure's
#                             provenance stamp: changing it makes the figures stale)
#   requirements/all.txt      the whole environment: runtime + the site builder + the playground's
#                             export + the test tools
# Both pin exactly the same versions of the runtime packages (all.txt is constrained by runtime.txt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
.venv/bin/pip install --quiet "pip-tools==7.6.2"
compile=(.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
         --no-emit-find-links --no-emit-trusted-host --resolver=backtracking)
"${compile[@]}" --extra real -o requirements/runtime.txt pyproject.toml
"${compile[@]}" --extra real --extra docs --extra playground --extra test -c requirements/runtime.txt -o requirements/all.txt pyproject.toml
