#!/usr/bin/env bash
# The rkt 1.30.0 release (binary and stage1 images) into DIR, for the nightly's rkt cells:
#   bash ci/nightly-rkt.sh DIR      → DIR/rkt (give it to a cell as RKT=DIR/rkt)
# Needs internet (GitHub releases); the rkt binary is never part of this repository. With
# RKT_SHA512 set, the tarball must match it.
set -euo pipefail
dir=${1:?usage: ci/nightly-rkt.sh DIR}
version=1.30.0
url="https://github.com/rkt/rkt/releases/download/v${version}/rkt-v${version}.tar.gz"
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/rkt.tar.gz" "$url"
echo "rkt ${version}: sha512 $(sha512sum "$tmp/rkt.tar.gz" | cut -d' ' -f1)"
if [ -n "${RKT_SHA512:-}" ]; then
  echo "${RKT_SHA512}  $tmp/rkt.tar.gz" | sha512sum -c -
fi
tar -xzf "$tmp/rkt.tar.gz" -C "$dir" --strip-components=1
"$dir/rkt" version
