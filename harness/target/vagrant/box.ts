// The Vagrant box of --target=vagrant, built on this machine from the qemu target's guest builder
// (profile `vagrant`) and added offline (`vagrant box add`). Keyed on the guest, the host's node and
// build-box.sh: `npm run vagrant-box` rebuilds only when one of them changed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { HarnessError, UsageError } from '../../run/errors.js';
import { REPO_ROOT } from '../../run/paths.js';
import { whileStarting } from '../abort.js';
import { defaultCacheDir, ensureGuest } from '../guest/guest-image.js';

export const BOX_NAME = 'appc-conformance/debian12';
export const BUILD_BOX_SCRIPT = join(REPO_ROOT, 'harness', 'target', 'vagrant', 'build-box.sh');
/** libvirt's place for direct-boot kernels (its qemu user cannot enter /root). */
export const LIBVIRT_BOOT_DIR = '/var/lib/libvirt/boot';
/** The prefix of the box's base volume that vagrant-libvirt uploads into the `default` pool. */
const POOL_VOLUME_PREFIX = `${BOX_NAME.replace('/', '-VAGRANTSLASH-')}_vagrant_box_image_`;

/** Vagrant's environment for every call: no calls home (version and box update checks). */
export const VAGRANT_ENV = { VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1', VAGRANT_NO_COLOR: '1' };

/** The names of the volumes in libvirt's `default` pool (virsh 9 has no vol-list --name). */
export async function poolVolumes(): Promise<string[]> {
  const list = await execa('virsh', ['-c', 'qemu:///system', 'vol-list', 'default'], { reject: false });
  return String(list.stdout)
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

export function vagrantHome(): string {
  return process.env.VAGRANT_HOME || join(homedir(), '.vagrant.d');
}

/** The installed box's info.json (written by build-box.sh), when the box is added. */
export function installedBox(): { key?: string; node?: string } | undefined {
  const info = join(vagrantHome(), 'boxes', BOX_NAME.replace('/', '-VAGRANTSLASH-'), '0', 'libvirt', 'info.json');
  try {
    return JSON.parse(readFileSync(info, 'utf8')) as { key?: string; node?: string };
  } catch {
    return undefined;
  }
}

export function boxKey(guestDir: string): string {
  const inputs = { guest: basename(guestDir), node: process.version, script: readFileSync(BUILD_BOX_SCRIPT, 'utf8') };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

/** Builds and adds the box unless the installed one has the current key. */
export async function ensureBox(progress: (line: string) => void): Promise<{ key: string; built: boolean }> {
  for (const tool of ['vagrant', 'qemu-img', 'virsh', 'resize2fs', 'ssh-keygen']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) {
      throw new UsageError(`building the Vagrant box needs ${tool}: run npm run setup -- --vagrant`);
    }
  }
  const guest = await ensureGuest({ profile: 'vagrant', progress });
  const key = boxKey(guest.dir);
  if (installedBox()?.key === key) return { key, built: false };

  const out = join(defaultCacheDir(), `appc-box-${key}.box`);
  progress(`box: building ${BOX_NAME} (key ${key}) from ${guest.dir}`);
  const started = performance.now();
  const build = execa('bash', [BUILD_BOX_SCRIPT, guest.dir, process.execPath, LIBVIRT_BOOT_DIR, key, out], {
    reject: false,
    stdin: 'ignore',
    all: true,
    detached: true,
  });
  const done = whileStarting(async () => {
    if (build.pid) process.kill(-build.pid, 'SIGTERM');
    await build.catch(() => undefined);
    await rm(out, { force: true });
  });
  build.all?.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n')) if (line.startsWith('box: ')) progress(line);
  });
  const res = await build;
  try {
    if (res.exitCode !== 0) {
      throw new HarnessError(`building the box failed (exit ${res.exitCode ?? res.signal}): ${String(res.all ?? '').trim().split('\n').slice(-8).join(' | ')}`);
    }
    const add = await execa('vagrant', ['box', 'add', '--force', '--name', BOX_NAME, out], { reject: false, all: true, env: VAGRANT_ENV });
    if (add.exitCode !== 0) throw new HarnessError(`vagrant box add failed: ${String(add.all).trim().split('\n').slice(-4).join(' | ')}`);
  } finally {
    done();
    await rm(out, { force: true });
  }
  // The replaced box's base volume in libvirt's pool and its kernels are stale now.
  for (const v of await poolVolumes()) {
    if (v.startsWith(POOL_VOLUME_PREFIX)) await execa('virsh', ['-c', 'qemu:///system', 'vol-delete', '--pool', 'default', v], { reject: false });
  }
  if (existsSync(LIBVIRT_BOOT_DIR)) {
    for (const f of await readdir(LIBVIRT_BOOT_DIR)) {
      if (f.startsWith('appc-box-') && !f.startsWith(`appc-box-${key}.`)) await rm(join(LIBVIRT_BOOT_DIR, f), { force: true });
    }
  }
  progress(`box: ${BOX_NAME} added in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { key, built: true };
}
