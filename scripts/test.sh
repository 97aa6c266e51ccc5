#!/usr/bin/env bash
# Set everything up and run the whole test suite: every snippet, every claim, every page, and a
# strict build of the site. This is what CI runs. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure here" >&2
fi
exit "$status"
