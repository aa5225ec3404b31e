// Assembling an app's root filesystem from its image and the image's dependencies
// (spec/ace.md § Filesystem Setup; ACE-FS-003..010, ACI-MAN-004/005, ACI-DEPM-002).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import type { Dependency } from '../aci/manifest.js';
import { refuse } from './errors.js';
import { extractLayer } from './extract.js';
import type { LoadedImage } from './image.js';
import { isMutant } from './mutants.js';

/** A pathWhitelist: the listed paths plus the directories above them. */
export class Whitelist {
  private readonly paths = new Set<string>();
  private readonly parents = new Set<string>();

  constructor(list: readonly string[]) {
    for (const raw of list) {
      const p = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
      this.paths.add(p);
      for (let d = p.slice(0, p.lastIndexOf('/')); d !== ''; d = d.slice(0, d.lastIndexOf('/'))) this.parents.add(d);
    }
  }

  allows(path: string, isDir: boolean): boolean {
    return this.paths.has(path) || (isDir && this.parents.has(path));
  }
}

export interface Layer {
  image: LoadedImage;
  /** the non-empty whitelists of this image and of every image that depends on it along this path */
  whitelists: Whitelist[];
}

/** The given image that satisfies a dependency: same name, the pinned ID if any, every listed label. */
export function matchDependency(dep: Dependency, images: readonly LoadedImage[]): LoadedImage | undefined {
  if (isMutant('lax-dependency-reference') && dep.imageID) {
    // The mutant resolves a pinned ID the way a store's command line does: by prefix, or by any digest.
    const pinned = dep.imageID;
    const loose = images.find((img) => img.id.startsWith(pinned) || pinned === `sha256-${createHash('sha256').update(readFileSync(img.tarPath)).digest('hex')}`);
    if (loose) return loose;
  }
  return images.find((img) => {
    if (img.manifest.name !== dep.imageName) return false;
    if (dep.imageID !== undefined && img.id !== dep.imageID && !isMutant('ignore-dependency-id')) return false;
    const labels = new Map((img.manifest.labels ?? []).map((l) => [l.name, l.value]));
    return isMutant('ignore-dependency-labels') || (dep.labels ?? []).every((l) => labels.get(l.name) === l.value);
  });
}

/**
 * ACI-DEPM-003: a dependency that states its size must have it. Whether `size` counts the archive as
 * retrieved or its tar is not said; either matches (the same for an uncompressed archive).
 */
function checkDependencySize(dep: Dependency, found: LoadedImage): void {
  if (dep.size === undefined || isMutant('ignore-dependency-size')) return;
  const sizes = [statSync(found.file).size, statSync(found.tarPath).size];
  if (!sizes.includes(dep.size)) refuse(`dependency ${dep.imageName} is ${sizes[0]} bytes (${sizes[1]} as a tar); the manifest says ${dep.size}`);
}

const MAX_DEPTH = 32;

/**
 * Extraction order for `top`: dependencies depth-first in listed order, each before the image that
 * needs it (A→[B,C], C→[D] gives B, D, C, A). A dependency reached twice is applied twice, each time
 * with the whitelists of its own path (ACE-FS-009).
 */
export function layerOrder(top: LoadedImage, images: readonly LoadedImage[]): Layer[] {
  const out: Layer[] = [];
  const visit = (img: LoadedImage, above: Whitelist[], stack: string[]) => {
    if (stack.includes(img.id)) refuse(`dependency cycle: ${[...stack, img.id].map(short).join(' → ')}`);
    if (stack.length > MAX_DEPTH) refuse(`dependency chain of ${img.manifest.name} is deeper than ${MAX_DEPTH}`);
    const own = isMutant('ignore-path-whitelist') ? [] : (img.manifest.pathWhitelist ?? []);
    // The mutant reads an empty whitelist as one listing only the app's program.
    const strict = isMutant('empty-whitelist-strict') && img.manifest.pathWhitelist?.length === 0 && img.manifest.app?.exec?.[0];
    const wls = own.length > 0 ? [...above, new Whitelist(own)] : strict ? [...above, new Whitelist([strict])] : above;
    const deps = img.manifest.dependencies ?? [];
    for (const dep of isMutant('deps-reverse-order') ? [...deps].reverse() : deps) {
      const found = matchDependency(dep, images);
      if (!found) {
        const what = [dep.imageName, dep.imageID, ...(dep.labels ?? []).map((l) => `${l.name}=${l.value}`)].filter(Boolean);
        refuse(`dependency of ${img.manifest.name} not among the given images: ${what.join(' ')}`);
      }
      checkDependencySize(dep, found);
      visit(found, wls, [...stack, img.id]);
    }
    out.push({ image: img, whitelists: wls });
  };
  visit(top, [], []);
  return out;
}

function short(id: string): string {
  return id.slice(0, 'sha512-'.length + 12);
}

/** Renders the layers into a fresh, empty directory `rootfs` (ACE-FS-010: never reused). */
export async function renderRootfs(layers: readonly Layer[], rootfs: string, warn?: (m: string) => void): Promise<void> {
  await mkdir(rootfs, { recursive: false });
  await chown(rootfs, 0, 0);
  await chmod(rootfs, 0o755);
  for (const layer of layers) {
    const keep =
      layer.whitelists.length === 0
        ? undefined
        : (path: string, isDir: boolean) => layer.whitelists.every((w) => w.allows(path, isDir));
    await extractLayer(layer.image.tarPath, rootfs, { keep, warn });
  }
}
