// The evidence of each pod run and image operation, kept so that a failed test can be filed as a
// bug: the pod request (manifest, images) or the image handed over (its manifest and ID, or the name
// and labels fetched), the outcome (each app's exit, output and probe report; the import's or fetch's
// end), every command the adapter ran on the target with its output, exit code and timing, and on a
// timeout the forensics taken before the pod (import, fetch) was stopped. Test workers write one file per pod run or
// image operation into the report dir's staging folder; the reporter moves those of failed and
// errored tests into their artifact folders.
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildStats, BuiltImage } from '../aci/builder.js';
import type { FetchOutcome, FetchRequest, ImportOutcome, PodOutcome, PodRequest } from '../impl/implementation.js';
import type { HostChangeRecord } from './host-changes.js';
import type { ExecOptions, ExecResult, Target } from '../target/target.js';

/** Where workers put the evidence of every pod run and image operation until the reporter sorts it. */
export const STAGING_DIR = '.evidence';
/** Below it, the fixture build figures of each test worker (BuildStats, one file per builder instance). */
export const FIXTURE_BUILDS_DIR = 'fixture-builds';
/** Each command's output is kept up to this many characters (its tail). */
const OUTPUT_KEEP = 64 * 1024;

export interface CommandRecord {
  argv: string[];
  startedAt: string;
  durationMs: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** the target could not run it, or gave no result */
  error?: string;
}

/** What the adapter ran on the target during one pod run or image operation. */
interface CommandLog {
  commands: CommandRecord[];
  /** taken on a timeout (of a pod, an import, a fetch), before the command was stopped */
  forensics?: string;
}

export interface PodEvidenceFile extends CommandLog {
  runId: string;
  request: { manifest?: unknown; images: { name: string; id: string; file: string; manifest: unknown }[]; timeoutMs?: number };
  outcome?: PodOutcome;
  error?: { name: string; message: string };
  /** host-wide settings the test declared the pod may change, read before and after it */
  hostChanges?: HostChangeRecord[];
}

/** An image handed to the implementation on its own: imported from its file (image-format suites)
 *  or fetched by name from the run's discovery server (discovery suite). Its time is the
 *  implementation's, outside pod runs. */
export interface ImageOperationEvidenceFile extends CommandLog {
  runId: string;
  operation: 'import' | 'fetch';
  request:
    | { image: { name: string; id: string; file: string; manifest: unknown } }
    | { fetch: Omit<FetchRequest, 'network' | 'signal'>; published?: string };
  outcome?: ImportOutcome | FetchOutcome;
  error?: { name: string; message: string };
  /** a fetch's requests as the discovery server saw them, in order */
  serverSaw?: string[];
}

/** One staged file: a pod run, or an image operation (it has `operation`). */
export type EvidenceFile = PodEvidenceFile | ImageOperationEvidenceFile;

export const isImageOperation = (e: EvidenceFile): e is ImageOperationEvidenceFile => 'operation' in e && e.operation !== undefined;

/** The pod run or image operation in progress, in the async context of its adapter call. */
const current = new AsyncLocalStorage<CommandLog>();

/** Runs the adapter's pod run or image operation with its commands recorded into `file`. */
export function recordingInto<T>(file: CommandLog, work: () => Promise<T>): Promise<T> {
  return current.run(file, work);
}

/** Adapters call this on a pod timeout, before they kill the pod. */
export function recordForensics(text: string): void {
  const file = current.getStore();
  if (file) file.forensics = (file.forensics ? `${file.forensics}\n` : '') + text;
}

export function newEvidence(runId: string, request: PodRequest): PodEvidenceFile {
  return {
    runId,
    request: {
      manifest: request.manifest,
      images: request.images.map((i) => ({ name: i.name, id: i.id, file: i.path, manifest: i.manifest })),
      ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
    },
    commands: [],
  };
}

/** Writes one staged file below the report dir's staging folder; only when the report dir exists
 *  (npm test's preflight made it): a suite run straight through vitest keeps none. Never fails the
 *  pod run or the test: a file that cannot be written is named on stderr as `what`. */
function stage(reportDir: string, sub: string[], name: string, text: string, what: string): void {
  if (!existsSync(reportDir)) return;
  try {
    const dir = join(reportDir, STAGING_DIR, ...sub);
    mkdirSync(dir, { recursive: true }); // below a dir that exists: workers race to make it
    writeFileSync(join(dir, name), text);
  } catch (err) {
    console.error(`${what} not kept: ${(err as Error).message}`);
  }
}

export function importEvidence(runId: string, image: BuiltImage): ImageOperationEvidenceFile {
  return { runId, operation: 'import', request: { image: { name: image.name, id: image.id, file: image.path, manifest: image.manifest } }, commands: [] };
}

export function fetchEvidence(runId: string, request: FetchRequest, published?: string): ImageOperationEvidenceFile {
  const { network: _network, signal: _signal, ...fetch } = request;
  return { runId, operation: 'fetch', request: { fetch, ...(published ? { published } : {}) }, commands: [] };
}

/** Stages the evidence of one pod run or image operation. */
export function writeEvidence(reportDir: string, file: EvidenceFile): void {
  const what = isImageOperation(file) ? `image ${file.operation}` : 'pod run';
  stage(reportDir, [], `${file.runId}.json`, JSON.stringify(file, null, 1), `evidence of ${what} ${file.runId}`);
}

/** Stages a worker's fixture build figures so far (rewritten as they grow). */
export function writeFixtureBuilds(reportDir: string, stats: BuildStats): void {
  stage(reportDir, [FIXTURE_BUILDS_DIR], `${process.pid}-${stats.instance}.json`, JSON.stringify(stats), 'the fixture build figures');
}

const tail = (s: string) => (s.length > OUTPUT_KEEP ? `[… ${s.length - OUTPUT_KEEP} characters cut]${s.slice(-OUTPUT_KEEP)}` : s);

/** The target, with each exec recorded into the pod run it belongs to (if any). */
export function recordingTarget(target: Target): Target {
  const exec = async (argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> => {
    const file = current.getStore();
    if (!file) return target.exec(argv, opts);
    const startedAt = new Date().toISOString();
    const started = performance.now();
    try {
      const res = await target.exec(argv, opts);
      file.commands.push({ argv: [...argv], startedAt, durationMs: Math.round(res.durationMs), exitCode: res.exitCode, signal: res.signal, timedOut: res.timedOut, stdout: tail(res.stdout), stderr: tail(res.stderr) });
      return res;
    } catch (err) {
      file.commands.push({ argv: [...argv], startedAt, durationMs: Math.round(performance.now() - started), exitCode: null, signal: null, timedOut: false, stdout: '', stderr: '', error: (err as Error).message });
      throw err;
    }
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'exec') return exec;
      const v = Reflect.get(t, prop, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
