// Entry point of a pod's metadata service (see mds.ts): `node mds-server.js PORT POD-UUID`, started by ref
// inside the pod's network namespace with its configuration (MdsConfig, JSON) on stdin. Listens on
// 127.0.0.1:PORT, prints "ready" once it does, and runs until ref kills it with the pod.
import { createServer } from 'node:http';
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
  server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`mds: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
