#!/usr/bin/env bash
# The nightly's last step, the same locally: merge every cell under OUT_DIR/cells into
# OUT_DIR/matrix.html, matrix.md and matrix.json, against last night's matrix.json when
# BASELINE_DIR holds one.
#   bash ci/nightly-merge.sh [OUT_DIR] [BASELINE_DIR]      (defaults: reports/matrix, reports/baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-reports/matrix}
baseline=${2:-reports/baseline}
shopt -s nullglob
cells=("$out"/cells/*/)
[ "${#cells[@]}" -gt 0 ] || { echo "nightly-merge: no cell reports under $out/cells" >&2; exit 2; }
args=(--out "$out")
if [ -f "$baseline/matrix.json" ]; then
  args+=(--baseline "$baseline")
else
  echo "nightly-merge: no baseline ($baseline/matrix.json): this merge lists no changes"
fi
npm run merge-reports -- "${args[@]}" "${cells[@]}"
cat "$out/matrix.md"
