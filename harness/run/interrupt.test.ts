// Ctrl-C and SIGTERM at each point of a real run (npm test's entry against ref): while fixtures are
// built, while a pod runs, while a fetch by name waits on a stalled server, mid-way through the whole
// suite, while reports are written, and every 150 ms of the start-up. The run must end within 30 s with its
// clean-up done and a partial report marked as interrupted; a second Ctrl-C forces the exit after a
// clean-up attempt. These start pods: run them under the suite lock (flock /work/.suite.lock).
import { execa, type ResultPromise } from 'execa';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResultsDocument } from '../report/result.js';
import { testWorkerPids } from './interrupt.js';
import { STAGING_DIR } from './evidence.js';
import { FIXTURE_BUILD_DIR, PROBE_BINARY, REPO_ROOT } from './paths.js';

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');
const SUITE = 'suites/ace-exit-status';
let dir: string;

beforeAll(async () => {
  // The CLI and ref run compiled: build once so this test sees the current source.
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  dir = mkdtempSync(join(tmpdir(), 'appc-interrupt-'));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Point = 'fixtures' | 'pod' | 'fetch' | 'busy' | 'reports';

interface Run {
  child: ResultPromise<{ all: true; reject: false }>;
  reportDir: string;
  /** the run's TMPDIR: where ref's pod run dirs go; it must end empty */
  work: string;
}

/** What each point's run runs: the fetch point a fetch that waits on a server that stalls (20 s). */
const SELECTION: Record<Point, string[]> = {
  fixtures: [SUITE],
  pod: [SUITE],
  fetch: ['-t', 'stalls after its first kilobyte', 'suites/image-discovery'],
  // The whole suite, well under way: pods of several files in flight, more tests waiting for slots.
  busy: [],
  reports: [SUITE],
};

function start(name: string, selection: string[] = [SUITE]): Run {
  const reportDir = join(dir, name, 'reports');
  const work = join(dir, name, 'tmp');
  rmSync(join(dir, name), { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // detached: the run leads its own process group, as a shell job does; a terminal's Ctrl-C is a
  // SIGINT to that whole group.
  const child = execa(process.execPath, [MAIN, '--report-dir', reportDir, ...selection], { cwd: REPO_ROOT, reject: false, detached: true, env: { TMPDIR: work }, all: true, lines: false });
  return { child, reportDir, work };
}

/** Commands still running that belong to this run (ref, its pods' holders, workers: what names the
 *  run's dirs or inherited its TMPDIR). */
function processesOf(run: Run): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const ours = () => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TMPDIR=${run.work}`);
      if (cmd.includes(run.work) || cmd.includes(run.reportDir) || ours()) found.push(`${pid} ${cmd}`);
    } catch {
      // gone
    }
  }
  return found;
}

async function waitFor(what: string, ok: () => boolean, withinMs = 180_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const podRunning = (run: Run) => () => processesOf(run).some((p) => / run --data-dir /.test(p));

async function reach(run: Run, point: Point): Promise<void> {
  if (point === 'fixtures') await waitFor('a fixture being built', () => existsSync(FIXTURE_BUILD_DIR));
  if (point === 'pod') await waitFor('a pod running', podRunning(run));
  // Running, with its scratch dir made (beside the adapter's work dir): the signal must not leave it.
  if (point === 'fetch') await waitFor('a fetch running', () => processesOf(run).some((p) => / fetch --name /.test(p)) && readdirSync(run.work).filter((f) => f.startsWith('appc-ref-fetch-')).length === 2);
  if (point === 'busy') await waitFor('40 pod runs and image operations done', () => existsSync(join(run.reportDir, STAGING_DIR)) && readdirSync(join(run.reportDir, STAGING_DIR)).length >= 40);
  if (point === 'reports') await waitFor('the reports being written', () => existsSync(run.reportDir) && readdirSync(run.reportDir).some((f) => /results\.json/.test(f)), 300_000);
}

function send(run: Run, signal: NodeJS.Signals, to: 'process' | 'group'): void {
  try {
    process.kill(to === 'group' ? -run.child.pid! : run.child.pid!, signal);
  } catch {
    // already gone
  }
}

/** What a run may leak on this machine, as in .ci/run's leftover check. */
function leftovers(run: Run): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => /appc-(ref|vol)/.test(l) && l.includes(run.work));
  return [...processesOf(run), ...readdirSync(run.work).map((f) => join(run.work, f)), ...mounts, ...(existsSync(run.reportDir) ? readdirSync(run.reportDir).filter((f) => f.endsWith('.tmp')) : [])];
}

function results(run: Run): ResultsDocument {
  return JSON.parse(readFileSync(join(run.reportDir, 'results.json'), 'utf8')) as ResultsDocument;
}

const CASES: [Point, NodeJS.Signals, 'process' | 'group'][] = [
  ['fixtures', 'SIGINT', 'group'],
  ['pod', 'SIGINT', 'group'],
  ['pod', 'SIGTERM', 'process'],
  ['fetch', 'SIGINT', 'group'],
  ['fetch', 'SIGTERM', 'process'],
  ['busy', 'SIGINT', 'group'],
  ['reports', 'SIGTERM', 'process'],
];

describe('a forced exit', () => {
  test('signals the test workers only, not the target\'s own processes beside them (a Podman service, QEMU)', () => {
    // This file runs in a test worker (pool: forks) of the vitest process, as suites do in a run.
    expect(testWorkerPids(process.ppid)).toContain(process.pid);
    const other = spawn('sleep', ['30']);
    try {
      expect(testWorkerPids(process.pid)).toEqual([]);
    } finally {
      other.kill();
    }
  });
});

describe.runIf(existsSync(PROBE_BINARY) && process.getuid?.() === 0)('a signal stops the run in order', () => {
  test.each(CASES)('%s: %s to the %s ends the run within 30 s, cleaned up, with a partial report marked interrupted', async (point, signal, to) => {
    // A cold fixture cache, so the run builds fixtures (the cache is put back afterwards).
    const kept = `${FIXTURE_BUILD_DIR}.kept-${process.pid}`;
    if (point === 'fixtures') renameSync(FIXTURE_BUILD_DIR, kept);
    try {
      const run = start(`${point}-${signal}`, SELECTION[point]);
      await reach(run, point);
      const sent = performance.now();
      send(run, signal, to);
      const res = await run.child;
      const seconds = (performance.now() - sent) / 1000;
      expect(seconds).toBeLessThan(30);
      expect(res.exitCode, res.all).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(res.all).not.toMatch(/^\s+at /m);
      expect(leftovers(run)).toEqual([]);
      const doc = results(run);
      expect(doc.interrupted).toEqual({ signal });
      expect(readFileSync(join(run.reportDir, 'summary.md'), 'utf8')).toContain(`**INTERRUPTED** by ${signal}`);
      expect(readFileSync(join(run.reportDir, 'report.html'), 'utf8')).toContain('Interrupted</b> by');
      // No test is blamed: what did not finish is skipped (interrupted), never failed or errored,
      // in the reports and in what vitest itself prints.
      expect(doc.tests.filter((t) => t.status === 'fail' || t.status === 'error')).toEqual([]);
      expect(res.all).not.toMatch(/FAIL|InterruptedError/);
      if (point !== 'reports') expect(doc.tests.some((t) => t.skipKind === 'interrupted')).toBe(true);
      // Nor is what an interrupted fetch or pod did taken as an observation of the implementation.
      if (point === 'fetch') expect(doc.tests.flatMap((t) => t.observations ?? [])).toEqual([]);
      if (point === 'fixtures') expect(readdirSync(FIXTURE_BUILD_DIR).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      if (point === 'fixtures') {
        rmSync(FIXTURE_BUILD_DIR, { recursive: true, force: true });
        renameSync(kept, FIXTURE_BUILD_DIR);
      }
    }
  });

  test('a Ctrl-C at any moment of the start-up ends the run cleanly: test workers and vitest\'s helpers starting', async () => {
    // Every 150 ms of the first 3 s: the CLI loading, the catalog collected, the workers starting,
    // the first pods. A Ctrl-C there once killed a worker that had not yet loaded the harness (the
    // run then crashed with exit 1 or waited for the forced exit) and esbuild's service (exit 1).
    const seen: string[] = [];
    for (let at = 0; at <= 3_000; at += 150) {
      const run = start(`startup-${at}`);
      await new Promise((r) => setTimeout(r, at));
      const sent = performance.now();
      send(run, 'SIGINT', 'group');
      const res = await run.child;
      const took = Math.round(performance.now() - sent);
      // Killed by the signal before the CLI hooked it (its modules still loading: nothing made yet),
      // interrupted (130), or done before the signal came (0).
      const ended = res.signal === 'SIGINT' ? 'killed' : String(res.exitCode);
      seen.push(`${at} ms: ${ended} in ${took} ms`);
      expect(['killed', '130', '0'], `${seen.at(-1)}\n${res.all}`).toContain(ended);
      expect(res.all, seen.at(-1)).not.toMatch(/^\s+at |Unhandled|exited unexpectedly|forcing the exit/m);
      expect(took, seen.at(-1)).toBeLessThan(30_000);
      expect(leftovers(run), seen.at(-1)).toEqual([]);
    }
  }, 600_000);

  test('a second Ctrl-C forces the exit after a clean-up attempt', async () => {
    const run = start('second-ctrl-c');
    await reach(run, 'pod');
    const sent = performance.now();
    send(run, 'SIGINT', 'group');
    await new Promise((r) => setTimeout(r, 200));
    send(run, 'SIGINT', 'group');
    const res = await run.child;
    expect((performance.now() - sent) / 1000).toBeLessThan(30);
    expect(res.exitCode, res.all).toBe(130);
    expect(res.all).not.toMatch(/^\s+at /m);
    // Either the orderly stop was already done, or the second signal forced it.
    if (/forcing the exit/.test(res.all ?? '')) expect(res.all).toMatch(/second signal \(SIGINT\): forcing the exit after one clean-up attempt/);
    expect(leftovers(run)).toEqual([]);
    expect(results(run).interrupted).toEqual({ signal: 'SIGINT' });
  });
});
