#!/bin/sh
# Provisions a box for ref (the embedded executor): crun, ip, unshare and Node 20. Installs only
# what is missing, so on the locally built box (npm run vagrant-box), which has all of it, it
# changes nothing and needs no network. On a public box it needs Debian's archive and, for Node,
# nodejs.org (Debian 12's own nodejs is 18; the harness needs 20.19 or later).
set -eu
missing=""
for p in crun iproute2 util-linux procps kmod rsync; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "provision-ref: installing$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  version=${NODE_VERSION:-v20.19.0}
  echo "provision-ref: installing Node $version from nodejs.org into /usr/local"
  command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates xz-utils >/dev/null
  curl -fsSL "https://nodejs.org/dist/$version/node-$version-linux-x64.tar.xz" | tar -xJ -C /usr/local --strip-components=1
fi
echo "provision-ref: ready (node $(node --version), $(crun --version | head -n 1))"
