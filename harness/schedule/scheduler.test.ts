import { describe, expect, test, vi } from 'vitest';
import { hostPort, manifestClaims } from './resources.js';
import { conflicts, normalizeClaims, Scheduler, type Claim } from './scheduler.js';
import { defaultJobs } from './jobs.js';
import type { PodManifest } from '../aci/index.js';

const ex = (name: string): Claim => ({ name, mode: 'exclusive' });
const sh = (name: string): Claim => ({ name, mode: 'shared' });
/** Resolves on the next turn of the event loop: grants are given synchronously or not at all. */
const tick = () => new Promise((r) => setImmediate(r));

/** Acquires, and records when it was granted. */
function track(s: Scheduler, claims: Claim[], signal?: AbortSignal) {
  const t = { granted: false, release: undefined as undefined | (() => void), error: undefined as unknown };
  s.acquire(claims, signal).then(
    (release) => Object.assign(t, { granted: true, release }),
    (error: unknown) => (t.error = error),
  );
  return t;
}

describe('claims', () => {
  test('conflict on one resource when either side holds it exclusively', () => {
    expect(conflicts([sh('a')], [sh('a')])).toBe(false);
    expect(conflicts([sh('a')], [ex('a')])).toBe(true);
    expect(conflicts([ex('a')], [ex('b')])).toBe(false);
    expect(conflicts([], [ex('a')])).toBe(false);
  });

  test('normalize to one entry per resource, the stronger mode winning', () => {
    expect(normalizeClaims([sh('b'), ex('a'), sh('a'), sh('b')])).toEqual([ex('a'), sh('b')]);
    expect(() => normalizeClaims([sh('')])).toThrow(/name/);
  });

  test('of a pod manifest: one exclusive claim per host port it forwards', () => {
    const manifest = { ports: [{ name: 'http', hostPort: 8080 }, { name: 'x' }, { name: 'bad', hostPort: '9' }] } as unknown as PodManifest;
    expect(manifestClaims(manifest)).toEqual([hostPort(8080)]);
    expect(manifestClaims(undefined)).toEqual([]);
  });
});

describe('the scheduler', () => {
  test('grants at most capacity requests at a time, in arrival order', async () => {
    const s = new Scheduler(2);
    const [a, b, c] = [track(s, []), track(s, []), track(s, [])];
    await tick();
    expect([a.granted, b.granted, c.granted]).toEqual([true, true, false]);
    a.release!();
    await tick();
    expect(c.granted).toBe(true);
    expect(s.stats()).toMatchObject({ granted: 3, maxInFlight: 2 });
  });

  test('counts how long slots were held, and when the first was granted', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const s = new Scheduler(2);
      vi.advanceTimersByTime(30);
      const [a, b] = [track(s, []), track(s, [])];
      await tick();
      vi.advanceTimersByTime(100); // two held
      a.release!();
      vi.advanceTimersByTime(50); // one held
      b.release!();
      vi.advanceTimersByTime(1000); // none
      expect(s.stats()).toMatchObject({ slotMs: 250, firstGrantMs: 30 });
    } finally {
      vi.useRealTimers();
    }
  });

  test('keeps exclusive claims apart and lets shared ones together', async () => {
    const s = new Scheduler(8);
    const [a, b, c] = [track(s, [ex('port')]), track(s, [ex('port')]), track(s, [sh('mds')])];
    const d = track(s, [sh('mds')]);
    await tick();
    expect([a.granted, b.granted, c.granted, d.granted]).toEqual([true, false, true, true]);
    a.release!();
    await tick();
    expect(b.granted).toBe(true);
  });

  test('lets a request pass those waiting before it only when it conflicts with none of them', async () => {
    const s = new Scheduler(8);
    const reader = track(s, [sh('cpu')]);
    const writer = track(s, [ex('cpu')]);
    const lateReader = track(s, [sh('cpu')]);
    const other = track(s, [ex('port')]);
    await tick();
    // The exclusive claim waits for the first reader; the late reader must not starve it.
    expect([reader.granted, writer.granted, lateReader.granted, other.granted]).toEqual([true, false, false, true]);
    reader.release!();
    await tick();
    expect([writer.granted, lateReader.granted]).toEqual([true, false]);
    writer.release!();
    await tick();
    expect(lateReader.granted).toBe(true);
  });

  test('a request waiting for a slot keeps later ones from taking it', async () => {
    const s = new Scheduler(1);
    const a = track(s, [ex('x')]);
    const b = track(s, []);
    const c = track(s, [ex('y')]);
    await tick();
    expect([a.granted, b.granted, c.granted]).toEqual([true, false, false]);
    a.release!();
    await tick();
    expect([b.granted, c.granted]).toEqual([true, false]);
  });

  test('an aborted request leaves the queue and holds nothing; a release counts once', async () => {
    const s = new Scheduler(1);
    const a = track(s, []);
    const abort = new AbortController();
    const b = track(s, [], abort.signal);
    const c = track(s, []);
    await tick();
    abort.abort(new Error('stop'));
    await tick();
    expect((b.error as Error).message).toBe('stop');
    a.release!();
    a.release!();
    await tick();
    expect([c.granted, s.inFlight, s.queued]).toEqual([true, 1, 0]);
    await expect(s.acquire([], abort.signal)).rejects.toThrow('stop');
  });

  test('refuses a capacity that is not a positive whole number', () => {
    expect(() => new Scheduler(0)).toThrow(/positive integer/);
    expect(() => new Scheduler(1.5)).toThrow(/positive integer/);
  });
});

describe('the default of --jobs', () => {
  const GiB = 1024 ** 3;
  test('is two per core on the host and in a container, bounded by free memory, at least one', () => {
    expect(defaultJobs('host', 2, 20 * GiB)).toBe(4);
    expect(defaultJobs('container', 8, 20 * GiB)).toBe(16);
    expect(defaultJobs('host', 8, 2 * GiB)).toBe(4);
    expect(defaultJobs('host', 2, 100 * 1024 ** 2)).toBe(1);
  });

  test('is one per guest vCPU on VM targets, at most one per core', () => {
    expect(defaultJobs('qemu', 16, 64 * GiB)).toBe(2);
    expect(defaultJobs('vagrant', 1, 64 * GiB)).toBe(1);
  });
});
