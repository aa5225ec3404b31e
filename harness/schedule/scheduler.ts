// Which pod may start now. Every pod run asks for one of `capacity` slots (--jobs) and for the shared
// resources it declared (a host port, a host setting, the implementation itself when it cannot run
// pods side by side). A claim is shared (many holders) or exclusive (one holder, nobody sharing).
// Requests are served in arrival order, except that one may pass those waiting before it when it
// conflicts with none of them: an exclusive claim is never starved by a stream of shared ones.
export type ClaimMode = 'shared' | 'exclusive';

export interface Claim {
  /** e.g. "host-port:8080", "host-setting:sysctl vm.overcommit_ratio", "implementation" */
  name: string;
  mode: ClaimMode;
}

export interface SchedulerStats {
  granted: number;
  /** most pods that held a slot at the same time */
  maxInFlight: number;
  /** summed time requests waited before they were granted */
  waitedMs: number;
  /** summed time slots were held (by pods, imports): over jobs × the run's time, how busy the slots were */
  slotMs: number;
  /** from the scheduler's start to its first grant (how long the run took to start its first pod) */
  firstGrantMs?: number;
}

interface Request {
  claims: readonly Claim[];
  queuedAt: number;
  grant: () => void;
}

/** Two claim lists conflict when they name one resource and either holds it exclusively. */
export function conflicts(a: readonly Claim[], b: readonly Claim[]): boolean {
  return a.some((x) => b.some((y) => x.name === y.name && (x.mode === 'exclusive' || y.mode === 'exclusive')));
}

/** One entry per resource name, the stronger mode winning. */
export function normalizeClaims(claims: readonly Claim[]): Claim[] {
  const byName = new Map<string, ClaimMode>();
  for (const c of claims) {
    if (!c.name) throw new Error('a claim needs a resource name');
    byName.set(c.name, byName.get(c.name) === 'exclusive' || c.mode === 'exclusive' ? 'exclusive' : 'shared');
  }
  return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, mode]) => ({ name, mode }));
}

export class Scheduler {
  private readonly waiting: Request[] = [];
  private readonly held = new Set<readonly Claim[]>();
  private readonly stats_: SchedulerStats = { granted: 0, maxInFlight: 0, waitedMs: 0, slotMs: 0 };
  private readonly startedAt = performance.now();
  /** when the number of held slots last changed: slotMs grows by that number per ms */
  private countedTo = this.startedAt;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`scheduler capacity must be a positive integer (got ${capacity})`);
  }

  /**
   * Resolves with a release function once a slot and every claim are free. An abort while waiting
   * rejects with the signal's reason and leaves nothing held.
   */
  acquire(claims: readonly Claim[], signal?: AbortSignal): Promise<() => void> {
    const wanted = normalizeClaims(claims);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const request: Request = {
        claims: wanted,
        queuedAt: performance.now(),
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.countSlots();
          this.stats_.firstGrantMs ??= performance.now() - this.startedAt;
          this.held.add(wanted);
          this.stats_.granted++;
          this.stats_.waitedMs += performance.now() - request.queuedAt;
          this.stats_.maxInFlight = Math.max(this.stats_.maxInFlight, this.held.size);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.countSlots();
            this.held.delete(wanted);
            this.pump();
          });
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(request);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason as Error);
        this.pump();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(request);
      this.pump();
    });
  }

  /** Pods holding a slot now, and requests waiting. */
  get inFlight(): number {
    return this.held.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  stats(): SchedulerStats {
    this.countSlots();
    return { ...this.stats_ };
  }

  private countSlots(): void {
    const now = performance.now();
    this.stats_.slotMs += this.held.size * (now - this.countedTo);
    this.countedTo = now;
  }

  private pump(): void {
    // Claims of the requests that wait before the one looked at: it must not overtake them on those.
    const ahead: Claim[] = [];
    let slotsBlocked = false;
    for (const request of [...this.waiting]) {
      const freeSlot = !slotsBlocked && this.held.size < this.capacity;
      const clear = ![...this.held].some((h) => conflicts(h, request.claims)) && !conflicts(ahead, request.claims);
      if (freeSlot && clear) {
        this.waiting.splice(this.waiting.indexOf(request), 1);
        request.grant();
        continue;
      }
      // Waiting for a slot: later requests must not take the next one before it.
      if (!freeSlot) slotsBlocked = true;
      ahead.push(...request.claims);
    }
  }
}
