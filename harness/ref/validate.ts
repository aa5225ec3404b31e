// Small local checks of image and pod manifests: enough to refuse nonsense before anything is
// rendered. The suite's full JSON-schema validation lives in harness/aci/validate.ts; these checks
// are deliberately few and can be swapped for it later.
import { posix } from 'node:path';
import type { App, ImageManifest, PodManifest, Volume } from '../aci/manifest.js';
import { refuse } from './errors.js';

export const AC_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
// The reference code checks only the character set and the first/last character (TYPES-ACID-001).
const AC_IDENTIFIER = /^[a-z0-9](?:[a-z0-9._~/-]*[a-z0-9])?$/;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z_0-9.-]*$/;
const IMAGE_ID = /^sha512-[0-9a-f]+$/;

/** appc arch label for this host (labels.go spelling). */
export function hostArch(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: 'i386',
    arm64: 'aarch64',
    arm: 'armv7l',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return map[arch] ?? arch;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isAbsolute = (p: unknown): p is string => typeof p === 'string' && p.startsWith('/');

function unique(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) refuse(`${what}: duplicate name ${JSON.stringify(n)}`);
    seen.add(n);
  }
}

function checkNameValues(list: unknown, what: string, nameRe?: RegExp): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) refuse(`${what} must be a list`);
  for (const e of list) {
    if (!isObject(e) || typeof e.name !== 'string' || typeof e.value !== 'string') {
      refuse(`${what}: each entry needs a string name and value`);
    }
    if (nameRe && !nameRe.test(e.name)) refuse(`${what}: invalid name ${JSON.stringify(e.name)}`);
  }
  unique(
    list.map((e: { name: string }) => e.name),
    what,
  );
}

function checkIsolators(list: unknown, what: string): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) refuse(`${what} must be a list`);
  for (const iso of list) {
    if (!isObject(iso) || typeof iso.name !== 'string' || iso.name === '') refuse(`${what}: isolator without a name`);
  }
}

/** ACI-APP-*: the `app` object of an image manifest or of a pod app. */
export function checkApp(app: unknown, what: string): asserts app is App {
  if (!isObject(app)) refuse(`${what} must be an object`);
  if (typeof app.user !== 'string' || app.user === '') refuse(`${what}.user is required`);
  if (typeof app.group !== 'string' || app.group === '') refuse(`${what}.group is required`);
  if (app.exec !== undefined && !isStringArray(app.exec)) refuse(`${what}.exec must be a list of strings`);
  if (app.workingDirectory !== undefined && app.workingDirectory !== '' && !isAbsolute(app.workingDirectory)) {
    refuse(`${what}.workingDirectory must be absolute`);
  }
  checkNameValues(app.environment, `${what}.environment`, ENV_NAME);
  checkIsolators(app.isolators, `${what}.isolators`);
  const gids = app.supplementaryGIDs ?? (app as Record<string, unknown>).supplementaryGids;
  if (gids !== undefined && !(Array.isArray(gids) && gids.every((g) => Number.isInteger(g) && g >= 0))) {
    refuse(`${what}.supplementaryGIDs must be a list of unsigned integers`);
  }
  if (app.eventHandlers !== undefined) {
    if (!Array.isArray(app.eventHandlers)) refuse(`${what}.eventHandlers must be a list`);
    for (const h of app.eventHandlers) {
      if (!isObject(h) || (h.name !== 'pre-start' && h.name !== 'post-stop')) {
        refuse(`${what}.eventHandlers: name must be "pre-start" or "post-stop"`);
      }
      if (!isStringArray(h.exec) || h.exec.length === 0) refuse(`${what}.eventHandlers[${h.name}]: exec is required`);
    }
    unique(
      app.eventHandlers.map((h: { name: string }) => h.name),
      `${what}.eventHandlers`,
    );
  }
  if (app.mountPoints !== undefined) {
    if (!Array.isArray(app.mountPoints)) refuse(`${what}.mountPoints must be a list`);
    for (const mp of app.mountPoints) {
      if (!isObject(mp) || typeof mp.name !== 'string' || !AC_NAME.test(mp.name)) {
        refuse(`${what}.mountPoints: invalid name ${JSON.stringify(isObject(mp) ? mp.name : mp)}`);
      }
      if (!isAbsolute(mp.path)) refuse(`${what}.mountPoints[${mp.name}].path must be absolute`);
    }
    unique(
      app.mountPoints.map((m: { name: string }) => m.name),
      `${what}.mountPoints`,
    );
  }
}

/** ACI-MAN-*, ACI-LBL-005/006, ACI-DEP-*: enough of an image manifest to render and run it. */
export function checkImageManifest(m: unknown, where: string): asserts m is ImageManifest {
  if (!isObject(m)) refuse(`${where}: manifest is not a JSON object`);
  if (m.acKind !== 'ImageManifest') refuse(`${where}: acKind must be "ImageManifest"`);
  if (typeof m.acVersion !== 'string' || !SEMVER.test(m.acVersion)) refuse(`${where}: invalid acVersion`);
  if (typeof m.name !== 'string' || !AC_IDENTIFIER.test(m.name)) refuse(`${where}: invalid name ${JSON.stringify(m.name)}`);
  checkNameValues(m.labels, `${where}: labels`, AC_IDENTIFIER);
  const labels = new Map(((m.labels ?? []) as { name: string; value: string }[]).map((l) => [l.name, l.value]));
  if (labels.has('name')) refuse(`${where}: a label may not be called "name"`);
  const os = labels.get('os');
  const arch = labels.get('arch');
  if (os !== undefined && os !== 'linux') refuse(`${where}: image is for os ${os}, this host runs linux`);
  if (arch !== undefined && arch !== hostArch()) refuse(`${where}: image is for arch ${arch}, this host is ${hostArch()}`);
  if (m.app !== undefined && m.app !== null) checkApp(m.app, `${where}: app`);
  if (m.dependencies !== undefined) {
    if (!Array.isArray(m.dependencies)) refuse(`${where}: dependencies must be a list`);
    for (const d of m.dependencies) {
      if (!isObject(d) || typeof d.imageName !== 'string' || !AC_IDENTIFIER.test(d.imageName)) {
        refuse(`${where}: dependency without a valid imageName`);
      }
      if (d.imageID !== undefined && (typeof d.imageID !== 'string' || !IMAGE_ID.test(d.imageID))) {
        refuse(`${where}: dependency ${d.imageName} has an invalid imageID`);
      }
      checkNameValues(d.labels, `${where}: dependency ${d.imageName} labels`);
    }
  }
  if (m.pathWhitelist !== undefined && !(isStringArray(m.pathWhitelist) && m.pathWhitelist.every(isAbsolute))) {
    refuse(`${where}: pathWhitelist must hold absolute paths`);
  }
}

function checkVolume(v: unknown, what: string): asserts v is Volume {
  if (!isObject(v) || typeof v.name !== 'string' || !AC_NAME.test(v.name)) {
    refuse(`${what}: invalid volume name ${JSON.stringify(isObject(v) ? v.name : v)}`);
  }
  if (v.kind === 'host') {
    if (!isAbsolute(v.source)) refuse(`${what} ${v.name}: a host volume needs an absolute source`);
    if (v.mode !== undefined || v.uid !== undefined || v.gid !== undefined) {
      refuse(`${what} ${v.name}: mode, uid and gid only apply to empty volumes`);
    }
  } else if (v.kind === 'empty') {
    if (v.source !== undefined && v.source !== '') refuse(`${what} ${v.name}: an empty volume has no source`);
    if (v.mode !== undefined && (typeof v.mode !== 'string' || !/^0?[0-7]{3,4}$/.test(v.mode))) {
      refuse(`${what} ${v.name}: mode must be an octal string like "0755"`);
    }
    for (const k of ['uid', 'gid'] as const) {
      if (v[k] !== undefined && !(Number.isInteger(v[k]) && (v[k] as number) >= 0)) {
        refuse(`${what} ${v.name}: ${k} must be an unsigned integer`);
      }
    }
  } else {
    refuse(`${what} ${v.name}: kind must be "empty" or "host", got ${JSON.stringify(v.kind)}`);
  }
  for (const k of ['readOnly', 'recursive'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') refuse(`${what} ${v.name}: ${k} must be a boolean`);
  }
}

/** POD-MAN-*, POD-APP-*, POD-VOL-*: a pod manifest that can be executed. */
export function checkPodManifest(m: unknown): asserts m is PodManifest {
  if (!isObject(m)) refuse('pod manifest is not a JSON object');
  if (m.acKind !== 'PodManifest') refuse('pod manifest: acKind must be "PodManifest"');
  if (typeof m.acVersion !== 'string' || !SEMVER.test(m.acVersion)) refuse('pod manifest: invalid acVersion');
  if (!Array.isArray(m.apps) || m.apps.length === 0) refuse('pod manifest: apps must be a non-empty list');
  const volumes = m.volumes ?? [];
  if (!Array.isArray(volumes)) refuse('pod manifest: volumes must be a list');
  volumes.forEach((v: unknown) => checkVolume(v, 'pod manifest: volume'));
  unique(
    volumes.map((v: Volume) => v.name),
    'pod manifest: volumes',
  );
  const volumeNames = new Set(volumes.map((v: Volume) => v.name));
  checkIsolators(m.isolators, 'pod manifest: isolators');
  for (const app of m.apps) {
    if (!isObject(app) || typeof app.name !== 'string' || !AC_NAME.test(app.name)) {
      refuse(`pod manifest: invalid app name ${JSON.stringify(isObject(app) ? app.name : app)}`);
    }
    const what = `pod manifest: app ${app.name}`;
    if (!isObject(app.image) || typeof app.image.id !== 'string' || !IMAGE_ID.test(app.image.id)) {
      refuse(`${what}: image.id must be a sha512 image ID`);
    }
    if (app.app !== undefined && app.app !== null) checkApp(app.app, `${what}: app`);
    if (app.readOnlyRootFS !== undefined && typeof app.readOnlyRootFS !== 'boolean') {
      refuse(`${what}: readOnlyRootFS must be a boolean`);
    }
    if (app.mounts !== undefined) {
      if (!Array.isArray(app.mounts)) refuse(`${what}: mounts must be a list`);
      for (const mount of app.mounts) {
        if (!isObject(mount) || typeof mount.volume !== 'string' || !AC_NAME.test(mount.volume)) {
          refuse(`${what}: mount with an invalid volume name`);
        }
        if (!isAbsolute(mount.path)) refuse(`${what}: mount path must be absolute`);
        if (mount.appVolume !== undefined) checkVolume(mount.appVolume, `${what}: appVolume`);
        else if (!volumeNames.has(mount.volume)) refuse(`${what}: mount refers to unknown volume ${mount.volume}`);
      }
    }
  }
  unique(
    m.apps.map((a: { name: string }) => a.name),
    'pod manifest: apps',
  );
}

/** Normalized absolute container path ("/a/b"), or undefined for a relative one. */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}
