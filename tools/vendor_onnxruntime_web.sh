#!/usr/bin/env bash
# Vendor onnxruntime-web (the playground's runtime) from the npm registry into the site's assets,
# pinned, so that the published site asks no other host for it. npm checks the tarball against the
# registry's sha512 integrity; the three files the page loads are copied unmodified.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The pin and the files the page loads are atlas/site/playground.py's ONNXRUNTIME_WEB and RUNTIME_FILES.
constant() {
  python3 -c "import ast, sys
tree = ast.parse(open('atlas/site/playground.py').read())
value = next(ast.literal_eval(n.value) for n in tree.body
             if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == sys.argv[1])
print(value if isinstance(value, str) else ' '.join(value))" "$1"
}
VERSION=$(constant ONNXRUNTIME_WEB)
FILES=$(constant RUNTIME_FILES)
DEST=docs/assets/vendor/onnxruntime-web-$VERSION
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
mkdir -p "$DEST"
for f in $FILES; do
  cp "$tmp/package/dist/$f" "$DEST/$f"
done
grep -q '"license": "MIT"' "$tmp/package/package.json"
echo "vendored onnxruntime-web $VERSION into $DEST"
