import { afterEach, describe, expect, test } from 'vitest';
import { localGate, remoteGate, TestSlots } from './client.js';
import { startSchedulerServer, type SchedulerServer } from './server.js';

const tick = () => new Promise((r) => setTimeout(r, 20));

let server: SchedulerServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('pod slots of a test', () => {
  test('pods a test starts together share one slot, so they run together even with one job', async () => {
    const slots = new TestSlots(localGate(1));
    const test = {};
    const [a, b] = await Promise.all([slots.enter(test, []), slots.enter(test, [])]);
    let other = false;
    const waiting = slots.enter({}, []).then((r) => ((other = true), r));
    await tick();
    expect(other).toBe(false);
    a();
    await tick();
    expect(other).toBe(false);
    b();
    (await waiting)();
    expect(other).toBe(true);
  });

  test('pods with an exclusive claim never share, even in one test', async () => {
    const slots = new TestSlots(localGate(4));
    const test = {};
    const first = await slots.enter(test, [{ name: 'host-port:1', mode: 'exclusive' }]);
    let second = false;
    const waiting = slots.enter(test, [{ name: 'host-port:1', mode: 'exclusive' }]).then((r) => ((second = true), r));
    await tick();
    expect(second).toBe(false);
    first();
    (await waiting)();
    expect(second).toBe(true);
  });
});

describe('the run scheduler across processes', () => {
  test('grants through the server in turn and frees what a client held when it goes away', async () => {
    server = await startSchedulerServer(1);
    expect(server.address.startsWith('\0appc-scheduler-')).toBe(true);
    const one = remoteGate(server.address);
    const two = remoteGate(server.address);
    const release = await one.acquire([{ name: 'x', mode: 'exclusive' }]);
    let granted = false;
    const waiting = two.acquire([]).then((r) => ((granted = true), r));
    await tick();
    expect(granted).toBe(false);
    release();
    (await waiting)();
    expect(granted).toBe(true);
    expect(server.stats()).toMatchObject({ granted: 2, maxInFlight: 1 });
  });

  test('a waiting request can be withdrawn; a closed scheduler is a harness error', async () => {
    server = await startSchedulerServer(1);
    const gate = remoteGate(server.address);
    const held = await gate.acquire([]);
    const abort = new AbortController();
    const withdrawn = gate.acquire([], abort.signal);
    abort.abort(new Error('interrupted'));
    await expect(withdrawn).rejects.toThrow('interrupted');
    held();
    (await gate.acquire([]))();
    const pending = gate.acquire([{ name: 'y', mode: 'exclusive' }]);
    const blocked = gate.acquire([{ name: 'y', mode: 'exclusive' }]);
    (await pending)();
    (await blocked)();
    const last = remoteGate(server.address);
    const hold = await last.acquire([]);
    const stuck = last.acquire([]);
    await server.close();
    server = undefined;
    await expect(stuck).rejects.toMatchObject({ name: 'HarnessError' });
    hold();
  });
});
