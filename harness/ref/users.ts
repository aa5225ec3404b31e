// user/group of an app (ACE-USER-001..004): a name from the rendered image's /etc/passwd or
// /etc/group first, then an all-digits value as a number, then a path: the owner of that file in
// the rootfs. Anything else cannot be resolved and the pod is refused.
import { readFile, stat } from 'node:fs/promises';
import { refuse } from './errors.js';
import { resolveIn } from './paths.js';

const MAX_ID = 4294967294; // (uid_t)-1 is "no change", never a real id

/** name → id from a passwd- or group-style file (third field). */
export function parseIdFile(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || !/^\d+$/.test(f[2]!)) continue;
    // The first entry of a name wins, as getpwnam() does.
    if (!ids.has(f[0]!)) ids.set(f[0]!, Number(f[2]));
  }
  return ids;
}

async function idFile(rootfs: string, file: '/etc/passwd' | '/etc/group'): Promise<Map<string, number>> {
  const r = await resolveIn({ rootfs }, file);
  if (!r.stat) return new Map();
  try {
    return parseIdFile(await readFile(r.host, 'utf8'));
  } catch {
    return new Map();
  }
}

async function resolveId(rootfs: string, value: string, kind: 'user' | 'group'): Promise<number> {
  const byName = await idFile(rootfs, kind === 'user' ? '/etc/passwd' : '/etc/group');
  const named = byName.get(value);
  if (named !== undefined) return named;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n > MAX_ID) refuse(`${kind} ${value} is out of range`);
    return n;
  }
  if (value.startsWith('/')) {
    const r = await resolveIn({ rootfs }, value);
    if (!r.stat) refuse(`${kind} ${value}: no such file in the image`);
    const st = await stat(r.host);
    return kind === 'user' ? st.uid : st.gid;
  }
  return refuse(`${kind} ${JSON.stringify(value)} is not in the image's ${kind === 'user' ? '/etc/passwd' : '/etc/group'}`);
}

export function resolveUser(rootfs: string, user: string): Promise<number> {
  return resolveId(rootfs, user, 'user');
}

export function resolveGroup(rootfs: string, group: string): Promise<number> {
  return resolveId(rootfs, group, 'group');
}
