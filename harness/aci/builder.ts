// Writes App Container Images (spec/aci.md § Image Archives) from data: a manifest object and a
// declared file tree become a deterministic tar (optionally gzip), named by its image ID.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

/** A tar header as tar-stream takes it: a name, the rest optional. */
export type TarHeader = Partial<Header> & Pick<Header, 'name'>;
import type { ImageManifest } from './manifest.js';
import { assertValidImageManifest } from './validate.js';

/** 2020-01-01T00:00:00Z: the default mtime, so that images do not depend on when they were built. */
export const DEFAULT_MTIME = 1577836800;

interface EntryMeta {
  /** absolute path inside the rootfs, e.g. "/etc/passwd" */
  path: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** seconds since the epoch */
  mtime?: number;
  /** extended attributes, written as PAX SCHILY.xattr records */
  xattrs?: Record<string, string>;
}
export type FileEntry =
  | (EntryMeta & { type: 'file'; content: string | Uint8Array })
  | (EntryMeta & { type: 'dir' })
  | (EntryMeta & { type: 'symlink'; target: string })
  | (EntryMeta & { type: 'hardlink'; target: string });

/** gzip through zlib, bzip2 and xz through Debian's tools (never a hand-written codec). */
export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz';

/** One tar entry as written: a tar-stream header and its body. Raw mode (hostile images) writes
 *  these verbatim, whatever the spec forbids. */
export interface RawEntry {
  header: TarHeader;
  body?: string | Uint8Array;
}

export interface ImageSpec {
  manifest: ImageManifest;
  files: FileEntry[];
  compression?: Compression;
}

export interface BuiltImage {
  /** the .aci file */
  path: string;
  /** "sha512-" + hex of the uncompressed tar (spec/aci.md § Image ID) */
  id: string;
  name: string;
  manifest: ImageManifest;
  compression: Compression;
}

export function imageIdOf(tar: Uint8Array): string {
  return 'sha512-' + createHash('sha512').update(tar).digest('hex');
}

/** Declared entries plus the parent directories nobody declared, ordered parents first. */
function completeTree(files: FileEntry[]): FileEntry[] {
  const byPath = new Map<string, FileEntry>();
  for (const entry of files) {
    const clean = posix.normalize(entry.path);
    if (!entry.path.startsWith('/') || clean === '/' || entry.path.split('/').includes('..')) {
      throw new Error(`file entry path must be absolute inside the rootfs: ${JSON.stringify(entry.path)}`);
    }
    if (byPath.has(clean)) throw new Error(`duplicate file entry: ${clean}`);
    byPath.set(clean, { ...entry, path: clean });
  }
  for (const path of [...byPath.keys()]) {
    for (let dir = posix.dirname(path); dir !== '/'; dir = posix.dirname(dir)) {
      const existing = byPath.get(dir);
      if (existing === undefined) byPath.set(dir, { path: dir, type: 'dir' });
      else if (existing.type !== 'dir') throw new Error(`${dir} is declared as ${existing.type} but has children`);
    }
  }
  // Sorting by path components puts every directory before its children, whatever the declaration order.
  return [...byPath.values()].sort((a, b) => compareComponents(a.path, b.path));
}

function compareComponents(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The entries of an image in the order written: `rootfs` first, its tree, `manifest` last (like
 *  actool build). The manifest is written as given, unchecked: raw mode edits these entries. */
export function imageEntries(spec: ImageSpec): RawEntry[] {
  const base = (e: EntryMeta) => ({
    mode: e.mode,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    uname: '',
    gname: '',
    mtime: new Date((e.mtime ?? DEFAULT_MTIME) * 1000),
    ...(e.xattrs && Object.keys(e.xattrs).length > 0
      ? { pax: Object.fromEntries(Object.entries(e.xattrs).sort().map(([k, v]) => [`SCHILY.xattr.${k}`, v])) }
      : {}),
  });
  const out: RawEntry[] = [{ header: { name: 'rootfs', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(DEFAULT_MTIME * 1000) } }];
  for (const e of completeTree(spec.files)) {
    const name = 'rootfs' + e.path;
    switch (e.type) {
      case 'file':
        out.push({ header: { ...base(e), name, type: 'file', mode: e.mode ?? 0o644 }, body: e.content });
        break;
      case 'dir':
        out.push({ header: { ...base(e), name, type: 'directory', mode: e.mode ?? 0o755 } });
        break;
      case 'symlink':
        out.push({ header: { ...base(e), name, type: 'symlink', mode: e.mode ?? 0o777, linkname: e.target } });
        break;
      case 'hardlink':
        out.push({ header: { ...base(e), name, type: 'link', mode: e.mode ?? 0o644, linkname: 'rootfs' + posix.normalize(e.target) } });
        break;
    }
  }
  out.push({ header: manifestHeader(), body: JSON.stringify(spec.manifest, null, 2) + '\n' });
  return out;
}

/** The header of a `manifest` file entry. */
export function manifestHeader(): TarHeader {
  return { name: 'manifest', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: new Date(DEFAULT_MTIME * 1000) };
}

/** A tar of exactly these entries, in this order. */
export async function writeTar(entries: readonly RawEntry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const { header: given, body } of entries) {
    // A raw entry without an mtime would get the time of the build: then the image, its ID and its
    // file in the cache would change on every run.
    const header = { mtime: new Date(DEFAULT_MTIME * 1000), ...given };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined) tar.entry(header, cb);
      else tar.entry(header, body, cb);
    });
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The uncompressed tar of an image. */
export async function renderTar(spec: ImageSpec): Promise<Buffer> {
  return writeTar(imageEntries(spec));
}

/** The archive bytes for a tar: gzip by zlib (its header carries no timestamp, so the bytes are
 *  stable), bzip2 and xz by Debian's `bzip2` and `xz`. */
export function compress(tar: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return tar;
    case 'gzip':
      return gzipSync(tar, { level: 9 });
    case 'bzip2':
    case 'xz':
      return execFileSync(compression, ['-c', '-9'], { input: tar, maxBuffer: 1 << 30 });
  }
}

const SUFFIX: Record<Compression, string> = { none: '', gzip: '.gz', bzip2: '.bz2', xz: '.xz' };

/** Fixture builds in this module instance (a test worker's, or a file's under isolation): images
 *  asked for, those written anew (the rest were in the content-addressed cache), and the time spent. */
export interface BuildStats {
  /** tells the instances of one process apart (a worker that isolates its files loads this module per file) */
  instance: string;
  builds: number;
  written: number;
  ms: number;
}
const stats: BuildStats = { instance: randomBytes(6).toString('hex'), builds: 0, written: 0, ms: 0 };

export function buildStats(): BuildStats {
  return { ...stats };
}

async function counted<T>(build: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await build();
  } finally {
    stats.builds++;
    stats.ms += performance.now() - started;
  }
}

/** Writes the bytes `make` returns to `path` unless it exists (content-addressed names), atomically;
 *  `make` (compression) runs only when the file is written. */
async function writeOnce(path: string, make: () => Uint8Array, outDir: string): Promise<void> {
  if (await exists(path)) return;
  await mkdir(outDir, { recursive: true });
  // A unique temporary name: concurrent builds of the same image (in one process or several) must not collide.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, make());
  await rename(tmp, path);
  stats.written++;
}

/** A file written as given: an .aci that need not even be a tar (hostile images). */
export interface RawImage {
  path: string;
  /** "sha512-" + hex of the uncompressed bytes: the image ID an implementation would report */
  id: string;
  compression: Compression;
}

/** Raw mode: writes these entries (or these bytes) as an .aci, nothing checked. */
export async function buildRawAci(content: readonly RawEntry[] | Buffer, outDir: string, compression: Compression = 'none'): Promise<RawImage> {
  return counted(async () => {
    const tar = Buffer.isBuffer(content) ? content : await writeTar(content);
    const id = imageIdOf(tar);
    const path = join(outDir, `raw-${id.slice('sha512-'.length, 'sha512-'.length + 32)}${SUFFIX[compression]}.aci`);
    await writeOnce(path, () => compress(tar, compression), outDir);
    return { path, id, compression };
  });
}

/**
 * Builds an image into `outDir` as `<hex prefix of the id>.aci` (content-addressed: an existing file
 * with that name is reused). The manifest is validated first; an invalid one throws.
 */
export async function buildAci(spec: ImageSpec, outDir: string): Promise<BuiltImage> {
  assertValidImageManifest(spec.manifest);
  return counted(async () => {
    const compression = spec.compression ?? 'none';
    const tar = await renderTar(spec);
    const id = imageIdOf(tar);
    const path = join(outDir, `${id.slice('sha512-'.length, 'sha512-'.length + 32)}${SUFFIX[compression]}.aci`);
    await writeOnce(path, () => compress(tar, compression), outDir);
    return { path, id, name: spec.manifest.name, manifest: spec.manifest, compression };
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A file entry holding a file of this machine (e.g. the static probe) at `path` in the image. */
export async function hostFile(hostPath: string, path: string, mode = 0o755): Promise<FileEntry> {
  return { type: 'file', path, mode, content: await readFile(hostPath) };
}
