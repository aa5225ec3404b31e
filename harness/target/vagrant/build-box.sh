#!/usr/bin/env bash
# Makes a vagrant-libvirt box from a guest of the `vagrant` profile (guest/build-guest.sh): the
# guest's root image with the host's node, a vagrant user (our own key, passwordless sudo) and an
# init that takes a DHCP lease on the first NIC and starts sshd; then a qcow2, metadata.json and a
# Vagrantfile that boots Debian's kernel directly. Driven by box.ts, which keys the box on this
# file's text, the guest and node.
#   build-box.sh GUEST_DIR NODE BOOT_DIR KEY OUT_BOX
# GUEST_DIR: rootfs.img, vmlinux, initrd.img (the guest's kernel and initramfs, made by
# guest/boot-lib.sh, boot the box as they boot the qemu guest). BOOT_DIR: where libvirt may read the kernel and
# initrd (/var/lib/libvirt/boot: qemu runs as libvirt-qemu and cannot enter /root).
set -euo pipefail
guest=$1 node=$2 boot=$3 key=$4 out=$5

step() { printf 'box: %s\n' "$*"; }
work=$(mktemp -d "${out}.build-XXXXXX")
mnt=$work/mnt
cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "root image (4 GiB, from $guest)"
cp --sparse=always "$guest/rootfs.img" "$work/root.img"
truncate -s 4G "$work/root.img"
e2fsck -fy "$work/root.img" >/dev/null 2>&1 || [ $? -le 1 ]
resize2fs -f "$work/root.img" >/dev/null 2>&1
mkdir "$mnt"
mount -o loop "$work/root.img" "$mnt"

step "node $("$node" --version), vagrant user, init"
install -m 755 "$node" "$mnt/usr/local/bin/node"
ssh-keygen -q -t ed25519 -N '' -C appc-vagrant-box -f "$work/vagrant_key"
chroot "$mnt" useradd -m -U -s /bin/bash vagrant
install -d -m 700 -o "$(chroot "$mnt" id -u vagrant)" -g "$(chroot "$mnt" id -g vagrant)" "$mnt/home/vagrant/.ssh"
install -m 600 -o "$(chroot "$mnt" id -u vagrant)" -g "$(chroot "$mnt" id -g vagrant)" "$work/vagrant_key.pub" "$mnt/home/vagrant/.ssh/authorized_keys"
printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' >"$mnt/etc/sudoers.d/vagrant"
chmod 440 "$mnt/etc/sudoers.d/vagrant"
printf 'PasswordAuthentication no\nUseDNS no\n' >"$mnt/etc/ssh/sshd_config.d/appc-box.conf"
echo appc-box >"$mnt/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 appc-box\n::1 localhost\n' >"$mnt/etc/hosts"
# busybox udhcpc applies a lease through this script. No default route: the guest talks to this
# machine's end of the isolated bridge and nothing else.
cat >"$mnt/usr/local/sbin/appc-udhcpc" <<'EOS'
#!/bin/sh
case "$1" in
  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
EOS
chmod 755 "$mnt/usr/local/sbin/appc-udhcpc"
# PID 1 is tini (from the guest's initramfs); this is its child, as in the lean guest: the same
# system mounts (appc-mounts, from guest/boot-lib.sh), then sshd where the lean guest starts the
# agent (the harness starts the agent over ssh).
cat >"$mnt/sbin/appc-init" <<'EOS'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/usr/local/sbin/appc-mounts
hostname appc-box
modprobe -a virtio_net virtio_rng 2>/dev/null || true
ip link set lo up
for i in $(seq 1 100); do dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1); [ -n "$dev" ] && break; sleep 0.1; done
ip link set "$dev" up
busybox udhcpc -i "$dev" -s /usr/local/sbin/appc-udhcpc -t 30 -T 2 -A 2 -b -S
mkdir -p /run/sshd
/usr/sbin/sshd -e
echo appc-box-ready
exec sleep infinity
EOS
chmod 755 "$mnt/sbin/appc-init"
# Without systemd: Vagrant's halt (shutdown -h now) and a user's poweroff end the VM at once.
for cmd in shutdown poweroff halt; do
  printf '#!/bin/sh\nsync\necho o >/proc/sysrq-trigger\n' >"$mnt/sbin/$cmd"
  chmod 755 "$mnt/sbin/$cmd"
done
printf '#!/bin/sh\nsync\necho b >/proc/sysrq-trigger\n' >"$mnt/sbin/reboot"
chmod 755 "$mnt/sbin/reboot"
umount "$mnt"

step "qcow2"
qemu-img convert -O qcow2 "$work/root.img" "$work/box.img"
rm "$work/root.img"

step "kernel and initrd for libvirt in $boot"
mkdir -p "$boot"
install -m 644 "$guest/vmlinux" "$boot/appc-box-$key.vmlinux"
install -m 644 "$guest/initrd.img" "$boot/appc-box-$key.initrd"

printf '{"provider":"libvirt","format":"qcow2","virtual_size":4}\n' >"$work/metadata.json"
printf '{"appc-conformance":"box for --target=vagrant","key":"%s","node":"%s"}\n' "$key" "$("$node" --version)" >"$work/info.json"
cat >"$work/Vagrantfile" <<EOS
# Defaults of the appc-conformance box (built by harness/target/vagrant/build-box.sh, key $key).
Vagrant.configure("2") do |config|
  config.ssh.username = "vagrant"
  config.ssh.private_key_path = File.expand_path("vagrant_key", __dir__)
  config.ssh.insert_key = false
  config.vm.guest = :debian
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "qemu"
    libvirt.kernel = "$boot/appc-box-$key.vmlinux"
    libvirt.initrd = "$boot/appc-box-$key.initrd"
    libvirt.cmd_line = "console=ttyS0 panic=-1 loglevel=4 raid=noautodetect mitigations=off appc.init=lean"
    libvirt.disk_bus = "virtio"
    libvirt.memory = 3072
    libvirt.cpus = 2
  end
end
EOS
step "box archive"
tar -cf "$out" -C "$work" metadata.json info.json Vagrantfile vagrant_key box.img
step "done: $out"
