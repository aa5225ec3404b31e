# Sourced by build-guest.sh (the guests of --target=qemu) and vagrant/build-box.sh (the box of
# --target=vagrant): the steps that make a Debian root bootable by a VM with its kernel given
# directly, kept in one place so both boot the same way.

# unpack_kernel WORK ROOT PACKAGE[=VERSION]: Debian's kernel package, downloaded by apt (APT_CONFIG
# may name the lists of the guest's release) and unpacked, never installed; its modules go into
# ROOT, its image to WORK/vmlinuz and its config to WORK/kernel-config. Prints the kernel version.
unpack_kernel() {
  local work=$1 root=$2 pkg=$3 kver d
  (cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "apt-get download $pkg failed" >&2; return 1; }
  mkdir "$work/kernel"
  dpkg-deb -x "$work"/"${pkg%%=*}"_*.deb "$work/kernel"
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
  cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
  cp "$work/kernel/boot/config-$kver" "$work/kernel-config"
  rm -rf "$work/kernel"
  echo "$kver"
}

# direct_boot_kernel VMLINUZ CONFIG OUT: what QEMU is given as -kernel. An uncompressed vmlinux
# boots about 3x faster than the bzImage under TCG, through its PVH entry; a kernel built without
# one (CONFIG_PVH) boots as the bzImage.
direct_boot_kernel() {
  local vmlinuz=$1 config=$2 out=$3 at
  if ! grep -q '^CONFIG_PVH=y' "$config"; then cp "$vmlinuz" "$out"; return; fi
  at=$(perl -0777 -ne 'print index($_, "\xfd7zXZ\x00")' "$vmlinuz")
  [ "$at" -ge 0 ] || { echo "no xz payload in the kernel image" >&2; return 1; }
  xz -dc --single-stream < <(tail -c +$((at + 1)) "$vmlinuz") >"$out"
}

# make_initramfs ROOT KVER OUT: a busybox initramfs that loads the modules the root's disk needs,
# mounts /dev/vda read-only and switches to the init named by appc.init= (systemd, else tini with
# /sbin/appc-init). appc.init=check only says that the kernel runs (how the harness finds out
# whether KVM works).
make_initramfs() {
  local root=$1 kver=$2 out=$3 ird mods m
  ird=$(mktemp -d "${out}.d-XXXXXX")
  mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
  cp "$root/bin/busybox" "$ird/bin/busybox"
  mods=$(chroot "$root" modprobe -S "$kver" --show-depends -a virtio_pci virtio_blk ext4 | awk '$1 == "insmod" {print $2}')
  for m in $mods; do cp "$root$m" "$ird/lib/modules/"; echo "/lib/modules/$(basename "$m")"; done >"$ird/modules.order"
  cat >"$ird/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
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
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
  rm -rf "$ird"
}

# write_system_mounts ROOT: /usr/local/sbin/appc-mounts, the mounts a Debian system has, for the
# inits of our own (the lean guest's and the box's) that run without systemd. cgroup v2, mounted
# here whatever the kernel's or the release's default: the unified hierarchy is what ref is
# tested on in a VM (cgroup v1 is this project's host).
write_system_mounts() {
  cat >"$1/usr/local/sbin/appc-mounts" <<'EOS'
#!/bin/sh
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
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
mount -o remount,rw /
# The suite's AppArmor profiles (write_apparmor_profiles), loaded when the kernel has AppArmor on.
if [ -x /sbin/apparmor_parser ] && [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
  /sbin/apparmor_parser -r -W /etc/apparmor.d/appc-conformance-* || echo "appc-guest: AppArmor profiles not loaded" >&2
fi
EOS
  chmod 755 "$1/usr/local/sbin/appc-mounts"
}

# write_apparmor_profiles ROOT: two profiles that allow everything, so the apparmor-profile isolator
# tests (ACE-ISO-AA-003/004) can confine a pod and an app with two known profiles and see the label,
# without restricting what the probe does. A systemd guest loads them with the rest of
# /etc/apparmor.d; the inits of our own load them in appc-mounts.
write_apparmor_profiles() {
  local name
  for name in appc-conformance-pod appc-conformance-app; do
    cat >"$1/etc/apparmor.d/$name" <<EOS
profile $name flags=(attach_disconnected,mediate_deleted) {
  file,
  network,
  capability,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
}
EOS
  done
}
