// ref refuses manifests the shared validator (harness/aci/validate.ts) rejects, plus what only an
// executor on this host can judge: an image built for another os/arch, a pod with nothing to run.
import { posix } from 'node:path';
import type { ImageManifest, PodManifest } from '../aci/manifest.js';
import { appcArch, imageManifestProblems, podManifestProblems } from '../aci/validate.js';
import { refuse } from './errors.js';
import { isMutant } from './mutants.js';

export function checkImageManifest(m: unknown, where: string): asserts m is ImageManifest {
  let problems = isMutant('accept-invalid-image-manifest') ? [] : imageManifestProblems(m);
  if (isMutant('lax-dependency-reference')) problems = problems.filter((p) => !p.includes('/dependencies'));
  // The mutant still needs a name to call the app by.
  if (isMutant('accept-invalid-image-manifest') && typeof (m as { name?: unknown }).name !== 'string') (m as { name: string }).name = 'unnamed';
  if (problems.length > 0) refuse(`${where}: ${problems.join('; ')}`);
  const labels = new Map(((m as ImageManifest).labels ?? []).map((l) => [l.name, l.value]));
  const os = labels.get('os');
  const arch = labels.get('arch');
  if (isMutant('only-current-ac-version') && (m as ImageManifest).acVersion !== '0.8.11') refuse(`${where}: acVersion ${(m as ImageManifest).acVersion} is not 0.8.11`);
  if (isMutant('ignore-os-arch')) return;
  if (os !== undefined && os !== 'linux') refuse(`${where}: image is for os ${os}, this host runs linux`);
  if (arch !== undefined && arch !== appcArch()) refuse(`${where}: image is for arch ${arch}, this host is ${appcArch()}`);
}

export function checkPodManifest(m: unknown): asserts m is PodManifest {
  const problems = isMutant('accept-invalid-manifest') ? [] : podManifestProblems(m);
  if (problems.length > 0) refuse(problems.join('; '));
  if ((m as PodManifest).apps.length === 0) refuse('pod manifest: apps is empty, nothing to run');
}

/** Normalized absolute container path ("/a/b"). */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}
