// Resolving container paths to host paths the way the kernel would inside the app: symlinks are
// followed, but an absolute link target starts at the app's '/' (the rendered rootfs) and '..'
// never climbs above it. Mount targets map to their host sources.
import { chmod, chown, lstat, mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';

export interface PathView {
  /** host directory that the app sees as '/' */
  rootfs: string;
  /** volumes: container path → host path; targets are clean absolute paths */
  mounts?: readonly { target: string; source: string }[];
}

export interface Resolved {
  /** container path after following symlinks */
  path: string;
  /** host path of `path` */
  host: string;
  /** lstat of `host`, undefined when it does not exist */
  stat?: Stats;
}

const MAX_LINKS = 40;

export function hostPathOf(view: PathView, containerPath: string): string {
  let best: { target: string; source: string } | undefined;
  for (const m of view.mounts ?? []) {
    if (containerPath === m.target || containerPath.startsWith(m.target === '/' ? '/' : m.target + '/')) {
      if (!best || m.target.length > best.target.length) best = m;
    }
  }
  if (best) return posix.join(best.source, posix.relative(best.target, containerPath));
  return posix.join(view.rootfs, containerPath);
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Resolves `path` inside the view. With `followLast` false, a symlink as last component is returned
 * as it is (lstat semantics). Resolution stops at the first missing component: the result then
 * names the remaining path below the last existing directory, with `stat` undefined.
 */
export async function resolveIn(view: PathView, path: string, followLast = true): Promise<Resolved> {
  let pending = posix.normalize('/' + path).split('/').filter(Boolean);
  let cur = '/';
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, c);
    const host = hostPathOf(view, next);
    const st = await lstatOrUndefined(host);
    if (!st) {
      const full = posix.join(next, ...pending);
      return { path: full, host: hostPathOf(view, full) };
    }
    if (st.isSymbolicLink() && (pending.length > 0 || followLast)) {
      if (++links > MAX_LINKS) throw Object.assign(new Error(`too many symlinks resolving ${path}`), { code: 'ELOOP' });
      const target = await readlink(host);
      const parts = target.split('/').filter(Boolean);
      if (target.startsWith('/')) cur = '/';
      pending = [...parts, ...pending];
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) {
      const full = posix.join(next, ...pending);
      return { path: full, host: hostPathOf(view, full) };
    }
    cur = next;
  }
  const host = hostPathOf(view, cur);
  return { path: cur, host, stat: await lstatOrUndefined(host) };
}

/**
 * Makes `path` a directory inside the rootfs for a mount target (ACE-VOL-002/004/007): missing
 * directories are created 0755 owned 0:0; a non-directory at the target itself is replaced.
 * Returns the container path after symlinks (what the mount will cover).
 */
export async function ensureDirIn(rootfs: string, path: string): Promise<string> {
  const view = { rootfs };
  const r = await resolveIn(view, path);
  if (r.stat?.isDirectory()) return r.path;
  if (r.stat) {
    // A file (or device…) where a volume goes: the volume wins.
    await rm(r.host, { force: true, recursive: true });
  }
  // Create from the deepest existing ancestor down, each level freshly resolved (no symlink games).
  const parts = r.path.split('/').filter(Boolean);
  let cur = '/';
  for (const c of parts) {
    const next = posix.join(cur, c);
    const host = posix.join(rootfs, next);
    const st = await lstatOrUndefined(host);
    if (!st) {
      await mkdir(host);
      await chown(host, 0, 0);
      await chmod(host, 0o755);
    } else if (!st.isDirectory()) {
      await rm(host, { force: true, recursive: true });
      await mkdir(host);
      await chown(host, 0, 0);
      await chmod(host, 0o755);
    }
    cur = next;
  }
  return r.path;
}

/** Like ensureDirIn, for a single-file volume: an empty regular file at the target. */
export async function ensureFileIn(rootfs: string, path: string): Promise<string> {
  const r = await resolveIn({ rootfs }, path);
  if (r.stat?.isFile()) return r.path;
  if (r.stat) await rm(r.host, { force: true, recursive: true });
  const parent = await ensureDirIn(rootfs, posix.dirname(r.path));
  const target = posix.join(parent, posix.basename(r.path));
  await writeFile(posix.join(rootfs, target), '', { mode: 0o644 });
  return target;
}
