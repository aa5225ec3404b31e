// Where a container's mount lives on the target's own file system, found from outside and without
// knowing the implementation's layout: the process that sees a marker file under the mount path,
// that process's mountinfo entry for the path (device and root inside the device), and the target's
// own mount of the same device whose root contains it. Lets a test watch an empty volume's host
// directory live and go with its pod (POD-VOL-005).
import { posix } from 'node:path';
import type { Target } from './target.js';

export interface MountEntry {
  majorMinor: string;
  /** the path inside the device's file system that is mounted */
  root: string;
  mountPoint: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length > 5)
    .map((f) => ({ majorMinor: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) }));
}

/**
 * Paths on the target where `entry` (from a container's mountinfo) can be seen: the mount points of
 * the same device whose root contains the entry's root, the closest root first.
 */
export function targetPathsOf(entry: MountEntry, targetMounts: readonly MountEntry[]): string[] {
  const inside = (root: string) => root === '/' || entry.root === root || entry.root.startsWith(root + '/');
  return targetMounts
    .filter((m) => m.majorMinor === entry.majorMinor && inside(m.root))
    .sort((a, b) => b.root.length - a.root.length)
    .map((m) => posix.join(m.mountPoint, m.root === '/' ? entry.root : entry.root.slice(m.root.length)));
}

// $1 = the mount path inside the container, $2 = the marker's name. Finds a process in another mount
// namespace that sees the marker, prints its mountinfo, a separator, then the target's own.
const FIND = [
  'self=$(readlink /proc/self/ns/mnt)',
  'for p in /proc/[0-9]*; do',
  '  [ -e "$p/root$1/$2" ] || continue',
  '  [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$self" ] && continue',
  '  cat "$p/mountinfo" && echo @@ && cat /proc/self/mountinfo && exit 0',
  'done',
  'exit 1',
].join('\n');

/**
 * The target path of the mount at `containerPath` of a running container that holds the file
 * `marker` there; undefined when no process shows it yet, or the target cannot see that file system
 * (e.g. it exists only inside the pod's mount namespace or a VM).
 */
export async function locateMount(target: Target, containerPath: string, marker: string): Promise<string | undefined> {
  const found = await target.exec(['sh', '-c', FIND, 'locate-mount', containerPath, marker], { timeoutMs: 10_000 });
  if (found.exitCode !== 0) return undefined;
  const [inside, outside] = found.stdout.split('\n@@\n');
  const entry = parseMountinfo(inside ?? '').find((m) => m.mountPoint === containerPath);
  if (!entry) return undefined;
  for (const candidate of targetPathsOf(entry, parseMountinfo(outside ?? ''))) {
    if ((await target.exec(['test', '-e', posix.join(candidate, marker)])).exitCode === 0) return candidate;
  }
  return undefined;
}
