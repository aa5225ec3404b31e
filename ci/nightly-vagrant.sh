#!/usr/bin/env bash
# Nightly matrix entry for --target=vagrant (libvirt; TCG where KVM does not work), on a clean clone
# (Debian 12, Node 20, root): set-up with the box, then five suites against ref on this host and in
# the box, compared test by test; then the target's lifecycle tests (normal run, Ctrl-C while the
# box comes up and while a pod runs, pod timeout: nothing left behind); then a leftover check.
# Not part of .ci/run: a box under TCG takes about a minute to come up.
#   ci/nightly-vagrant.sh [REPORT_DIR]      (default: reports/nightly-vagrant)
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true
out=${1:-reports/nightly-vagrant}
suites=(suites/ace-exit-status suites/ace-execution-environment suites/pod-volumes suites/pod-ports suites/ace-isolators)

started=$(date +%s)
echo "== install (with the box of --target=vagrant)"
npm ci --no-audit --no-fund
npm run setup -- --vagrant
npm run build

status=0
echo "== ${suites[*]} against ref: host, then the vagrant box"
npm test -- --report-dir "$out/host" "${suites[@]}" || status=1
t0=$(date +%s)
npm test -- --target=vagrant --report-dir "$out/vagrant" "${suites[@]}" || status=1
echo "vagrant run took $(( $(date +%s) - t0 ))s"
node dist/harness/report/compare-verdicts.js "$out/host/results.json" "$out/vagrant/results.json" || status=1

echo "== --target=vagrant lifecycle tests"
npx vitest run --config vitest.nightly.config.ts harness/target/vagrant || status=1

echo "== leftovers"
virsh() { command virsh -c qemu:///system "$@"; }
leaks=$( { virsh list --all --name | grep '^appc-vagrant-'; virsh vol-list default | awk 'NR > 2 {print $1}' | grep '^appc-vagrant-';
           virsh net-list --all --name | grep '^appc-vagrant-'; ls -d /tmp/appc-vagrant-* /tmp/appc-* 2>/dev/null;
           pgrep -af 'appc-vagrant-' | grep -v pgrep; } 2>/dev/null | sed '/^$/d' || true)
if [ -n "$leaks" ]; then
  echo "left behind after the run:"; echo "$leaks"
  status=1
fi
echo "nightly vagrant took $(( $(date +%s) - started ))s"
exit "$status"
