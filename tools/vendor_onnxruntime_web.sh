#!/usr/bin/env bash
# Vendor onnxruntime-web (the playground's runtime) from the npm registry into the site's assets,
# pinned, so that the published site asks no other host for it. npm checks the tarball against the
# registry's sha512 integrity; the three files the page loads are copied unmodified.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION=$(sed -n 's/^ONNXRUNTIME_WEB = "\(.*\)".*/\1/p' atlas/playground.py)  # the one pin
DEST=docs/assets/vendor/onnxruntime-web-$VERSION
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
mkdir -p "$DEST"
# The ES module API (WebAssembly backend only), its Emscripten loader and the WebAssembly binary.
for f in ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm; do
  cp "$tmp/package/dist/$f" "$DEST/$f"
done
grep -q '"license": "MIT"' "$tmp/package/package.json"
echo "vendored onnxruntime-web $VERSION into $DEST"
