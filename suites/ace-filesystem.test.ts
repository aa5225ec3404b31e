// spec/ace.md § Filesystem Setup: the rendered rootfs (dependencies, read-only root) and
// spec/ace.md § Logging.
import { randomBytes } from 'node:crypto';
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import { layerImage, probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const rootfsPod = podRun(['pod-manifest', 'multi-app'], async () => {
  const img = await image(await probeImage({ name: 'rootfs-rw', app: { exec: ['/probe', 'write=/written-by-app', 'file=/'] } }));
  return {
    images: [img],
    manifest: podManifest([
      { name: 'read-only', image: img, readOnlyRootFS: true },
      { name: 'read-write', image: img },
    ]),
  };
});

describe('ACE § Filesystem Setup: read-only root', () => {
  test('mounts the rootfs read-only with readOnlyRootFS and read-write without', clauses('ACE-FS-002'), async ({ skip, check }) => {
    const pod = await rootfsPod(skip);
    const [ro, rw] = [pod.report('read-only'), pod.report('read-write')];
    check('ACE-FS-002', () => expect(ro.writes[0]).toMatchObject({ ok: false, error: 'EROFS' }));
    check('ACE-FS-002', () => expect(rw.writes[0]?.ok).toBe(true));
  });
});

/** top depends on first, then second; both dependencies ship /shared, and each its own marker. */
const layersPod = podRun(['pod-manifest'], async () => {
  const file = (path: string, content: string) => ({ type: 'file' as const, path, content });
  const first = await image(layerImage('layer-first', [file('/layers/first', 'first'), file('/shared', 'first'), file('/who', 'first')]));
  const second = await image(layerImage('layer-second', [file('/layers/second', 'second'), file('/shared', 'second'), file('/who', 'second')]));
  const top = await image(
    await probeImage({
      name: 'layers-top',
      app: { exec: ['/probe', 'file=/layers/first', 'file=/layers/second', 'file=/shared', 'file=/who'] },
      files: [file('/who', 'top')],
      dependencies: [{ imageName: first.name }, { imageName: second.name }],
    }),
  );
  return { images: [top, first, second], manifest: podManifest([{ name: 'layers', image: top }]) };
});

describe('ACE § Filesystem Setup: dependencies', () => {
  const content = (files: { path: string; content?: string }[], path: string) => files.find((f) => f.path === path)?.content;

  test('extracts every dependency into the rootfs', clauses('ACE-FS-003'), async ({ skip, check }) => {
    const r = (await layersPod(skip)).report('layers');
    check('ACE-FS-003', () => expect(content(r.files, '/layers/first')).toBe('first'));
    check('ACE-FS-003', () => expect(content(r.files, '/layers/second')).toBe('second'));
  });

  test("extracts the image's own rootfs over its dependencies", clauses('ACE-FS-004'), async ({ skip, check }) => {
    const r = (await layersPod(skip)).report('layers');
    check('ACE-FS-004', () => expect(content(r.files, '/who')).toBe('top'));
  });

  test('lets a later dependency overwrite a path of an earlier one', clauses('ACE-FS-006'), async ({ skip, check }) => {
    const r = (await layersPod(skip)).report('layers');
    check('ACE-FS-006', () => expect(content(r.files, '/shared')).toBe('second'));
  });
});

const NONCE = randomBytes(6).toString('hex');
const logPod = podRun([], async () => ({
  images: [await image(await probeImage({ name: 'logging', app: { exec: ['/probe', `stdout=out-${NONCE}`, `stderr=err-${NONCE}`] } }), { cached: false })],
}));

describe('ACE § Logging', () => {
  test("captures the app's stdout and stderr", clauses('ACE-LOG-002'), async ({ skip, check }) => {
    const app = (await logPod(skip)).outcome.apps[0];
    check('ACE-LOG-002', () => expect(app?.stdout).toContain(`out-${NONCE}\n`));
    check('ACE-LOG-002', () => expect(app?.stderr).toContain(`err-${NONCE}\n`));
  });
});

/** The same image run twice, one pod after the other: the first run leaves a file behind. */
const firstRun = podRun([], async () => ({
  images: [await image(await probeImage({ name: 'clean-copy', app: { exec: ['/probe', 'file=/left-behind', 'write=/left-behind:first run'] } }))],
}));
const secondRun = podRun([], async () => ({
  images: [await image(await probeImage({ name: 'clean-copy', app: { exec: ['/probe', 'file=/left-behind', 'write=/left-behind:first run'] } }))],
}));

describe('ACE § Filesystem Setup: every execution', () => {
  test('starts each execution of an app from a clean copy of its filesystem', clauses('ACE-FS-010'), async ({ skip, check }) => {
    const first = (await firstRun(skip)).report('clean-copy');
    check('ACE-FS-010', () => expect(first.writes.find((w) => w.path === '/left-behind')?.ok).toBe(true));
    const second = (await secondRun(skip)).report('clean-copy');
    check('ACE-FS-010', () => expect(second.files.find((f) => f.path === '/left-behind')?.exists).toBe(false));
  });
});

const layerFile = (path: string, content: string) => ({ type: 'file' as const, path, content });

/**
 * The spec's second example: A→[B,C], B→[D], C→[D] renders D, B, D, C, A. D is applied again
 * after B, so its /order wins over B's; C comes after that second D, so C's /cd wins over D's.
 */
const sharedDepPod = podRun(['pod-manifest'], async () => {
  const d = await image(layerImage('order-d', [layerFile('/order', 'D'), layerFile('/cd', 'D')]));
  const b = await image(layerImage('order-b', [layerFile('/order', 'B')], { dependencies: [{ imageName: d.name }] }));
  const c = await image(layerImage('order-c', [layerFile('/cd', 'C')], { dependencies: [{ imageName: d.name }] }));
  const a = await image(
    await probeImage({ name: 'order-a', app: { exec: ['/probe', 'file=/order', 'file=/cd'] }, dependencies: [{ imageName: b.name }, { imageName: c.name }] }),
  );
  return { images: [a, b, c, d], manifest: podManifest([{ name: 'order', image: a }]) };
});

/** pathWhitelist of the top image filters its own files and those of its dependency. */
const whitelistPod = podRun(['pod-manifest'], async () => {
  const dep = await image(layerImage('whitelist-dep', [layerFile('/dep-kept', 'dep'), layerFile('/dep-dropped', 'dep')]));
  const files = ['/kept', '/dropped', '/dep-kept', '/dep-dropped'];
  const spec = await probeImage({
    name: 'whitelist-top',
    app: { exec: ['/probe', ...files.map((f) => `file=${f}`)] },
    files: [layerFile('/kept', 'top'), layerFile('/dropped', 'top')],
    dependencies: [{ imageName: dep.name }],
  });
  const filtered = await image({ ...spec, manifest: { ...spec.manifest, pathWhitelist: ['/probe', '/kept', '/dep-kept'] } });
  return { images: [filtered, dep], manifest: podManifest([{ name: 'whitelist', image: filtered }]) };
});

/** A dependency ships /dir as a symlink to /elsewhere; the image above ships a real /dir. */
const symlinkPod = podRun(['pod-manifest'], async () => {
  const dep = await image(
    layerImage('symlink-dep', [
      { type: 'dir', path: '/elsewhere' },
      { type: 'symlink', path: '/dir', target: '/elsewhere' },
    ]),
  );
  const top = await image(
    await probeImage({
      name: 'symlink-top',
      app: { exec: ['/probe', 'file=/dir', 'file=/dir/file', 'file=/elsewhere/file'] },
      files: [{ type: 'dir', path: '/dir' }, layerFile('/dir/file', 'top')],
      dependencies: [{ imageName: dep.name }],
    }),
  );
  return { images: [top, dep], manifest: podManifest([{ name: 'symlink', image: top }]) };
});

describe('ACE § Filesystem Setup: rendering rules', () => {
  const content = (files: { path: string; content?: string }[], path: string) => files.find((f) => f.path === path)?.content;

  test('applies a shared dependency once per path, in the order of the spec example', clauses('ACE-FS-009'), async ({ skip, check }) => {
    const r = (await sharedDepPod(skip)).report('order');
    check('ACE-FS-009', () => expect({ order: content(r.files, '/order'), cd: content(r.files, '/cd') }).toEqual({ order: 'D', cd: 'C' }));
  });

  // The same rule from both sides: the executor's rendering (ace.md) and the manifest's meaning (aci.md).
  test("removes every path the image's pathWhitelist does not list, also from its dependencies", clauses('ACE-FS-005', 'ACI-MAN-005'), async ({ skip, check }) => {
    const r = (await whitelistPod(skip)).report('whitelist');
    const exists = (path: string) => r.files.find((f) => f.path === path)?.exists;
    check(['ACE-FS-005', 'ACI-MAN-005'], () => expect({ kept: exists('/kept'), depKept: exists('/dep-kept') }).toEqual({ kept: true, depKept: true }));
    check(['ACE-FS-005', 'ACI-MAN-005'], () => expect({ dropped: exists('/dropped'), depDropped: exists('/dep-dropped') }).toEqual({ dropped: false, depDropped: false }));
  });

  test('replaces a symlink of a lower layer by the directory of a higher one, without following it', clauses('ACE-FS-007', 'ACE-FS-008'), async ({ skip, check }) => {
    const r = (await symlinkPod(skip)).report('symlink');
    const file = (path: string) => r.files.find((f) => f.path === path);
    check('ACE-FS-007', () => expect(file('/elsewhere/file')?.exists, 'the file did not land behind the link').toBe(false));
    check('ACE-FS-008', () => expect(file('/dir')?.type).toBe('dir'));
    check('ACE-FS-008', () => expect(content(r.files, '/dir/file')).toBe('top'));
  });
});
