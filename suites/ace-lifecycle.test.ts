// spec/aci.md § app.eventHandlers and spec/ace.md § Execution Environment: pre-start and post-stop
// handlers, in order, in the app's filesystem, with the app's environment.
import { afterAll } from 'vitest';
import { DEFAULT_PATH } from '../harness/aci/index.js';
import { parseProbeReport, type ProbeReport } from '../harness/probe/index.js';
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

let hostDir: string | undefined;
afterAll(async () => {
  if (hostDir) await session().target.remove(hostDir);
});

/**
 * pre-start leaves a marker in the rootfs and its report on a host volume; the main process reads
 * the marker and leaves one of its own on the volume; post-stop reads that and reports too.
 */
const handlersPod = podRun(['pod-manifest', 'volumes/host', 'event-handlers'], async () => {
  const { target } = session();
  hostDir = await target.makeTempDir('appc-vol-');
  const img = await image(
    await probeImage({
      name: 'handlers',
      app: {
        exec: ['/probe', 'file=/prestart-marker', 'write=/out/main-done:main'],
        eventHandlers: [
          { name: 'pre-start', exec: ['/probe', 'noreport', 'write=/prestart-marker:pre-start', 'out=/out/pre-start.json'] },
          { name: 'post-stop', exec: ['/probe', 'noreport', 'file=/out/main-done', 'file=/prestart-marker', 'out=/out/post-stop.json'] },
        ],
        mountPoints: [{ name: 'out', path: '/out' }],
      },
    }),
  );
  return {
    images: [img],
    manifest: podManifest([{ name: 'handlers', image: img, mounts: [{ volume: 'out', path: '/out' }] }], {
      volumes: [{ name: 'out', kind: 'host', source: hostDir }],
    }),
  };
});

/** A handler's report from the host volume; undefined when the handler never wrote it. */
async function handlerReport(name: 'pre-start' | 'post-stop'): Promise<ProbeReport | undefined> {
  const text = await session().target.readFile(`${hostDir}/${name}.json`).catch(() => undefined);
  const parsed = text === undefined ? undefined : parseProbeReport(text);
  return typeof parsed === 'object' ? parsed : undefined;
}
const content = (r: ProbeReport | undefined, path: string) => r?.files.find((f) => f.path === path)?.content;

describe('ACI § app.eventHandlers', () => {
  test('runs pre-start to completion before the main process starts', clauses('ACE-LIFE-001'), async ({ skip, check }) => {
    const main = (await handlersPod(skip)).report('handlers');
    check('ACE-LIFE-001', () => expect(content(main, '/prestart-marker')).toBe('pre-start'));
  });

  test('runs post-stop after the main process has ended', clauses('ACE-LIFE-002'), async ({ skip, check }) => {
    await handlersPod(skip);
    const post = await handlerReport('post-stop');
    check('ACE-LIFE-002', () => expect(post, 'post-stop left no report on the volume').toBeDefined());
    check('ACE-LIFE-002', () => expect(content(post, '/out/main-done')).toBe('main'));
  });

  test("runs handlers in the app's own filesystem", clauses('ACE-LIFE-005'), async ({ skip, check }) => {
    const main = (await handlersPod(skip)).report('handlers');
    const post = await handlerReport('post-stop');
    check('ACE-LIFE-005', () => expect(content(main, '/prestart-marker')).toBe('pre-start'));
    // Whether post-stop ran at all is ACE-LIFE-002's question; where it ran is this one's.
    if (post) check('ACE-LIFE-005', () => expect(content(post, '/prestart-marker')).toBe('pre-start'));
  });

  test('gives handlers the execution environment variables of the app', clauses('ACE-ENV-005'), async ({ skip, check }) => {
    const main = (await handlersPod(skip)).report('handlers');
    const pre = await handlerReport('pre-start');
    check('ACE-ENV-005', () => expect(pre, 'pre-start left no report on the volume').toBeDefined());
    check('ACE-ENV-005', () => expect(pre?.env.PATH).toBe(DEFAULT_PATH));
    check('ACE-ENV-005', () => expect(pre?.env.AC_APP_NAME).toBe('handlers'));
    check('ACE-ENV-005', () => expect(pre?.env.container).toBe(main.env.container));
    check('ACE-ENV-005', () => expect(pre?.env.AC_METADATA_URL).toBe(main.env.AC_METADATA_URL));
  });
});
