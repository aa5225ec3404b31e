#!/usr/bin/env bash
# Last night's merged matrix (the artifact "matrix" of the latest successful nightly run) into
# DIR, for the merge's --baseline. On GitHub Actions only (gh CLI, GH_TOKEN); locally, copy a
# previous reports/matrix to reports/baseline instead. No earlier run: DIR stays empty.
set -euo pipefail
dir=${1:?usage: ci/nightly-baseline.sh DIR}
mkdir -p "$dir"
run=$(gh run list --workflow nightly.yml --status success --limit 1 --json databaseId --jq '.[0].databaseId // empty')
if [ -z "$run" ]; then
  echo "nightly-baseline: no successful nightly yet: no baseline"
  exit 0
fi
gh run download "$run" --name matrix --dir "$dir" || echo "nightly-baseline: run $run has no matrix artifact: no baseline"
