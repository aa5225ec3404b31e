// A test worker's side of the scheduler: the run's server when npm test started one (RunConfig
// .scheduler), else a scheduler of this process alone (a suite run straight through vitest, whose
// files then run one at a time: vitest.config.ts). Pods a test starts together share one slot
// (`TestSlots`): a test that compares two pods alive at the same time must get both, even with --jobs 1.
import { connect, type Socket } from 'node:net';
import { HarnessError } from '../run/errors.js';
import { normalizeClaims, Scheduler, type Claim } from './scheduler.js';
import { onLines } from './server.js';

export interface Gate {
  /** Resolves with a release function once a slot and the claims are granted. */
  acquire(claims: readonly Claim[], signal?: AbortSignal): Promise<() => void>;
}

export function localGate(capacity: number): Gate {
  const scheduler = new Scheduler(capacity);
  return { acquire: (claims, signal) => scheduler.acquire(claims, signal) };
}

/** A gate through the run's scheduler server; connects on first use. */
export function remoteGate(address: string): Gate {
  let socket: Socket | undefined;
  let lost: Error | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  const open = (): Socket => {
    if (socket) return socket;
    const s = connect(address);
    // Waiting for a grant must not keep a worker alive on its own.
    s.unref();
    s.on('error', (err) => {
      lost = new HarnessError(`the run's scheduler could not be reached: ${err.message}`);
    });
    s.on('close', () => {
      lost ??= new HarnessError("the run's scheduler went away");
      for (const p of pending.values()) p.reject(lost);
      pending.clear();
    });
    onLines(s, (msg) => {
      if (msg.op === 'granted') pending.get(msg.id)?.resolve();
    });
    socket = s;
    return s;
  };
  return {
    acquire(claims, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      if (lost) return Promise.reject(lost);
      const s = open();
      const id = nextId++;
      const send = (msg: object) => {
        if (!s.destroyed) s.write(`${JSON.stringify(msg)}\n`);
      };
      return new Promise<() => void>((resolve, reject) => {
        const onAbort = () => {
          pending.delete(id);
          send({ op: 'release', id });
          reject(signal!.reason as Error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.set(id, {
          resolve: () => {
            pending.delete(id);
            signal?.removeEventListener('abort', onAbort);
            // The socket holds a grant now: keep the worker connected until it is released.
            s.ref();
            let released = false;
            resolve(() => {
              if (released) return;
              released = true;
              send({ op: 'release', id });
              if (pending.size === 0) s.unref();
            });
          },
          reject: (err) => {
            pending.delete(id);
            signal?.removeEventListener('abort', onAbort);
            reject(err);
          },
        });
        send({ op: 'acquire', id, claims: normalizeClaims(claims) });
      });
    },
  };
}

function drop<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

interface Lease {
  claimsKey: string;
  granted: Promise<() => void>;
  holders: number;
}

/** One slot per test for the pods it runs at the same time (keyed by the test's own object). Pods
 *  with an exclusive claim never share: two of them could not run together anyway. */
export class TestSlots {
  private readonly leases = new WeakMap<object, Lease[]>();

  constructor(private readonly gate: Gate) {}

  async enter(test: object, claims: readonly Claim[], signal?: AbortSignal): Promise<() => void> {
    const normal = normalizeClaims(claims);
    if (normal.some((c) => c.mode === 'exclusive')) return this.gate.acquire(normal, signal);
    const claimsKey = JSON.stringify(normal);
    const list = this.leases.get(test) ?? [];
    this.leases.set(test, list);
    let lease = list.find((l) => l.claimsKey === claimsKey);
    if (!lease) {
      const made: Lease = { claimsKey, granted: this.gate.acquire(claims, signal), holders: 0 };
      made.granted.catch(() => drop(list, made));
      list.push(made);
      lease = made;
    }
    lease.holders++;
    let release: () => void;
    try {
      release = await lease.granted;
    } catch (err) {
      lease.holders--;
      throw err;
    }
    let left = false;
    const held = lease;
    return () => {
      if (left) return;
      left = true;
      if (--held.holders === 0) {
        drop(list, held);
        release();
      }
    };
  }
}
