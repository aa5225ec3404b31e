// spec/pods.md § volumes, spec/ace.md § Volume Setup and spec/aci.md § app.mountPoints.
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { HarnessError } from '../harness/run/errors.js';
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { locateMount } from '../harness/target/mount-locator.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const NONCE = randomBytes(8).toString('hex');
let hostDir: string | undefined;

afterAll(async () => {
  if (hostDir) await session().target.remove(hostDir);
});

/** A host directory with a nonce file, mounted read-write, read-only by the volume, and read-only by
 *  the image's mountPoint; plus an empty volume with its own mode and owner. */
const volumesPod = podRun(['pod-manifest', 'volumes/host', 'volumes/empty'], async () => {
  const { target } = session();
  hostDir = await target.makeTempDir('appc-vol-');
  // One directory per volume, so that a write wrongly allowed in one cannot show up in another.
  await target.exec(['mkdir', `${hostDir}/rw`, `${hostDir}/ro`, `${hostDir}/ro2`]);
  await target.writeFile(`${hostDir}/rw/nonce`, NONCE);
  const img = await image(
    await probeImage({
      name: 'volumes',
      app: {
        exec: [
          '/probe',
          'file=/rw/nonce',
          'write=/rw/from-app:written',
          'write=/ro-volume/from-app',
          'write=/ro-mountpoint/from-app',
          'file=/scratch',
          'write=/scratch/from-app',
        ],
        mountPoints: [
          { name: 'rw', path: '/rw' },
          { name: 'ro-volume', path: '/ro-volume' },
          { name: 'ro-mountpoint', path: '/ro-mountpoint', readOnly: true },
          { name: 'scratch', path: '/scratch' },
        ],
      },
    }),
  );
  return {
    images: [img],
    manifest: podManifest(
      [
        {
          name: 'volumes',
          image: img,
          mounts: [
            { volume: 'host-rw', path: '/rw' },
            { volume: 'host-ro', path: '/ro-volume' },
            { volume: 'host-rw2', path: '/ro-mountpoint' },
            { volume: 'scratch', path: '/scratch' },
          ],
        },
      ],
      {
        volumes: [
          { name: 'host-rw', kind: 'host', source: `${hostDir}/rw` },
          { name: 'host-ro', kind: 'host', source: `${hostDir}/ro`, readOnly: true },
          { name: 'host-rw2', kind: 'host', source: `${hostDir}/ro2` },
          { name: 'scratch', kind: 'empty', mode: '0770', uid: 1234, gid: 5678 },
        ],
      },
    ),
  };
});

describe('Pods § volumes: host volumes', () => {
  test('shows the host directory of a host volume at the mount path', clauses('POD-VOL-006', 'ACE-VOL-001', 'POD-CTX-006'), async ({ skip, check }) => {
    const r = (await volumesPod(skip)).report('volumes');
    check(['POD-VOL-006', 'ACE-VOL-001', 'POD-CTX-006'], () => expect(r.files.find((f) => f.path === '/rw/nonce')?.content).toBe(NONCE));
  });

  test('makes writes through a read-write host volume visible on the host', clauses('POD-VOL-006'), async ({ skip, check }) => {
    const r = (await volumesPod(skip)).report('volumes');
    check('POD-VOL-006', () => expect(r.writes.find((w) => w.path === '/rw/from-app')?.ok).toBe(true));
    const onHost = await session().target.readFile(`${hostDir}/rw/from-app`).catch(() => undefined);
    check('POD-VOL-006', () => expect(onHost).toBe('written'));
  });

  test('mounts a volume marked readOnly read-only', clauses('POD-VOL-002'), async ({ skip, check }) => {
    const r = (await volumesPod(skip)).report('volumes');
    check('POD-VOL-002', () => expect(r.writes.find((w) => w.path === '/ro-volume/from-app')).toMatchObject({ ok: false, error: 'EROFS' }));
  });

  test("mounts a read-only mountPoint read-only although the volume is read-write", clauses('ACE-MNT-001'), async ({ skip, check }) => {
    const r = (await volumesPod(skip)).report('volumes');
    check('ACE-MNT-001', () => expect(r.writes.find((w) => w.path === '/ro-mountpoint/from-app')).toMatchObject({ ok: false, error: 'EROFS' }));
    const mount = r.mounts.find((m) => m.mountPoint === '/ro-mountpoint');
    check('ACE-MNT-001', () => expect(mount?.options).toContain('ro'));
  });
});

describe('Pods § volumes: empty volumes', () => {
  test('gives an empty volume the requested mode and owner', clauses('POD-VOL-010', 'POD-VOL-011'), async ({ skip, check }) => {
    const scratch = (await volumesPod(skip)).report('volumes').files.find((f) => f.path === '/scratch');
    check('POD-VOL-010', () => expect(scratch?.mode).toBe(0o770));
    check('POD-VOL-011', () => expect([scratch?.uid, scratch?.gid]).toEqual([1234, 5678]));
  });

  test('starts an empty volume empty and writable', clauses('POD-VOL-004'), async ({ skip, check }) => {
    const r = (await volumesPod(skip)).report('volumes');
    check('POD-VOL-004', () => expect(r.files.find((f) => f.path === '/scratch')?.entries).toEqual([]));
    check('POD-VOL-004', () => expect(r.writes.find((w) => w.path === '/scratch/from-app')?.ok).toBe(true));
  });
});

/** POD-VOL-005: an empty volume's directory on the target, found while the pod runs, is gone after it. */
const LIFETIME_MARKER = `appc-marker-${randomBytes(6).toString('hex')}`;
/** How long the app keeps the pod alive after writing the marker: the harness looks meanwhile. */
const LIFETIME_HOLD_MS = 5_000;
const lifetimePod = podRun(
  ['pod-manifest', 'volumes/empty'],
  async () => {
    const img = await image(
      await probeImage({
        name: 'volume-lifetime',
        app: { exec: ['/probe', `write=/keep/${LIFETIME_MARKER}:alive`, `sleep=${LIFETIME_HOLD_MS}`], mountPoints: [{ name: 'keep', path: '/keep' }] },
      }),
      { cached: false },
    );
    return {
      images: [img],
      manifest: podManifest([{ name: 'keeper', image: img, mounts: [{ volume: 'keep', path: '/keep' }] }], {
        volumes: [{ name: 'keep', kind: 'empty' }],
      }),
    };
  },
  async (podEnded) => {
    const { target } = session();
    while (!podEnded.aborted) {
      const found = await locateMount(target, '/keep', LIFETIME_MARKER);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  },
);

describe('Pods § volumes: empty volume lifetime', () => {
  test("removes an empty volume's directory with the pod", clauses('POD-VOL-005'), async ({ skip, check }) => {
    const pod = await lifetimePod(skip);
    check('POD-VOL-005', () => expect(pod.report('keeper').writes.find((w) => w.path === `/keep/${LIFETIME_MARKER}`)?.ok).toBe(true));
    const dir = pod.during;
    if (dir === undefined) {
      return skip("the empty volume's directory could not be seen from the target while the pod ran (it may live only inside the pod's own mount namespace or a VM)");
    }
    const { target } = session();
    const left = (await target.exec(['test', '-e', dir])).exitCode === 0;
    // A leaked directory directly in the temp dir is removed here, so a failing run leaves the machine clean.
    if (left && /^\/tmp\/appc-[^/]+$/.test(dir)) await target.remove(dir);
    check('POD-VOL-005', () => expect(left, `${dir} (the volume's directory while the pod ran) still exists after the pod`).toBe(false));
  });
});

/** A host source with a tmpfs mounted below it, shared recursively by default and not with recursive: false. */
let nestedRoot: string | undefined;
let nestedMounted = false;
afterAll(async () => {
  if (nestedMounted) await session().target.exec(['umount', `${nestedRoot}/src/sub`]);
  if (nestedRoot) await session().target.remove(nestedRoot);
});

const recursivePod = podRun(['pod-manifest', 'volumes/host'], async () => {
  const { target } = session();
  nestedRoot = await target.makeTempDir('appc-vol-');
  await target.exec(['mkdir', '-p', `${nestedRoot}/src/sub`]);
  const mounted = await target.exec(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'appc-conformance', `${nestedRoot}/src/sub`]);
  if (mounted.exitCode !== 0) throw new HarnessError(`cannot mount a tmpfs below the volume source: ${mounted.stderr.trim()}`);
  nestedMounted = true;
  await target.writeFile(`${nestedRoot}/src/sub/inner`, NONCE);
  const img = await image(
    await probeImage({
      name: 'recursive',
      app: {
        exec: ['/probe', 'file=/default/sub/inner', 'file=/non-recursive/sub/inner', 'file=/non-recursive/sub'],
        mountPoints: [
          { name: 'default', path: '/default' },
          { name: 'non-recursive', path: '/non-recursive' },
        ],
      },
    }),
  );
  return {
    images: [img],
    manifest: podManifest(
      [
        {
          name: 'recursive',
          image: img,
          mounts: [
            { volume: 'default', path: '/default' },
            { volume: 'non-recursive', path: '/non-recursive' },
          ],
        },
      ],
      {
        volumes: [
          { name: 'default', kind: 'host', source: `${nestedRoot}/src` },
          { name: 'non-recursive', kind: 'host', source: `${nestedRoot}/src`, recursive: false },
        ],
      },
    ),
  };
});

describe('Pods § volumes: recursive', () => {
  test('mounts a host volume recursively when recursive is not given', clauses('POD-VOL-008'), async ({ skip, check }) => {
    const r = (await recursivePod(skip)).report('recursive');
    check('POD-VOL-008', () => expect(r.files.find((f) => f.path === '/default/sub/inner')?.content).toBe(NONCE));
  });

  test('does not carry mounts below the source with recursive: false', clauses('POD-VOL-009'), async ({ skip, check }) => {
    const r = (await recursivePod(skip)).report('recursive');
    check('POD-VOL-009', () => expect(r.files.find((f) => f.path === '/non-recursive/sub/inner')?.exists).toBe(false));
    check('POD-VOL-009', () => expect(r.files.find((f) => f.path === '/non-recursive/sub')?.type).toBe('dir'));
  });
});

/** A mount with its own inline volume (appVolume), named like no volume of the pod. */
const inlinePod = podRun(['pod-manifest', 'volumes/empty'], async () => {
  const img = await image(await probeImage({ name: 'inline-volume', app: { exec: ['/probe', 'file=/inline', 'write=/inline/x'] } }));
  return {
    images: [img],
    manifest: podManifest([
      { name: 'inline', image: img, mounts: [{ volume: 'inline-only', path: '/inline', appVolume: { name: 'inline-only', kind: 'empty', mode: '0710', uid: 0, gid: 0 } }] },
    ]),
  };
});

describe('Pods § apps: mounts with an inline appVolume', () => {
  test('mounts the inline appVolume instead of looking the name up in the pod volumes', clauses('POD-APP-010'), async ({ skip, check }) => {
    const pod = await inlinePod(skip);
    // A pod that names no volume "inline-only" is valid only through the inline appVolume.
    check('POD-APP-010', () => expect(pod.refused ? pod.outcome.refusal : 'ran').toBe('ran'));
    const r = pod.report('inline');
    check('POD-APP-010', () => expect(r.mounts.some((m) => m.mountPoint === '/inline')).toBe(true));
    check('POD-APP-010', () => expect(r.files.find((f) => f.path === '/inline')).toMatchObject({ type: 'dir', mode: 0o710 }));
    check('POD-APP-010', () => expect(r.writes.find((w) => w.path === '/inline/x')?.ok).toBe(true));
  });
});

// ace.md § Volume Setup and pods.md § apps[].mounts: what an executor should do (SHOULD / SHOULD NOT).
// Each behaviour gets a pod of its own, so one recommendation not followed decides no other.

/** Host directories of the pods below (a nonce file each; symlinks to them), removed at the end. */
let shouldRoot: string | undefined;
afterAll(async () => {
  if (shouldRoot) await session().target.remove(shouldRoot);
});
async function shouldDir(name: string): Promise<string> {
  const { target } = session();
  shouldRoot ??= await target.makeTempDir('appc-vol-');
  const dir = `${shouldRoot}/${name}`;
  await target.exec(['mkdir', '-p', dir]);
  await target.writeFile(`${dir}/nonce`, NONCE);
  return dir;
}
/** Refused, or the app failed without ever running the probe: how a pod "treated as an error" ends. */
const treatedAsError = (pod: { refused: boolean; outcome: { apps: { name: string; exitCode: number | null; report?: unknown }[] } }, app: string) => {
  const a = pod.outcome.apps.find((x) => x.name === app);
  return pod.refused || (a !== undefined && a.exitCode !== 0 && a.report === undefined);
};
const ranOrRefusal = (pod: { refused: boolean; outcome: { refusal?: string } }) => (pod.refused ? `refused: ${pod.outcome.refusal}` : 'ran');

/** POD-APP-009: the mountPoint "data" at /data, a mount at /data of another volume, and an empty
 *  volume that is named "data" as well: the mount at the path must win. */
const byPathPod = podRun(['pod-manifest', 'volumes/host', 'volumes/empty'], async () => {
  const dir = await shouldDir('by-path');
  const img = await image(await probeImage({ name: 'mount-by-path', app: { exec: ['/probe', 'file=/data/nonce'], mountPoints: [{ name: 'data', path: '/data' }] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'by-path', image: img, mounts: [{ volume: 'from-host', path: '/data' }] }], {
      volumes: [
        { name: 'from-host', kind: 'host', source: dir },
        { name: 'data', kind: 'empty' },
      ],
    }),
  };
});

/** ACE-VOL-003, -005: the image has /data/old; an empty volume goes over /data. */
const maskPod = podRun(['pod-manifest', 'volumes/empty'], async () => {
  const img = await image(
    await probeImage({
      name: 'masked-target',
      app: { exec: ['/probe', 'file=/data/old', 'file=/data'], mountPoints: [{ name: 'data', path: '/data' }] },
      files: [{ type: 'file', path: '/data/old', content: 'from the image\n', mode: 0o644 }],
    }),
  );
  return { images: [img], manifest: podManifest([{ name: 'masked', image: img, mounts: [{ volume: 'over', path: '/data' }] }], { volumes: [{ name: 'over', kind: 'empty' }] }) };
});

/** ACE-VOL-004: the image has a file where the volume goes. */
const fileTargetPod = podRun(['pod-manifest', 'volumes/empty'], async () => {
  const img = await image(
    await probeImage({
      name: 'file-target',
      app: { exec: ['/probe', 'file=/datafile', 'write=/datafile/from-app'], mountPoints: [{ name: 'data', path: '/datafile' }] },
      files: [{ type: 'file', path: '/datafile', content: 'a file, not a directory\n', mode: 0o644 }],
    }),
  );
  return { images: [img], manifest: podManifest([{ name: 'file-target', image: img, mounts: [{ volume: 'over', path: '/datafile' }] }], { volumes: [{ name: 'over', kind: 'empty' }] }) };
});

/** ACE-VOL-006: mountPoints and mounts at /nest and /nest/inner. */
const nestedPod = podRun(['pod-manifest', 'volumes/empty'], async () => {
  const img = await image(
    await probeImage({
      name: 'nested-targets',
      app: { mountPoints: [{ name: 'outer', path: '/nest' }, { name: 'inner', path: '/nest/inner' }] },
    }),
  );
  return {
    images: [img],
    manifest: podManifest(
      [{ name: 'nested', image: img, mounts: [{ volume: 'outer', path: '/nest' }, { volume: 'inner', path: '/nest/inner' }] }],
      { volumes: [{ name: 'outer', kind: 'empty' }, { name: 'inner', kind: 'empty' }] },
    ),
  };
});

/** ACE-VOL-013, -014: a host volume whose source is a symlink to a directory with a nonce. */
const symlinkSourcePod = podRun(['pod-manifest', 'volumes/host'], async () => {
  const dir = await shouldDir('symlink-target');
  const link = `${shouldRoot}/symlink-source`;
  await session().target.exec(['ln', '-sfn', dir, link]);
  const img = await image(await probeImage({ name: 'symlink-source', app: { exec: ['/probe', 'file=/data/nonce'], mountPoints: [{ name: 'data', path: '/data' }] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'symlink-source', image: img, mounts: [{ volume: 'linked', path: '/data' }] }], { volumes: [{ name: 'linked', kind: 'host', source: link }] }),
  };
});

/** ACE-VOL-015: a host volume source below a symlinked directory. */
const symlinkParentPod = podRun(['pod-manifest', 'volumes/host'], async () => {
  const dir = await shouldDir('real-parent/sub');
  const link = `${shouldRoot}/linked-parent`;
  await session().target.exec(['ln', '-sfn', dir.replace(/\/sub$/, ''), link]);
  const img = await image(await probeImage({ name: 'symlink-parent', app: { exec: ['/probe', 'file=/data/nonce'], mountPoints: [{ name: 'data', path: '/data' }] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'symlink-parent', image: img, mounts: [{ volume: 'below-link', path: '/data' }] }], {
      volumes: [{ name: 'below-link', kind: 'host', source: `${link}/sub` }],
    }),
  };
});

describe('Pods § apps: mounts fulfil mountPoints by path', () => {
  test("fulfils a mountPoint with the mount at its path, not a volume of the mountPoint's name", clauses('POD-APP-009'), async ({ skip, check }) => {
    const pod = await byPathPod(skip);
    check('POD-APP-009', () => expect(ranOrRefusal(pod)).toBe('ran'));
    check('POD-APP-009', () => expect(pod.report('by-path').files.find((f) => f.path === '/data/nonce')?.content, 'the host volume mounted at /data').toBe(NONCE));
  });
});

describe('ACE § Volume Setup: what an executor should do with mount targets', () => {
  test("hides what the image has in a target directory under the volume", clauses('ACE-VOL-003'), async ({ skip, check }) => {
    const pod = await maskPod(skip);
    check('ACE-VOL-003', () => expect(pod.report('masked').files.find((f) => f.path === '/data/old')?.exists, "the image's /data/old under the volume").toBe(false));
    check('ACE-VOL-003', () => expect(pod.report('masked').files.find((f) => f.path === '/data')?.entries).toEqual([]));
  });

  test('tells the user when a volume hides files of the image', clauses('ACE-VOL-005'), async ({ skip, check }) => {
    const pod = await maskPod(skip);
    const messages = pod.outcome.messages;
    if (messages === undefined) return skip("unsupported: the adapter passes on none of the implementation's own messages (PodOutcome.messages), so what it told its user cannot be seen");
    check('ACE-VOL-005', () => expect(messages, "the implementation's own output for a pod whose volume hides the image's /data").toContain('/data'));
  });

  test('replaces a file at the target path with a directory for the volume', clauses('ACE-VOL-004'), async ({ skip, check }) => {
    const pod = await fileTargetPod(skip);
    check('ACE-VOL-004', () => expect(ranOrRefusal(pod)).toBe('ran'));
    const r = pod.report('file-target');
    check('ACE-VOL-004', () => expect(r.files.find((f) => f.path === '/datafile')?.type).toBe('dir'));
    check('ACE-VOL-004', () => expect(r.mounts.some((m) => m.mountPoint === '/datafile')).toBe(true));
    check('ACE-VOL-004', () => expect(r.writes.find((w) => w.path === '/datafile/from-app')?.ok).toBe(true));
  });

  test('treats nested volume targets as an error', clauses('ACE-VOL-006'), async ({ skip, check }) => {
    const pod = await nestedPod(skip);
    check('ACE-VOL-006', () => expect(treatedAsError(pod, 'nested'), 'a pod with volumes at /nest and /nest/inner').toBe(true));
  });
});

describe('ACE § Volume Setup: symlinked host volume sources', () => {
  test('treats a host volume source that is a symlink as an error', clauses('ACE-VOL-013'), async ({ skip, check }) => {
    const pod = await symlinkSourcePod(skip);
    check('ACE-VOL-013', () => expect(treatedAsError(pod, 'symlink-source'), 'a pod whose host volume source is a symlink').toBe(true));
  });

  test("does not mount a symlinked source's target as the volume", clauses('ACE-VOL-014'), async ({ skip, check }) => {
    const pod = await symlinkSourcePod(skip);
    const r = pod.refused ? undefined : pod.outcome.apps.find((a) => a.name === 'symlink-source')?.report;
    check('ACE-VOL-014', () => expect(r?.files.find((f) => f.path === '/data/nonce')?.content, "what the symlink points to, seen at /data").not.toBe(NONCE));
  });

  test('treats a host volume source below a symlinked directory as an error', clauses('ACE-VOL-015'), async ({ skip, check }) => {
    const pod = await symlinkParentPod(skip);
    check('ACE-VOL-015', () => expect(treatedAsError(pod, 'symlink-parent'), 'a pod whose host volume source passes through a symlink').toBe(true));
  });
});
