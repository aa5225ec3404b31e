// Entry point of a pod's metadata service (see mds.ts): `node mds-server.js PORT POD-UUID`, started by ref
// inside the pod's network namespace with its configuration (MdsConfig, JSON) on stdin. Listens on
// 127.0.0.1:PORT, prints "ready" once it does, and runs until ref kills it with the pod.
import { createServer, request } from 'node:http';
import { setPriority } from 'node:os';
import { mdsHandler, type MdsConfig } from './mds.js';
import { setMutant } from './mutants.js';

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  let input = '';
  for await (const chunk of process.stdin) input += (chunk as Buffer).toString('utf8');
  const config = JSON.parse(input) as MdsConfig;
  setMutant(config.mutant);
  const handle = mdsHandler(config);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=us-ascii' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  server.on('error', (err) => {
    process.stderr.write(`mds: ${err.message}\n`);
    process.exit(1);
  });
  // Clients may give the service little time (the spec's ACE validator waits 100 ms per request)
  // while the pod's own apps keep the CPUs busy: run ahead of them, and answer one request to
  // ourselves before saying ready so the first real one does not pay for warming up.
  try {
    setPriority(process.pid, -10);
  } catch {
    // not permitted (not root): normal priority still works, only with less margin
  }
  server.listen(port, '127.0.0.1', () => {
    const warm = request({ host: '127.0.0.1', port, path: '/warm-up/acMetadata/v1/pod/uuid' }, (res) => {
      res.resume();
      res.on('end', () => process.stdout.write('ready\n'));
    });
    warm.on('error', () => process.stdout.write('ready\n'));
    warm.end();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`mds: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
