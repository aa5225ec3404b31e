#!/usr/bin/env bash
# One-time set-up on Debian 12 (as root): system packages, actool, the probe, the TypeScript build
# and the fixture images. Safe to run again; it only does what is missing or stale.
#   npm run setup                   everything for --target=host
#   npm run setup -- --vm           also QEMU and the lean guest of --target=qemu (for ref, generic)
#   npm run setup -- --vm=all       also the systemd guest (rkt's host flavor)
#   npm run setup -- --browser      also Debian's chromium, for the page tests (npm run test:browser)
set -euo pipefail
cd "$(dirname "$0")/.."

vm=""
browser=""
for arg in "$@"; do
  case "$arg" in
    --vm) vm=lean ;;
    --vm=lean|--vm=systemd|--vm=all) vm=${arg#--vm=} ;;
    --browser) browser=1 ;;
    *) printf 'setup: unknown option %s (--vm, --vm=lean|systemd|all, --browser)\n' "$arg" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the suite drives crun, mounts and namespaces)"
command -v apt-get >/dev/null || die "apt-get not found: this set-up supports Debian 12"

# crun runs the ref executor's apps; musl-tools builds the static probe; golang + the appc spec
# source build actool (an independent check of our images) and the ACE validator; util-linux/iproute2 give unshare and ip.
PACKAGES=(crun musl-tools make gcc libc6-dev golang-go golang-github-appc-spec-dev util-linux iproute2 ca-certificates)
# --target=qemu: QEMU, and what builds its guest from Debian's archive (harness/target/guest/).
[ -n "$vm" ] && PACKAGES+=(qemu-system-x86 qemu-utils debootstrap cpio e2fsprogs xz-utils)
# --browser: the page tests load matrix.html and report.html in Debian's headless Chromium (no
# browser download: playwright-core drives /usr/bin/chromium).
[ -n "$browser" ] && PACKAGES+=(chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p .tools/bin
if [ ! -x .tools/bin/actool ]; then
  say "building actool from Debian's appc spec source"
  gotmp=$(mktemp -d)
  trap 'rm -rf "$gotmp"' EXIT
  GOPATH="$gotmp:/usr/share/gocode" GO111MODULE=off GOCACHE="$gotmp/cache" GOFLAGS= \
    go build -o .tools/bin/actool github.com/appc/spec/actool
fi
# The spec's own ACE validator, run as a peer suite (suites/ace-validator.test.ts). Static, as it is
# the only program in its images.
if [ ! -x .tools/bin/ace-validator ]; then
  say "building the ACE validator from Debian's appc spec source"
  gotmp=$(mktemp -d)
  trap 'rm -rf "$gotmp"' EXIT
  GOPATH="$gotmp:/usr/share/gocode" GO111MODULE=off GOCACHE="$gotmp/cache" GOFLAGS= CGO_ENABLED=0 \
    go build -ldflags '-s -w -extldflags "-static"' -o .tools/bin/ace-validator github.com/appc/spec/ace
fi

say "building the probe"
make -s -C fixtures/probe

# ref's socket-activation shim (harness/ref/socket-activation.ts), static like the probe.
say "building ref's listen-pid shim"
make -s -C harness/ref/listen-pid

say "compiling TypeScript"
npx tsc -p tsconfig.json

say "building fixture images"
node dist/harness/aci/build-fixtures.js

if [ -n "$vm" ]; then
  # The guest's kernel package is looked up in apt's lists.
  apt-cache depends linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
  say "building the $vm guest of --target=qemu (cached: once per change of its inputs)"
  node dist/harness/target/guest/build.js --profile "$vm"
fi

say "done"
