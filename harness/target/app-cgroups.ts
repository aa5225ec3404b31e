// An app's cgroup limits and CPU time seen from outside its pod, for apps that cannot read their
// own cgroup files (e.g. rkt's host flavor): the process that carries a marker argument (found as
// the mount locator finds a pod's processes: in another mount namespace), its /proc/PID/cgroup
// lines, the target's cgroup mounts (v1 and v2), and the limit files of its cgroups there.
import { posix } from 'node:path';
import { parseMax, parseCpuMax } from '../probe/cgroup.js';
import { parseMountinfo } from './mount-locator.js';
import type { Target } from './target.js';

/** One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH", controllers empty on v2. */
export interface CgroupLine {
  id: string;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): CgroupLine[] {
  return text
    .split('\n')
    .map((l) => /^(\d+):([^:]*):(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1]!, controllers: m[2] === '' ? [] : m[2]!.split(','), path: m[3]! }));
}

/** A cgroup mount of the target: a v1 hierarchy with its controllers, or the v2 one. */
export interface CgroupMount {
  version: 1 | 2;
  controllers: string[];
  /** the cgroup path mounted there (its root in mountinfo) */
  root: string;
  mountPoint: string;
}

/** The cgroup mounts in a mountinfo text: the file system type and super options follow " - ". */
export function cgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const entry = parseMountinfo(line)[0];
    const [fstype, , options] = line.split(' - ')[1]?.split(' ') ?? [];
    if (!entry) continue;
    if (fstype === 'cgroup2') out.push({ version: 2, controllers: [], root: entry.root, mountPoint: entry.mountPoint });
    if (fstype === 'cgroup') {
      const controllers = (options ?? '').split(',').filter((o) => !/^(rw|ro|relatime|nosuid|nodev|noexec|clone_children|noprefix|xattr|name=.*|release_agent=.*)$/.test(o));
      out.push({ version: 1, controllers, root: entry.root, mountPoint: entry.mountPoint });
    }
  }
  return out;
}

/** The directory on the target of a cgroup path, in the first mount of the hierarchy that holds it. */
function dirOf(path: string, mounts: readonly CgroupMount[]): string | undefined {
  const join = (a: string, b: string) => posix.join(a, b).replace(/(.)\/$/, '$1');
  for (const m of mounts) {
    if (m.root === '/') return join(m.mountPoint, path);
    if (path === m.root || path.startsWith(m.root + '/')) return join(m.mountPoint, path.slice(m.root.length));
  }
  return undefined;
}

/** Where a controller's files of the process are: its v1 hierarchy, else the v2 cgroup. */
export function controllerDir(controller: 'memory' | 'cpu', lines: readonly CgroupLine[], mounts: readonly CgroupMount[]): { version: 1 | 2; dir: string; mountPoint: string } | undefined {
  const v1 = lines.find((l) => l.controllers.includes(controller));
  if (v1) {
    const ms = mounts.filter((m) => m.version === 1 && m.controllers.includes(controller));
    const dir = dirOf(v1.path, ms);
    if (dir !== undefined) return { version: 1, dir, mountPoint: ms[0]!.mountPoint };
  }
  const v2 = lines.find((l) => l.id === '0' && l.controllers.length === 0);
  const ms = mounts.filter((m) => m.version === 2);
  const dir = v2 ? dirOf(v2.path, ms) : undefined;
  return v2 && dir !== undefined ? { version: 2, dir, mountPoint: ms[0]!.mountPoint } : undefined;
}

/** What the harness read about one app's cgroups on the target. Numbers: Infinity when unlimited, null when not readable. */
export interface OutsideCgroups {
  pid: number;
  /** where each value came from, for messages */
  sources: string[];
  memory: { version: 1 | 2; limitBytes: number | null; effectiveLimitBytes: number | null } | null;
  cpu: { version: 1 | 2; quotaUs: number | null; periodUs: number | null; shares: number | null; weight: number | null } | null;
}

/** v1 limits that mean "none" are the largest page-aligned value; read them as Infinity. */
function v1Limit(text: string | undefined): number | null {
  const n = parseMax(text);
  return n !== null && n >= 2 ** 62 ? Infinity : n;
}

/** The files read, each after a "@@PATH" line; a file that cannot be read has no content line. */
export function splitFiles(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/^@@/m).slice(1)) {
    const nl = part.indexOf('\n');
    const path = nl < 0 ? part : part.slice(0, nl);
    const content = nl < 0 ? '' : part.slice(nl + 1);
    if (content !== '') out.set(path, content);
  }
  return out;
}

export function readLimits(pid: number, lines: readonly CgroupLine[], mounts: readonly CgroupMount[], files: Map<string, string>): OutsideCgroups {
  const sources: string[] = [];
  const get = (dir: string, name: string) => {
    const path = posix.join(dir, name);
    const content = files.get(path);
    // memory.stat: only its hierarchical limit matters here.
    const shown = name === 'memory.stat' ? content?.match(/^hierarchical_memory_limit .*$/m)?.[0] : content?.trim().split('\n')[0];
    if (content !== undefined) sources.push(`${path}: ${shown ?? '(no hierarchical_memory_limit)'}`);
    return content;
  };
  const mem = controllerDir('memory', lines, mounts);
  const cpu = controllerDir('cpu', lines, mounts);
  let memory: OutsideCgroups['memory'] = null;
  if (mem?.version === 1) {
    const hier = get(mem.dir, 'memory.stat')?.match(/^hierarchical_memory_limit (\d+)$/m)?.[1];
    memory = { version: 1, limitBytes: v1Limit(get(mem.dir, 'memory.limit_in_bytes')), effectiveLimitBytes: hier === undefined ? null : v1Limit(hier) };
  } else if (mem?.version === 2) {
    const own = parseMax(get(mem.dir, 'memory.max'));
    const all = ancestors(mem.dir, mem.mountPoint).map((d) => parseMax(get(d, 'memory.max'))).filter((x): x is number => x !== null);
    memory = { version: 2, limitBytes: own, effectiveLimitBytes: all.length > 0 ? Math.min(...all) : null };
  }
  let cpuView: OutsideCgroups['cpu'] = null;
  if (cpu?.version === 1) {
    const quota = get(cpu.dir, 'cpu.cfs_quota_us')?.trim();
    cpuView = {
      version: 1,
      quotaUs: quota === '-1' ? Infinity : parseMax(quota),
      periodUs: parseMax(get(cpu.dir, 'cpu.cfs_period_us')),
      shares: parseMax(get(cpu.dir, 'cpu.shares')),
      weight: null,
    };
  } else if (cpu?.version === 2) {
    const max = parseCpuMax(get(cpu.dir, 'cpu.max'));
    cpuView = { version: 2, quotaUs: max?.quotaUs ?? null, periodUs: max?.periodUs ?? null, shares: null, weight: parseMax(get(cpu.dir, 'cpu.weight')) };
  }
  return { pid, sources, memory, cpu: cpuView };
}

/** The directory and its parents up to the mount point, nearest first. */
function ancestors(dir: string, mountPoint: string): string[] {
  const out: string[] = [];
  for (let d = dir; d.length >= mountPoint.length && (d === mountPoint || d.startsWith(mountPoint + '/')); d = posix.dirname(d)) {
    out.push(d);
    if (d === mountPoint) break;
  }
  return out;
}

/** Every file readLimits may look at for the process's cgroups. */
function wantedFiles(lines: readonly CgroupLine[], mounts: readonly CgroupMount[]): string[] {
  const out: string[] = [];
  const mem = controllerDir('memory', lines, mounts);
  const cpu = controllerDir('cpu', lines, mounts);
  if (mem?.version === 1) out.push(...['memory.stat', 'memory.limit_in_bytes'].map((f) => posix.join(mem.dir, f)));
  if (mem?.version === 2) out.push(...ancestors(mem.dir, mem.mountPoint).map((d) => posix.join(d, 'memory.max')));
  if (cpu?.version === 1) out.push(...['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares'].map((f) => posix.join(cpu.dir, f)));
  if (cpu?.version === 2) out.push(...['cpu.max', 'cpu.weight'].map((f) => posix.join(cpu.dir, f)));
  return out;
}

// $1 = the marker. The processes of another mount namespace with the marker as one of their
// arguments, each as "PID argv0".
// One grep reads every cmdline (it matches itself, and this shell: both in this namespace).
const FIND = [
  'self=$(readlink /proc/self/ns/mnt)',
  'for c in $(grep -laF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do',
  '  p=${c%/cmdline}',
  '  [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$self" ] && continue',
  '  tr "\\0" "\\n" < "$c" 2>/dev/null | grep -qxF -- "$1" || continue',
  '  echo "${p#/proc/} $(tr "\\0" "\\n" < "$c" | head -n 1)"',
  'done',
].join('\n');

/** The pid of the running app whose argv holds `marker` (the probe itself, not a wrapper), if any. */
export async function findMarkedApp(target: Target, marker: string): Promise<number | undefined> {
  const res = await target.exec(['sh', '-c', FIND, 'find-app', marker], { timeoutMs: 10_000 });
  const found = res.stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => /^\d+$/.test(f[0] ?? ''));
  const probe = found.find((f) => /(^|\/)probe(-suid)?$/.test(f[1] ?? '')) ?? found[0];
  return probe ? Number(probe[0]) : undefined;
}

/** The cgroup limits of a running process, read on the target; null when it has gone. */
export async function outsideCgroups(target: Target, pid: number): Promise<OutsideCgroups | null> {
  const res = await target.exec(['sh', '-c', 'cat /proc/$1/cgroup && echo @@ && cat /proc/self/mountinfo', 'app-cgroups', String(pid)], { timeoutMs: 10_000 });
  if (res.exitCode !== 0) return null;
  const [procCgroup, mountinfo] = res.stdout.split('\n@@\n');
  const lines = parseProcCgroup(procCgroup ?? '');
  const mounts = cgroupMounts(mountinfo ?? '');
  const wanted = wantedFiles(lines, mounts);
  const read = await target.exec(['sh', '-c', 'for f; do echo "@@$f"; cat "$f" 2>/dev/null; done', 'read-cgroups', ...wanted], { timeoutMs: 10_000 });
  return readLimits(pid, lines, mounts, splitFiles(read.stdout));
}

/** utime + stime of /proc/PID/stat, in clock ticks (fields 14 and 15; comm may hold spaces). */
export function cpuTicks(stat: string): number | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** Linux's USER_HZ, the unit of /proc/PID/stat times, on every architecture the suite runs on. */
const USER_HZ = 100;

/** CPU time the process used over `windowMs` of the target's clock, as a fraction of that time; null
 *  when it ended meanwhile, or `stop` (the pod's end) came first. */
export async function cpuFraction(target: Target, pid: number, windowMs: number, stop?: AbortSignal): Promise<{ fraction: number; cpuMs: number; wallMs: number } | null> {
  // Both ends on the target: its own uptime clock (10 ms steps) and the process's stat.
  const script = 'cut -d" " -f1 /proc/uptime && cat /proc/$1/stat && sleep $2 && cut -d" " -f1 /proc/uptime && cat /proc/$1/stat';
  const res = await target.exec(['sh', '-c', script, 'cpu-fraction', String(pid), (windowMs / 1000).toFixed(3)], { timeoutMs: windowMs + 10_000, signal: stop });
  if (res.exitCode !== 0) return null;
  const [u0, s0, u1, s1] = res.stdout.trim().split('\n');
  const [t0, t1] = [cpuTicks(s0 ?? ''), cpuTicks(s1 ?? '')];
  const wallMs = (Number(u1) - Number(u0)) * 1000;
  if (t0 === null || t1 === null || !(wallMs > 0)) return null;
  const cpuMs = ((t1 - t0) * 1000) / USER_HZ;
  return { fraction: cpuMs / wallMs, cpuMs, wallMs };
}
