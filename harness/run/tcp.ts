// Reaching a pod's exposed port from the harness: connect (retrying while the pod starts) and read
// the first line the app sends. Only the addresses the target gives (loopback) are ever used.
import { connect } from 'node:net';

export interface TcpAnswer {
  line?: string;
  error?: string;
}

function once(host: string, port: number, timeoutMs: number): Promise<TcpAnswer> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({ host, port });
    const done = (answer: TcpAnswer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done({ error: 'ETIMEDOUT' }));
    socket.on('data', (d: Buffer) => {
      data += d.toString('utf8');
      const nl = data.indexOf('\n');
      if (nl >= 0) done({ line: data.slice(0, nl) });
    });
    socket.on('end', () => done(data ? { line: data } : { error: 'closed without an answer' }));
    socket.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
  });
}

/** Tries until an answer comes or `deadlineMs` passes; returns the last error otherwise. */
export async function readFirstLine(host: string, port: number, deadlineMs: number): Promise<TcpAnswer> {
  const until = Date.now() + deadlineMs;
  let last: TcpAnswer = { error: 'not tried' };
  while (Date.now() < until) {
    last = await once(host, port, Math.min(2000, Math.max(100, until - Date.now())));
    if (last.line !== undefined) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}
