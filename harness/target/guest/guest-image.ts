// Guest images for VM targets, built by build-guest.sh from Debian's archive alone and kept in a
// content-addressed cache: the key covers every input (release, mirror, package list, kernel
// package and version, init, the build scripts' text), so a second run boots at once and any
// change of input builds anew. A user may bring their own image instead (--vm-image).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { HarnessError, UsageError } from '../../run/errors.js';
import { whileStarting } from '../abort.js';
import { REPO_ROOT } from '../../run/paths.js';

const run = promisify(execFile);
export const BUILD_SCRIPT = join(REPO_ROOT, 'harness', 'target', 'guest', 'build-guest.sh');
/** The kernel and initramfs steps, shared with the Vagrant box's builder (sourced by both). */
export const BOOT_LIB = join(REPO_ROOT, 'harness', 'target', 'guest', 'boot-lib.sh');

/** Debian releases a guest can be built from: two kernels (6.1 and 5.10), both in Debian's archive
 *  and known to debootstrap. The first is the default. */
export const GUEST_RELEASES = ['bookworm', 'bullseye'] as const;
export type GuestRelease = (typeof GUEST_RELEASES)[number];
export const DEFAULT_RELEASE: GuestRelease = 'bookworm';

/** The files of a guest: what QEMU boots. */
export interface GuestImage {
  dir: string;
  kernel: string;
  initrd: string;
  rootfs: string;
  /** the init the image boots into (lean: tini + our init; systemd) */
  init: 'lean' | 'systemd';
  /** the Debian release it was built from (undefined for a user's image without guest.json) */
  release?: string;
  /** for reports: profile name, or "user image" */
  label: string;
}

export type GuestProfileName = 'lean' | 'systemd' | 'vagrant';

/** What ref needs in any guest: crun, ip/tc, unshare, and the tools it decompresses bzip2 and xz
 *  images with (a guest without them fails ref's bzip2/xz tests for a reason that is not ref's). */
const REF_PACKAGES = ['bzip2', 'crun', 'iproute2', 'socat', 'util-linux', 'xz-utils'];
/** AppArmor's parser, which loads the suite's two profiles at boot (boot-lib.sh): with it the
 *  apparmor-profile isolator tests run in a guest (the kernel has AppArmor on), not only skip. */
const LSM_PACKAGES = ['apparmor'];

/** What each profile installs. lean: what ref needs; systemd: what rkt's host flavor needs besides
 *  (systemd as PID 1, dbus, machined, iptables); vagrant: the lean guest with what Vagrant drives a
 *  box through (sshd, sudo, rsync), the base of --target=vagrant's box. */
export const GUEST_PROFILES: Record<GuestProfileName, { init: 'lean' | 'systemd'; packages: string[] }> = {
  lean: { init: 'lean', packages: [...REF_PACKAGES, ...LSM_PACKAGES, 'busybox-static', 'kmod', 'procps', 'tini'] },
  systemd: {
    init: 'systemd',
    packages: [...REF_PACKAGES, ...LSM_PACKAGES, 'busybox-static', 'dbus', 'iptables', 'kmod', 'procps', 'systemd', 'systemd-container', 'systemd-sysv', 'tini'],
  },
  vagrant: { init: 'lean', packages: [...REF_PACKAGES, ...LSM_PACKAGES, 'busybox-static', 'kmod', 'openssh-server', 'procps', 'rsync', 'sudo', 'tini'] },
};

/** Packages the host needs to build and boot a guest. */
export const HOST_PACKAGES = ['qemu-system-x86', 'qemu-utils', 'debootstrap', 'cpio', 'e2fsprogs', 'xz-utils'];

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'appc-conformance', 'guests');
}

/** The Debian mirror the host's apt uses (so a local mirror or proxy is honoured), else Debian's own. */
export function hostMirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+[a-z]+\s/m.exec(text)?.[1];
    if (uri && !uri.includes('security')) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** The host's own Debian release (VERSION_CODENAME), when it has one. */
export function hostRelease(): string | undefined {
  try {
    return /^VERSION_CODENAME=(\S+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** How apt is asked about a release's packages: the host's own apt when the host runs that
 *  release (its lists also hold the security updates), else apt with lists of that release's
 *  archive alone, kept in the cache (APT_CONFIG names them). The kernel must come from the
 *  guest's release: a bullseye guest never gets the host's bookworm kernel. */
export async function releaseApt(release: GuestRelease, mirror: string, cacheDir: string): Promise<Record<string, string>> {
  if (hostRelease() === release) return {};
  const dir = join(cacheDir, `apt-${release}`);
  const conf = join(dir, 'apt.conf');
  const lines = [
    `Dir::State "${dir}/state";`,
    `Dir::State::status "${dir}/state/status";`,
    `Dir::Cache "${dir}/cache";`,
    `Dir::Etc::SourceList "${dir}/sources.list";`,
    `Dir::Etc::SourceParts "${dir}/empty";`,
    `Dir::Etc::Preferences "${dir}/empty/preferences";`,
    `Dir::Etc::PreferencesParts "${dir}/empty";`,
    'APT::Architecture "amd64";',
    'APT::Architectures { "amd64"; };',
    'Acquire::Languages "none";',
  ];
  await mkdir(join(dir, 'state', 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(dir, 'empty'), { recursive: true });
  await writeFile(join(dir, 'state', 'status'), '', { flag: 'a' });
  await writeFile(join(dir, 'sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${release} main\n`);
  await writeFile(conf, lines.join('\n') + '\n');
  const env = { APT_CONFIG: conf };
  // A release's lists are fetched once and then again after a week (a point release changes the kernel).
  const lists = join(dir, 'state', 'lists');
  const stamp = join(dir, 'updated');
  const have = async () => (await readdir(lists)).some((f) => /_Packages(\.\w+)?$/.test(f));
  const updated = await stat(stamp).catch(() => undefined);
  if (!(await have()) || !updated || Date.now() - updated.mtimeMs > 7 * 86400_000) {
    const upd = await execa('apt-get', ['update', '-qq'], { env, reject: false, all: true });
    if (upd.exitCode === 0) await writeFile(stamp, `${new Date().toISOString()}\n`);
    else if (!(await have())) throw new HarnessError(`apt-get update for ${release} (${mirror}) failed: ${String(upd.all).trim().split('\n').slice(-3).join(' | ')}`);
  }
  return env;
}

/** The versioned kernel package Debian's linux-image-amd64 points at in the release's archive. */
export async function kernelPackage(aptEnv: Record<string, string> = {}, release: string = DEFAULT_RELEASE): Promise<{ name: string; version: string }> {
  const env = { ...process.env, ...aptEnv };
  const deps = await run('apt-cache', ['depends', 'linux-image-amd64'], { env }).catch(() => undefined);
  const name = /Depends:\s*(linux-image-\S+)/.exec(deps?.stdout ?? '')?.[1];
  if (!name) throw new UsageError(`cannot find Debian's kernel package of ${release} (apt-cache depends linux-image-amd64): run apt-get update`);
  const policy = await run('apt-cache', ['policy', name], { env });
  const version = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1] ?? 'unknown';
  return { name, version };
}

export function cacheKey(profile: GuestProfileName, mirror: string, kernel: { name: string; version: string }, release: GuestRelease = DEFAULT_RELEASE): string {
  const p = GUEST_PROFILES[profile];
  const inputs = {
    release,
    mirror,
    packages: [...p.packages].sort(),
    init: p.init,
    kernel,
    script: readFileSync(BUILD_SCRIPT, 'utf8'),
    boot: readFileSync(BOOT_LIB, 'utf8'),
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

function imageIn(dir: string, init: 'lean' | 'systemd', label: string, release?: string): GuestImage {
  return { dir, kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initrd.img'), rootfs: join(dir, 'rootfs.img'), init, label, ...(release ? { release } : {}) };
}

/** Checks a user's image directory (vmlinux or vmlinuz, initrd.img, rootfs.img) before any pod runs. */
export function userImage(dir: string): GuestImage {
  const kernel = ['vmlinux', 'vmlinuz'].map((k) => join(dir, k)).find((k) => existsSync(k));
  const missing = [kernel ? undefined : 'vmlinux or vmlinuz', ...['initrd.img', 'rootfs.img'].filter((f) => !existsSync(join(dir, f)))].filter(Boolean);
  if (missing.length > 0) throw new UsageError(`--vm-image ${dir}: missing ${missing.join(', ')} (see docs/targets.md)`);
  let init: 'lean' | 'systemd' = 'lean';
  let release: string | undefined;
  try {
    const info = JSON.parse(readFileSync(join(dir, 'guest.json'), 'utf8')) as { init?: 'lean' | 'systemd'; release?: string };
    init = info.init ?? 'lean';
    release = info.release;
  } catch {
    // no guest.json: a lean init is assumed
  }
  return { ...imageIn(dir, init, 'user image', release), kernel: kernel! };
}

export interface EnsureOptions {
  profile: GuestProfileName;
  /** default: bookworm */
  release?: GuestRelease;
  cacheDir?: string;
  /** one line per build step */
  progress?: (line: string) => void;
}

/** The cached guest of a profile, built first when missing. */
export async function ensureGuest(opts: EnsureOptions): Promise<GuestImage> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const release = opts.release ?? DEFAULT_RELEASE;
  const mirror = hostMirror();
  await mkdir(cacheDir, { recursive: true });
  const aptEnv = await releaseApt(release, mirror, cacheDir);
  const kernel = await kernelPackage(aptEnv, release);
  const key = cacheKey(opts.profile, mirror, kernel, release);
  const name = `${opts.profile}-${release}-${key}`;
  const dir = join(cacheDir, name);
  const profile = GUEST_PROFILES[opts.profile];
  if (existsSync(join(dir, 'guest.json'))) return imageIn(dir, profile.init, opts.profile, release);

  for (const tool of ['debootstrap', 'mkfs.ext4', 'cpio', 'dpkg-deb']) {
    if ((await run('sh', ['-c', `command -v ${tool}`]).catch(() => undefined)) === undefined) {
      throw new UsageError(`building the ${opts.profile} guest needs ${tool}: run npm run setup -- --vm`);
    }
  }
  const progress = opts.progress ?? ((line: string) => console.error(line));
  progress(`guest: building the ${opts.profile} guest (${release}, ${kernel.name} ${kernel.version}) into ${dir}; once per change of inputs`);
  const started = performance.now();
  const build = execa('bash', [BUILD_SCRIPT, dir, release, mirror, `${kernel.name}=${kernel.version}`, profile.init, ...profile.packages], {
    reject: false,
    env: aptEnv,
    stdin: 'ignore',
    all: true,
    // its own process group, so an abort ends debootstrap and everything else it started
    detached: true,
  });
  const done = whileStarting(async () => {
    if (build.pid) {
      try {
        process.kill(-build.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    // build-guest.sh unmounts and removes its work directory on the way out.
    await build.catch(() => undefined);
  });
  build.all?.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n')) if (line.startsWith('guest: ')) progress(line);
  });
  const res = await build;
  done();
  if (res.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new HarnessError(`building the ${opts.profile} guest failed (exit ${res.exitCode ?? res.signal}): ${String(res.all ?? '').trim().split('\n').slice(-8).join(' | ')}`);
  }
  progress(`guest: built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  // Older builds of the same profile and release are stale now (names without a release are
  // bookworm builds of an earlier harness).
  const stale = new RegExp(`^${opts.profile}-${release === DEFAULT_RELEASE ? `(?:${release}-)?` : `${release}-`}[0-9a-f]{16}$`);
  for (const old of await readdir(cacheDir)) {
    if (stale.test(old) && old !== name) await rm(join(cacheDir, old), { recursive: true, force: true });
  }
  return imageIn(dir, profile.init, opts.profile, release);
}
