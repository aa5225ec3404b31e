#!/usr/bin/env bash
# One-time set-up on Debian 12 (as root): system packages, actool, the probe, the TypeScript build
# and the fixture images. Safe to run again; it only does what is missing or stale.
#   npm run setup                   everything for --target=host
#   npm run setup -- --vm           also QEMU and the lean guest of --target=qemu (for ref, generic)
#   npm run setup -- --vm=all       also the systemd guest (rkt's host flavor)
#   npm run setup -- --vm --guest-release=bullseye   the guests from Debian 11 instead of 12
#                                   (bookworm, bullseye or all; default bookworm)
#   npm run setup -- --container    also Podman and the image of --target=container (from the lean guest)
#   npm run setup -- --vagrant      also Vagrant, vagrant-libvirt, libvirt (started without systemd) and
#                                   the box of --target=vagrant, built here (npm run vagrant-box)
#   npm run setup -- --browser      also Debian's chromium, for the page tests (npm run test:browser)
set -euo pipefail
cd "$(dirname "$0")/.."

vm=""
release=bookworm
container=""
vagrant=""
browser=""
for arg in "$@"; do
  case "$arg" in
    --vm) vm=lean ;;
    --vm=lean|--vm=systemd|--vm=all) vm=${arg#--vm=} ;;
    --guest-release=bookworm|--guest-release=bullseye|--guest-release=all) release=${arg#--guest-release=} ;;
    --container) container=1 ;;
    --vagrant) vagrant=1 ;;
    --browser) browser=1 ;;
    *) printf 'setup: unknown option %s (--vm, --vm=lean|systemd|all, --guest-release=bookworm|bullseye|all, --container, --vagrant, --browser)\n' "$arg" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the suite drives crun, mounts and namespaces)"
command -v apt-get >/dev/null || die "apt-get not found: this set-up supports Debian 12"

# crun runs the ref executor's apps; musl-tools builds the static probe; golang + the appc spec
# source build actool (an independent check of our images) and the ACE validator; util-linux/iproute2 give unshare and ip;
# bzip2 and xz-utils compress fixture images (builder) and decompress them in ref; openssl makes the
# discovery suite's CA and certificates per run (iproute2 its network namespace); attr's setfattr
# gives ref's extractor the images' extended attributes (Node has no xattr call); socat relays a ref
# pod's loopback metadata port to ref.
PACKAGES=(crun musl-tools make gcc libc6-dev golang-go golang-github-appc-spec-dev util-linux iproute2 socat ca-certificates bzip2 xz-utils openssl attr)
# --target=qemu: QEMU, and what builds its guest from Debian's archive (harness/target/guest/).
[ -n "$vm" ] && PACKAGES+=(qemu-system-x86 qemu-utils debootstrap cpio e2fsprogs xz-utils)
# --target=container: Podman (rootful: its netavark network stack; uidmap and slirp4netns are for
# rootless Podman only) and what builds the lean guest its image is made from.
if [ -n "$container" ]; then
  PACKAGES+=(podman netavark debootstrap cpio e2fsprogs xz-utils)
  # Podman's overlay storage needs the kernel's overlayfs, else the FUSE one.
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || PACKAGES+=(fuse-overlayfs)
fi
# --target=vagrant: Vagrant with libvirt (its box is built from a guest like the qemu target's).
[ -n "$vagrant" ] && PACKAGES+=(qemu-system-x86 qemu-utils debootstrap cpio e2fsprogs xz-utils vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base rsync openssh-client)
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
# One scratch GOPATH and build cache for both Go programs, removed on exit.
gotmp=
go_scratch() {
  if [ -z "$gotmp" ]; then
    gotmp=$(mktemp -d)
    trap 'rm -rf "$gotmp"' EXIT
  fi
}
if [ ! -x .tools/bin/actool ]; then
  say "building actool from Debian's appc spec source"
  go_scratch
  GOPATH="$gotmp:/usr/share/gocode" GO111MODULE=off GOCACHE="$gotmp/cache" GOFLAGS= \
    go build -o .tools/bin/actool github.com/appc/spec/actool
fi
# The spec's own ACE validator, run as a peer suite (suites/ace-validator.test.ts). Static, as it is
# the only program in its images.
if [ ! -x .tools/bin/ace-validator ]; then
  say "building the ACE validator from Debian's appc spec source"
  go_scratch
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
  say "building the $vm guest of --target=qemu, Debian release $release (cached: once per change of its inputs)"
  node dist/harness/target/guest/build.js --profile "$vm" --release "$release"
fi

if [ -n "$container" ]; then
  apt-cache depends linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
  say "building the image of --target=container from the lean guest (cached: once per guest)"
  node dist/harness/target/container/build-image.js
fi

if [ -n "$vagrant" ]; then
  # No systemd here: libvirt's daemons are started by hand when they are not running, and
  # vagrant-libvirt needs a storage pool named "default".
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  for _ in $(seq 1 50); do virsh -c qemu:///system uri >/dev/null 2>&1 && break; sleep 0.2; done
  if ! virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
    say "defining libvirt's default storage pool (/var/lib/libvirt/images)"
    virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    virsh -c qemu:///system pool-autostart default >/dev/null
  fi
  pool=$(virsh -c qemu:///system pool-info default)
  [[ $pool =~ State:[[:space:]]+running ]] || virsh -c qemu:///system pool-start default >/dev/null
  apt-cache depends linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
  say "building the box of --target=vagrant (cached: once per change of its inputs)"
  node dist/harness/target/vagrant/build.js
fi

say "done"
