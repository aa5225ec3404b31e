// KVM or TCG. /dev/kvm existing proves nothing (on PVM hosts it exists and guests die on it), so
// KVM is tried: a guest whose initramfs only says it runs must say so within a short time. The
// verdict is kept per host boot and QEMU version, so it costs one try per boot of the host.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { GuestImage } from '../guest/guest-image.js';

const TRY_MS = 20_000;

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** why, for the run's output */
  reason: string;
}

async function kvmBoots(image: GuestImage): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'appc-kvmcheck-'));
  try {
    const log = join(dir, 'console.log');
    await execa(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', '-nodefaults', '-no-reboot', '-display', 'none', '-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '512',
        '-kernel', image.kernel, '-initrd', image.initrd, '-append', 'console=ttyS0 panic=-1 appc.init=check', '-serial', `file:${log}`],
      { reject: false, timeout: TRY_MS, stdin: 'ignore' },
    );
    return (await readFile(log, 'utf8').catch(() => '')).includes('appc-guest-alive');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function chooseAccel(image: GuestImage, cacheFile: string): Promise<AccelChoice> {
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', reason: 'no /dev/kvm' };
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const qemu = (await execa('qemu-system-x86_64', ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  const key = `${bootId} ${qemu}`;
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string; kvm: boolean };
    if (cached.key === key) return cached.kvm ? { accel: 'kvm', reason: 'KVM works (tried earlier this boot)' } : { accel: 'tcg', reason: '/dev/kvm exists but a guest does not run on it (tried earlier this boot)' };
  } catch {
    // not tried yet on this boot
  }
  const kvm = await kvmBoots(image);
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ key, kvm }));
  return kvm ? { accel: 'kvm', reason: 'KVM works (a test guest ran on it)' } : { accel: 'tcg', reason: `/dev/kvm exists but a test guest did not run on it within ${TRY_MS / 1000} s` };
}
