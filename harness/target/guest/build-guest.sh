#!/usr/bin/env bash
# Builds a guest for --target=qemu from Debian's archive alone: a debootstrap root file system
# (ext4 image), Debian's kernel unpacked for direct boot (never installed into the host's /boot)
# and a small initramfs that loads the modules needed to mount the root. Driven by guest-image.ts,
# which keys its cache on this file's text, boot-lib.sh's and on every argument.
#   build-guest.sh OUT RELEASE MIRROR KERNEL_PACKAGE[=VERSION] INIT PACKAGE...
# RELEASE: a Debian release debootstrap knows (bookworm, bullseye). The kernel package is the
# release's own; APT_CONFIG, when set, names apt lists of that release (guest-image.ts).
# INIT: "lean" (tini runs /sbin/appc-init, our own) or "systemd" (systemd as PID 1).
set -euo pipefail
out=$1 release=$2 mirror=$3 kernel_pkg=$4 init=$5
shift 5
packages=$(IFS=,; echo "$*")
# shellcheck source=boot-lib.sh
. "$(dirname "$0")/boot-lib.sh"

step() { printf 'guest: %s\n' "$*"; }
work=$(mktemp -d "${out}.build-XXXXXX")
cleanup() {
  # debootstrap mounts proc and sys in the new root; an interrupted build can leave them there.
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
root=$work/root

step "debootstrap $release (minbase + $packages)"
debootstrap --variant=minbase --include="$packages" "$release" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

step "unpacking $kernel_pkg"
kver=$(unpack_kernel "$work" "$root" "$kernel_pkg")

step "provisioning ($init init)"
echo appc-guest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 appc-guest\n::1 localhost\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
printf '/dev/vda / ext4 rw 0 1\n' >"$root/etc/fstab"
# The guest agent's start: the shares (9p, read-only, at the host's own paths) named on the kernel
# command line, the network of QEMU's user-mode link, then the agent under the host's node.
cat >"$root/usr/local/sbin/appc-agent-start" <<'EOS'
#!/bin/sh
set -e
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1; }
modprobe -a 9p 9pnet_virtio virtio_net virtio_rng 2>/dev/null || true
i=0
for path in $(arg appc.shares | tr ',' ' '); do
  mkdir -p "$path"
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=524288,cache=loose "share$i" "$path"
  i=$((i + 1))
done
ip link set lo up
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip addr add 10.0.2.15/24 dev "$dev"
ip link set "$dev" up
ln -sf "$(arg appc.node)" /usr/local/bin/node
[ -f /etc/appc-guest-quirks ] && . /etc/appc-guest-quirks
exec "$(arg appc.node)" "$(arg appc.agent)" --port "$(arg appc.port)" --token-file /run/appc-shares/token
EOS
chmod 755 "$root/usr/local/sbin/appc-agent-start"
if [ "$release" = bullseye ]; then
  # crun 0.17 re-executes itself from a sealed copy at every start (against CVE-2019-5736); in
  # this guest (kernel 5.10) that fails ("Failed to re-execute libcrun via memory file
  # descriptor"; the same binary passes on a 6.x kernel). crun skips it when its binary is on a
  # read-only mount and _LIBCONTAINER_CLONED_BINARY is set: the same protection, since nothing can
  # overwrite the binary through a read-only mount.
  cat >"$root/etc/appc-guest-quirks" <<'EOS'
if mount --bind /usr/bin/crun /usr/bin/crun && mount -o remount,bind,ro /usr/bin/crun; then
  export _LIBCONTAINER_CLONED_BINARY=1
else
  echo "appc-guest: cannot bind crun read-only; crun will fail to start" >&2
fi
EOS
fi
write_apparmor_profiles "$root"
if [ "$init" = lean ]; then
  write_system_mounts "$root"
  cat >"$root/sbin/appc-init" <<'EOS'
#!/bin/sh
# PID 1's child under tini (which reaps orphans): the mounts a Debian system has (cgroup v2 with
# its controllers delegated, on every release), then the agent. When the agent ends, the VM powers off.
/usr/local/sbin/appc-mounts
hostname appc-guest
/usr/local/sbin/appc-agent-start
echo o >/proc/sysrq-trigger
EOS
  chmod 755 "$root/sbin/appc-init"
else
  cat >"$root/etc/systemd/system/appc-agent.service" <<'EOS'
[Unit]
Description=appc-conformance guest agent
After=local-fs.target
[Service]
ExecStart=/usr/local/sbin/appc-agent-start
ExecStopPost=/bin/systemctl poweroff --force
[Install]
WantedBy=multi-user.target
EOS
  ln -s /etc/systemd/system/appc-agent.service "$root/etc/systemd/system/multi-user.target.wants/appc-agent.service"
  # Nothing in the guest may wait for a network or a console login it never gets.
  for u in systemd-networkd-wait-online.service getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$u"
  done
fi
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/* "$root/boot"/*

step "initramfs"
make_initramfs "$root" "$kver" "$work/initrd.img"

step "kernel for direct boot"
direct_boot_kernel "$work/vmlinuz" "$work/kernel-config" "$work/vmlinux"

step "root file system image"
size=$(( $(du -sm "$root" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -L appc-guest -d "$root" "$work/rootfs.img" "${size}M"
mkdir -p "$out"
mv "$work/vmlinux" "$work/vmlinuz" "$work/initrd.img" "$work/rootfs.img" "$out/"
printf '{"kernel":"%s","release":"%s","init":"%s","packages":"%s"}\n' "$kver" "$release" "$init" "$packages" >"$out/guest.json"
step "done: $out"
