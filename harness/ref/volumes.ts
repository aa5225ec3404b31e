// Volumes and mounts of an app (POD-VOL-*, POD-APP-008..010, ACE-VOL-*, ACE-MNT-001): which host
// directory goes where, read-only or not. planMounts decides (pure); the rest touches the host.
import { chmod, chown, lstat, mkdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { MountPoint, RuntimeApp, Volume } from '../aci/manifest.js';
import { refuse } from './errors.js';
import { isMutant } from './mutants.js';
import { cleanPath } from './validate.js';

export interface PlannedMount {
  /** clean absolute container path */
  target: string;
  volume: Volume;
  /** where the volume's host directory comes from: the pod, an inline appVolume, or an unmet mountPoint */
  origin: 'pod' | 'inline' | 'auto';
  readOnly: boolean;
  /** rbind (default for host volumes, POD-VOL-008/009) or a plain bind */
  recursive: boolean;
}

/**
 * The mounts of one app: the pod's `mounts` entries, then an automatic empty volume (0755, 0:0) for
 * every image mountPoint no mount fulfils. Read-only when the volume or the mountPoint at the same
 * path says so. Overlapping targets are refused (ACE-VOL-006).
 */
export function planMounts(
  app: Pick<RuntimeApp, 'name' | 'mounts'>,
  mountPoints: readonly MountPoint[],
  podVolumes: readonly Volume[],
): PlannedMount[] {
  const byName = new Map(podVolumes.map((v) => [v.name, v]));
  const planned: PlannedMount[] = [];
  const readOnly = (vol: Volume, mp: MountPoint | undefined) =>
    !isMutant('ignore-readonly') && (vol.readOnly === true || mp?.readOnly === true);
  // The image manifest's schema requires a path; this guard keeps an image that slipped past it a refusal, not a crash.
  for (const mp of mountPoints) if (typeof mp.path !== 'string') refuse(`mountPoint ${String(mp.name)} has no path`);
  const mpAt = (target: string) => mountPoints.find((mp) => cleanPath(mp.path) === target);

  for (const m of app.mounts ?? []) {
    const target = cleanPath(m.path);
    const inline = isMutant('ignore-app-volume') ? undefined : m.appVolume;
    // POD-APP-009: the mount at a mountPoint's path fulfils it; the mutant takes the volume named like the mountPoint.
    const byMpName = isMutant('mount-by-mountpoint-name') && !inline ? byName.get(mpAt(target)?.name ?? '') : undefined;
    const volume = inline ?? byMpName ?? byName.get(m.volume);
    if (!volume) refuse(`app ${app.name}: mount at ${m.path} refers to unknown volume ${m.volume}`);
    planned.push({
      target,
      volume,
      origin: inline ? 'inline' : 'pod',
      readOnly: readOnly(volume, mpAt(target)),
      recursive: volume.kind === 'host' ? volume.recursive !== false : true,
    });
  }
  for (const mp of mountPoints) {
    const target = cleanPath(mp.path);
    if (planned.some((p) => p.target === target)) continue;
    const volume: Volume = { name: mp.name, kind: 'empty', mode: '0755', uid: 0, gid: 0 };
    planned.push({ target, volume, origin: 'auto', readOnly: readOnly(volume, mp), recursive: true });
  }

  for (const a of planned) {
    if (a.target === '/') refuse(`app ${app.name}: a volume cannot be mounted at /`);
    for (const b of planned) {
      if (a !== b && (a.target === b.target || (b.target.startsWith(a.target + '/') && !isMutant('accept-nested-targets')))) {
        refuse(`app ${app.name}: volume targets ${a.target} and ${b.target} overlap (ACE-VOL-006)`);
      }
    }
  }
  // Parents before children is what the runtime needs; with no overlaps this is just stable order.
  return planned.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
}

/**
 * Checks a host volume's source (ACE-VOL-010, -013, -015): it must exist, and neither it nor any
 * directory above it may be a symlink. Returns whether it is a regular file (ACE-VOL-012).
 */
export async function checkHostSource(volume: Volume): Promise<{ isFile: boolean }> {
  const source = volume.source ?? '';
  if (!source.startsWith('/')) refuse(`volume ${volume.name}: source must be an absolute path`);
  let cur = '/';
  for (const c of posix.normalize(source).split('/').filter(Boolean)) {
    cur = posix.join(cur, c);
    let st;
    try {
      st = await lstat(cur);
    } catch {
      if (isMutant('accept-missing-source')) {
        await mkdir(source, { recursive: true });
        return { isFile: false };
      }
      // The mutant makes the path on the host (ACE-VOL-009) and refuses all the same.
      if (isMutant('create-missing-source')) await mkdir(source, { recursive: true });
      refuse(`volume ${volume.name}: source ${source} does not exist (ACE-VOL-010)`);
    }
    const last = cur === posix.normalize(source);
    if (st.isSymbolicLink()) {
      // The mutants follow a symlink (the mount then shows where it points): the source itself
      // (ACE-VOL-013, -014) or a directory above it (ACE-VOL-015).
      if (last ? isMutant('follow-symlinked-source') : isMutant('follow-symlinked-parent')) continue;
      refuse(`volume ${volume.name}: source ${source} ${last ? 'is' : 'passes through'} a symlink (${cur})`);
    }
    if (cur !== posix.normalize(source) && !st.isDirectory()) {
      refuse(`volume ${volume.name}: source ${source}: ${cur} is not a directory`);
    }
  }
  const st = isMutant('follow-symlinked-source') ? await stat(source) : await lstat(source);
  if (!st.isDirectory() && !st.isFile()) refuse(`volume ${volume.name}: source ${source} is neither a directory nor a file`);
  return { isFile: st.isFile() };
}

/** Creates an empty volume's directory with its mode and owner (POD-VOL-004, -010, -011). */
export async function createEmptyVolume(volume: Volume, hostDir: string): Promise<void> {
  await mkdir(hostDir, { recursive: true });
  await chown(hostDir, volume.uid ?? 0, volume.gid ?? 0);
  // chmod after chown, and explicitly: mkdir's mode is filtered by the umask.
  await chmod(hostDir, parseInt(isMutant('empty-volume-mode') ? '0755' : (volume.mode ?? '0755'), 8));
}
