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

/** Applies pod-level limits to /appc-ref/<uuid> on cgroup v1; returns what could not be applied. */
export async function applyPodResources(uuid: string, res: Resources, hs = hierarchies()): Promise<string[]> {
  const writes: { controller: string; file: string; value: string }[] = [];
  if (res.memoryLimit !== undefined) writes.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(res.memoryLimit) });
  if (res.cpuQuota !== undefined) {
    writes.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
    writes.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(res.cpuQuota) });
  }
  if (res.cpuShares !== undefined) writes.push({ controller: 'cpu', file: 'cpu.shares', value: String(res.cpuShares) });
  const skipped: string[] = [];
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
