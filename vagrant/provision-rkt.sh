#!/bin/sh
# Provisions rkt 1.30.0 into /opt/rkt (and /usr/local/bin/rkt). Offline: RKT_SRC names a directory
# in the box holding a built rkt (the rkt binary and its stage1-*.aci files; the Vagrantfile
# rsyncs APPC_RKT_DIR there). Online: the 1.30.0 release from GitHub. rkt's default pod network
# needs iptables. Its host flavor needs systemd as PID 1: the locally built box has none (use
# --flavor=fly there, or a public box with systemd).
set -eu
dest=/opt/rkt
if [ -n "${RKT_SRC:-}" ]; then
  [ -x "$RKT_SRC/rkt" ] || { echo "provision-rkt: no executable rkt in $RKT_SRC" >&2; exit 1; }
  echo "provision-rkt: installing rkt from $RKT_SRC"
  rm -rf "$dest" && mkdir -p "$dest"
  cp -a "$RKT_SRC"/. "$dest"/
else
  url=https://github.com/rkt/rkt/releases/download/v1.30.0/rkt-v1.30.0.tar.gz
  echo "provision-rkt: downloading $url"
  command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates >/dev/null
  rm -rf "$dest" && mkdir -p "$dest"
  curl -fsSL "$url" | tar -xz -C "$dest" --strip-components=1
fi
if ! command -v iptables >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables >/dev/null \
    || echo "provision-rkt: iptables missing (rkt's default network needs it; use --net=host or install it)" >&2
fi
ln -sf "$dest/rkt" /usr/local/bin/rkt
echo "provision-rkt: $("$dest/rkt" version | head -n 1) in $dest"
