// Entry point of a pod's port relay (see ports.ts): `node port-relay.js SOCKET-DIR POD-UUID PORT…`,
// started by ref inside the pod's network namespace. For each PORT it listens on the unix socket
// SOCKET-DIR/PORT.sock (the file system is the host's; only the network namespace is the pod's)
// and joins every connection to 127.0.0.1:PORT on the pod's loopback. Prints "ready" once all
// listen, and runs until ref kills it with the pod.
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { joinSockets } from './sockets.js';

function relay(downstream: Socket, port: number): void {
  joinSockets(downstream, connect(port, '127.0.0.1'));
}

async function main(): Promise<void> {
  const [dir, , ...ports] = process.argv.slice(2);
  if (!dir || ports.length === 0) throw new Error('usage: port-relay.js SOCKET-DIR POD-UUID PORT…');
  await Promise.all(
    ports.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          const port = Number(p);
          const server = createServer((s) => relay(s, port));
          server.once('error', reject);
          server.listen(join(dir, `${port}.sock`), resolve);
        }),
    ),
  );
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`port-relay: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
