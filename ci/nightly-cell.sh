#!/usr/bin/env bash
# One cell of the nightly matrix, the same here as in .github/workflows/nightly.yml (as root on
# Debian 12):   bash ci/nightly-cell.sh CELL [OUT_DIR] [-- npm test flags and file filters]
#   bash ci/nightly-cell.sh CELL OUT_DIR --shard i/n     one shard of a long cell (its part of the suite files)
# Installs what the cell's target needs, then `npm run matrix -- --cells CELL` into
# OUT_DIR/cells/<cell>/ (default reports/matrix). An rkt cell takes its binary from RKT (a path;
# ci/nightly-rkt.sh fetches the release where the runner has internet). The cell's verdicts go
# into its report; this script fails only on bad input or a broken set-up, so that every cell's
# report reaches the merge.
set -euo pipefail
cd "$(dirname "$0")/.."
cell=${1:?usage: ci/nightly-cell.sh CELL [OUT_DIR] [-- npm test args]}
shift
out=reports/matrix
if [ $# -gt 0 ] && [ "$1" != "--" ] && [ "$1" != "--shard" ]; then out=$1; shift; fi
shard=()
if [ $# -gt 1 ] && [ "$1" = "--shard" ]; then shard=(--shard "$2"); shift 2; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi

case "$cell" in
  *@qemu/systemd*|rkt:host@qemu*|rkt@qemu*) setup=(--vm=all) ;;
  *@qemu*) setup=(--vm) ;;
  *) setup=() ;;
esac
# A guest of another Debian release than the default (bookworm) is built by the set-up too.
case "$cell" in
  *@qemu*/bullseye*) setup+=(--guest-release=bullseye) ;;
esac
npm ci --no-audit --no-fund
npm run setup -- "${setup[@]}"

args=(--cells "$cell" --out "$out" "${shard[@]}")
if [[ "$cell" == rkt* ]]; then
  if [ -n "${RKT:-}" ]; then args+=(--impl-path "rkt=$RKT"); fi
fi
status=0
npm run matrix -- "${args[@]}" -- "$@" || status=$?
# 1: conformance failures, 3: harness errors in the cell: both are in its report for the merge.
case "$status" in 0|1|3) exit 0 ;; *) exit "$status" ;; esac
