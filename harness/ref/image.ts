// Loading an App Container Image archive (spec/aci.md § Image Archives, § Image ID): decompress by
// magic bytes, hash the uncompressed tar (the image ID), check the layout, read the manifest.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ImageManifest } from '../aci/manifest.js';
import { InfraError, refuse, RefusalError, messageOf } from './errors.js';
import { drain, readBody, tarEntries } from './tarstream.js';
import { isMutant } from './mutants.js';
import { checkImageManifest } from './validate.js';

export interface LoadedImage {
  /** the archive as given on the command line */
  file: string;
  /** an uncompressed tar of the image: the file itself, or a decompressed copy in the scratch dir */
  tarPath: string;
  /** "sha512-" + hex sha512 of the uncompressed tar (ACI-ID-001) */
  id: string;
  manifest: ImageManifest;
}

type Compression = 'none' | 'gzip' | 'bzip2' | 'xz';

export function detectCompression(magic: Uint8Array): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic[0] === 0x42 && magic[1] === 0x5a && magic[2] === 0x68) return 'bzip2';
  if ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00].every((b, i) => magic[i] === b)) return 'xz';
  return 'none';
}

async function readMagic(file: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    refuse(`cannot read image ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
  }
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** bzip2 and xz go through the host tools, as the reference implementation does for xz. */
function externalDecompressor(tool: string, file: string): { stream: Readable; done: Promise<void> } {
  const child = spawn(tool, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new InfraError(`cannot run ${tool} to decompress ${file}: ${err.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new RefusalError(`${tool} failed on ${file}: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
  // A refused archive stops reading early; the decompressor's failure then must not go unhandled.
  done.catch(() => undefined);
  return { stream: child.stdout, done };
}

/** Entry name without "./" and trailing "/"; undefined when it tries to leave the archive. */
export function normalizeEntryName(name: string): string | undefined {
  let n = name.replace(/^(\.\/)+/, '');
  if (n.startsWith('/')) return undefined;
  n = posix.normalize(n);
  if (n === '.' || n === '..' || n.startsWith('../')) return undefined;
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * Loads one image. A compressed image is decompressed once into `scratchDir` so that every app
 * renders from the same bytes that were hashed.
 */
export async function loadImage(file: string, scratchDir: string, index: number): Promise<LoadedImage> {
  const compression = detectCompression(await readMagic(file));
  let input: Readable;
  let decompressorDone: Promise<void> = Promise.resolve();
  if (compression === 'gzip') input = createReadStream(file).pipe(createGunzip());
  else if (compression === 'bzip2' || compression === 'xz') {
    const d = externalDecompressor(compression, file);
    input = d.stream;
    decompressorDone = d.done;
  } else input = createReadStream(file);

  const hash = createHash('sha512');
  let copy: WriteStream | undefined;
  const tarPath = compression === 'none' ? file : join(scratchDir, `image-${index}.tar`);
  if (compression !== 'none') copy = createWriteStream(tarPath, { mode: 0o600 });
  const tap = async (chunk: Buffer) => {
    hash.update(chunk);
    if (copy && !copy.write(chunk)) await new Promise<void>((r) => copy!.once('drain', () => r()));
  };

  let manifestText: string | undefined;
  const seen = new Set<string>();
  let entries = 0;
  let sawRootfs = false;
  try {
    for await (const entry of tarEntries(input, tap)) {
      entries++;
      const h = entry.header;
      const name = normalizeEntryName(h.name);
      if (name === undefined) {
        // The mutant leaves such entries out (extract.ts skips them too) instead of refusing the image.
        if (isMutant('accept-escaping-entries')) {
          await drain(entry);
          continue;
        }
        refuse(`${file}: entry ${JSON.stringify(h.name)} leaves the archive (ACI-ARCH-005)`);
      }
      if (h.type === 'link' && !isMutant('accept-escaping-entries')) {
        const target = normalizeEntryName(h.linkname);
        if (target === undefined || !target.startsWith('rootfs/')) refuse(`${file}: hard link ${name} points outside rootfs: ${h.linkname} (ACI-ARCH-005)`);
      }
      const lax = isMutant('lax-archive-layout');
      if (seen.has(name) && !lax) refuse(`${file}: duplicate entry ${name} (ACI-ARCH-003)`);
      seen.add(name);
      if (name === 'manifest') {
        if (h.type !== 'file' && !lax) refuse(`${file}: manifest is not a regular file (ACI-ARCH-004)`);
        manifestText = (await readBody(entry, 1 << 20)).toString('utf8');
        continue;
      }
      if (name === 'rootfs') {
        if (h.type !== 'directory' && !lax) refuse(`${file}: rootfs is not a directory (ACI-ARCH-004)`);
        sawRootfs = true;
      } else if (name.startsWith('rootfs/')) {
        sawRootfs = true;
      } else if (!lax) {
        refuse(`${file}: ${name} is outside rootfs/ (ACI-ARCH-005)`);
      }
      await drain(entry);
    }
    await decompressorDone;
  } catch (err) {
    if (err instanceof RefusalError || err instanceof InfraError) throw err;
    // The mutant takes whatever entries came before the archive broke off.
    if (!(isMutant('lenient-tar-reader') && entries > 0)) refuse(`${file}: not a valid image archive: ${messageOf(err)}`);
  } finally {
    if (copy) await new Promise<void>((resolve) => copy!.end(resolve));
  }
  if (entries === 0) refuse(`${file}: not a tar archive (ACI-ARCH-002)`);
  if (manifestText === undefined) refuse(`${file}: no manifest (ACI-LAYOUT-001)`);
  if (!sawRootfs && !isMutant('lax-archive-layout')) refuse(`${file}: no rootfs (ACI-LAYOUT-001)`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch (err) {
    refuse(`${file}: manifest is not valid JSON: ${messageOf(err)}`);
  }
  checkImageManifest(manifest, file);
  let id = `sha512-${hash.digest('hex')}`;
  if (isMutant('id-of-archive-file')) id = `sha512-${createHash('sha512').update(await readFile(file)).digest('hex')}`;
  if (isMutant('short-image-id')) id = id.slice(0, 'sha512-'.length + 64);
  return { file, tarPath, id, manifest };
}
