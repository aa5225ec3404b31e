// The ref adapter end to end on the host target: results, refusals, our own timeout, cleanup.
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildAci } from '../aci/index.js';
import { probeImage } from '../../fixtures/images.js';
import { podManifest } from '../../fixtures/pods.js';
import { defaultConfig } from '../run/config.js';
import { HarnessError } from '../run/errors.js';
import { FIXTURE_BUILD_DIR, PROBE_BINARY, REPO_ROOT } from '../run/paths.js';
import { HostTarget } from '../target/index.js';
import { RefImplementation } from './ref-implementation.js';

const canRun = existsSync(PROBE_BINARY) && process.getuid?.() === 0;

function leftovers(): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('appc-ref'));
  const temps = readdirSync(tmpdir()).filter((n) => n.startsWith('appc-ref-run-'));
  const cgroups = readdirSync('/sys/fs/cgroup').filter((c) => existsSync(`/sys/fs/cgroup/${c}/appc-ref`));
  const links = readdirSync('/sys/class/net').filter((n) => n.startsWith('appc-ref'));
  return [...mounts, ...temps, ...cgroups.map((c) => `cgroup ${c}/appc-ref`), ...links.map((l) => `link ${l}`)];
}

beforeAll(async () => {
  if (canRun) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
});

describe.runIf(canRun)('ref adapter', () => {
  const impl = (podTimeoutMs = 60_000) => new RefImplementation(new HostTarget(), { ...defaultConfig(), podTimeoutMs });

  test('reports name and version', async () => {
    const info = await impl().info();
    expect(info).toMatchObject({ name: 'ref', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  test('runs a pod and returns exit code, output and the probe report', async () => {
    const img = await buildAci(await probeImage({ name: 'adapter', app: { exec: ['/probe', 'stderr=to-stderr', 'exit=42'] } }), FIXTURE_BUILD_DIR);
    const out = await impl().runPod({ images: [img] });
    expect(out.status).toBe('exited');
    expect(out.apps).toHaveLength(1);
    expect(out.apps[0]).toMatchObject({ exitCode: 42, stderr: 'to-stderr\n' });
    expect(out.apps[0]!.report?.argv).toEqual(['/probe', 'stderr=to-stderr', 'exit=42']);
    expect(leftovers()).toEqual([]);
  });

  test('returns a refusal (not an error) for a pod the executor declines', async () => {
    const img = await buildAci(await probeImage({ name: 'adapter' }), FIXTURE_BUILD_DIR);
    const manifest = podManifest([{ name: 'a', image: img, mounts: [{ volume: 'v', path: '/v' }] }], {
      volumes: [{ name: 'v', kind: 'host', source: '/nonexistent/appc-conformance' }],
    });
    const out = await impl().runPod({ images: [img], manifest });
    expect(out.status).toBe('refused');
    expect(out.refusal).toMatch(/nonexistent/);
    expect(leftovers()).toEqual([]);
  });

  test('ends a pod that outlives the pod timeout as a harness error and cleans up', async () => {
    const img = await buildAci(await probeImage({ name: 'adapter-sleep', app: { exec: ['/probe', 'sleep=30000'] } }), FIXTURE_BUILD_DIR);
    const started = performance.now();
    const err = await impl(1500)
      .runPod({ images: [img] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(/timed out after 1.5s/);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(leftovers()).toEqual([]);
  });
});
