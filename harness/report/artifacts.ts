// One artifact folder per failed, errored or unexpectedly passing test, under <report dir>/artifacts:
// what a maintainer needs to file a bug. test.json (the result, its clause checks and reason),
// fingerprint.json (harness host, target, implementation), pod-N.json (each pod run the test used:
// pod manifest, image manifests and IDs, outcome with the probe's evidence, every command the adapter
// ran with its output, exit code and timing, and timeout forensics), import-N.json / fetch-N.json
// (each image the test handed over on its own: the image's manifest and ID or the name fetched, how
// the import or fetch ended, its commands, and what the discovery server saw), repro.txt (a command
// that reruns exactly this test).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import type { BuildStats } from '../aci/builder.js';
import { FIXTURE_BUILDS_DIR, isImageOperation, STAGING_DIR, type EvidenceFile } from '../run/evidence.js';
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

/** The staged files of `dir` (the evidence of one pod run or image operation each, or a worker's
 *  fixture build figures). */
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

/** The staged evidence of the run's pod runs and image operations, read once for the run's figures. */
export function stagedEvidence(reportDir: string): EvidenceFile[] {
  return stagedRecords<EvidenceFile>(join(reportDir, STAGING_DIR));
}

/** How many of `evidence` are of the kind `pick` keeps, and the sum of their durations as the
 *  adapters measured them. */
function durations(evidence: readonly EvidenceFile[], pick: (e: EvidenceFile) => boolean): { count: number; totalMs: number } {
  const picked = evidence.filter(pick);
  return { count: picked.length, totalMs: Math.round(picked.reduce((sum, r) => sum + (r.outcome?.durationMs ?? 0), 0)) };
}

/** Pod runs of the whole run, as the adapters measured them. */
export function podStats(evidence: readonly EvidenceFile[]): { runs: number; implementationMs: number } {
  const { count, totalMs } = durations(evidence, (e) => !isImageOperation(e));
  return { runs: count, implementationMs: totalMs };
}

/** Image operations of the whole run (imports, fetches) and their time as the adapters measured it,
 *  in all and per kind. */
export function imageOperationStats(evidence: readonly EvidenceFile[]): NonNullable<ResultsDocument['imageOperations']> {
  const of = (kind?: 'import' | 'fetch') => {
    const { count, totalMs } = durations(evidence, (e) => isImageOperation(e) && (kind === undefined || e.operation === kind));
    return { count, implementationMs: totalMs };
  };
  return { ...of(), imports: of('import'), fetches: of('fetch') };
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
export function stagedHostChanges(evidence: readonly EvidenceFile[], podRuns: ReadonlyMap<string, readonly string[]>): HostChangeRecord[] {
  const testOf = new Map<string, string>();
  for (const [test, runs] of podRuns) for (const r of runs) if (!testOf.has(r)) testOf.set(r, test);
  const found: { at: string; records: HostChangeRecord[] }[] = [];
  for (const e of evidence) {
    if (isImageOperation(e) || !e.hostChanges?.length) continue;
    const test = testOf.get(e.runId);
    found.push({ at: e.commands?.[0]?.startedAt ?? '', records: e.hostChanges.map((r) => ({ ...r, ...(test ? { test } : {}) })) });
  }
  return found.sort((a, b) => a.at.localeCompare(b.at)).flatMap((f) => f.records);
}

/** 'pod', 'import' or 'fetch'; undefined when the file is missing or cut short. */
function evidenceKind(staged: string): string | undefined {
  try {
    const e = JSON.parse(readFileSync(staged, 'utf8')) as EvidenceFile;
    return isImageOperation(e) ? e.operation : 'pod';
  } catch {
    return undefined;
  }
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
    // pod-1.json, pod-2.json, import-1.json, …: numbered per kind, in the order the test used them
    const numbered = new Map<string, number>();
    for (const runId of podRuns.get(t.id) ?? []) {
      const staged = join(staging, `${runId}.json`);
      const kind = evidenceKind(staged);
      if (!kind) continue;
      numbered.set(kind, (numbered.get(kind) ?? 0) + 1);
      copyFileSync(staged, join(dir, `${kind}-${numbered.get(kind)}.json`));
    }
    return record;
  });
  rmSync(staging, { recursive: true, force: true });
  return out;
}
