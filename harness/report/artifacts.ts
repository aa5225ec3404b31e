// One artifact folder per failed, errored or unexpectedly passing test, under <report dir>/artifacts:
// what a maintainer needs to file a bug. test.json (the result, its clause checks and reason),
// fingerprint.json (harness host, target, implementation), pod-N.json (each pod run the test used:
// pod manifest, image manifests and IDs, outcome with the probe's evidence, every command the adapter
// ran with its output, exit code and timing, and timeout forensics), repro.txt (a command that reruns
// exactly this test).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import type { BuildStats } from '../aci/builder.js';
import { FIXTURE_BUILDS_DIR, IMAGE_OPERATIONS_DIR, STAGING_DIR, type ImageOperationRecord, type PodEvidenceFile } from '../run/evidence.js';
import type { HostChangeRecord } from '../run/host-changes.js';
import type { ResultsDocument, TestRecord } from './result.js';

export const ARTIFACTS_DIR = 'artifacts';

const KEPT: ReadonlySet<TestRecord['status']> = new Set(['fail', 'error', 'xpass']);

export function needsArtifacts(t: TestRecord): boolean {
  return KEPT.has(t.status);
}

function slug(i: number, t: TestRecord): string {
  const file = basename(t.file).replace(/\.test\.ts$/, '');
  const name = t.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
  return `${String(i + 1).padStart(3, '0')}-${file}-${name}`;
}

export interface ArtifactInput {
  reportDir: string;
  tests: readonly TestRecord[];
  /** test ID → the pod runs whose evidence it used */
  podRuns: ReadonlyMap<string, readonly string[]>;
  run: Pick<ResultsDocument, 'implementation' | 'target' | 'targetInfo' | 'specVersion' | 'startedAt'>;
  repro?: (t: TestRecord) => string | undefined;
}

/** The staged files of `dir` (the evidence of one pod run each, or of one image operation each). */
function stagedFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

/** The staged records of `dir`, parsed; a file a forced exit cut short is passed over. */
function stagedRecords<T>(dir: string): T[] {
  const records: T[] = [];
  for (const f of stagedFiles(dir)) {
    try {
      records.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as T);
    } catch {
      // cut short
    }
  }
  return records;
}

/** How many staged records `dir` holds and the sum of their durations, each as `durationOf` reads it. */
function stagedDurations<T>(dir: string, durationOf: (record: T) => number): { count: number; totalMs: number } {
  const records = stagedRecords<T>(dir);
  return { count: records.length, totalMs: Math.round(records.reduce((sum, r) => sum + durationOf(r), 0)) };
}

/** Pod runs of the whole run, as the adapters measured them (from the staged evidence). */
export function podStats(reportDir: string): { runs: number; implementationMs: number } {
  const { count, totalMs } = stagedDurations<PodEvidenceFile>(join(reportDir, STAGING_DIR), (e) => e.outcome?.durationMs ?? 0);
  return { runs: count, implementationMs: totalMs };
}

/** Image operations of the whole run (imports, fetches) and their time as the adapters measured it. */
export function imageOperationStats(reportDir: string): { count: number; implementationMs: number } {
  const { count, totalMs } = stagedDurations<ImageOperationRecord>(join(reportDir, STAGING_DIR, IMAGE_OPERATIONS_DIR), (r) => r.durationMs);
  return { count, implementationMs: totalMs };
}

/** Fixture builds of the whole run (all test workers): images asked for, written anew, time spent. */
export function fixtureBuildStats(reportDir: string): { builds: number; written: number; buildMs: number } {
  const total = { builds: 0, written: 0, buildMs: 0 };
  for (const s of stagedRecords<BuildStats>(join(reportDir, STAGING_DIR, FIXTURE_BUILDS_DIR))) {
    total.builds += s.builds;
    total.written += s.written;
    total.buildMs += s.ms;
  }
  return { ...total, buildMs: Math.round(total.buildMs) };
}

/** The host settings declared pods read before and after they ran (from the staged evidence),
 *  each with the first test that used the pod, in the order the pods ran. */
export function stagedHostChanges(reportDir: string, podRuns: ReadonlyMap<string, readonly string[]>): HostChangeRecord[] {
  const staging = join(reportDir, STAGING_DIR);
  const testOf = new Map<string, string>();
  for (const [test, runs] of podRuns) for (const r of runs) if (!testOf.has(r)) testOf.set(r, test);
  const found: { at: string; records: HostChangeRecord[] }[] = [];
  for (const e of stagedRecords<PodEvidenceFile>(staging)) {
    if (!e.hostChanges?.length) continue;
    const test = testOf.get(e.runId);
    found.push({ at: e.commands?.[0]?.startedAt ?? '', records: e.hostChanges.map((r) => ({ ...r, ...(test ? { test } : {}) })) });
  }
  return found.sort((a, b) => a.at.localeCompare(b.at)).flatMap((f) => f.records);
}

/** Writes the folders (replacing those of an earlier run in the same dir), then drops the staged
 *  evidence; returns the records with their `artifacts` folder and `repro` command set. */
export function writeArtifacts({ reportDir, tests, podRuns, run, repro }: ArtifactInput): TestRecord[] {
  const root = join(reportDir, ARTIFACTS_DIR);
  const staging = join(reportDir, STAGING_DIR);
  rmSync(root, { recursive: true, force: true });
  const fingerprint = {
    harness: { node: process.version, hostKernel: release(), platform: process.platform },
    target: run.target,
    targetInfo: run.targetInfo,
    implementation: run.implementation,
    specVersion: run.specVersion,
    startedAt: run.startedAt,
  };
  let n = 0;
  const out = tests.map((t) => {
    if (!needsArtifacts(t)) return t;
    const rel = join(ARTIFACTS_DIR, slug(n++, t));
    const dir = join(reportDir, rel);
    mkdirSync(dir, { recursive: true }); // below the report dir, which exists
    const command = repro?.(t);
    const record: TestRecord = { ...t, artifacts: rel, ...(command ? { repro: command } : {}) };
    writeFileSync(join(dir, 'test.json'), JSON.stringify(record, null, 2) + '\n');
    writeFileSync(join(dir, 'fingerprint.json'), JSON.stringify(fingerprint, null, 2) + '\n');
    if (command) writeFileSync(join(dir, 'repro.txt'), command + '\n');
    (podRuns.get(t.id) ?? []).forEach((runId, i) => {
      const staged = join(staging, `${runId}.json`);
      if (existsSync(staged)) copyFileSync(staged, join(dir, `pod-${i + 1}.json`));
    });
    return record;
  });
  rmSync(staging, { recursive: true, force: true });
  return out;
}
