// spec/ace.md § Execution Environment and spec/aci.md § app: what an app's main process sees.
import { DEFAULT_PATH } from '../harness/aci/index.js';
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import { probeImage, USER_DB } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const NONCE = 'appc-conformance fixture 6f1d2c';
const LITERAL = '$PATH ${HOME} $(id) `id` \\n';

/** One app with environment, working directory and argv chosen to show evaluation or its absence. */
const envPod = podRun(['pod-manifest'], async () => {
  const img = await image(
    await probeImage({
      name: 'exec-env',
      app: {
        exec: ['/probe', 'file=/etc/fixture-id', 'file=/proc/self/exe', '--', '$HOME', '${PATH}'],
        environment: [
          { name: 'APPC_TEST', value: 'ok' },
          { name: 'APPC_LITERAL', value: LITERAL },
        ],
        workingDirectory: '/work/dir',
      },
      files: [
        { type: 'dir', path: '/work/dir' },
        { type: 'file', path: '/etc/fixture-id', content: NONCE, mode: 0o640, uid: 1234, gid: 5678, mtime: 1234567890 },
      ],
    }),
  );
  return { images: [img], manifest: podManifest([{ name: 'exec-env', image: img }]) };
});

describe('ACE § Execution Environment: environment variables', () => {
  test('sets PATH to the spec default for the main process', clauses('ACE-ENV-001'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-ENV-001', () => expect(r.env.PATH).toBe(DEFAULT_PATH));
  });

  test('sets AC_APP_NAME to the app name of the pod', clauses('ACE-ENV-002'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-ENV-002', () => expect(r.env.AC_APP_NAME).toBe('exec-env'));
  });

  test('sets "container" to a non-empty executor name', clauses('ACE-ENV-004'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-ENV-004', () => expect(r.env.container ?? '').not.toBe(''));
  });

  test("passes the app's environment entries", clauses('ACE-ENV-007'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-ENV-007', () => expect(r.env.APPC_TEST).toBe('ok'));
    check('ACE-ENV-007', () => expect(r.env).toHaveProperty('APPC_LITERAL'));
  });

  test('passes environment values verbatim, without evaluation', clauses('ACE-ENV-008'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-ENV-008', () => expect(r.env.APPC_LITERAL).toBe(LITERAL));
  });
});

describe('ACI § app.exec', () => {
  test('passes exec arguments verbatim, without substitution', clauses('ACE-EXEC-004'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-EXEC-004', () => expect(r.argv.slice(-2)).toEqual(['$HOME', '${PATH}']));
    check('ACE-EXEC-004', () => expect(r.argv).toHaveLength(6));
  });

  test('runs an absolute exec[0] at that path', clauses('ACE-EXEC-003'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-EXEC-003', () => expect(r.files.find((f) => f.path === '/proc/self/exe')?.linkTarget).toBe('/probe'));
  });
});

describe('ACE § Execution Environment: working directory', () => {
  test("starts the app in its workingDirectory", clauses('ACE-WD-001'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACE-WD-001', () => expect(r.cwd).toBe('/work/dir'));
  });

  test('starts the app in / when no workingDirectory is given', clauses('ACE-WD-002'), async ({ skip, check }) => {
    // Its own pod: a failed PATH lookup elsewhere must not decide this clause.
    const r = (await defaultWdPod(skip)).report('default-wd');
    check('ACE-WD-002', () => expect(r.cwd).toBe('/'));
  });

  test('refuses to run an app whose workingDirectory does not exist', clauses('ACE-WD-004'), async ({ skip, check }) => {
    const pod = await missingWdPod(skip);
    check('ACE-WD-004', () => {
      const ran = pod.outcome.apps.find((a) => a.name === 'missing-wd');
      // Either the pod is refused, or the app fails without ever running the probe.
      expect(pod.refused || (ran !== undefined && ran.exitCode !== 0 && ran.report === undefined)).toBe(true);
    });
  });
});

const pathPod = podRun(['pod-manifest'], async () => {
  const probe = await probeImage({ name: 'path-lookup', app: { exec: ['probe', 'file=/proc/self/exe'] } });
  // A second copy of the probe in /usr/bin, found only through PATH.
  probe.files.push({ type: 'hardlink', path: '/usr/bin/probe', target: '/probe' });
  const img = await image(probe);
  return { images: [img], manifest: podManifest([{ name: 'path-lookup', image: img }]) };
});

/** An absolute exec[0] and no workingDirectory. */
const defaultWdPod = podRun(['pod-manifest'], async () => {
  const img = await image(await probeImage({ name: 'default-wd' }));
  return { images: [img], manifest: podManifest([{ name: 'default-wd', image: img }]) };
});

const missingWdPod = podRun(['pod-manifest'], async () => {
  const img = await image(await probeImage({ name: 'missing-wd', app: { workingDirectory: '/does/not/exist' } }));
  return { images: [img], manifest: podManifest([{ name: 'missing-wd', image: img }]) };
});

describe('ACI § app.exec: PATH lookup', () => {
  test('looks up an exec[0] without "/" in PATH', clauses('ACE-EXEC-001'), async ({ skip, check }) => {
    const pod = await pathPod(skip);
    // A refusal or an app that never ran fails this clause: the image has the program in PATH.
    const app = pod.refused ? undefined : pod.app('path-lookup');
    const seen = pod.refused ? `refused: ${pod.outcome.refusal}` : app!.report ? 'ran' : `no report (${app!.reportMissing}); exit ${app!.exitCode ?? app!.signal}; stderr: ${app!.stderr.trim().slice(-300)}`;
    check('ACE-EXEC-001', () => expect(app?.report?.files.find((f) => f.path === '/proc/self/exe')?.linkTarget, seen).toBe('/usr/bin/probe'));
  });
});

describe('ACI § Image Layout: the rootfs is the app\'s /', () => {
  test('shows the files of the image rootfs at /', clauses('ACI-LAYOUT-002'), async ({ skip, check }) => {
    const r = (await envPod(skip)).report('exec-env');
    check('ACI-LAYOUT-002', () => expect(r.files.find((f) => f.path === '/etc/fixture-id')?.content).toBe(NONCE));
  });

  test('keeps mode, owner and mtime of image files', clauses('ACI-ARCH-006'), async ({ skip, check }) => {
    const f = (await envPod(skip)).report('exec-env').files.find((x) => x.path === '/etc/fixture-id');
    check('ACI-ARCH-006', () => expect(f?.mode).toBe(0o640));
    check('ACI-ARCH-006', () => expect([f?.uid, f?.gid]).toEqual([1234, 5678]));
    check('ACI-ARCH-006', () => expect(f?.mtime).toBe(1234567890));
  });
});

/** One app per way of naming a user and group (spec/aci.md § app.user, app.group). */
const usersPod = podRun(['pod-manifest', 'multi-app'], async () => {
  const img = await image(await probeImage({ name: 'users', files: USER_DB }));
  const app = (user: string, group: string, supplementaryGIDs?: number[]) => ({
    exec: ['/probe'],
    user,
    group,
    ...(supplementaryGIDs ? { supplementaryGIDs } : {}),
  });
  return {
    images: [img],
    manifest: podManifest([
      { name: 'by-name', image: img, app: app('appcuser', 'appcgrp', [400, 500]) },
      { name: 'by-number', image: img, app: app('1234', '5678') },
      { name: 'numeric-name', image: img, app: app('1000', '1000') },
      { name: 'by-path', image: img, app: app('/etc/owned-by-3333', '/etc/owned-by-3333') },
    ]),
  };
});

describe('ACI § app.user and app.group', () => {
  test("resolves names through the image's /etc/passwd and /etc/group", clauses('ACE-USER-001'), async ({ skip, check }) => {
    const r = (await usersPod(skip)).report('by-name');
    check('ACE-USER-001', () => expect([r.uid, r.euid]).toEqual([4242, 4242]));
    check('ACE-USER-001', () => expect([r.gid, r.egid]).toEqual([4343, 4343]));
  });

  test('uses an all-digit value without a matching entry as the numeric id', clauses('ACE-USER-002'), async ({ skip, check }) => {
    const r = (await usersPod(skip)).report('by-number');
    check('ACE-USER-002', () => expect(r.uid).toBe(1234));
    check('ACE-USER-002', () => expect(r.gid).toBe(5678));
  });

  test('prefers a passwd/group name over the numeric reading', clauses('ACE-USER-003'), async ({ skip, check }) => {
    const r = (await usersPod(skip)).report('numeric-name');
    check('ACE-USER-003', () => expect(r.uid).toBe(4545));
    check('ACE-USER-003', () => expect(r.gid).toBe(4646));
  });

  test('takes the owner and group of a file when the value is a path', clauses('ACE-USER-004'), async ({ skip, check }) => {
    const r = (await usersPod(skip)).report('by-path');
    check('ACE-USER-004', () => expect(r.uid).toBe(3333));
    check('ACE-USER-004', () => expect(r.gid).toBe(4444));
  });

  test('gives the app its supplementaryGIDs', clauses('ACE-USER-005'), async ({ skip, check }) => {
    const r = (await usersPod(skip)).report('by-name');
    check('ACE-USER-005', () => expect(r.groups).toEqual(expect.arrayContaining([400, 500])));
  });
});
