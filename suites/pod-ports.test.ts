// spec/pods.md § ports and spec/aci.md § app.ports: a pod's ports reach its apps from the host.
// The harness connects to 127.0.0.1 on the host ports while the pod runs; the probe inside answers
// with its port and hostname, which proves the connection reached the pod.
import { clauses, describe, expect, hostPort, image, podRun, session, test } from '../harness/run/conformance.js';
import { readFirstLine, type TcpAnswer } from '../harness/run/tcp.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

// Long enough for a slow pod start, short enough that a pod whose ports never open ends well
// inside the pod timeout (three listens in a row).
const LISTEN_MS = 8_000;
let hostPorts: { http: number; range: number; alt: number } | undefined;

/** How long the probe listens on a port the pod does not expose, and how long the harness tries it. */
const HIDDEN_LISTEN_MS = 4_000;
const HIDDEN_PORT = 7070;

/** The probe listens on 8080, then 9001 (the second port of the range 9000-9001), then 9100 (a
 *  podPort), then 7070: declared by the image, forwarded by no pod port. */
const portsPod = podRun<Record<'http' | 'range' | 'alt' | 'hidden', TcpAnswer>>(
  ['pod-manifest', 'ports'],
  async () => {
    const { target } = session();
    const base = await target.freePorts(4);
    hostPorts = { http: base, range: base + 1, alt: base + 3 };
    const img = await image(
      await probeImage({
        name: 'ports',
        app: {
          exec: ['/probe', `listen-ms=${LISTEN_MS}`, 'listen=8080', 'listen=9001', 'listen=9100', `listen-ms=${HIDDEN_LISTEN_MS}`, `listen=${HIDDEN_PORT}`],
          ports: [
            { name: 'http', protocol: 'tcp', port: 8080 },
            { name: 'hidden', protocol: 'tcp', port: HIDDEN_PORT },
            { name: 'range', protocol: 'tcp', port: 9000, count: 2 },
          ],
        },
      }),
    );
    return {
      images: [img],
      manifest: podManifest([{ name: 'ports', image: img }], {
        ports: [
          { name: 'http', hostPort: hostPorts.http, hostIP: '127.0.0.1' },
          { name: 'range', hostPort: hostPorts.range, hostIP: '127.0.0.1' },
          { name: 'alt', hostPort: hostPorts.alt, hostIP: '127.0.0.1', podPort: { name: 'alt', protocol: 'tcp', port: 9100 } },
        ],
      }),
    };
  },
  async (podEnded) => {
    // In the order the probe listens; each waits for the pod to come up or the previous port to close.
    const { target } = session();
    const reach = async (port: number, deadlineMs = LISTEN_MS) => {
      const at = await target.reachable(port);
      return readFirstLine(at.host, at.port, deadlineMs, podEnded);
    };
    // The first port opens once the pod has started, which takes an implementation with a
    // system-level init (rkt's host flavor) many seconds on a loaded machine: wait up to most of
    // the pod timeout for it. The probe's own listen window starts only when it runs.
    const http = await reach(hostPorts!.http, Math.max(LISTEN_MS, session().config.podTimeoutMs - 3 * LISTEN_MS));
    const range = await reach(hostPorts!.range + 1);
    const alt = await reach(hostPorts!.alt);
    // The probe now listens on the hidden port; try it on the host at its own number meanwhile.
    const at = await target.reachable(HIDDEN_PORT);
    const hidden = await readFirstLine(at.host, at.port, HIDDEN_LISTEN_MS - 1_000);
    return { http, range, alt, hidden };
  },
  // The harness tries the hidden port at its own number on the host: no other pod may forward it meanwhile.
  { resources: [hostPort(HIDDEN_PORT)] },
);

describe('Pods § ports', () => {
  test('forwards a host port to the app port of the same name', clauses('POD-PORT-001', 'POD-PORT-002'), async ({ skip, check }) => {
    const pod = await portsPod(skip);
    const hostname = pod.report('ports').hostname;
    check(['POD-PORT-001', 'POD-PORT-002'], () => expect(pod.during?.http.line, pod.during?.http.error).toBe(`appc-probe 8080 ${hostname}`));
  });

  test('forwards every port of a range, in order', clauses('ACI-APP-016', 'POD-PORT-001'), async ({ skip, check }) => {
    const pod = await portsPod(skip);
    const hostname = pod.report('ports').hostname;
    check(['ACI-APP-016', 'POD-PORT-001'], () => expect(pod.during?.range.line, pod.during?.range.error).toBe(`appc-probe 9001 ${hostname}`));
  });

  test("forwards to a podPort given in the pod manifest", clauses('POD-PORT-006'), async ({ skip, check }) => {
    const pod = await portsPod(skip);
    const hostname = pod.report('ports').hostname;
    check('POD-PORT-006', () => expect(pod.during?.alt.line, pod.during?.alt.error).toBe(`appc-probe 9100 ${hostname}`));
  });
});

describe('Pods § ports: what is not exposed', () => {
  test('does not forward an app port that no pod port names', clauses('POD-PORT-001'), async ({ skip, check }) => {
    const pod = await portsPod(skip);
    const r = pod.report('ports');
    // The probe did listen on it (and nobody came): the harness tried while it listened.
    check('POD-PORT-001', () => expect(r.errors).toContain(`listen ${HIDDEN_PORT}: no connection`));
    check('POD-PORT-001', () => expect(pod.during?.hidden.line ?? '', 'an answer from the app on the host').not.toBe(`appc-probe ${HIDDEN_PORT} ${r.hostname}`));
  });
});
