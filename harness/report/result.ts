// Result kinds. Each test ends as exactly one of them; a harness error is never the implementation's fault.
import type { CheckRecord, Observation } from '../run/check.js';
import type { HostChangeRecord } from '../run/host-changes.js';
import type { TargetDescription } from '../target/target.js';
import type { ProfileVerdict } from './coverage.js';
import type { PeerCheck } from './peer.js';

/** `observed`: a test of spec-silent behaviour that recorded what the implementation did, judging nothing. */
export type ResultStatus = 'pass' | 'fail' | 'skip' | 'error' | 'xfail' | 'xpass' | 'observed';

/** Why a test was skipped: the implementation declared the feature unsupported, the host lacks
 *  something, configuration disabled it, or the run was interrupted before the test finished. */
export type SkipKind = 'unsupported' | 'host' | 'disabled' | 'explain' | 'interrupted' | 'unspecified';

export interface TestRecord {
  /** file + full name: stable across runs */
  id: string;
  name: string;
  file: string;
  clauses: string[];
  checks: CheckRecord[];
  /** a peer suite's test (e.g. "ace-validator"): compared with our own suites, see peer.ts */
  peer?: string;
  /** what the implementation did where the spec is silent */
  observations?: Observation[];
  status: ResultStatus;
  /** fail and xfail: `SHOULD` when only checks of SHOULD / SHOULD NOT (or MAY) clauses failed, a
   *  recommendation not followed; `MUST` otherwise (coverage.ts failureLevel) */
  failedLevel?: 'MUST' | 'SHOULD';
  skipKind?: SkipKind;
  reason?: string;
  /** for xfail and xpass: the expectation file's reason and link */
  expected?: { reason: string; link?: string };
  /** failed, errored or xpass tests: their artifact folder, relative to the report dir (artifacts.ts) */
  artifacts?: string;
  /** failed, errored or xpass tests: the command that reruns exactly this test */
  repro?: string;
  durationMs: number;
}

export interface RunInfo {
  implementation: { name: string; version: string; details: Record<string, string> };
  /** the expectation file applied, if any */
  expectationsFile: string | null;
  target: string;
  /** where the implementation ran: kind, distribution, kernel, cgroup version, init; for VMs the
   *  accelerator, guest profile and boot time */
  targetInfo?: TargetDescription;
  specVersion: string;
  startedAt: string;
  durationMs: number;
  /** pod runs, and the implementation's own time: the sum of pod run times as the adapter measured them */
  pods?: { runs: number; implementationMs: number };
  /** image operations outside pod runs (imports, fetches by name), and the implementation's time in
   *  them; imports hold a pod slot (the image-format suites), fetches do not (the discovery suite) */
  imageOperations?: { count: number; implementationMs: number; imports: { count: number; implementationMs: number }; fetches: { count: number; implementationMs: number } };
  /** the images the suites built in the run: asked for, written anew (the rest came from the
   *  content-addressed cache, fixtures/build) and the time building them took */
  fixtureBuilds?: { builds: number; written: number; buildMs: number };
  /** --jobs, the most pods that held a slot at once, how long pods waited for slots and resources
   *  in all, the summed time slots were held (by pods and imports), and the time from the
   *  scheduler's opening (just before the suite starts) to the first slot granted (harness/schedule) */
  scheduling?: { jobs: number; mostPodsAtOnce: number; waitedMs: number; slotMs?: number; firstPodMs?: number };
  /** set when a signal stopped the run: the results are partial */
  interrupted?: { signal: string };
  /** host-wide settings that tests declared their pods may change, as read before and after each
   *  such pod (harness/run/host-changes.ts) */
  hostChanges?: HostChangeRecord[];
}

export interface ResultsDocument extends RunInfo {
  counts: Record<ResultStatus, number> & { checks: number; failedChecks: number };
  /** testable normative MUST/MUST NOT clauses that passed, of all testable ones */
  mustCoverage: { covered: number; testable: number };
  profiles: ProfileVerdict[];
  tests: TestRecord[];
  /** problems outside any test: a suite file that failed to load, an unhandled error */
  harnessErrors: string[];
  /** per peer suite that ran: where its verdict on a clause differs from our own suites' */
  peerChecks?: PeerCheck[];
}

/** One line on where the run happened: "qemu (Debian GNU/Linux 12 (bookworm), kernel 6.1.0-57-amd64, cgroup v2, init tini, TCG, lean guest)". */
export function describeTarget(doc: Pick<RunInfo, 'target' | 'targetInfo'>): string {
  const t = doc.targetInfo;
  if (!t) return doc.target;
  const parts = [t.distribution, `kernel ${t.kernel}`, `cgroup v${t.cgroup}`, `init ${t.init}`];
  if (t.engine) parts.push(t.engine);
  if (t.provider) parts.push(t.provider);
  if (t.accel) parts.push(t.accel.toUpperCase());
  if (t.guest) parts.push(`${t.guest} guest`);
  if (t.bootMs !== undefined) parts.push(`ready in ${(t.bootMs / 1000).toFixed(1)} s`);
  return `${t.kind} (${parts.join(', ')})`;
}

/** Errors whose class says the harness, not the implementation, failed. */
const HARNESS_ERROR_NAMES = new Set(['HarnessError', 'UnknownClauseError', 'ManifestError', 'TargetUnavailableError', 'NoResultError', 'BootError']);

export function isHarnessError(name: string | undefined): boolean {
  return name !== undefined && HARNESS_ERROR_NAMES.has(name);
}

/** Errors that say the run was interrupted while the test ran: the test is skipped (interrupted). */
export function isInterruption(name: string | undefined): boolean {
  return name === 'InterruptedError' || name === 'TestRunAbortError';
}

export function skipKindOf(note: string | undefined): { kind: SkipKind; reason: string } {
  const m = note?.match(/^(unsupported|host|disabled|explain|interrupted):\s*(.*)$/s);
  if (m) return { kind: m[1] as SkipKind, reason: m[2]! };
  return { kind: 'unspecified', reason: note ?? 'skipped without a reason' };
}

export function countResults(tests: readonly TestRecord[]): ResultsDocument['counts'] {
  const counts = { pass: 0, fail: 0, skip: 0, error: 0, xfail: 0, xpass: 0, observed: 0, checks: 0, failedChecks: 0 };
  for (const t of tests) {
    counts[t.status]++;
    counts.checks += t.checks.length;
    counts.failedChecks += t.checks.filter((c) => !c.ok).length;
  }
  return counts;
}

/** Map.groupBy arrived in Node 21; this keeps Node 20. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}
