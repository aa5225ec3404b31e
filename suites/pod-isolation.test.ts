// spec/pods.md § App Container Pods and spec/ace.md § Network Setup: what the apps of a pod share,
// and what separates pods.
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';
import { HarnessError } from '../harness/run/errors.js';
import type { ProbeReport } from '../harness/probe/index.js';

/** A namespace of a command the target runs: the target's own, which no pod may share. They live as
 *  long as the target, so they compare with a pod's at any time. */
async function targetNamespace(kind: 'pid' | 'ipc' | 'uts' | 'net'): Promise<string> {
  const r = await session().target.exec(['readlink', `/proc/self/ns/${kind}`], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new HarnessError(`cannot read the target's ${kind} namespace: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Two apps that stay alive together for a while: namespace inode numbers are reused once a
 *  namespace is gone, so identities are only comparable between processes alive at the same time.
 *  Each app reads the kernel's uptime before and after its pause, which shows the overlap. */
const pod = podRun(['pod-manifest', 'multi-app'], async () => {
  const img = await image(await probeImage({ name: 'isolation', app: { exec: ['/probe', 'file=/proc/uptime', 'sleep=1500', 'file=/proc/uptime'] } }));
  return { images: [img], manifest: podManifest([{ name: 'app-a', image: img }, { name: 'app-b', image: img }]) };
});

/** Two single-app pods started together (one test asks for both: they share its slot), compared only
 *  when their lifetimes overlapped. The pause covers the spread of their starts: rkt's host flavor,
 *  four pods at a time on 2 cores, started one of a pair more than 2 s after the other. */
const PAIR_PAUSE_MS = 4000;
const pairImage = async () =>
  image(await probeImage({ name: 'isolation-pair', app: { exec: ['/probe', 'file=/proc/uptime', `sleep=${PAIR_PAUSE_MS}`, 'file=/proc/uptime'] } }));
const podA = podRun([], async () => ({ images: [await pairImage()] }));
const podB = podRun([], async () => ({ images: [await pairImage()] }));

/** The probe reports of the pair, alive at the same time. An implementation that runs one pod at a
 *  time cannot show two (unsupported); pods started together that still did not overlap say the
 *  machine was too slow for the pause: the harness's problem, not the implementation's. */
async function pairReports(skip: (note: string) => never): Promise<[ProbeReport, ProbeReport]> {
  if (session().impl.concurrentPods === false) skip('unsupported: the implementation runs one pod at a time, so two pods cannot be compared alive');
  const [p, q] = await Promise.all([podA(skip), podB(skip)]);
  const [a, b] = [p.outcome.apps[0]?.report, q.outcome.apps[0]?.report];
  if (!a || !b) throw new Error(`a pod gave no probe report: ${p.outcome.apps[0]?.reportMissing ?? q.outcome.apps[0]?.reportMissing}`);
  if (!overlapped(a, b)) {
    const span = (r: ProbeReport) => lifetime(r.files).join('–');
    throw new HarnessError(
      `the two pods, started together, did not run at the same time (uptime ${span(a)} s and ${span(b)} s), so their namespaces cannot be compared: the machine was too slow for the apps' ${PAIR_PAUSE_MS} ms pause`,
    );
  }
  return [a, b];
}

function lifetime(files: { path: string; content?: string }[]): [number, number] {
  const [start, end] = files.filter((f) => f.path === '/proc/uptime').map((f) => Number.parseFloat(f.content ?? 'NaN'));
  return [start ?? NaN, end ?? NaN];
}

/** Whether two probe reports were taken while both processes were alive (namespaces read at the end). */
function overlapped(a: { files: { path: string; content?: string }[] }, b: { files: { path: string; content?: string }[] }): boolean {
  const [[a0, a1], [b0, b1]] = [lifetime(a.files), lifetime(b.files)];
  return a0 < b1 && b0 < a1;
}

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
    const [a, b] = [p.report('app-a'), p.report('app-b')];
    if (!overlapped(a, b)) skip('unsupported: the apps of the pod did not run at the same time, so their namespaces cannot be compared');
    check('ACE-FS-001', () => expect(a.namespaces.mnt).not.toBe(b.namespaces.mnt));
  });

  test('separates pods from each other: no shared network namespace', clauses('POD-CTX-002'), async ({ skip, check }) => {
    const [a, b] = await pairReports(skip);
    check('POD-CTX-002', () => expect(a.namespaces.net).not.toBe(b.namespaces.net));
  });

  test('separates pods from each other: no shared PID, IPC or UTS namespace', clauses('POD-CTX-001', 'POD-CTX-003', 'POD-CTX-004'), async ({ skip, check }) => {
    const [a, b] = await pairReports(skip);
    check('POD-CTX-001', () => expect(a.namespaces.pid).not.toBe(b.namespaces.pid));
    check('POD-CTX-003', () => expect(a.namespaces.ipc).not.toBe(b.namespaces.ipc));
    check('POD-CTX-004', () => expect(a.namespaces.uts).not.toBe(b.namespaces.uts));
  });

  test("separates a pod's PID, IPC and UTS namespaces from the target's own", clauses('POD-CTX-001', 'POD-CTX-003', 'POD-CTX-004'), async ({ skip, check }) => {
    const r = (await pod(skip)).report('app-a');
    const [pid, ipc, uts] = await Promise.all([targetNamespace('pid'), targetNamespace('ipc'), targetNamespace('uts')]);
    check('POD-CTX-001', () => expect(r.namespaces.pid).not.toBe(pid));
    check('POD-CTX-003', () => expect(r.namespaces.ipc).not.toBe(ipc));
    check('POD-CTX-004', () => expect(r.namespaces.uts).not.toBe(uts));
  });

  test("separates a pod's network namespace from the target's own", clauses('POD-CTX-002'), async ({ skip, check }) => {
    const p = await pod(skip);
    const net = await targetNamespace('net');
    check('POD-CTX-002', () => expect(p.report('app-a').namespaces.net).not.toBe(net));
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
