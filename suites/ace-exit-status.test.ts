// Exit status. The spec is silent on exit codes; FN-EXIT-* are this suite's functional
// requirements (an executor that loses exit codes cannot be tested or operated).
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const exitPod = (code: number) =>
  podRun(['app-exit-status'], async () => ({
    images: [await image(await probeImage({ name: `exit-${code}`, app: { exec: ['/probe', `exit=${code}`] } }))],
  }));

const CODES = [0, 1, 42, 255];
const singles = new Map(CODES.map((code) => [code, exitPod(code)]));

describe('Exit status of a single-app pod', () => {
  test.for(CODES)('reports exit code %i of the app', clauses('FN-EXIT-001'), async (code, { skip, check }) => {
    const pod = await singles.get(code)!(skip);
    const [app, ...others] = pod.outcome.apps;
    check('FN-EXIT-001', () => expect(others).toHaveLength(0));
    check('FN-EXIT-001', () => expect(app?.exitCode).toBe(code));
    // The probe's report proves the app really ran: an exit code alone is not evidence.
    check('FN-EXIT-001', () => expect(app?.report?.argv).toContain(`exit=${code}`));
  });
});

const multiPod = podRun(['pod-manifest', 'multi-app', 'app-exit-status'], async () => {
  const img = await image(await probeImage({ name: 'exit-multi' }));
  const app = (code: number, delayMs: number) => ({ exec: ['/probe', `sleep=${delayMs}`, `exit=${code}`], user: '0', group: '0' });
  return {
    images: [img],
    manifest: podManifest([
      { name: 'first', image: img, app: app(3, 0) },
      { name: 'second', image: img, app: app(7, 300) },
      { name: 'third', image: img, app: app(0, 150) },
    ]),
  };
});

describe('Exit status of a multi-app pod', () => {
  test('reports each app with its own exit code', clauses('FN-EXIT-002'), async ({ skip, check }) => {
    const pod = await multiPod(skip);
    check('FN-EXIT-002', () => expect(pod.app('first').exitCode).toBe(3));
    check('FN-EXIT-002', () => expect(pod.app('second').exitCode).toBe(7));
    check('FN-EXIT-002', () => expect(pod.app('third').exitCode).toBe(0));
  });
});
