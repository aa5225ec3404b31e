// The guest agent: runs inside a VM (or any machine the harness drives from outside) under Node,
// with Node's built-ins only, and serves the protocol of protocol.ts on one TCP port. Every
// connection must open with the run's token. Started by the guest's init (guest/build-guest.sh).
//   node agent.js --port PORT [--host ADDRESS] --token-file FILE
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freeLocalPorts, localFacts } from './local.js';
import type { Answer, ErrorKind, ExecAnswer, Hello, Request } from './protocol.js';

const KILL_GRACE_MS = 5_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

class AgentError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The commands one connection has running, by request id: how each is stopped early. */
type Running = Map<number, () => void>;

function run(req: Extract<Request, { op: 'exec' }>, running: Running): Promise<ExecAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const [file, ...args] = req.argv;
    if (file === undefined) return reject(new AgentError('protocol', 'exec: empty command'));
    const child = spawn(file, args, { cwd: req.cwd, env: { ...process.env, ...req.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const collect = (into: Buffer[]) => (d: Buffer) => {
      size += d.length;
      if (size <= MAX_OUTPUT) into.push(d);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    let killer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (killer) return;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    running.set(req.id, stop);
    const timer =
      req.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, req.timeoutMs);
    const settled = () => {
      running.delete(req.id);
      clearTimeout(timer);
      clearTimeout(killer);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      settled();
      reject(new AgentError('spawn', `${file}: ${e.code ?? e.message}`));
    });
    child.once('close', (code, signal) => {
      settled();
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('base64'),
        stderr: Buffer.concat(err).toString('base64'),
        timedOut,
        durationMs: performance.now() - started,
      });
    });
  });
}

async function fsOp<T>(what: string, path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw new AgentError('fs', `${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function handle(req: Request, running: Running): Promise<unknown> {
  switch (req.op) {
    case 'exec':
      return run(req, running);
    case 'cancel':
      // A command that has ended already is not an error: the cancel crossed its answer.
      running.get(req.exec)?.();
      return null;
    case 'mkdtemp':
      return fsOp('mkdtemp', req.prefix, () => mkdtemp(join(tmpdir(), req.prefix)));
    case 'writeFile':
      return fsOp('write', req.path, () => writeFile(req.path, Buffer.from(req.data, 'base64')));
    case 'readFile':
      return fsOp('read', req.path, async () => (await readFile(req.path)).toString('base64'));
    case 'remove':
      return fsOp('remove', req.path, () => rm(req.path, { recursive: true, force: true }));
    case 'freePorts':
      return freeLocalPorts(req.count).catch((e: Error) => {
        throw new AgentError('protocol', e.message);
      });
    case 'facts':
      return localFacts();
  }
}

function serveRpc(socket: Socket, rest: string): void {
  let buffer = rest;
  const running: Running = new Map();
  // Nobody is left to read what the commands of a lost client give back (a test worker that was
  // stopped, a harness that exited): they are stopped, not left to run on in the guest.
  // The server allows half-open connections (for tunnels), so a client's end is seen as 'end', not 'close'.
  const lost = () => {
    for (const stop of running.values()) stop();
  };
  socket.once('end', () => {
    lost();
    socket.end();
  });
  socket.once('close', lost);
  const answer = (a: Answer) => {
    if (!socket.destroyed) socket.write(JSON.stringify(a) + '\n');
  };
  const onLine = (line: string) => {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return answer({ id: -1, ok: false, kind: 'protocol', message: 'not JSON' });
    }
    handle(req, running).then(
      (result) => answer({ id: req.id, ok: true, result: result ?? null }),
      (e: unknown) =>
        answer({ id: req.id, ok: false, kind: e instanceof AgentError ? e.kind : 'protocol', message: (e as Error).message }),
    );
  };
  const drain = () => {
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  };
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('utf8');
    drain();
  });
  drain();
}

function serveConnect(socket: Socket, port: number, rest: Buffer): void {
  const inner = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  if (rest.length > 0) inner.write(rest);
  socket.pipe(inner);
  inner.pipe(socket);
  const close = () => {
    socket.destroy();
    inner.destroy();
  };
  inner.on('error', close);
  socket.on('error', close);
  inner.on('close', close);
  socket.on('close', close);
}

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' }, 'token-file': { type: 'string' } } });
  const token = readFileSync(values['token-file'] ?? '', 'utf8').trim();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > 4096) socket.destroy();
        return;
      }
      socket.off('data', onData);
      let hello: Hello;
      try {
        hello = JSON.parse(head.subarray(0, nl).toString('utf8')) as Hello;
      } catch {
        return void socket.destroy();
      }
      if (hello.token !== token) return void socket.destroy();
      const rest = head.subarray(nl + 1);
      if (hello.mode === 'rpc') serveRpc(socket, rest.toString('utf8'));
      else if (hello.mode === 'connect' && Number.isInteger(hello.port)) serveConnect(socket, hello.port!, rest);
      else socket.destroy();
    };
    socket.on('data', onData);
  });
  server.listen(Number(values.port), values.host, () => console.error(`appc-agent: listening on ${values.port}`));
}

main();
