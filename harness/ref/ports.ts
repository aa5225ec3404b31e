// Host ports of a pod (spec/pods.md § ports, POD-PORT-*): each pod `ports` entry maps a host
// address and port to an app port (or its own podPort). ref listens on the host side itself and
// joins each connection to the pod's address on its veth (network.ts). No NAT: only what the pod
// manifest exposes is reachable from the host's addresses.
import { connect, createServer, type Server } from 'node:net';
import type { App, PodManifest } from '../aci/manifest.js';
import { RefusalError, refuse } from './errors.js';
import { isMutant } from './mutants.js';
import { joinSockets } from './sockets.js';

export interface PortMapping {
  name: string;
  /** where ref listens on the host; ref binds 127.0.0.1 when the manifest gives no hostIP */
  hostIP: string;
  hostPort: number;
  /** the port inside the pod */
  podPort: number;
}

/** The host ports of a pod: one mapping per port of a declared range (`count`). */
export function planPorts(pod: PodManifest, apps: readonly { name: string; app: App }[]): PortMapping[] {
  const appPorts = apps.flatMap(({ app }) => app.ports ?? []);
  // Port names identify ports across the whole pod (POD-PORT-003).
  const seen = new Set<string>();
  for (const { name } of appPorts) {
    if (seen.has(name) && !isMutant('accept-invalid-manifest')) refuse(`port name ${name} is declared by more than one app of the pod`);
    seen.add(name);
  }
  const out: PortMapping[] = [];
  for (const exposed of pod.ports ?? []) {
    const port = exposed.podPort ?? appPorts.find((p) => p.name === exposed.name);
    if (!port) refuse(`pod port ${exposed.name}: no app declares a port of that name`);
    if (port.protocol !== 'tcp') refuse(`pod port ${exposed.name}: protocol ${port.protocol} is not supported (tcp only)`);
    // Safer than the spec's "all addresses" when no hostIP is given: this executor is for tests.
    const hostIP = exposed.hostIP ?? '127.0.0.1';
    const count = isMutant('port-range-first-only') ? 1 : (port.count ?? 1);
    for (let i = 0; i < count; i++) {
      out.push({ name: exposed.name, hostIP, hostPort: exposed.hostPort + i, podPort: port.port + i });
    }
  }
  if (isMutant('forward-all-app-ports')) {
    // Publishes every app port at its own number, as if exposing were the default.
    for (const p of appPorts) if (!(pod.ports ?? []).some((e) => e.name === p.name)) out.push({ name: p.name, hostIP: '127.0.0.1', hostPort: p.port, podPort: p.port });
  }
  return out;
}

/** Listens on every mapping's host address; resolves with a function that closes them all. */
export async function listenHostPorts(mappings: readonly PortMapping[], podIP: string): Promise<() => Promise<void>> {
  const servers: Server[] = [];
  const closeAll = async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    for (const m of mappings) {
      if (isMutant('ports-not-forwarded')) continue;
      const server = createServer({ allowHalfOpen: true }, (down) => joinSockets(down, connect({ port: m.podPort, host: podIP, allowHalfOpen: true })));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL'
              ? new RefusalError(`pod port ${m.name}: cannot listen on ${m.hostIP}:${m.hostPort} (${err.code})`)
              : err,
          ),
        );
        server.listen(m.hostPort, m.hostIP, () => resolve());
      });
      servers.push(server);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return closeAll;
}
