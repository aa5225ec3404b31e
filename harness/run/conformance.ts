// What suites import: vitest's test API extended with clause-carrying checks, feature gates,
// fixture images and pod runs whose evidence is collected once and asserted many times.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, inject, test as baseTest, type TaskMeta } from 'vitest';
import { buildAci, buildRawAci, buildStats, type BuiltImage, type Compression, type ImageManifest, type ImageSpec, type RawEntry } from '../aci/index.js';
import { createImplementation, type AppOutcome, type Feature, type FetchOutcome, type FetchRequest, type Implementation, type ImportOutcome, type PodOutcome, type PodRequest } from '../impl/index.js';
import type { DiscoveryServer } from '../discovery/server.js';
import type { SeenRequest } from '../discovery/site.js';
import type { ProbeReport } from '../probe/index.js';
import { attachTarget, type Target } from '../target/index.js';
import { makeCheck, makeObserve, type Check, type Observe } from './check.js';
import type { RunConfig } from './config.js';
import { HarnessError, InterruptedError } from './errors.js';
import { fetchEvidence, importEvidence, newEvidence, recordingInto, recordingTarget, writeEvidence, writeFixtureBuilds, type EvidenceFile } from './evidence.js';
import { hostChangesRefused, HostSettingsWatch, settingClaim, type HostSetting } from './host-changes.js';
import { FIXTURE_BUILD_DIR } from './paths.js';
import { localGate, remoteGate, TestSlots } from '../schedule/client.js';
import { manifestClaims, SHARED_MACHINE, WHOLE_IMPLEMENTATION } from '../schedule/resources.js';
import type { Claim } from '../schedule/scheduler.js';

export { describe, expect };
export { clauses, peerClauses } from './check.js';
export { hostPort, QUIET_MACHINE } from '../schedule/resources.js';

interface Session {
  config: RunConfig;
  target: Target;
  impl: Implementation;
}
let current: Session | undefined;

/** Pod runs still going. A test that fails early (e.g. one of two concurrent pods) must not end the
 *  file while another pod still runs: its clean-up would never happen. */
const perProcess = globalThis as { appcInterruption?: AbortController; appcInflight?: Set<Promise<unknown>>; appcPodRuns?: number; appcSlots?: TestSlots };
const inflight = (perProcess.appcInflight ??= new Set<Promise<unknown>>());

/**
 * Aborted when the run is interrupted: vitest cancels the run (the main process got Ctrl-C or
 * SIGTERM), or this worker gets the signal itself (Ctrl-C reaches the terminal's whole process
 * group). Pods in flight are stopped through their adapter, which cleans up; no new pod starts.
 * One per worker process, whichever test file loaded this module.
 */
const interruption = (perProcess.appcInterruption ??= hookSignals());

function hookSignals(): AbortController {
  const controller = new AbortController();
  process.on('SIGINT', () => interrupt('SIGINT'));
  // Workers run in process groups of their own (worker-pool.ts): when a Ctrl-C ends a plain
  // `npx vitest` at once, they learn of it by losing their parent.
  process.once('disconnect', () => interrupt('the run ended: the test worker lost its parent'));
  // SIGTERM also comes from vitest ending this worker: stop the pods, let their clean-up finish, then go.
  process.on('SIGTERM', () => {
    interrupt('SIGTERM');
    void Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 15_000))]).then(() => {
      // A worker leads its own process group (worker-pool.ts): what it started and is still running
      // (a helper command of a test, not handed the interruption) ends with it.
      try {
        process.kill(-process.pid, 'SIGTERM');
      } catch {
        // not a group leader (a plain vitest pool): nothing of its own to end
      }
      process.exit(143);
    });
  });
  return controller;
}

function interrupt(signal: string): void {
  if (!interruption.signal.aborted) interruption.abort(new InterruptedError(signal));
}
/** Which test a `skip` function belongs to: pod runs are asked for with it, and note their
 *  evidence in that test's meta (the reporter keeps the evidence of tests that fail). */
const metaOfSkip = new WeakMap<object, TaskMeta>();
/** Work to do once the test that started a pod has ended (putting a host setting back). */
const whenTestEnds = new WeakMap<object, (work: () => Promise<void>) => void>();
const afterEachOf = new WeakMap<TaskMeta, () => void>();

/**
 * The hooks every suite file needs, registered by its setup file (harness/run/setup.ts, see
 * vitest.config.ts): test files share one module cache in a worker (isolate: false), so this module
 * is loaded once per worker and cannot register them itself.
 */
export function fileHooks(): void {
  afterAll(async () => {
    await Promise.allSettled([...inflight]);
    const builds = buildStats();
    if (builds.builds > 0) writeFixtureBuilds(inject('config').reportDir, builds);
    for (const path of runOnlyImages) rmSync(path, { force: true });
    runOnlyImages.clear();
    // The adapter's own resources of this file (e.g. a private rkt data dir when run without npm test).
    const s = current;
    current = undefined;
    await s?.impl.dispose();
    await s?.target.dispose();
  });

  beforeEach(({ skip, task, onTestFinished }) => {
    metaOfSkip.set(skip, task.meta);
    let ended = false;
    afterEachOf.set(task.meta, () => (ended = true));
    // A pod may outlive its test (the test failed first): then the work is done at once.
    whenTestEnds.set(skip, (work) => (ended ? void work() : onTestFinished(work)));
  });
  afterEach(({ task }) => {
    afterEachOf.get(task.meta)?.();
  });

  beforeEach(({ signal }) => {
    signal.addEventListener('abort', () => {
      const reason = signal.reason as Error | undefined;
      if (reason?.name === 'TestRunAbortError') interrupt('cancelled');
    });
  });
}

/** A test whose pod, import or fetch the run's interruption stopped is skipped (interrupted), so
 *  vitest's own report shows it as skipped too, not failed with an InterruptedError. */
async function skipIfInterrupted<T>(skip: SkipFn, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof InterruptedError) skip(`interrupted: ${err.message}`);
    throw err;
  }
}

function throwIfInterrupted(): void {
  if (interruption.signal.aborted) throw interruption.signal.reason as InterruptedError;
}

/** The implementation and target of this run, made once per test file from the provided config. */
export function session(): Session {
  if (!current) {
    const config = inject('config');
    const target = recordingTarget(attachTarget(config));
    current = { config, target, impl: createImplementation(target, config) };
  }
  return current;
}

type SkipFn = (note: string) => never;

/** The run's pod slots and resource claims (harness/schedule): the scheduler of npm test, shared by
 *  all workers, else one of this worker's own. */
function slots(): TestSlots {
  const { config } = session();
  return (perProcess.appcSlots ??= new TestSlots(config.scheduler ? remoteGate(config.scheduler) : localGate(config.jobs)));
}

/** What a pod claims: what its test declared, its manifest's host ports, and the implementation
 *  itself when that cannot run pods side by side. */
function claimsOf(request: PodRequest, options: PodOptions): Claim[] {
  return [
    SHARED_MACHINE,
    ...(options.resources ?? []),
    ...(options.hostChanges ?? []).map(settingClaim),
    ...manifestClaims(request.manifest),
    ...(session().impl.concurrentPods === false ? [WHOLE_IMPLEMENTATION] : []),
  ];
}

/** Skips (with the reason) when the implementation does not declare every feature. */
export function needs(skip: SkipFn, ...features: Feature[]): void {
  const { impl } = session();
  const missing = features.filter((f) => !impl.features.has(f));
  if (missing.length > 0) skip(`unsupported: ${impl.name} does not declare ${missing.join(', ')}`);
}

export const test = baseTest.extend<{ check: Check; observe: Observe; needs: (...features: Feature[]) => void }>({
  // eslint-disable-next-line no-empty-pattern
  check: async ({ task }, use) => {
    await use(makeCheck(task.meta));
  },
  // eslint-disable-next-line no-empty-pattern
  observe: async ({ task }, use) => {
    await use(makeObserve(task.meta));
  },
  needs: async ({ skip }, use) => {
    await use((...features: Feature[]) => needs(skip as SkipFn, ...features));
  },
});

export interface ImageOptions {
  /** false for an image that carries a value of this run (a nonce, another pod's signature): no
   *  later run builds it again, so its file leaves the cache when the test file ends */
  cached?: boolean;
}

/** Files of run-only images (cached: false) this test file built; removed by fileHooks. */
const runOnlyImages = new Set<string>();

function keepOrForget<T extends { path: string }>(built: T, options: ImageOptions): T {
  if (options.cached === false) runOnlyImages.add(built.path);
  return built;
}

/** Builds a fixture image (content-addressed under fixtures/build); a failure is the harness's. */
export async function image(spec: ImageSpec, options: ImageOptions = {}): Promise<BuiltImage> {
  throwIfInterrupted();
  try {
    return keepOrForget(await buildAci(spec, FIXTURE_BUILD_DIR), options);
  } catch (err) {
    throw new HarnessError(`fixture image ${spec.manifest.name} could not be built: ${(err as Error).message}`);
  }
}

/** The evidence of one pod run. Accessors fail the test (not the harness) when the implementation
 *  did not run an app or lost its output. */
export class PodEvidence<T = undefined> {
  constructor(
    readonly outcome: PodOutcome,
    /** what the harness observed from outside while the pod ran (see podRun's `during`) */
    readonly during?: T,
  ) {}

  get refused(): boolean {
    return this.outcome.status === 'refused';
  }

  app(name: string): AppOutcome {
    if (this.outcome.status === 'refused') {
      throw new Error(`the implementation refused to run the pod: ${this.outcome.refusal}`);
    }
    const app = this.outcome.apps.find((a) => a.name === name);
    if (!app) throw new Error(`no result for app ${name} (apps: ${this.outcome.apps.map((a) => a.name).join(', ') || 'none'})`);
    return app;
  }

  report(name: string): ProbeReport {
    const app = this.app(name);
    if (!app.report) {
      throw new Error(
        `app ${name} gave no probe report (${app.reportMissing}); exit ${app.exitCode ?? app.signal}; stderr: ${app.stderr.trim().slice(-500)}`,
      );
    }
    return app.report;
  }
}

export interface PodRun<T = undefined> {
  /** Runs the pod the first time it is asked for (skipping when a feature is missing), then returns the same evidence. */
  (skip: SkipFn): Promise<PodEvidence<T>>;
}

/** What a pod needs beyond its own namespaces and files, declared by its test (harness/schedule). */
export interface PodOptions {
  /** shared resources it needs alone (e.g. hostPort(7070): a port the harness tries on the host);
   *  the host ports of its manifest are claimed without saying */
  resources?: Claim[];
  /** host-wide settings the pod may change: held alone, read before and after, put back, listed in
   *  the summary; skipped on the host target with --no-host-changes (host-changes.ts) */
  hostChanges?: HostSetting[];
}

/** Names one pod run or image operation's evidence file; unique in the run: per worker process,
 *  whichever file's module instance declares it. */
function nextRunId(): string {
  return `${process.pid}-${(perProcess.appcPodRuns = (perProcess.appcPodRuns ?? 0) + 1)}`;
}

/** Notes that the test of `skip` used the evidence `runId` (its artifact folder gets a copy). */
function usedBy(skip: SkipFn, runId: string): TaskMeta | undefined {
  const meta = metaOfSkip.get(skip);
  if (meta) (meta.podRuns ??= []).push(runId);
  return meta;
}

/** Runs an image operation or a pod run with its commands recorded, and stages its evidence
 *  however it ends (`atEnd` adds what else was seen). */
async function recorded<T>(evidence: EvidenceFile, work: () => Promise<T>, atEnd?: () => void): Promise<T> {
  try {
    const outcome = await recordingInto(evidence, work);
    Object.assign(evidence, { outcome });
    return outcome;
  } catch (err) {
    evidence.error = { name: (err as Error).name, message: (err as Error).message };
    throw err;
  } finally {
    atEnd?.();
    writeEvidence(session().config.reportDir, evidence);
  }
}

/**
 * Declares a pod whose evidence the tests of a file share. `during` runs from the harness while the
 * pod runs (e.g. connecting to its host ports); it must end by itself, and should stop waiting
 * once `podEnded` fires (a refused or failed pod never opens its ports).
 */
export function podRun<T = undefined>(
  features: Feature[],
  build: () => Promise<PodRequest>,
  during?: (podEnded: AbortSignal) => Promise<T>,
  options: PodOptions = {},
): PodRun<T> {
  let run: Promise<PodEvidence<T>> | undefined;
  const runId = nextRunId();
  return async (skip) => {
    needs(skip, ...features);
    const refused = hostChangesRefused(session().config, options.hostChanges ?? []);
    if (refused) skip(refused);
    if (session().config.dryRun) skip('explain: would run');
    const meta = usedBy(skip, runId);
    if (!run) {
      run = (async () => {
        const request = await build();
        throwIfInterrupted();
        // A slot of --jobs, and the resources no other pod may use meanwhile.
        const leave = await slots().enter(meta ?? {}, claimsOf(request, options), interruption.signal);
        const { target, impl, config } = session();
        let watch: HostSettingsWatch | undefined;
        try {
          if (options.hostChanges?.length) watch = await HostSettingsWatch.watch(target, options.hostChanges);
        } catch (err) {
          leave();
          throw new HarnessError(`cannot read the host settings the pod may change: ${(err as Error).message}`);
        }
        const ended = new AbortController();
        const evidence = newEvidence(runId, request);
        const pod = recordingInto(evidence, () => impl.runPod({ ...request, signal: interruption.signal }))
          .then(
            (outcome) => (evidence.outcome = outcome),
            (err: Error) => {
              evidence.error = { name: err.name, message: err.message };
              throw err;
            },
          )
          .finally(async () => {
            ended.abort();
            if (watch) {
              await watch.seen();
              evidence.hostChanges = watch.records;
            }
            writeEvidence(config.reportDir, evidence);
          });
        try {
          const [outcome, seen] = await Promise.all([pod, during?.(ended.signal)]);
          return new PodEvidence<T>(outcome, seen);
        } finally {
          // `during` ends by itself once podEnded fires.
          await Promise.allSettled([pod]);
          if (!watch) leave();
          else {
            // The test checks the host after the pod first; then the setting goes back, and only
            // then may another pod that changes it start.
            const putBack = async () => {
              await watch.restore().catch(() => undefined);
              writeEvidence(config.reportDir, evidence);
              leave();
            };
            const later = whenTestEnds.get(skip);
            if (later) later(putBack);
            else await putBack();
          }
        }
      })();
      const settled: Promise<unknown> = run.then(
        (): void => void inflight.delete(settled),
        (): void => void inflight.delete(settled),
      );
      inflight.add(settled);
    }
    return skipIfInterrupted(skip, run);
  };
}

/** Raw mode: an image file written exactly as given (entries or bytes), for hostile images. `manifest`
 *  is what the adapters are told the image holds (its app names), whatever the file really holds. */
export async function rawImage(content: readonly RawEntry[] | Buffer, manifest: ImageManifest, compression: Compression = 'none', options: ImageOptions = {}): Promise<BuiltImage> {
  try {
    const raw = keepOrForget(await buildRawAci(content, FIXTURE_BUILD_DIR, compression), options);
    return { ...raw, name: String(manifest.name), manifest };
  } catch (err) {
    throw new HarnessError(`raw fixture image ${String(manifest.name)} could not be written: ${(err as Error).message}`);
  }
}

/** The evidence of handing one image file to an implementation: the import, then (only when the
 *  import took it) a pod run of it. An image refused at import is not in the store: it cannot run. */
export class ImageEvidence {
  constructor(
    readonly imported: ImportOutcome,
    readonly run?: PodOutcome,
  ) {}

  /** where the image was refused, or 'accepted' when it imported and its pod ran */
  get ending(): 'refused at import' | 'refused at run' | 'accepted' | 'crashed at import' {
    if (this.imported.status === 'refused') return 'refused at import';
    if (this.imported.status === 'crashed') return 'crashed at import';
    return this.run?.status === 'refused' ? 'refused at run' : 'accepted';
  }

  /** apps that ran far enough to report (the probe prints its report as it starts) */
  get appsThatRan(): string[] {
    return (this.run?.apps ?? []).filter((a) => a.report !== undefined).map((a) => a.name);
  }
}

export interface ImageRun {
  (skip: SkipFn): Promise<ImageEvidence>;
}

/** Declares an image whose import (and run, if imported) the tests of a file share. */
export function imageRun(build: () => Promise<BuiltImage>, features: Feature[] = []): ImageRun {
  let run: Promise<ImageEvidence> | undefined;
  const importId = nextRunId();
  const podId = nextRunId();
  return async (skip) => {
    needs(skip, 'image-import', ...features);
    if (session().config.dryRun) skip('explain: would run');
    const meta = usedBy(skip, importId);
    usedBy(skip, podId);
    if (!run) {
      run = (async () => {
        const img = await build();
        throwIfInterrupted();
        const impl = session().impl;
        const leave = await slots().enter(meta ?? {}, [SHARED_MACHINE, ...(impl.concurrentPods === false ? [WHOLE_IMPLEMENTATION] : [])], interruption.signal);
        try {
          const imported = await recorded(importEvidence(importId, img), () => impl.importImage!({ path: img.path, signal: interruption.signal }));
          if (imported.status !== 'imported') return new ImageEvidence(imported);
          throwIfInterrupted();
          const request: PodRequest = { images: [img] };
          return new ImageEvidence(imported, await recorded(newEvidence(podId, request), () => impl.runPod({ ...request, signal: interruption.signal })));
        } finally {
          leave();
        }
      })();
      const settled: Promise<unknown> = run.then(
        (): void => void inflight.delete(settled),
        (): void => void inflight.delete(settled),
      );
      inflight.add(settled);
    }
    return skipIfInterrupted(skip, run);
  };
}

/** The file's discovery server (spec/discovery.md), started by the first fetch test and stopped
 *  with the file: a network namespace of the run, a CA and OpenPGP keys of the run. */
let discovery: Promise<DiscoveryServer> | undefined;
afterAll(async () => {
  const d = discovery;
  discovery = undefined;
  await d?.then((s) => s.stop()).catch(() => undefined);
});

export function discoveryServer(): Promise<DiscoveryServer> {
  throwIfInterrupted();
  // Loaded on first use: only the discovery suite needs openpgp and the server.
  discovery ??= import('../discovery/server.js').then((m) => m.DiscoveryServer.start()).catch((err: Error) => {
    discovery = undefined;
    throw new HarnessError(`the discovery server could not start: ${err.message}`);
  });
  return discovery;
}

/** The evidence of one fetch by name: its outcome and what the server saw from it. */
export class FetchEvidence {
  constructor(
    readonly outcome: FetchOutcome,
    /** the requests the server logged for the site's host, in order */
    readonly requests: readonly SeenRequest[],
    /** the ID of the image the site published, when it published one */
    readonly published?: string,
  ) {}

  /** paths requested, decoded, with their scheme: `https /app?ac-discovery=1` */
  get asked(): string[] {
    return this.requests.map((r) => `${r.scheme} ${decodeURIComponent(r.path)}`);
  }

  get why(): string {
    const o = this.outcome;
    return o.status === 'refused' ? o.refusal : o.status === 'crashed' ? o.message : o.status === 'hung' ? `hung: ${o.output}` : `fetched ${o.imageId.slice(0, 20)}…`;
  }
}

export interface FetchRun {
  (skip: SkipFn): Promise<FetchEvidence>;
}

/**
 * Declares a fetch by name that the tests of a file share: `site` publishes what the fetch will find
 * on the file's discovery server and returns the request (its network is filled in) and the host
 * whose requests are the evidence. The server lives on this machine, so only --target=host runs it.
 */
export function fetchRun(site: (server: DiscoveryServer) => Promise<{ host: string; request: Omit<FetchRequest, 'network'>; published?: string }>): FetchRun {
  let run: Promise<FetchEvidence> | undefined;
  const runId = nextRunId();
  return async (skip) => {
    needs(skip, 'image-fetch');
    const { target, impl, config } = session();
    if (target.kind !== 'host') skip(`host: the discovery server and its network namespace are on this machine; --target=${target.kind} runs the implementation elsewhere`);
    if (config.dryRun) skip('explain: would run');
    usedBy(skip, runId);
    if (!run) {
      run = (async () => {
        const server = await discoveryServer();
        const { host, request, published } = await site(server).catch((err: Error) => {
          throw err instanceof HarnessError ? err : new HarnessError(`the discovery site could not be set up: ${err.message}`);
        });
        throwIfInterrupted();
        const fetch: FetchRequest = { ...request, network: server.network, signal: interruption.signal };
        const evidence = fetchEvidence(runId, fetch, published);
        const outcome = await recorded(evidence, () => impl.fetchImage!(fetch), () => {
          evidence.serverSaw = server.requests(host).map((r) => `${r.scheme}://${r.host}${r.path} → ${r.status}`);
        });
        return new FetchEvidence(outcome, server.requests(host), published);
      })();
      const settled: Promise<unknown> = run.then(
        (): void => void inflight.delete(settled),
        (): void => void inflight.delete(settled),
      );
      inflight.add(settled);
    }
    return skipIfInterrupted(skip, run);
  };
}
