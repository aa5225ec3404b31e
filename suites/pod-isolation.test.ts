// spec/pods.md § App Container Pods and spec/ace.md § Network Setup: what the apps of a pod share,
// and what separates pods.
import { readlinkSync } from 'node:fs';
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const twoApps = () =>
  podRun(['pod-manifest', 'multi-app'], async () => {
    const img = await image(await probeImage({ name: 'isolation' }));
    return { images: [img], manifest: podManifest([{ name: 'app-a', image: img }, { name: 'app-b', image: img }]) };
  });
const pod = twoApps();
const otherPod = twoApps();

describe('Pods § App Container Pods: shared namespaces', () => {
  test('runs all apps of a pod in one network namespace', clauses('POD-CTX-002'), async ({ skip, check }) => {
    const p = await pod(skip);
    const [a, b] = [p.report('app-a'), p.report('app-b')];
    check('POD-CTX-002', () => expect(a.namespaces.net).not.toBeNull());
    check('POD-CTX-002', () => expect(a.namespaces.net).toBe(b.namespaces.net));
  });

  test('runs all apps of a pod in one PID namespace', clauses('POD-CTX-001'), async ({ skip, check }) => {
    const p = await pod(skip);
    check('POD-CTX-001', () => expect(p.report('app-a').namespaces.pid).toBe(p.report('app-b').namespaces.pid));
  });

  test('runs all apps of a pod in one IPC namespace', clauses('POD-CTX-003'), async ({ skip, check }) => {
    const p = await pod(skip);
    check('POD-CTX-003', () => expect(p.report('app-a').namespaces.ipc).toBe(p.report('app-b').namespaces.ipc));
  });

  test('gives all apps of a pod one UTS namespace and hostname', clauses('POD-CTX-004'), async ({ skip, check }) => {
    const p = await pod(skip);
    const [a, b] = [p.report('app-a'), p.report('app-b')];
    check('POD-CTX-004', () => expect(a.namespaces.uts).toBe(b.namespaces.uts));
    check('POD-CTX-004', () => expect(a.hostname).toBe(b.hostname));
  });

  test('gives each app its own mount namespace and filesystem', clauses('ACE-FS-001'), async ({ skip, check }) => {
    const p = await pod(skip);
    check('ACE-FS-001', () => expect(p.report('app-a').namespaces.mnt).not.toBe(p.report('app-b').namespaces.mnt));
  });

  test('separates pods from each other: no shared network namespace', clauses('POD-CTX-002'), async ({ skip, check }) => {
    const [p, q] = [await pod(skip), await otherPod(skip)];
    check('POD-CTX-002', () => expect(p.report('app-a').namespaces.net).not.toBe(q.report('app-a').namespaces.net));
  });

  test("separates a pod's network namespace from the harness's", clauses('POD-CTX-002'), async ({ skip, check }) => {
    if (session().config.target !== 'host') skip('host: compares with the harness process, which shares a kernel only with the host target');
    const p = await pod(skip);
    check('POD-CTX-002', () => expect(p.report('app-a').namespaces.net).not.toBe(readlinkSync('/proc/self/ns/net')));
  });
});

describe('ACE § Network Setup', () => {
  test('gives the pod a loopback interface that is up with 127.0.0.1', clauses('ACE-NET-001'), async ({ skip, check }) => {
    const lo = (await pod(skip)).report('app-a').interfaces.find((i) => i.loopback);
    check('ACE-NET-001', () => expect(lo?.up).toBe(true));
    check('ACE-NET-001', () => expect(lo?.addresses).toContain('127.0.0.1'));
  });

  test('gives every interface at least one address', clauses('ACE-NET-003'), async ({ skip, check }) => {
    const interfaces = (await pod(skip)).report('app-a').interfaces;
    check('ACE-NET-003', () => expect(interfaces.length).toBeGreaterThan(0));
    for (const i of interfaces) check('ACE-NET-003', () => expect(i.addresses, `interface ${i.name}`).not.toHaveLength(0));
  });
});
