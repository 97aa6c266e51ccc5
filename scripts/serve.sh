#!/usr/bin/env bash
# Set everything up, build the site and serve it on http://127.0.0.1:8000/adaptation-atlas/ (Ctrl-C to stop).
# `bash scripts/serve.sh build` only builds it, strictly, into site/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
export NO_MKDOCS_2_WARNING=1  # Material prints a banner about MkDocs 2 otherwise
if [ "${1:-serve}" = build ]; then
  exec .venv/bin/mkdocs build --strict
fi
exec .venv/bin/mkdocs serve --dev-addr 127.0.0.1:8000
