// Adapter for `ref`, the embedded executor (harness/ref). It drives ref's CLI on the target and
// reads ref's JSON result file: structured data only.
import { basename } from 'node:path';
import { parseProbeReport } from '../probe/index.js';
import { HarnessError } from '../run/errors.js';
import { execWithForensics } from './forensics.js';
import type { RunConfig } from '../run/config.js';
import { REF_CLI } from '../run/paths.js';
import type { Target } from '../target/index.js';
import type { AppOutcome, Feature, FetchOutcome, FetchRequest, ImageFile, Implementation, ImplementationInfo, ImportOutcome, PodOutcome, PodRequest } from './implementation.js';

interface RefResult {
  uuid: string;
  status: 'exited' | 'refused' | 'error' | 'killed';
  error?: string;
  apps: { name: string; exitCode: number | null; signal: string | null; stdout: string; stderr: string }[];
  warnings?: string[];
  /** the pod manifest ref ran and its images' IDs and manifests (ref keeps no store: its result is its report) */
  reported?: { podManifest: unknown; images: { id: unknown; manifest: unknown }[] };
}

export class RefImplementation implements Implementation {
  readonly name = 'ref';
  readonly features: ReadonlySet<Feature>;
  private static readonly FEATURES: readonly Feature[] = [
    'pod-manifest',
    'multi-app',
    'volumes/host',
    'volumes/empty',
    'ports',
    'isolator/resource/memory',
    'isolator/resource/cpu',
    'isolator/os/linux/capabilities-retain-set',
    'isolator/os/linux/capabilities-remove-set',
    'isolator/os/linux/no-new-privileges',
    'isolator/os/linux/oom-score-adj',
    'isolator/os/linux/cpu-shares',
    'isolator/os/linux/seccomp-remove-set',
    'isolator/os/linux/seccomp-retain-set',
    'isolator/os/linux/selinux-context',
    'isolator/os/linux/apparmor-profile',
    'isolator/os/unix/sysctl',
    'isolator/resource/block-bandwidth',
    'isolator/resource/block-iops',
    'isolator/resource/network-bandwidth',
    'event-handlers',
    'metadata-service',
    'app-exit-status',
    'socket-activation',
    'image-import',
    'image-fetch',
    'reported-manifests',
  ];

  constructor(
    private readonly target: Target,
    private readonly config: RunConfig,
  ) {
    // The mutant of a declared gap: the adapter says sysctl is unsupported (and ref ignores it silently).
    const gap: Feature | undefined = config.mutant === 'undeclared-sysctl-silent' ? 'isolator/os/unix/sysctl' : undefined;
    this.features = new Set(RefImplementation.FEATURES.filter((f) => f !== gap));
  }

  /** ref runs under the target's node (on a VM target: the harness's own node, shared in).
   *  Without NODE_EXTRA_CA_CERTS: node parses every certificate it names at each start (a system
   *  bundle, as some machines set it, made each ref start ~100 ms of CPU dearer), and ref trusts
   *  node's own roots plus the CA it is given (`--ca-file`), never that variable's. */
  private cli(args: string[]): string[] {
    return ['env', '-u', 'NODE_EXTRA_CA_CERTS', 'node', REF_CLI, ...args];
  }

  async info(): Promise<ImplementationInfo> {
    const res = await this.target.exec(this.cli(['version']), { timeoutMs: 120_000 });
    if (res.exitCode !== 0) throw new HarnessError(`ref version failed: ${res.stderr.trim() || res.stdout.trim()}`);
    const v = JSON.parse(res.stdout) as { version: string; crun?: string };
    return {
      name: 'ref',
      version: v.version,
      details: { crun: v.crun ?? 'unknown', ...(this.config.mutant ? { mutant: this.config.mutant } : {}) },
    };
  }

  async runPod(request: PodRequest): Promise<PodOutcome> {
    const t = this.target;
    const work = await t.makeTempDir('appc-ref-run-');
    const started = performance.now();
    // ref cleans up after itself; when it could not say so (no result, an error, cleanup
    // warnings), `ref gc` sweeps the data dir before it is removed.
    let swept = false;
    try {
      const args = ['run', '--data-dir', `${work}/data`, '--result', `${work}/result.json`];
      for (const image of request.images) {
        const there = `${work}/${basename(image.path)}`;
        await t.copyIn(image.path, there);
        args.push('--image', there);
      }
      if (request.manifest) {
        await t.writeFile(`${work}/pod.json`, JSON.stringify(request.manifest, null, 2));
        args.push('--pod-manifest', `${work}/pod.json`);
      }
      if (this.config.mutant) args.push('--mutant', this.config.mutant);

      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      // On our pod timeout, forensics are taken while the pod still hangs, then ref is stopped (SIGTERM:
      // it cleans up). An interrupted run stops it the same way.
      const { res, hung } = await execWithForensics(t, (opts) => t.exec(this.cli(args), opts), {
        marker: `${work}/data`,
        timeoutMs,
        interrupt: request.signal,
      });
      // Stopped because the run was interrupted: ref cleaned up on its SIGTERM; gc below makes sure.
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) {
        await t.exec(this.cli(['gc', '--data-dir', `${work}/data`]), { timeoutMs: 30_000 });
        swept = true;
        throw new HarnessError(
          `pod timed out after ${timeoutMs / 1000}s (harness timeout; forensics in the test's artifacts); ref printed: ${(res.stderr + res.stdout).trim().slice(-2000)}`,
        );
      }
      let result: RefResult;
      try {
        result = JSON.parse(await t.readFile(`${work}/result.json`)) as RefResult;
      } catch {
        throw new HarnessError(`ref exited ${res.exitCode ?? res.signal} without a result file: ${res.stderr.trim().slice(-2000)}`);
      }
      const durationMs = performance.now() - started;
      if (result.status === 'exited' || (result.status === 'refused' && !(result.warnings ?? []).some((w) => w.startsWith('cleanup:')))) swept = true;
      if (result.status === 'refused') {
        return { uuid: result.uuid, status: 'refused', refusal: result.error ?? res.stderr.trim(), apps: [], durationMs };
      }
      if (result.status !== 'exited') {
        throw new HarnessError(`ref ended with status ${result.status}: ${result.error ?? res.stderr.trim()}`);
      }
      const outcome: PodOutcome = { uuid: result.uuid, status: 'exited', apps: result.apps.map(withReport), durationMs, messages: res.stderr };
      if (request.inspect) {
        if (!result.reported) throw new HarnessError('ref wrote no report of the pod it ran (result.json has no "reported")');
        outcome.reported = { ...result.reported, listedImageIds: result.reported.images.map((i) => i.id) };
      }
      return outcome;
    } finally {
      if (!swept) await t.exec(this.cli(['gc', '--data-dir', `${work}/data`]), { timeoutMs: 30_000 }).catch(() => undefined);
      await t.remove(work);
    }
  }

  /** `ref import`: exit 0 with {id} on stdout, 1 refused (one line on stderr), anything else a crash. */
  async importImage(file: ImageFile): Promise<ImportOutcome> {
    const t = this.target;
    const work = await t.makeTempDir('appc-ref-import-');
    const started = performance.now();
    try {
      const there = `${work}/${basename(file.path)}`;
      await t.copyIn(file.path, there);
      const args = ['import', '--image', there, ...(this.config.mutant ? ['--mutant', this.config.mutant] : [])];
      // A hanging import gets the forensics of a hanging pod (ref's processes under the work dir).
      const { res, hung } = await execWithForensics(t, (opts) => t.exec(this.cli(args), opts), {
        marker: work,
        timeoutMs: this.config.podTimeoutMs,
        interrupt: file.signal,
      });
      const durationMs = performance.now() - started;
      // Stopped because the run was interrupted: not an outcome of the implementation's.
      if (file.signal?.aborted) throw file.signal.reason as Error;
      if (hung) throw new HarnessError(`ref import timed out after ${this.config.podTimeoutMs / 1000}s (harness timeout)`);
      if (res.exitCode === 2) throw new HarnessError(`ref import: usage error: ${res.stderr.trim()}`);
      if (res.exitCode === 1) return { status: 'refused', refusal: res.stderr.trim().replace(/^ref: refused: /, ''), durationMs };
      if (res.exitCode !== 0) return { status: 'crashed', message: `exit ${res.exitCode ?? res.signal}: ${res.stderr.trim().slice(-2000)}`, durationMs };
      const out = JSON.parse(res.stdout) as { id: string };
      return { status: 'imported', imageId: out.id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  /** `ref trust` into a fresh trust dir, then `ref fetch` in the run's network namespace: exit 0
   *  with {id} on stdout, 1 refused, anything else a crash. */
  async fetchImage(request: FetchRequest): Promise<FetchOutcome> {
    const t = this.target;
    const work = await t.makeTempDir('appc-ref-fetch-');
    const started = performance.now();
    const mutant = this.config.mutant ? ['--mutant', this.config.mutant] : [];
    const net = request.network;
    try {
      const trustDir = `${work}/trust`;
      for (const [i, entry] of request.trust.entries()) {
        const scope = entry.prefix === 'root' ? ['--root'] : ['--prefix', entry.prefix];
        let args: string[];
        if ('keyFile' in entry) {
          const there = `${work}/key-${i}.asc`;
          await t.copyIn(entry.keyFile, there);
          args = ['trust', '--trust-dir', trustDir, ...scope, '--key', there];
        } else args = ['trust', '--trust-dir', trustDir, ...scope, '--discover', '--ca-file', net.caFile, ...mutant];
        const res = await t.exec(net.wrap(this.cli(args)), { timeoutMs: 60_000, signal: request.signal });
        if (request.signal?.aborted) throw request.signal.reason as Error;
        // A key file the harness made must be taken; keys found by discovery may be refused.
        if (res.exitCode === 1 && !('keyFile' in entry)) return { status: 'refused', refusal: `trust: ${res.stderr.trim().replace(/^ref: refused: /, '')}`, durationMs: performance.now() - started };
        if (res.exitCode !== 0) throw new HarnessError(`ref trust failed (exit ${res.exitCode ?? res.signal}): ${res.stderr.trim()}`);
      }
      const labels = Object.entries(request.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      const args = ['fetch', '--name', request.name, ...labels, '--trust-dir', trustDir, '--ca-file', net.caFile, ...mutant];
      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      // A hang is an outcome here, with the forensics of a hanging pod taken before ref is stopped.
      const { res, hung } = await execWithForensics(t, (opts) => t.exec(net.wrap(this.cli(args)), opts), { marker: work, timeoutMs, interrupt: request.signal });
      const durationMs = performance.now() - started;
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) return { status: 'hung', durationMs, output: (res.stderr + res.stdout).trim().slice(-2000) };
      if (res.exitCode === 2) throw new HarnessError(`ref fetch: usage error: ${res.stderr.trim()}`);
      if (res.exitCode === 1) return { status: 'refused', refusal: res.stderr.trim().replace(/^ref: refused: /, ''), durationMs };
      if (res.exitCode !== 0) return { status: 'crashed', message: `exit ${res.exitCode ?? res.signal}: ${res.stderr.trim().slice(-2000)}`, durationMs };
      const out = JSON.parse(res.stdout) as { id: string };
      return { status: 'fetched', imageId: out.id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  async dispose(): Promise<void> {}
}

export function withReport(app: Omit<AppOutcome, 'report' | 'reportMissing'>): AppOutcome {
  const parsed = parseProbeReport(app.stdout);
  return typeof parsed === 'string' ? { ...app, reportMissing: parsed } : { ...app, report: parsed };
}
