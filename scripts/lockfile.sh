#!/usr/bin/env bash
# Regenerates package-lock.json from the package.json files committed at HEAD, in a scratch
# folder: `npm install --package-lock-only` there records the platform packages of every OS,
# which an install over an existing node_modules can drop (npm ci then refuses the lockfile).
set -euo pipefail
top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
cd "$top"
for f in .npmrc $(git ls-files | grep 'package.json$'); do
  mkdir -p "$tmp/$(dirname "$f")"
  git show "HEAD:$f" > "$tmp/$f"
done
(cd "$tmp" && npm install --package-lock-only --no-audit --no-fund >/dev/null && npm ci --dry-run >/dev/null)
cp "$tmp/package-lock.json" "$top/package-lock.json"
rm -rf "$tmp"
echo "package-lock.json regenerated from HEAD's package.json files (npm ci accepts it)"
