#!/usr/bin/env bash
# Copy the front-end packages listed in package.json into static/vendor/.
#
# The copied files are committed: the site, `make run` and `make test` never need npm or the network. Run this
# only to upgrade a package: change its exact version in package.json, run this script, look at the site, commit
# package.json, package-lock.json and static/vendor/.
#
# npm installs into a temporary folder, so no node_modules/ is left in the work tree.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
command -v npm >/dev/null 2>&1 || { echo "npm is not installed: static/vendor/ stays as committed." >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/package.json" "$WORK/"
if [ -f "$ROOT/package-lock.json" ]; then
  cp "$ROOT/package-lock.json" "$WORK/"
  (cd "$WORK" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
else
  (cd "$WORK" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$WORK/package-lock.json" "$ROOT/package-lock.json"
fi

VENDOR="$ROOT/static/vendor"
rm -rf "$VENDOR"
mkdir -p "$VENDOR/chart.js" "$VENDOR/pico"
MODULES="$WORK/node_modules"
# Chart.js: the UMD build (a plain <script>, defines window.Chart) and its licence.
cp "$MODULES/chart.js/dist/chart.umd.min.js" "$VENDOR/chart.js/"
cp "$MODULES/chart.js/LICENSE.md" "$VENDOR/chart.js/"
# Pico CSS: the minified stylesheet and its licence.
cp "$MODULES/@picocss/pico/css/pico.min.css" "$VENDOR/pico/"
cp "$MODULES/@picocss/pico/LICENSE.md" "$VENDOR/pico/"

# Record what was copied, so a reviewer can see the versions without npm.
node -e '
  const lock = require(process.argv[1]);
  const out = Object.entries(lock.packages).filter(([p]) => p.startsWith("node_modules/"))
    .map(([p, v]) => `${p.slice("node_modules/".length)} ${v.version} ${v.integrity}`);
  console.log(out.join("\n"));
' "$WORK/package-lock.json" > "$VENDOR/VERSIONS.txt"
echo "Copied into static/vendor/:"
cat "$VENDOR/VERSIONS.txt"
