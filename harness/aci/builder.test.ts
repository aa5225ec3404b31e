import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalog, probeImage } from '../../fixtures/images.js';
import { actoolAvailable, actoolValidate } from './actool.js';
import { buildAci, buildStats, imageIdOf, renderTar, type ImageSpec } from './builder.js';
import { AC_VERSION } from './manifest.js';
import { ManifestError } from './validate.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aci-builder-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const small = (files: ImageSpec['files'] = []): ImageSpec => ({
  manifest: { acKind: 'ImageManifest', acVersion: AC_VERSION, name: 'example.com/test/small' },
  files: [
    { type: 'file', path: '/etc/data', content: 'hello\n', mode: 0o600, uid: 1234, gid: 5678, mtime: 1000000000 },
    { type: 'symlink', path: '/etc/link', target: '/etc/data' },
    { type: 'dir', path: '/var/empty', mode: 0o1777 },
    { type: 'file', path: '/bin/tool', content: 'x', mode: 0o4755 },
    ...files,
  ],
});

async function entries(tar: Buffer) {
  const ex = extract();
  const out: { name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string | null }[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      out.push({ name: h.name, type: h.type ?? '', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, linkname: h.linkname ?? null });
      entry.resume();
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

describe('ACI builder', () => {
  test('is deterministic: same input, same bytes, same image ID', async () => {
    const a = await renderTar(small());
    const b = await renderTar({ ...small(), files: [...small().files].reverse() });
    expect(a.equals(b)).toBe(true);
    const built1 = await buildAci(small(), join(dir, 'one'));
    const built2 = await buildAci(small(), join(dir, 'two'));
    expect(built1.id).toBe(built2.id);
    expect((await readFile(built1.path)).equals(await readFile(built2.path))).toBe(true);
  });

  test('names the image by sha512 of the uncompressed tar, also when gzipped', async () => {
    const plain = await buildAci(small(), dir);
    const gz = await buildAci({ ...small(), compression: 'gzip' }, dir);
    const tar = await readFile(plain.path);
    expect(plain.id).toBe(imageIdOf(tar));
    expect(plain.id).toMatch(/^sha512-[0-9a-f]{128}$/);
    expect(gz.id).toBe(plain.id);
    expect(gunzipSync(await readFile(gz.path)).equals(tar)).toBe(true);
    expect(gz.path.endsWith('.aci')).toBe(true);
  });

  test('reuses an image already in the cache dir, and counts builds and writes apart', async () => {
    const cache = join(dir, 'counted');
    const before = buildStats();
    const first = await buildAci({ ...small(), compression: 'gzip' }, cache);
    const again = await buildAci({ ...small(), compression: 'gzip' }, cache);
    const after = buildStats();
    expect(again.path).toBe(first.path);
    expect(after.instance).toBe(before.instance);
    expect(after.builds - before.builds).toBe(2);
    expect(after.written - before.written).toBe(1);
    expect(after.ms).toBeGreaterThan(before.ms);
  });

  test('writes rootfs first with parents before children, the manifest last, metadata as declared', async () => {
    const list = await entries(await renderTar(small()));
    expect(list[0]).toMatchObject({ name: 'rootfs', type: 'directory' });
    expect(list.at(-1)).toMatchObject({ name: 'manifest', type: 'file' });
    const names = list.map((e) => e.name);
    expect(names.indexOf('rootfs/etc')).toBeLessThan(names.indexOf('rootfs/etc/data'));
    expect(list.find((e) => e.name === 'rootfs/etc/data')).toMatchObject({ mode: 0o600, uid: 1234, gid: 5678, mtime: 1000000000 });
    expect(list.find((e) => e.name === 'rootfs/etc/link')).toMatchObject({ type: 'symlink', linkname: '/etc/data' });
    expect(list.find((e) => e.name === 'rootfs/var/empty')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(list.find((e) => e.name === 'rootfs/bin/tool')).toMatchObject({ mode: 0o4755 });
    expect(new Set(names).size).toBe(names.length);
    const tar = await renderTar(small());
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
  });

  test('refuses an invalid manifest with the field that is wrong', async () => {
    const bad = small();
    bad.manifest = { ...bad.manifest, name: 'Not_Valid' };
    await expect(buildAci(bad, dir)).rejects.toThrow(ManifestError);
    await expect(buildAci(bad, dir)).rejects.toThrow(/\/name/);
  });

  test('refuses duplicate paths and paths outside the rootfs', async () => {
    await expect(renderTar(small([{ type: 'file', path: '/etc/data', content: '' }]))).rejects.toThrow(/duplicate/);
    await expect(renderTar(small([{ type: 'file', path: '/../x', content: '' }]))).rejects.toThrow(/absolute/);
  });
});

describe.runIf(actoolAvailable())('actool validate (appc spec reference tool)', () => {
  test('accepts every catalog fixture and a gzip fixture', async () => {
    for (const spec of await catalog()) {
      const img = await buildAci(spec, dir);
      expect(await actoolValidate(img.path), spec.manifest.name).toBeUndefined();
    }
  });

  test('rejects an image whose manifest is invalid, so its acceptance means something', async () => {
    const spec = await probeImage({ name: 'probe' });
    const tar = await renderTar({ ...spec, manifest: { ...spec.manifest, acKind: 'PodManifest' as 'ImageManifest' } });
    const path = join(dir, 'bad.aci');
    await execa('sh', ['-c', `cat > ${path}`], { input: tar });
    expect(await actoolValidate(path)).toBeDefined();
  });
});
