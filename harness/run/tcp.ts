// Reaching a pod's exposed port from the harness: connect (retrying while the pod starts) and read
// the first line the app sends, or time a transfer. Only the addresses the target gives (loopback)
// are ever used.
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

/**
 * Tries `attempt` until `done` says it got through, `deadlineMs` passes or `stop` fires (the pod
 * ended); returns the last attempt, or `notTried`. `attempt` gets the milliseconds left.
 */
async function retry<T>(attempt: (leftMs: number) => Promise<T>, done: (t: T) => boolean, notTried: T, deadlineMs: number, stop?: AbortSignal): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last = notTried;
  while (Date.now() < until && !stop?.aborted) {
    last = await attempt(until - Date.now());
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

/** Tries until an answer comes, `deadlineMs` passes or `stop` fires; returns the last error otherwise. */
export function readFirstLine(host: string, port: number, deadlineMs: number, stop?: AbortSignal): Promise<TcpAnswer> {
  return retry((left) => once(host, port, Math.min(2000, Math.max(100, left))), (a) => a.line !== undefined, { error: 'not tried' }, deadlineMs, stop);
}

/** A timed transfer through an exposed port; `ms` runs from the first byte to the end. */
export interface Transfer {
  bytes: number;
  ms: number;
  error?: string;
}

function downloadOnce(host: string, port: number, idleMs: number): Promise<Transfer> {
  return new Promise((resolve) => {
    let bytes = 0;
    let first = 0;
    const socket = connect({ host, port });
    const done = (error?: string) => {
      socket.destroy();
      resolve({ bytes, ms: first ? performance.now() - first : 0, ...(error ? { error } : {}) });
    };
    socket.setTimeout(idleMs, () => done('ETIMEDOUT'));
    socket.on('data', (d: Buffer) => {
      if (!first) first = performance.now();
      bytes += d.length;
    });
    socket.on('end', () => done());
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/**
 * Reads everything the app sends on a connection. While the pod starts, a connection may be
 * refused or closed before the first byte: tried again until `deadlineMs` passes or `stop` fires.
 */
export function download(host: string, port: number, deadlineMs: number, stop?: AbortSignal): Promise<Transfer> {
  const attempt = async () => {
    const t = await downloadOnce(host, port, 5000);
    return t.bytes > 0 || t.error ? t : { ...t, error: 'closed before the first byte' };
  };
  return retry(attempt, (t) => t.bytes > 0, { bytes: 0, ms: 0, error: 'not tried' }, deadlineMs, stop);
}

function uploadOnce(host: string, port: number, bytes: number, idleMs: number): Promise<Transfer & { answer?: string }> {
  return new Promise((resolve) => {
    let answer = '';
    let start = 0;
    const socket = connect({ host, port, allowHalfOpen: true }, () => {
      start = performance.now();
      socket.end(Buffer.alloc(bytes));
    });
    const done = (error?: string) => {
      socket.destroy();
      resolve({ bytes: socket.bytesWritten, ms: start ? performance.now() - start : 0, ...(answer ? { answer } : {}), ...(error ? { error } : {}) });
    };
    socket.setTimeout(idleMs, () => done('ETIMEDOUT'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      if (answer.includes('\n')) done();
    });
    socket.on('end', () => done(answer ? undefined : 'closed without an answer'));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/**
 * Sends `bytes` bytes and half-closes; the app answers with one line once it has read them all
 * (the probe's sink=). `ms` runs from connect to that answer. Retried like download().
 */
export function upload(host: string, port: number, bytes: number, deadlineMs: number, stop?: AbortSignal): Promise<Transfer & { answer?: string }> {
  return retry(() => uploadOnce(host, port, bytes, 15_000), (t) => t.answer !== undefined, { bytes: 0, ms: 0, error: 'not tried' }, deadlineMs, stop);
}
