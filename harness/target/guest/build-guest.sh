#!/usr/bin/env bash
# Builds a guest for --target=qemu from Debian's archive alone: a debootstrap root file system
# (ext4 image), Debian's kernel unpacked for direct boot (never installed into the host's /boot)
# and a small initramfs that loads the modules needed to mount the root. Driven by guest-image.ts,
# which keys its cache on this file's text and on every argument.
#   build-guest.sh OUT RELEASE MIRROR KERNEL_PACKAGE INIT PACKAGE...
# INIT: "lean" (tini runs /sbin/appc-init, our own) or "systemd" (systemd as PID 1).
set -euo pipefail
out=$1 release=$2 mirror=$3 kernel_pkg=$4 init=$5
shift 5
packages=$(IFS=,; echo "$*")

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
(cd "$work" && apt-get download "$kernel_pkg" >/dev/null 2>&1) || { echo "apt-get download $kernel_pkg failed" >&2; exit 1; }
mkdir "$work/kernel"
dpkg-deb -x "$work"/"$kernel_pkg"_*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
# Modules for hardware a VM never has stay out of the image.
for d in drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet drivers/infiniband drivers/scsi \
         drivers/staging drivers/usb drivers/hid drivers/input drivers/iio drivers/bluetooth drivers/isdn \
         drivers/mtd drivers/platform sound net/wireless net/mac80211 net/bluetooth; do
  rm -rf "$work/kernel/lib/modules/$kver/kernel/$d"
done
mkdir -p "$root/lib/modules"
mv "$work/kernel/lib/modules/$kver" "$root/lib/modules/"
chroot "$root" depmod "$kver"
cp "$work"/kernel/boot/vmlinuz-"$kver" "$work/vmlinuz"

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
exec "$(arg appc.node)" "$(arg appc.agent)" --port "$(arg appc.port)" --token-file /run/appc-shares/token
EOS
chmod 755 "$root/usr/local/sbin/appc-agent-start"
if [ "$init" = lean ]; then
  cat >"$root/sbin/appc-init" <<'EOS'
#!/bin/sh
# PID 1's child under tini (which reaps orphans): the mounts a Debian system has, cgroup v2 with
# its controllers delegated, then the agent. When the agent ends, the VM powers off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || true
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -o remount,rw /
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
ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$root/bin/busybox" "$ird/bin/busybox"
mods=$(chroot "$root" modprobe -S "$kver" --show-depends -a virtio_pci virtio_blk ext4 | awk '$1 == "insmod" {print $2}')
for m in $mods; do cp "$root$m" "$ird/lib/modules/"; echo "/lib/modules/$(basename "$m")"; done >"$ird/modules.order"
cat >"$ird/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
# appc.init=check: only says that the kernel runs (how the harness finds out whether KVM works).
if grep -q 'appc.init=check' /proc/cmdline; then echo appc-guest-alive >/dev/ttyS0; poweroff -f; fi
for m in $(cat /modules.order); do insmod "$m" 2>/dev/null; done
for i in $(seq 1 200); do [ -b /dev/vda ] && break; sleep 0.05; done
mount -t ext4 -o ro /dev/vda /newroot || { echo "appc-initramfs: cannot mount /dev/vda"; poweroff -f; }
init=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^appc.init=//p')
umount /proc /dev
case "$init" in
  systemd) exec switch_root /newroot /lib/systemd/systemd ;;
  *) exec switch_root /newroot /usr/bin/tini -s -- /sbin/appc-init ;;
esac
EOS
chmod 755 "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"

step "kernel for direct boot"
# An uncompressed vmlinux boots about 3x faster than the bzImage under TCG (PVH entry).
at=$(perl -0777 -ne 'print index($_, "\xfd7zXZ\x00")' "$work/vmlinuz")
[ "$at" -ge 0 ] || { echo "no xz payload in the kernel image" >&2; exit 1; }
xz -dc --single-stream < <(tail -c +$((at + 1)) "$work/vmlinuz") >"$work/vmlinux"

step "root file system image"
size=$(( $(du -sm "$root" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -L appc-guest -d "$root" "$work/rootfs.img" "${size}M"
mkdir -p "$out"
mv "$work/vmlinux" "$work/vmlinuz" "$work/initrd.img" "$work/rootfs.img" "$out/"
printf '{"kernel":"%s","release":"%s","init":"%s","packages":"%s"}\n' "$kver" "$release" "$init" "$packages" >"$out/guest.json"
step "done: $out"
