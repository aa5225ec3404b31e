// `npm run bench -- [npm test flags and filters]`: where a run's time goes, as figures.
//   fixture build (the image catalog into an empty cache, then again warm), then one run of the suite
//   with the given flags: pod runs, the implementation's own time (the sum of its pod run times as the
//   adapter measured them), image operations (imports, fetches by name) and their time, suite wall
//   time, the harness overhead ratio wall ÷ (implementation time ÷ jobs), once over pod runs alone and
//   once with the image operations, and for VM targets boot-to-ready. Starts pods: run it under the
//   suite lock. A --report-dir among the flags keeps the run's reports.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAci } from '../aci/index.js';
import { catalog } from '../../fixtures/images.js';
import { needsArtifacts } from '../report/artifacts.js';
import type { ResultsDocument } from '../report/result.js';
import { pods } from '../schedule/jobs.js';
import { REPO_ROOT } from './paths.js';

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Short spans (three small images build in tens of ms) in ms, not as "0.0 s". */
const short = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : s(ms));

async function fixtureBuild(): Promise<{ coldMs: number; warmMs: number; images: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'appc-bench-fixtures-'));
  try {
    const specs = await catalog();
    const timed = async () => {
      const t0 = performance.now();
      for (const spec of specs) await buildAci(spec, dir);
      return performance.now() - t0;
    };
    const coldMs = await timed();
    const warmMs = await timed();
    return { coldMs, warmMs, images: specs.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How busy the pod slots were: held time over jobs × suite time, and when the first pod started. */
function slotUse(doc: ResultsDocument, jobs: number): string {
  const sched = doc.scheduling;
  if (sched?.slotMs === undefined || doc.durationMs <= 0) return '–';
  const share = Math.round((100 * sched.slotMs) / (jobs * doc.durationMs));
  return `${s(sched.slotMs)}, ${share} % of jobs × suite time${sched.firstPodMs !== undefined ? ` (the first granted ${s(sched.firstPodMs)} into the suite)` : ''}`;
}

/** The first SIGINT or SIGTERM bench received; each one goes on to the run, which cleans up. */
let interrupted: NodeJS.Signals | undefined;
let forward: (signal: NodeJS.Signals) => void = () => undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted ??= signal;
    forward(signal);
  });
}

/** As npm test ends on a signal: 130 (SIGINT), 143 (SIGTERM). */
const exitOnSignal = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // A --report-dir of the user's keeps the run's reports there; else they go to a temporary dir.
  const given = args.findIndex((a) => a === '--report-dir' || a.startsWith('--report-dir='));
  let userDir: string | undefined;
  if (given >= 0) {
    const inline = args[given]!.startsWith('--report-dir=');
    const value = inline ? args[given]!.slice('--report-dir='.length) : args[given + 1];
    // Without a value it stays among the flags: the run refuses it before any pod.
    if (value) {
      userDir = resolve(value);
      args.splice(given, inline ? 1 : 2);
    }
  }
  const fixtures = await fixtureBuild();
  if (interrupted) return exitOnSignal(interrupted);
  const reportDir = userDir ?? mkdtempSync(join(tmpdir(), 'appc-bench-'));
  try {
    const t0 = performance.now();
    // In a process group of its own, so that a Ctrl-C reaches it once, from here (a second one
    // would make it give up its clean-up).
    const run = execa(process.execPath, [MAIN, '--report-dir', reportDir, ...args], { cwd: REPO_ROOT, reject: false, stdout: 'ignore', stderr: 'pipe', detached: true });
    forward = (signal) => void run.kill(signal);
    const res = await run;
    forward = () => undefined;
    const wallMs = performance.now() - t0;
    if (interrupted) {
      console.error(`bench: interrupted (${interrupted}); no figures${userDir ? `; the run's partial reports are in ${userDir}` : ''}`);
      return exitOnSignal(interrupted);
    }
    let doc: ResultsDocument;
    try {
      doc = JSON.parse(readFileSync(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
    } catch {
      console.error(`bench: the run wrote no results (exit ${res.exitCode}): ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return 3;
    }
    const jobs = doc.scheduling?.jobs ?? 1;
    const implMs = doc.pods?.implementationMs ?? 0;
    const none = { count: 0, implementationMs: 0 };
    const ops = doc.imageOperations ?? { ...none, imports: none, fetches: none };
    const inSlotsMs = implMs + ops.imports.implementationMs;
    const ratio = (ms: number) => (ms > 0 ? (wallMs / (ms / jobs)).toFixed(2) : '–');
    const builds = doc.fixtureBuilds;
    const c = doc.counts;
    const rows: [string, string][] = [
      ['date', new Date().toISOString().slice(0, 10)],
      ['implementation', `${doc.implementation.name} ${doc.implementation.version}`],
      ['target', doc.target],
      ['flags', args.join(' ') || '(none)'],
      ['verdicts', `${c.pass} passed, ${c.fail + c.xpass} failed, ${c.skip} skipped, ${c.error} errors (exit ${res.exitCode})`],
      ['fixture build, cold', `${short(fixtures.coldMs)} (setup's catalog, ${fixtures.images} images, into an empty dir)`],
      ['fixture build, warm', `${short(fixtures.warmMs)} (the same again: from the cache)`],
      ['fixture builds in the run', builds ? `${builds.builds} images asked for, ${builds.written} written anew (the rest from the cache), ${s(builds.buildMs)}` : '–'],
      ['pod runs', String(doc.pods?.runs ?? 0)],
      ['implementation time (sum of pod runs)', s(implMs)],
      ['image operations (imports, fetches)', `${ops.count}, ${s(ops.implementationMs)} of implementation time: ${ops.imports.count} imports ${s(ops.imports.implementationMs)} (in pod slots), ${ops.fetches.count} fetches ${s(ops.fetches.implementationMs)} (outside them)`],
      ['jobs (--jobs: pods at once)', `${jobs} (at most ${doc.scheduling ? pods(doc.scheduling.mostPodsAtOnce) : '? pods'} ran at once; ${s(doc.scheduling?.waitedMs ?? 0)} waited for slots in all)`],
      ['suite time (vitest)', s(doc.durationMs)],
      // What keeps the ratio above 1: slots idle (start-up, the tail, waits between pods) or held by imports.
      ['pod slots held', slotUse(doc, jobs)],
      ['wall time (whole CLI)', s(wallMs)],
      ['harness overhead ratio wall ÷ (impl ÷ jobs)', ratio(implMs)],
      // Imports hold pod slots too (fetches do not): over pod runs alone, the ratio cannot go below
      // (pods + imports) ÷ pods even with no slot ever idle.
      ['  the same, impl with the imports', `${ratio(inSlotsMs)} (over pod runs alone it is at least ${implMs > 0 ? (inSlotsMs / implMs).toFixed(2) : '–'})`],
      ['mean pod run', doc.pods?.runs ? `${Math.round(implMs / doc.pods.runs)} ms` : '–'],
    ];
    if (doc.targetInfo?.bootMs !== undefined) rows.push(['boot to ready', s(doc.targetInfo.bootMs)]);
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    // The figures' report dir is temporary unless given: name what did not pass (failed, errored or
    // unexpectedly passed: the tests that get an artifact folder) while it is here.
    for (const t of doc.tests.filter(needsArtifacts)) {
      console.log(`${t.status}: ${t.file} > ${t.name}: ${(t.reason ?? '').split('\n')[0]!.slice(0, 300)}`);
    }
    return 0;
  } finally {
    if (userDir === undefined) rmSync(reportDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
