#!/usr/bin/env bash
# Look at the built site as a reader does: serve site/ on 127.0.0.1 and screenshot pages with
# Debian's headless chromium (apt-get install chromium). Usage:
#   bash tools/screenshot.sh OUT_DIR [PAGE ...]     e.g.  bash tools/screenshot.sh /tmp/shots "" techniques/pretraining/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?output directory}; shift
pages=("$@"); [ ${#pages[@]} -gt 0 ] || pages=("")
mkdir -p "$out"
port=8765
.venv/bin/python -m http.server "$port" --bind 127.0.0.1 --directory site >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
for page in "${pages[@]}"; do
  name=$(echo "${page:-index}" | tr '/' '_' | sed 's/_$//')
  for scheme in light dark; do
    flag=""; [ "$scheme" = dark ] && flag="--force-dark-mode --blink-settings=preferredColorScheme=0"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=${WIDTH:-1280},${HEIGHT:-2400} $flag \
      --virtual-time-budget=4000 --screenshot="$out/$name-$scheme.png" "http://127.0.0.1:$port/$page" 2>/dev/null
  done
done
ls "$out"
