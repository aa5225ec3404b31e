// The run's scheduler, shared by all test workers: the main process serves it on an abstract unix
// socket (Linux; nothing in the file system, so nothing is left behind by a crash) and each worker
// asks it before a pod starts (client.ts). A worker that dies loses its connection, and with it
// every slot and claim it held or waited for.
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { Scheduler, type Claim, type SchedulerStats } from './scheduler.js';

/** client → server: acquire (claims) or release (a granted id); server → client: granted id. */
export type SchedulerMessage = { op: 'acquire'; id: number; claims: Claim[] } | { op: 'release'; id: number } | { op: 'granted'; id: number };

export interface SchedulerServer {
  /** what RunConfig.scheduler carries to the workers */
  address: string;
  stats(): SchedulerStats;
  close(): Promise<void>;
}

/** Splits a stream into JSON lines. */
export function onLines(socket: Socket, handle: (msg: SchedulerMessage) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim() === '') continue;
      try {
        handle(JSON.parse(line) as SchedulerMessage);
      } catch {
        socket.destroy();
        return;
      }
    }
  });
}

export async function startSchedulerServer(capacity: number): Promise<SchedulerServer> {
  const scheduler = new Scheduler(capacity);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const granted = new Map<number, () => void>();
    const waiting = new Map<number, AbortController>();
    const dropAll = () => {
      for (const w of waiting.values()) w.abort(new Error('the worker went away'));
      for (const release of granted.values()) release();
      waiting.clear();
      granted.clear();
      sockets.delete(socket);
    };
    socket.on('close', dropAll);
    socket.on('error', () => socket.destroy());
    onLines(socket, (msg) => {
      if (msg.op === 'acquire') {
        const abort = new AbortController();
        waiting.set(msg.id, abort);
        scheduler.acquire(msg.claims, abort.signal).then(
          (release) => {
            waiting.delete(msg.id);
            if (socket.destroyed) return release();
            granted.set(msg.id, release);
            socket.write(`${JSON.stringify({ op: 'granted', id: msg.id })}\n`);
          },
          () => waiting.delete(msg.id),
        );
      } else if (msg.op === 'release') {
        granted.get(msg.id)?.();
        granted.delete(msg.id);
        // A release of a request still waiting withdraws it.
        waiting.get(msg.id)?.abort(new Error('withdrawn'));
      }
    });
  });
  const address = `\0appc-scheduler-${process.pid}-${randomBytes(6).toString('hex')}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address,
    stats: () => scheduler.stats(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
