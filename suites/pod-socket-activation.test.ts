// spec/aci.md § app.ports `socketActivated`: the executor passes an app already-listening sockets
// on its socket-activated ports with the sd_listen_fds protocol (ACE-PORT-003), each app its own
// (ACE-PORT-004). One pod of three apps: two with a socket-activated TCP port each, exposed through
// pod ports, and one without. The probe reports LISTEN_FDS, LISTEN_PID, its pid and every fd it
// found open at start; the two activated ones answer one connection on fd 3, which the harness makes
// through the host ports while the pod runs: the sockets are live and reach the right app.
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { readFirstLine, type TcpAnswer } from '../harness/run/tcp.js';
import type { ProbeReport, SocketActivation } from '../harness/probe/index.js';
import { HarnessError } from '../harness/run/errors.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

// How long each activated probe waits for its connection: long enough for a slow pod start.
const ACCEPT_MS = 8_000;
/** The declared ports; each app's own, so a socket of the wrong app shows as a wrong port. */
const PORT = { a: 8081, b: 8082, plain: 8083 } as const;
let hostPorts: { a: number; b: number } | undefined;

const activatedApp = (name: string, port: number, activated: boolean, exec: string[]) =>
  probeImage({
    name,
    app: { exec: ['/probe', ...exec], ports: [{ name, protocol: 'tcp', port, ...(activated ? { socketActivated: true } : {}) }] },
  });

const activationPod = podRun<Record<'a' | 'b', TcpAnswer>>(
  ['pod-manifest', 'multi-app', 'ports', 'socket-activation'],
  async () => {
    const { target } = session();
    const base = await target.freePorts(2);
    hostPorts = { a: base, b: base + 1 };
    const a = await image(await activatedApp('sockact-a', PORT.a, true, [`accept-fds=${ACCEPT_MS}`]));
    const b = await image(await activatedApp('sockact-b', PORT.b, true, [`accept-fds=${ACCEPT_MS}`]));
    // Declares a port too, without socketActivated: it must get nothing.
    const plain = await image(await activatedApp('sockact-plain', PORT.plain, false, []));
    return {
      images: [a, b, plain],
      manifest: podManifest(
        [
          { name: 'sockact-a', image: a },
          { name: 'sockact-b', image: b },
          { name: 'sockact-plain', image: plain },
        ],
        {
          ports: [
            { name: 'sockact-a', hostPort: hostPorts.a, hostIP: '127.0.0.1' },
            { name: 'sockact-b', hostPort: hostPorts.b, hostIP: '127.0.0.1' },
          ],
        },
      ),
    };
  },
  async (podEnded) => {
    // Both at once: each app waits for its own connection. Wait up to most of the pod timeout for
    // the pod to come up (not past its end); the probes' own windows start only when they run.
    const { target, config } = session();
    const deadline = Math.max(ACCEPT_MS, config.podTimeoutMs - ACCEPT_MS);
    const reach = async (port: number) => {
      const at = await target.reachable(port);
      return readFirstLine(at.host, at.port, deadline, podEnded);
    };
    const [a, b] = await Promise.all([reach(hostPorts!.a), reach(hostPorts!.b)]);
    return { a, b };
  },
);

/** What the app received; a probe built before it reported this is the harness's problem. */
function activationOf(r: ProbeReport): SocketActivation {
  if (!r.activation) throw new HarnessError('the probe report has no "activation": rebuild the probe (npm run setup)');
  return r.activation;
}

/** The fds the app got for socket activation: 3 … 3+LISTEN_FDS-1 (or none). */
const passed = (a: SocketActivation) => a.fds.filter((f) => f.fd >= 3 && f.fd < 3 + Number(a.listenFds ?? 0));

describe('ACI § app.ports socketActivated', () => {
  test('sets LISTEN_FDS to the number of sockets and LISTEN_PID to the pid of the app itself', clauses('ACE-PORT-003'), async ({ skip, check }) => {
    const r = (await activationPod(skip)).report('sockact-a');
    const a = activationOf(r);
    check('ACE-PORT-003', () => expect(a.listenFds, 'LISTEN_FDS').toBe('1'));
    // The app is not PID 1 of the pod's PID namespace: LISTEN_PID must be its own getpid().
    check('ACE-PORT-003', () => expect(a.listenPid, `LISTEN_PID (the app's pid is ${r.pid})`).toBe(String(r.pid)));
  });

  test('passes a listening TCP socket at fd 3, bound to the declared port', clauses('ACE-PORT-003'), async ({ skip, check }) => {
    const r = (await activationPod(skip)).report('sockact-a');
    const fd3 = activationOf(r).fds.find((f) => f.fd === 3);
    check('ACE-PORT-003', () =>
      expect(fd3, 'fd 3 as the app found it').toMatchObject({ type: 'socket', socketType: 'stream', listening: true, port: PORT.a }),
    );
  });

  test('the passed socket is live: a connection through the host port reaches the app on it', clauses('ACE-PORT-003'), async ({ skip, check }) => {
    const pod = await activationPod(skip);
    const r = pod.report('sockact-a');
    check('ACE-PORT-003', () => expect(pod.during?.a.line, pod.during?.a.error).toBe(`appc-probe ${PORT.a} ${r.hostname} ${r.pid}`));
  });
});

describe('ACI § app.ports socketActivated: several apps in a pod', () => {
  test("gives each socket-activated app its own sockets, bound to that app's ports", clauses('ACE-PORT-004'), async ({ skip, check }) => {
    const pod = await activationPod(skip);
    for (const [app, port] of [['sockact-a', PORT.a], ['sockact-b', PORT.b]] as const) {
      const a = activationOf(pod.report(app));
      check('ACE-PORT-004', () => expect(passed(a).map((f) => f.port), `${app}: ports of its LISTEN_FDS sockets`).toEqual([port]));
    }
    const b = pod.report('sockact-b');
    check('ACE-PORT-004', () => expect(pod.during?.b.line, pod.during?.b.error).toBe(`appc-probe ${PORT.b} ${b.hostname} ${b.pid}`));
  });

  test('gives an app without socket-activated ports no LISTEN_FDS and no sockets', clauses('ACE-PORT-004'), async ({ skip, check }) => {
    const a = activationOf((await activationPod(skip)).report('sockact-plain'));
    check('ACE-PORT-004', () => expect(a.listenFds, 'LISTEN_FDS').toBeNull());
    check('ACE-PORT-004', () => expect(a.fds.filter((f) => f.type === 'socket'), 'sockets open at start').toEqual([]));
  });
});
