// Extracting one image's rootfs/ over a directory (ACE-FS-003..008): metadata is applied the way the
// archive says (mode incl. setuid/setgid/sticky, numeric uid/gid, mtime, symlink targets verbatim),
// a later layer replaces whatever an earlier one put at the same path, and nothing is ever written
// through a symlink: a symlink where a directory is needed is replaced by a real directory.
import { execFile } from 'node:child_process';
import { createReadStream, type Stats } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import type { Header } from 'tar-stream';
import { refuse } from './errors.js';
import { isMutant } from './mutants.js';
import { normalizeEntryName } from './image.js';
import { drain, tarEntries, type Source } from './tarstream.js';

const run = promisify(execFile);

export interface ExtractOptions {
  /** whether to keep an entry, by its absolute path inside the rootfs (pathWhitelist, ACE-FS-005) */
  keep?: (path: string, isDir: boolean) => boolean;
  /** called for entries that could not be reproduced faithfully (e.g. xattrs) */
  warn?: (message: string) => void;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function makeDir(host: string): Promise<void> {
  await mkdir(host);
  await chown(host, 0, 0);
  await chmod(host, 0o755);
}

/**
 * Makes every component of `dir` (absolute, inside `root`) a real directory, creating missing ones
 * 0755 0:0 and replacing symlinks or files (ACE-FS-007/008: the link is not followed).
 */
async function realDirs(root: string, dir: string): Promise<string> {
  let cur = root;
  for (const c of dir.split('/').filter(Boolean)) {
    cur = posix.join(cur, c);
    const st = await lstatOrUndefined(cur);
    if (st?.isDirectory()) continue;
    if (st?.isSymbolicLink() && isMutant('follow-symlinks-in-rootfs')) {
      // The mutant goes where the link points, but never out of root: `..` stops at root, an
      // absolute target starts at root.
      const target = await readlink(cur);
      const inside = posix.normalize(posix.join(target.startsWith('/') ? '/' : posix.dirname(cur.slice(root.length) || '/'), target));
      cur = posix.join(root, inside);
      await mkdir(cur, { recursive: true });
      continue;
    }
    if (st) await rm(cur, { force: true });
    await makeDir(cur);
  }
  return cur;
}

/** The path of an existing entry inside root reached without any symlink, else undefined. */
async function withoutSymlinks(root: string, path: string): Promise<string | undefined> {
  let cur = root;
  for (const c of path.split('/').filter(Boolean)) {
    cur = posix.join(cur, c);
    const st = await lstatOrUndefined(cur);
    if (!st) return undefined;
    if (st.isSymbolicLink() && cur !== posix.join(root, path)) return undefined;
  }
  return cur;
}

async function writeFileEntry(host: string, entry: Source, h: Header): Promise<void> {
  const fh = await open(host, 'wx', 0o600);
  try {
    for await (const chunk of entry) await fh.write(chunk as Buffer);
    // chown before chmod: changing the owner clears setuid/setgid (ACI-ARCH-006 keeps them).
    await fh.chown(h.uid, h.gid);
    await fh.chmod(h.mode & 0o7777);
    await fh.utimes(h.mtime, h.mtime);
  } finally {
    await fh.close();
  }
}

async function mknod(host: string, h: Header): Promise<void> {
  if (h.type === 'fifo') await run('mkfifo', ['-m', (h.mode & 0o7777).toString(8), host]);
  else {
    const kind = h.type === 'block-device' ? 'b' : 'c';
    await run('mknod', ['-m', (h.mode & 0o7777).toString(8), host, kind, String(h.devmajor), String(h.devminor)]);
  }
  await lchown(host, h.uid, h.gid);
  await chmod(host, h.mode & 0o7777);
  await utimes(host, h.mtime, h.mtime);
}

/** Extracts the `rootfs/` entries of the tar at `tarPath` into `root`. */
export async function extractLayer(tarPath: string, root: string, opts: ExtractOptions = {}): Promise<void> {
  // Directory mtimes are set last, deepest first: creating children would change them again.
  const dirTimes: { host: string; mtime: Date }[] = [];
  try {
    await extractEntries(tarPath, root, opts, dirTimes);
  } catch (err) {
    if (!isMutant('lenient-tar-reader')) throw err;
  }
  for (const { host, mtime } of dirTimes.reverse()) await utimes(host, mtime, mtime);
}

const XATTR = 'SCHILY.xattr.';

function xattrsOf(h: Header): [string, string][] {
  return Object.entries((h.pax ?? {}) as Record<string, string>).filter(([k]) => k.startsWith(XATTR));
}

/** The entry's PAX SCHILY.xattr.* records as extended attributes (ACI-ARCH-006), through Debian's
 *  setfattr (Node has no xattr call); the value goes base64-encoded so any bytes survive. One that
 *  this file system will not take is a warning, not a refusal: the image is not at fault. */
async function applyXattrs(host: string, h: Header, where: string, opts: ExtractOptions): Promise<void> {
  if (isMutant('drop-xattrs')) return;
  for (const [key, value] of xattrsOf(h)) {
    const name = key.slice(XATTR.length);
    try {
      await run('setfattr', ['-h', '-n', name, '-v', `0s${Buffer.from(value, 'utf8').toString('base64')}`, host]);
    } catch (err) {
      opts.warn?.(`${where}: extended attribute ${name} not restored: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
    }
  }
}

async function extractEntries(tarPath: string, root: string, opts: ExtractOptions, dirTimes: { host: string; mtime: Date }[]): Promise<void> {
  for await (const entry of tarEntries(createReadStream(tarPath))) {
    const h = entry.header;
    const name = normalizeEntryName(h.name);
    if (name === undefined && !isMutant('accept-escaping-entries')) refuse(`${tarPath}: entry ${JSON.stringify(h.name)} leaves the archive`);
    if (name === undefined || !name.startsWith('rootfs/')) {
      await drain(entry);
      continue;
    }
    const path = '/' + name.slice('rootfs/'.length);
    const isDir = h.type === 'directory';
    if (opts.keep && !opts.keep(path, isDir)) {
      await drain(entry);
      continue;
    }
    // The real directory the entry goes in (the path itself, but for the follow-symlinks mutant).
    const host = posix.join(await realDirs(root, posix.dirname(path)), posix.basename(path));
    const existing = await lstatOrUndefined(host);
    if (isDir) {
      if (existing && !existing.isDirectory()) await rm(host, { force: true });
      if (!existing || !existing.isDirectory()) await mkdir(host);
      await chown(host, h.uid, h.gid);
      await chmod(host, h.mode & 0o7777);
      await applyXattrs(host, h, `${tarPath}: ${path}`, opts);
      dirTimes.push({ host, mtime: h.mtime });
      await drain(entry);
      continue;
    }
    // Any other entry replaces what is there, a whole directory tree included.
    if (existing) await rm(host, { force: true, recursive: true });
    switch (h.type) {
      case 'file':
      case 'contiguous-file':
        await writeFileEntry(host, entry, h);
        await applyXattrs(host, h, `${tarPath}: ${path}`, opts);
        continue;
      case 'symlink':
        // The target is kept verbatim: an absolute target resolves inside the app's root at run time.
        await symlink(h.linkname, host);
        await lchown(host, h.uid, h.gid);
        await lutimes(host, h.mtime, h.mtime);
        break;
      case 'link': {
        const target = normalizeEntryName(h.linkname);
        if ((target === undefined || !target.startsWith('rootfs/')) && isMutant('accept-escaping-entries')) {
          opts.warn?.(`${tarPath}: hard link ${path} to ${h.linkname} skipped`);
          break;
        }
        if (target === undefined || !target.startsWith('rootfs/')) {
          refuse(`${tarPath}: hard link ${name} points outside rootfs: ${h.linkname}`);
        }
        const targetHost = await withoutSymlinks(root, '/' + target.slice('rootfs/'.length));
        const st = targetHost ? await lstatOrUndefined(targetHost) : undefined;
        if (!targetHost || !st || st.isDirectory()) {
          // e.g. the target was left out by a pathWhitelist
          opts.warn?.(`${tarPath}: hard link ${path} skipped, target ${h.linkname} not extracted`);
          break;
        }
        await link(targetHost, host);
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await mknod(host, h);
        break;
      default:
        opts.warn?.(`${tarPath}: ${path}: unsupported entry type ${String(h.type)} skipped`);
    }
    // Links and special files: user.* attributes are not allowed on them (xattr(7)).
    if (xattrsOf(h).length > 0) opts.warn?.(`${tarPath}: ${path}: extended attributes of a ${String(h.type)} are not restored`);
    await drain(entry);
  }
}
