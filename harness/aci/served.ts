// What an implementation serves or reports about images and pods, checked in full: the schema and
// the cross-field rules (validate.ts), plus the types rules the schema leaves loose (an acVersion
// that is an appc version no newer than this suite's spec, image IDs in their full form).
import { AC_VERSION, type PodManifest } from './manifest.js';
import { imageManifestProblems, podManifestProblems } from './validate.js';

/** An image ID in full: sha512 and all of its 128 hex digits (TYPES-IMGID-001/002, ACI-ID-002). */
export const FULL_IMAGE_ID = /^sha512-[0-9a-f]{128}$/;

const SEMVER_CORE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Why `v` is not an appc spec version the suite's spec (0.8.11) can have produced: a SemVer of
 *  its major series, no newer than it (TYPES-ACVER-001, -003). */
export function acVersionProblem(v: unknown): string | undefined {
  const m = typeof v === 'string' ? SEMVER_CORE.exec(v) : null;
  if (!m) return `acVersion ${JSON.stringify(v)} is not a SemVer 2.0.0 version`;
  const [major, minor, patch] = m.slice(1, 4).map(Number) as [number, number, number];
  const [sMajor, sMinor, sPatch] = AC_VERSION.split('.').map(Number) as [number, number, number];
  if (major !== sMajor) return `acVersion ${v} is outside the ${sMajor}.x series of appc ${AC_VERSION}`;
  if (minor > sMinor || (minor === sMinor && patch > sPatch)) return `acVersion ${v} is newer than appc ${AC_VERSION}, the newest release`;
  return undefined;
}

/** Every problem of a pod manifest an implementation serves (e.g. its metadata service's reified one). */
export function servedPodManifestProblems(doc: unknown): string[] {
  const out = podManifestProblems(doc);
  if (typeof doc !== 'object' || doc === null) return out;
  const p = doc as Partial<PodManifest>;
  const version = acVersionProblem(p.acVersion);
  if (version) out.push(`pod manifest /acVersion: ${version}`);
  (Array.isArray(p.apps) ? p.apps : []).forEach((a, i) => {
    const id = a?.image?.id;
    if (!(typeof id === 'string' && FULL_IMAGE_ID.test(id))) out.push(`pod manifest /apps/${i}/image/id: ${JSON.stringify(id)} is not a full image ID (sha512- and 128 hex digits)`);
  });
  return out;
}

/** Every problem of an image manifest an implementation serves. */
export function servedImageManifestProblems(doc: unknown): string[] {
  const out = imageManifestProblems(doc);
  if (typeof doc !== 'object' || doc === null) return out;
  const version = acVersionProblem((doc as { acVersion?: unknown }).acVersion);
  if (version) out.push(`image manifest /acVersion: ${version}`);
  return out;
}

/** Why a reported image ID is not one in full form, or undefined. */
export function imageIdProblem(id: unknown): string | undefined {
  return typeof id === 'string' && FULL_IMAGE_ID.test(id) ? undefined : `${JSON.stringify(id)} is not a full image ID (sha512- and 128 hex digits)`;
}
