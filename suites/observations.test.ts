// Where the spec is silent (appc-clauses.md § 10): what happens to the other apps when one exits,
// what a failing pre-start handler does, which DNS and host files an app finds, the hostname. These
// tests judge nothing: they record what the implementation did, so implementations can be compared.
import { describe, image, podRun, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const exitPod = podRun(['pod-manifest', 'multi-app'], async () => {
  const img = await image(await probeImage({ name: 'observe-exit' }));
  return {
    images: [img],
    manifest: podManifest([
      { name: 'quick', image: img, app: { exec: ['/probe', 'exit=3'], user: '0', group: '0' } },
      { name: 'slow', image: img, app: { exec: ['/probe', 'sleep=2000'], user: '0', group: '0' } },
    ]),
  };
});

const preStartPod = podRun(['pod-manifest', 'event-handlers'], async () => {
  const img = await image(
    await probeImage({
      name: 'observe-prestart',
      app: {
        exec: ['/probe'],
        eventHandlers: [
          { name: 'pre-start', exec: ['/probe', 'noreport', 'exit=1'] },
          { name: 'post-stop', exec: ['/probe', 'noreport', 'stdout=post-stop ran'] },
        ],
      },
    }),
  );
  return { images: [img], manifest: podManifest([{ name: 'prestart-fails', image: img }]) };
});

const FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname'];
const filesPod = podRun([], async () => ({
  images: [await image(await probeImage({ name: 'observe-files', app: { exec: ['/probe', ...FILES.map((f) => `file=${f}`)] } }))],
}));

const brief = (s: string | undefined) => (s === undefined ? 'absent' : JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s));

describe('Observations: spec-silent behaviour', () => {
  test('what happens to the other apps of a pod when one app exits', async ({ skip, observe }) => {
    const pod = await exitPod(skip);
    const slow = pod.outcome.apps.find((a) => a.name === 'slow');
    observe('other app after one exited with 3', slow?.report ? `ran to its end (exit ${slow.exitCode ?? slow.signal})` : `stopped early (exit ${slow?.exitCode ?? slow?.signal ?? 'unknown'})`);
    observe('pod duration', `${(pod.outcome.durationMs / 1000).toFixed(1)}s`);
  });

  test('what a failing pre-start handler does to its app', async ({ skip, observe }) => {
    const pod = await preStartPod(skip);
    if (pod.refused) return observe('pod', `refused: ${pod.outcome.refusal}`);
    const app = pod.outcome.apps[0];
    observe('main process', app?.report ? 'ran' : 'did not run');
    observe('app exit status', String(app?.exitCode ?? app?.signal ?? 'none'));
    observe('post-stop handler', app?.stdout.includes('post-stop ran') ? 'ran' : 'did not run (or its output was not captured)');
  });

  test('which DNS and host files an app finds, and its hostname', async ({ skip, observe }) => {
    const pod = await filesPod(skip);
    const r = pod.report(pod.outcome.apps[0]?.name ?? 'none');
    for (const path of FILES) observe(path, brief(r.files.find((f) => f.path === path)?.content));
    observe('hostname', r.hostname);
  });
});
