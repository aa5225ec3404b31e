// spec/pods.md § Pod Manifest Schema and what an executor does with it; spec/ace.md § Pod UUID and
// § Volume Setup (what the pod manifest's volumes and mounts turn into).
import { afterAll } from 'vitest';
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

/** Three apps from one image; the first overrides the image's app section. */
const threeApps = podRun(['pod-manifest', 'multi-app'], async () => {
  const img = await image(
    await probeImage({
      name: 'pod-apps',
      app: {
        exec: ['/probe', 'stdout=from-image'],
        environment: [{ name: 'FROM_IMAGE', value: '1' }],
        mountPoints: [{ name: 'new', path: '/new/dir/target' }],
      },
    }),
  );
  return {
    images: [img],
    manifest: podManifest(
      [
        {
          name: 'override',
          image: img,
          app: { exec: ['/probe', 'file=/new', 'file=/new/dir'], user: '0', group: '0', environment: [{ name: 'FROM_POD', value: '1' }] },
          mounts: [{ volume: 'scratch', path: '/new/dir/target' }],
        },
        { name: 'second', image: img },
        { name: 'third', image: img },
      ],
      { volumes: [{ name: 'scratch', kind: 'empty' }] },
    ),
  };
});

describe('Pods § apps', () => {
  test('launches every app listed in the pod manifest', clauses('POD-CTX-008'), async ({ skip, check }) => {
    const pod = await threeApps(skip);
    for (const name of ['override', 'second', 'third']) {
      check('POD-CTX-008', () => expect(pod.outcome.apps.find((a) => a.name === name)?.report, name).toBeDefined());
    }
  });

  test("replaces the image's app section with the pod's app object", clauses('POD-APP-006'), async ({ skip, check }) => {
    const r = (await threeApps(skip)).report('override');
    check('POD-APP-006', () => expect(r.env.FROM_POD).toBe('1'));
    check('POD-APP-006', () => expect(r.env).not.toHaveProperty('FROM_IMAGE'));
    check('POD-APP-006', () => expect(r.argv.slice(1)).toEqual(['file=/new', 'file=/new/dir']));
  });

  test('gives the pod an RFC 4122 UUID', clauses('ACE-UUID-001'), async ({ skip, check }) => {
    const { uuid } = (await threeApps(skip)).outcome;
    if (uuid === undefined) skip(`unsupported: the ${session().impl.name} adapter does not report pod UUIDs`);
    check('ACE-UUID-001', () => expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/));
  });
});

describe('ACE § Volume Setup', () => {
  test('creates a missing mount target with its parents', clauses('ACE-VOL-002'), async ({ skip, check }) => {
    const r = (await threeApps(skip)).report('override');
    check('ACE-VOL-002', () => expect(r.mounts.some((m) => m.mountPoint === '/new/dir/target')).toBe(true));
  });

  test('creates missing target directories owned by 0:0 with mode 0755', clauses('ACE-VOL-007'), async ({ skip, check }) => {
    const r = (await threeApps(skip)).report('override');
    for (const path of ['/new', '/new/dir']) {
      check('ACE-VOL-007', () => expect(r.files.find((f) => f.path === path)).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 }));
    }
  });

  let parent: string | undefined;
  afterAll(async () => {
    if (parent) await session().target.remove(parent);
  });
  const missingSource = podRun(['pod-manifest', 'volumes/host'], async () => {
    const img = await image(await probeImage({ name: 'missing-source' }));
    // Below a directory of ours, so that an executor that creates the source leaves nothing behind.
    parent = await session().target.makeTempDir('appc-vol-');
    return {
      images: [img],
      manifest: podManifest([{ name: 'missing-source', image: img, mounts: [{ volume: 'gone', path: '/data' }] }], {
        volumes: [{ name: 'gone', kind: 'host', source: `${parent}/missing` }],
      }),
    };
  });

  test('refuses a host volume whose source does not exist', clauses('ACE-VOL-010'), async ({ skip, check }) => {
    const pod = await missingSource(skip);
    check('ACE-VOL-010', () => {
      const app = pod.outcome.apps.find((a) => a.name === 'missing-source');
      // Refused, or the app fails without ever running the probe.
      expect(pod.refused || (app !== undefined && app.exitCode !== 0 && app.report === undefined)).toBe(true);
    });
  });

  test('leaves the missing source missing on the host', clauses('ACE-VOL-009'), async ({ skip, check }) => {
    await missingSource(skip);
    const made = (await session().target.exec(['test', '-e', `${parent}/missing`])).exitCode === 0;
    check('ACE-VOL-009', () => expect(made, `${parent}/missing (the missing source) exists after the pod`).toBe(false));
  });
});

/** userAnnotations and userLabels that look like runtime settings; they are the user's notes only. */
const userDataPod = podRun(['pod-manifest'], async () => {
  const img = await image(await probeImage({ name: 'user-data', app: { exec: ['/probe', 'write=/writable'] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'user-data', image: img }], {
      userAnnotations: { exec: '/bin/false', user: '4242', AC_APP_NAME: 'spoofed', 'os/linux/no-new-privileges': 'true' },
      userLabels: { os: 'freebsd', arch: 's390x', readOnlyRootFS: 'true' },
    }),
  };
});

describe('Pods § userAnnotations and userLabels', () => {
  test('runs the pod as if they were absent', clauses('POD-USR-002', 'POD-USR-004'), async ({ skip, check }) => {
    const r = (await userDataPod(skip)).report('user-data');
    check('POD-USR-002', () => expect({ argv: r.argv, uid: r.uid, app: r.env.AC_APP_NAME, nnp: r.noNewPrivs }).toEqual({ argv: ['/probe', 'write=/writable'], uid: 0, app: 'user-data', nnp: 0 }));
    check('POD-USR-002', () => expect(Object.keys(r.env).filter((k) => ['exec', 'user', 'os', 'arch'].includes(k))).toEqual([]));
    check('POD-USR-004', () => expect(r.writes.find((w) => w.path === '/writable')?.ok, 'the rootfs stays writable').toBe(true));
  });
});
