// cgroup bookkeeping. ref creates /appc-ref/<uuid> in every hierarchy before any app starts, crun
// creates and removes the apps' leaves below it, ref removes the rest. Holding the pod level from
// the start keeps a concurrent pod's cleanup (which removes /appc-ref once it is empty) from pulling
// the parent away under crun. On cgroup v1 the pod level also carries pod-level resource isolators,
// so all apps together stay below them (ACE-ISO-GEN-001).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { InfraError, messageOf } from './errors.js';
import { CPU_PERIOD_US, type Resources } from './oci.js';

export const CGROUP_PARENT = 'appc-ref';

export function podCgroupPath(uuid: string): string {
  return `/${CGROUP_PARENT}/${uuid}`;
}

export function appCgroupPath(uuid: string, app: string): string {
  return `${podCgroupPath(uuid)}/${app}`;
}

export interface Hierarchy {
  mountPoint: string;
  version: 1 | 2;
  controllers: string[];
}

/** cgroup hierarchies mounted on this host (from /proc/self/mountinfo). */
export function hierarchies(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOpts = ''] = post.split(' ');
    const mountPoint = unescapeMount(pre.split(' ')[4] ?? '');
    if (fstype === 'cgroup') {
      out.push({ mountPoint, version: 1, controllers: superOpts.split(',').filter((o) => !['rw', 'ro'].includes(o)) });
    } else if (fstype === 'cgroup2') {
      out.push({ mountPoint, version: 2, controllers: [] });
    }
  }
  return out;
}

export function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The directories of a pod, deepest first, in every hierarchy. */
export function podCgroupDirs(uuid: string, apps: readonly string[], hs = hierarchies()): string[] {
  const dirs: string[] = [];
  for (const h of hs) {
    for (const app of apps) dirs.push(posix.join(h.mountPoint, appCgroupPath(uuid, app)));
    dirs.push(posix.join(h.mountPoint, podCgroupPath(uuid)));
  }
  return dirs;
}

/** Creates /appc-ref/<uuid> in every hierarchy (retrying if a concurrent cleanup removes /appc-ref). */
export async function createPodCgroups(uuid: string, hs = hierarchies()): Promise<void> {
  for (const h of hs) {
    const dir = posix.join(h.mountPoint, podCgroupPath(uuid));
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw new InfraError(`cannot create cgroup ${dir}: ${messageOf(err)}`);
      }
    }
  }
}

export interface PodWrite {
  controller: string;
  file: string;
  value: string;
}

/** crun's mapping of OCI cpu shares to cgroup v2 cpu.weight (crun 1.8.1), so pod and apps weigh alike. */
export function weightOfShares(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The files that carry pod-level limits, in the interface of cgroup v1 or v2. */
export function podResourceWrites(res: Resources, version: 1 | 2): PodWrite[] {
  const w: PodWrite[] = [];
  if (version === 1) {
    if (res.memoryLimit !== undefined) w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(res.memoryLimit) });
    if (res.cpuQuota !== undefined) {
      w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
      w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(res.cpuQuota) });
    }
    if (res.cpuShares !== undefined) w.push({ controller: 'cpu', file: 'cpu.shares', value: String(res.cpuShares) });
  } else {
    if (res.memoryLimit !== undefined) w.push({ controller: 'memory', file: 'memory.max', value: String(res.memoryLimit) });
    if (res.cpuQuota !== undefined) w.push({ controller: 'cpu', file: 'cpu.max', value: `${res.cpuQuota} ${CPU_PERIOD_US}` });
    if (res.cpuShares !== undefined) w.push({ controller: 'cpu', file: 'cpu.weight', value: String(weightOfShares(res.cpuShares)) });
  }
  return w;
}

// Super options of a v1 mount mix controllers with flags (xattr, name=systemd): these are the limits'.
const V1_RESOURCE_CONTROLLERS = new Set(['memory', 'cpu', 'cpuacct', 'cpuset', 'blkio', 'pids', 'hugetlb']);

/**
 * The cgroup v2 hierarchy that carries limits when no v1 hierarchy has a controller (a unified-only
 * host). On a hybrid host crun runs with the v1 controllers (see crun.ts), so v1 it is there.
 */
export function unifiedOnly(hs: readonly Hierarchy[]): Hierarchy | undefined {
  if (hs.some((h) => h.version === 1 && h.controllers.some((c) => V1_RESOURCE_CONTROLLERS.has(c)))) return undefined;
  return hs.find((h) => h.version === 2);
}

async function writeOrInfra(file: string, value: string, what: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (err) {
    throw new InfraError(`cannot set ${what}: ${messageOf(err)}`);
  }
}

/**
 * cgroup v2: enables `controllers` for the children of the root, /appc-ref and /appc-ref/<uuid>, so
 * the pod level has the limit files and the apps' leaves inherit them. No process lives in those
 * levels (crun puts apps in leaves), as v2's no-internal-process rule requires. Returns the
 * controllers a level does not offer.
 */
async function enableControllers(h: Hierarchy, uuid: string, controllers: readonly string[]): Promise<string[]> {
  const levels = [h.mountPoint, posix.join(h.mountPoint, CGROUP_PARENT), posix.join(h.mountPoint, podCgroupPath(uuid))];
  const missing = new Set<string>();
  for (const dir of levels) {
    const offered = (await readFile(posix.join(dir, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    const enabled = (await readFile(posix.join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '')).split(/\s+/);
    for (const c of controllers) {
      if (!offered.includes(c)) missing.add(c);
      else if (!enabled.includes(c)) await writeOrInfra(posix.join(dir, 'cgroup.subtree_control'), `+${c}`, `${c} in ${dir}/cgroup.subtree_control`);
    }
  }
  return [...missing];
}

/** Applies pod-level limits to /appc-ref/<uuid> (cgroup v1 or a unified v2 host); returns the files it could not write. */
export async function applyPodResources(uuid: string, res: Resources, hs = hierarchies()): Promise<string[]> {
  const v2 = unifiedOnly(hs);
  const writes = podResourceWrites(res, v2 ? 2 : 1);
  const skipped: string[] = [];
  if (v2) {
    if (writes.length === 0) return skipped;
    const missing = await enableControllers(v2, uuid, [...new Set(writes.map((w) => w.controller))]);
    const dir = posix.join(v2.mountPoint, podCgroupPath(uuid));
    for (const w of writes) {
      if (missing.includes(w.controller)) skipped.push(w.file);
      else await writeOrInfra(posix.join(dir, w.file), w.value, `pod ${w.file}`);
    }
    return skipped;
  }
  for (const w of writes) {
    const h = hs.find((x) => x.version === 1 && x.controllers.includes(w.controller));
    if (!h) {
      skipped.push(w.file);
      continue;
    }
    const dir = posix.join(h.mountPoint, podCgroupPath(uuid));
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(posix.join(dir, w.file), w.value);
    } catch (err) {
      throw new InfraError(`cannot set pod ${w.file}: ${messageOf(err)}`);
    }
  }
  return skipped;
}

/** SIGKILLs whatever still runs in a cgroup directory of ours (a leaf or the pod level). */
async function killMembers(dir: string): Promise<void> {
  // cgroup v2 (5.14+) kills the whole subtree in one write, nested cgroups included.
  if (await writeFile(posix.join(dir, 'cgroup.kill'), '1', { flag: 'r+' }).then(() => true, () => false)) return;
  const procs = await readFile(posix.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function rmdirRetry(dir: string): Promise<void> {
  // A loaded host can take seconds to tear the last processes down; after the first seconds,
  // whatever is still inside is killed (it belongs to this pod, whose processes are all going).
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && i < 200) {
        if (i === 50 || i === 100) await killMembers(dir);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw err;
    }
  }
}

/**
 * Removes a pod's cgroup directories (any leaf crun left too) in every hierarchy, and /appc-ref
 * when no other pod uses it any more.
 */
export async function removePodCgroups(uuid: string, hs = hierarchies()): Promise<string[]> {
  const problems: string[] = [];
  for (const h of hs) {
    const podDir = posix.join(h.mountPoint, podCgroupPath(uuid));
    if (existsSync(podDir)) {
      const leaves = (await readdir(podDir, { withFileTypes: true })).filter((d) => d.isDirectory());
      for (const leaf of leaves) {
        await rmdirRetry(posix.join(podDir, leaf.name)).catch((err: unknown) => problems.push(`${leaf.name}: ${messageOf(err)}`));
      }
      await rmdirRetry(podDir).catch((err: unknown) => problems.push(`${podDir}: ${messageOf(err)}`));
    }
    // Fails (and is meant to) while another pod has its directory there.
    await rmdir(posix.join(h.mountPoint, CGROUP_PARENT)).catch(() => undefined);
  }
  return problems;
}
