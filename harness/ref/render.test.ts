import { lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dependency, ImageManifest } from '../aci/manifest.js';
import { RefusalError } from './errors.js';
import type { LoadedImage } from './image.js';
import { loadImage } from './image.js';
import { layerOrder, matchDependency, renderRootfs, Whitelist } from './render.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string; mode?: number; uid?: number; gid?: number };

/** A raw tar with exactly these entries (no parents added), then the manifest. */
async function rawTar(entries: Entry[], manifest: ImageManifest): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => p.on('end', () => r()));
  const add = (h: Parameters<typeof p.entry>[0], body?: string) =>
    new Promise<void>((res, rej) => {
      const cb = (e?: Error | null) => (e ? rej(e) : res());
      if (body === undefined) p.entry(h, cb);
      else p.entry(h, body, cb);
    });
  for (const e of entries) {
    const type = e.type ?? 'file';
    await add(
      { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(1_000_000_000_000), linkname: e.linkname },
      type === 'file' ? (e.body ?? '') : undefined,
    );
  }
  await add({ name: 'manifest', type: 'file', mode: 0o644 }, JSON.stringify(manifest));
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const manifest = (name: string, extra: Partial<ImageManifest> = {}): ImageManifest => ({
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name,
  ...extra,
});

function fake(name: string, deps: Dependency[] = [], pathWhitelist?: string[], labels?: Record<string, string>): LoadedImage {
  return {
    file: `${name}.aci`,
    tarPath: `${name}.tar`,
    id: `sha512-${name}`,
    manifest: manifest(name, {
      dependencies: deps,
      ...(pathWhitelist ? { pathWhitelist } : {}),
      ...(labels ? { labels: Object.entries(labels).map(([n, value]) => ({ name: n, value })) } : {}),
    }),
  };
}

describe('dependency order (ACE-FS-003/004/009)', () => {
  it('A→[B,C], C→[D] renders B, D, C, A', () => {
    const imgs = [fake('a', [{ imageName: 'b' }, { imageName: 'c' }]), fake('b'), fake('c', [{ imageName: 'd' }]), fake('d')];
    expect(layerOrder(imgs[0]!, imgs).map((l) => l.image.manifest.name)).toEqual(['b', 'd', 'c', 'a']);
  });

  it('applies a shared dependency twice: D, B, D, C, A', () => {
    const imgs = [fake('a', [{ imageName: 'b' }, { imageName: 'c' }]), fake('b', [{ imageName: 'd' }]), fake('c', [{ imageName: 'd' }]), fake('d')];
    expect(layerOrder(imgs[0]!, imgs).map((l) => l.image.manifest.name)).toEqual(['d', 'b', 'd', 'c', 'a']);
  });

  it('carries the whitelists of every image above a layer', () => {
    const imgs = [fake('a', [{ imageName: 'c' }], ['/x']), fake('c', [{ imageName: 'd' }], ['/y']), fake('d')];
    expect(layerOrder(imgs[0]!, imgs).map((l) => l.whitelists.length)).toEqual([2, 2, 1]);
  });

  it('matches name, pinned ID and labels', () => {
    const imgs = [fake('lib', [], undefined, { version: '1' }), fake('lib', [], undefined, { version: '2' })];
    expect(matchDependency({ imageName: 'lib', labels: [{ name: 'version', value: '2' }] }, imgs)).toBe(imgs[1]);
    expect(matchDependency({ imageName: 'lib', imageID: 'sha512-lib' }, imgs)).toBe(imgs[0]);
    expect(matchDependency({ imageName: 'lib', imageID: 'sha512-other' }, imgs)).toBeUndefined();
    expect(matchDependency({ imageName: 'lib', labels: [{ name: 'arch', value: 'amd64' }] }, imgs)).toBeUndefined();
  });

  it('refuses missing dependencies and cycles', () => {
    const missing = [fake('a', [{ imageName: 'nope' }])];
    expect(() => layerOrder(missing[0]!, missing)).toThrow(RefusalError);
    const cyc = [fake('a', [{ imageName: 'b' }]), fake('b', [{ imageName: 'a' }])];
    expect(() => layerOrder(cyc[0]!, cyc)).toThrow(/cycle/);
  });

  it('whitelists keep listed paths and the directories above them', () => {
    const w = new Whitelist(['/usr/bin/tool', '/etc/conf/']);
    expect(w.allows('/usr/bin/tool', false)).toBe(true);
    expect(w.allows('/usr/bin', true)).toBe(true);
    expect(w.allows('/usr/bin', false)).toBe(false);
    expect(w.allows('/etc/conf', true)).toBe(true);
    expect(w.allows('/usr/bin/other', false)).toBe(false);
  });
});

describe('rendering real archives (ACE-FS-005..008, ACI-ARCH-006)', () => {
  let dir: string;
  let n = 0;
  const image = async (name: string, entries: Entry[], extra: Partial<ImageManifest> = {}) => {
    const file = join(dir, `${name}.aci`);
    await writeFile(file, await rawTar(entries, manifest(name, extra)));
    return loadImage(file, dir, n++);
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ref-render-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('preserves modes incl. setuid, owners, mtimes and symlink targets', async () => {
    const img = await image('meta', [
      { name: 'rootfs', type: 'directory' },
      { name: 'rootfs/suid', body: 'x', mode: 0o4755, uid: 1234, gid: 5678 },
      { name: 'rootfs/sticky', type: 'directory', mode: 0o1777 },
      { name: 'rootfs/abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'rootfs/hard', type: 'link', linkname: 'rootfs/suid' },
    ]);
    const rootfs = join(dir, 'r-meta');
    await renderRootfs(layerOrder(img, [img]), rootfs);
    const st = await stat(join(rootfs, 'suid'));
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o4755, 1234, 5678, 1_000_000_000_000]);
    expect((await stat(join(rootfs, 'sticky'))).mode & 0o7777).toBe(0o1777);
    expect(await readlink(join(rootfs, 'abs'))).toBe('/etc/passwd');
    expect((await stat(join(rootfs, 'hard'))).ino).toBe(st.ino);
  });

  it('replaces a symlink where a later layer has a directory, never writing through it (ACE-FS-007/008)', async () => {
    const outside = join(dir, 'outside');
    const b = await image('b', [{ name: 'rootfs/x', type: 'symlink', linkname: outside }, { name: 'rootfs/y', type: 'symlink', linkname: outside }]);
    const c = await image('c', [
      { name: 'rootfs/x', type: 'directory' },
      { name: 'rootfs/x/file', body: 'c' },
      // no directory entry for y: its parent is still made a real directory
      { name: 'rootfs/y/file', body: 'c' },
    ]);
    const a = await image('a', [{ name: 'rootfs/who', body: 'a' }], {
      dependencies: [{ imageName: 'b' }, { imageName: 'c' }],
    });
    const rootfs = join(dir, 'r-sym');
    await renderRootfs(layerOrder(a, [a, b, c]), rootfs);
    expect((await lstat(join(rootfs, 'x'))).isDirectory()).toBe(true);
    expect((await lstat(join(rootfs, 'y'))).isDirectory()).toBe(true);
    expect(await readFile(join(rootfs, 'y/file'), 'utf8')).toBe('c');
    await expect(lstat(outside)).rejects.toThrow(/ENOENT/);
  });

  it('lets later layers overwrite earlier ones and applies whitelists per path (ACE-FS-005/006)', async () => {
    const d = await image('d', [{ name: 'rootfs/who', body: 'd' }, { name: 'rootfs/d-only', body: 'd' }, { name: 'rootfs/dir/keep', body: 'd' }]);
    const top = await image('top', [{ name: 'rootfs/who', body: 'top' }, { name: 'rootfs/dropped', body: 'top' }], {
      dependencies: [{ imageName: 'd' }],
      pathWhitelist: ['/who', '/dir/keep'],
    });
    const rootfs = join(dir, 'r-wl');
    await renderRootfs(layerOrder(top, [top, d]), rootfs);
    expect(await readFile(join(rootfs, 'who'), 'utf8')).toBe('top');
    expect(await readFile(join(rootfs, 'dir/keep'), 'utf8')).toBe('d');
    await expect(lstat(join(rootfs, 'd-only'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(rootfs, 'dropped'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses archives that leave rootfs/ or repeat entries (ACI-ARCH-003/005)', async () => {
    await expect(image('bad1', [{ name: 'README', body: 'x' }])).rejects.toThrow(/outside rootfs/);
    await expect(image('bad2', [{ name: 'rootfs/a', body: '1' }, { name: './rootfs/a', body: '2' }])).rejects.toThrow(/duplicate/);
    await expect(image('bad3', [{ name: 'rootfs/../../etc/x', body: '1' }])).rejects.toThrow(/leaves the archive|outside rootfs/);
  });
});
