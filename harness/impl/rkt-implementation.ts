// Adapter for rkt 1.30 (https://github.com/rkt/rkt). It drives the rkt CLI on the target: images
// are fetched from our built .aci files into the run's private data dir, a pod runs from the
// request's pod manifest (or from its images), per-app exit codes come from
// `rkt status --format=json`, and each pod is removed right after. Run-wide state (data dir,
// metadata service, firewall rules) is in rkt-run.ts; text parsing in rkt-output.ts.
import { basename } from 'node:path';
import type { BuiltImage } from '../aci/index.js';
import type { Flavor, RunConfig } from '../run/config.js';
import { HarnessError } from '../run/errors.js';
import type { Target } from '../target/index.js';
import type { AppOutcome, Feature, FetchOutcome, FetchRequest, ImageFile, Implementation, ImplementationInfo, ImportOutcome, PodOutcome, PodRequest, ReportedManifests } from './implementation.js';
import { execWithForensics } from './forensics.js';
import { withReport } from './ref-implementation.js';
import {
  appsRan,
  assignStreams,
  demuxConsole,
  dependenciesFirst,
  expectedApps,
  flyAppStderr,
  globalArgs,
  manifestForRkt,
  parseImageListIds,
  parseStatus,
  rktComplaint,
  rktFetchByNameArgs,
  rktFetchEnv,
  rktMessages,
  rktTrustArgs,
  RKT_FEATURES,
  runArgs,
  stage1Args,
  type RktPodStatus,
} from './rkt-output.js';
import { killPods, openRktRun, POD_DIR_PREFIX, rktPaths, rktVersion, type RktPaths, type RktRun } from './rkt-run.js';

// rkt's own stderr when it failed before any app ran because of this machine, not the pod.
const INFRASTRUCTURE = /networking|iptables|CNI|netns|cannot acquire lock|no space left|too many open files/i;

/** rkt declined to fetch an image of the pod (exit 254): the pod is refused, not the harness broken. */
class FetchRefused extends Error {}

export class RktImplementation implements Implementation {
  readonly name = 'rkt';
  readonly features: ReadonlySet<Feature>;
  private readonly flavor: Flavor;
  /** this adapter's own run when the harness gave none (e.g. plain `npx vitest`) */
  private ownRun?: Promise<RktRun>;
  private paths?: Promise<RktPaths>;
  private readonly fetched = new Map<string, Promise<void>>();

  constructor(
    private readonly target: Target,
    private readonly config: RunConfig,
  ) {
    this.flavor = config.flavor ?? 'host';
    this.features = RKT_FEATURES[this.flavor];
  }

  private async rkt(): Promise<RktPaths> {
    this.paths ??= (async () => {
      let config = this.config;
      if (!config.runDir) {
        this.ownRun = openRktRun(this.target, config);
        config = (await this.ownRun).config;
      }
      return rktPaths(this.target, config.implPath!, config.runDir!, this.flavor);
    })();
    return this.paths;
  }

  async info(): Promise<ImplementationInfo> {
    const bin = this.config.implPath ?? 'rkt';
    const v = await rktVersion(this.target, bin);
    return {
      name: 'rkt',
      version: v['rkt Version'] ?? 'unknown',
      details: {
        flavor: this.config.flavor ?? 'host',
        binary: bin,
        appc: v['appc Version'] ?? 'unknown',
        features: v['Features'] ?? '',
      },
    };
  }

  /** Imports an image into the run's store once per adapter (rkt's store takes concurrent imports).
   *  rkt fetch also resolves the image's dependencies in the store: when it declines (exit 254,
   *  e.g. no dependency matches), that is rkt refusing the pod, as `rkt run IMAGE` would. */
  private fetch(p: RktPaths, image: BuiltImage, work: string): Promise<void> {
    let done = this.fetched.get(image.id);
    if (!done) {
      done = (async () => {
        const there = `${work}/${basename(image.path)}`;
        await this.target.copyIn(image.path, there);
        const res = await this.target.exec([p.bin, ...globalArgs(p.dataDir, p.configDir), 'fetch', '--full', '--pull-policy=never', there], { timeoutMs: 120_000 });
        if (res.exitCode === 0) return;
        const complaint = `rkt fetch ${image.name}: ${rktComplaint(res.stderr) || `exit ${res.exitCode ?? res.signal}`}`;
        if (res.exitCode === 254 && !INFRASTRUCTURE.test(complaint)) throw new FetchRefused(complaint);
        throw new HarnessError(`${complaint} (failed)`);
      })();
      done.catch(() => this.fetched.delete(image.id));
      this.fetched.set(image.id, done);
    }
    return done;
  }

  /**
   * `rkt fetch --full` of one file into the run's store (signature checks off, as for every fixture:
   * --insecure-options=image). rkt prints the full image ID; it exits 254 when it declines the file.
   * Any other end (a Go panic exits 2) is a crash.
   */
  async importImage(file: ImageFile): Promise<ImportOutcome> {
    const p = await this.rkt();
    const t = this.target;
    const mk = await t.exec(['mktemp', '-d', `${p.runDir}/${POD_DIR_PREFIX}XXXXXX`], { timeoutMs: 10_000 });
    if (mk.exitCode !== 0) throw new HarnessError(`cannot make an import dir in ${p.runDir}: ${mk.stderr.trim()}`);
    const work = mk.stdout.trim();
    const started = performance.now();
    try {
      const there = `${work}/${basename(file.path)}`;
      await t.copyIn(file.path, there);
      const timeoutMs = this.config.podTimeoutMs;
      // A hanging import gets the forensics of a hanging pod (rkt's processes naming the work dir).
      const { res, hung } = await execWithForensics(t, (opts) => t.exec([p.bin, ...globalArgs(p.dataDir, p.configDir), 'fetch', '--full', '--pull-policy=never', there], opts), {
        marker: work,
        timeoutMs,
        interrupt: file.signal,
      });
      const durationMs = performance.now() - started;
      // Stopped because the run was interrupted: not an outcome of the implementation's.
      if (file.signal?.aborted) throw file.signal.reason as Error;
      if (hung) throw new HarnessError(`rkt fetch timed out after ${timeoutMs / 1000}s (harness timeout): ${rktComplaint(res.stderr)}`);
      if (res.exitCode === 254) return { status: 'refused', refusal: rktComplaint(res.stderr) || 'exit 254', durationMs };
      if (res.exitCode !== 0) return { status: 'crashed', message: `rkt fetch exited ${res.exitCode ?? res.signal}: ${rktComplaint(res.stderr)}`, durationMs };
      const id = /^sha512-[0-9a-f]+$/m.exec(res.stdout)?.[0];
      if (!id) throw new HarnessError(`rkt fetch printed no image ID: ${res.stdout.trim().slice(0, 300)}`);
      return { status: 'imported', imageId: id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  /**
   * A fetch by name in the run's network namespace, with a store and trust store of its own
   * (--dir, --local-config), filled by `rkt trust`; signature and TLS checks stay on (no
   * --insecure-options). rkt exits 254 when it declines; the run's CA comes in through SSL_CERT_FILE.
   */
  async fetchImage(request: FetchRequest): Promise<FetchOutcome> {
    const p = await this.rkt();
    const t = this.target;
    const mk = await t.exec(['mktemp', '-d', `${p.runDir}/${POD_DIR_PREFIX}XXXXXX`], { timeoutMs: 10_000 });
    if (mk.exitCode !== 0) throw new HarnessError(`cannot make a fetch dir in ${p.runDir}: ${mk.stderr.trim()}`);
    const work = mk.stdout.trim();
    const dataDir = `${work}/data`;
    const configDir = `${work}/config`;
    const net = request.network;
    const started = performance.now();
    const inNetns = (args: string[]) => net.wrap([...rktFetchEnv(net.caFile), p.bin, ...args]);
    try {
      await t.exec(['mkdir', '-p', dataDir, configDir], { timeoutMs: 10_000 });
      for (const [i, entry] of request.trust.entries()) {
        let keyFile: string | undefined;
        if ('keyFile' in entry) {
          keyFile = `${work}/key-${i}.asc`;
          await t.copyIn(entry.keyFile, keyFile);
        }
        const res = await t.exec(inNetns(rktTrustArgs(dataDir, configDir, entry.prefix, keyFile)), { timeoutMs: 60_000, signal: request.signal });
        if (request.signal?.aborted) throw request.signal.reason as Error;
        // A key file the harness made must be taken; keys found by discovery may be refused.
        if (res.exitCode === 254 && keyFile === undefined) return { status: 'refused', refusal: `rkt trust: ${rktComplaint(res.stderr)}`, durationMs: performance.now() - started };
        if (res.exitCode !== 0) throw new HarnessError(`rkt trust failed (exit ${res.exitCode ?? res.signal}): ${rktComplaint(res.stderr)}`);
      }
      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      // A hang is an outcome here, with the forensics of a hanging pod taken before rkt is stopped.
      const { res, hung } = await execWithForensics(t, (opts) => t.exec(inNetns(rktFetchByNameArgs(dataDir, configDir, request.name, request.labels)), opts), {
        marker: work,
        timeoutMs,
        interrupt: request.signal,
      });
      const durationMs = performance.now() - started;
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) return { status: 'hung', durationMs, output: rktComplaint(res.stderr) };
      if (res.exitCode === 254) return { status: 'refused', refusal: rktComplaint(res.stderr) || 'exit 254', durationMs };
      if (res.exitCode !== 0) return { status: 'crashed', message: `rkt fetch exited ${res.exitCode ?? res.signal}: ${rktComplaint(res.stderr)}`, durationMs };
      const id = /^sha512-[0-9a-f]+$/m.exec(res.stdout)?.[0];
      if (!id) throw new HarnessError(`rkt fetch printed no image ID: ${res.stdout.trim().slice(0, 300)}`);
      return { status: 'fetched', imageId: id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  async runPod(request: PodRequest): Promise<PodOutcome> {
    const first = await this.runOnce(request);
    // rkt 1.30's host flavor now and then ends a pod with every app "exited 0" and nothing at all
    // on the console (seen here about once per full run): the apps' output is lost, not theirs to
    // lose. Such a pod runs once more; a second loss is reported as it is.
    if (first.status === 'exited' && !this.isFly() && first.apps.length > 0 && first.apps.every((a) => a.stdout === '' && a.exitCode !== null)) {
      const again = await this.runOnce(request);
      return { ...again, durationMs: first.durationMs + again.durationMs };
    }
    return first;
  }

  private async runOnce(request: PodRequest): Promise<PodOutcome> {
    const p = await this.rkt();
    const t = this.target;
    // Inside the run dir, so that the run's close() finds the pod's uuid file after a Ctrl-C.
    const mk = await t.exec(['mktemp', '-d', `${p.runDir}/${POD_DIR_PREFIX}XXXXXX`], { timeoutMs: 10_000 });
    if (mk.exitCode !== 0) throw new HarnessError(`cannot make a pod dir in ${p.runDir}: ${mk.stderr.trim()}`);
    const work = mk.stdout.trim();
    const global = globalArgs(p.dataDir, p.configDir);
    const started = performance.now();
    let uuid: string | undefined;
    try {
      try {
        for (const image of dependenciesFirst(request.images)) await this.fetch(p, image, work);
      } catch (err) {
        if (err instanceof FetchRefused) return { status: 'refused', refusal: err.message, apps: [], durationMs: performance.now() - started };
        throw err;
      }
      let podManifest: string | undefined;
      if (request.manifest) {
        podManifest = `${work}/pod.json`;
        await t.writeFile(podManifest, JSON.stringify(manifestForRkt(request.manifest, request.images), null, 2));
      }
      const args = runArgs({
        global,
        stage1: stage1Args(p.flavor, p.stage1File),
        uuidFile: `${work}/uuid`,
        mdsRegister: this.features.has('metadata-service'),
        podManifest,
        images: request.images,
      });
      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      // On the pod timeout, forensics (the processes under the pod dir's name, `rkt status`) are taken
      // while the pod still hangs; then rkt is stopped and the pod killed.
      const { res, hung } = await execWithForensics(t, (opts) => t.exec([p.bin, ...args], opts), {
        marker: work,
        timeoutMs,
        interrupt: request.signal,
        status: async () => {
          const id = (await t.readFile(`${work}/uuid`).catch(() => '')).trim();
          if (!id) return 'rkt wrote no pod UUID yet';
          const st = await t.exec([p.bin, ...global, 'status', '--format=json', id], { timeoutMs: 10_000 });
          return `rkt status ${id} exited ${st.exitCode ?? st.signal}\n${st.stdout}${st.stderr}`;
        },
      });
      uuid = (await t.readFile(`${work}/uuid`).catch(() => '')).trim() || undefined;
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) {
        if (uuid) await killPods(t, [uuid]);
        const console = demuxConsole(res.stdout).flatMap((c) => c.lines.map((l) => `${c.ident}[${c.pid}]: ${l.slice(0, 200)}`));
        throw new HarnessError(
          `pod timed out after ${timeoutMs / 1000}s (harness timeout); rkt printed: ${rktComplaint(res.stderr)}; console: ${console.slice(-8).join(' | ')}`,
        );
      }
      const durationMs = performance.now() - started;
      // A pod rkt declined while preparing it (an invalid manifest) has a uuid but no creation time:
      // rkt status then fails with "error converting pod: invalid creation time". After a failed
      // run that is one more sign of a refusal, not the harness's problem.
      const status = uuid
        ? await this.status(p, uuid).catch((err: unknown) => {
            if (res.exitCode !== 0) return undefined;
            throw err;
          })
        : undefined;
      await this.record(uuid, args, res, status);
      const ran = status !== undefined && appsRan(status, this.flavor, res.stdout, expectedApps(request).map((a) => a.name));
      if (!uuid || !status || status.state === 'prepared' || status?.state === 'aborted prepare' || (res.exitCode !== 0 && !ran)) {
        // rkt declined the pod before any app ran (invalid manifest, missing volume source, …).
        const complaint = rktComplaint(res.stderr) || `exit ${res.exitCode ?? res.signal}`;
        if (INFRASTRUCTURE.test(complaint)) throw new HarnessError(`rkt could not start the pod: ${complaint}`);
        return { uuid, status: 'refused', refusal: complaint, apps: [], durationMs };
      }
      const apps = this.isFly() ? this.flyApps(request, res) : this.consoleApps(request, res.stdout, status!);
      const outcome: PodOutcome = { uuid, status: 'exited', apps, durationMs, messages: rktMessages(res.stderr, this.isFly()) };
      if (request.inspect) outcome.reported = await this.inspect(p, uuid, request.images);
      return outcome;
    } finally {
      if (uuid) {
        await this.remove(p, uuid);
        await killPods(t, [uuid]);
      }
      await t.remove(work);
    }
  }

  /** APPC_RKT_RECORD=DIR (on the harness side) keeps each pod's raw rkt output there: how the
   *  recordings under harness/impl/testdata/rkt were made, and a help when a parse goes wrong. */
  private async record(uuid: string | undefined, args: string[], res: { exitCode: number | null; stdout: string; stderr: string }, status: unknown): Promise<void> {
    const dir = process.env.APPC_RKT_RECORD;
    if (!dir) return;
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    const base = `${dir}/${uuid ?? `no-uuid-${Date.now()}`}`;
    await writeFile(`${base}.args.json`, JSON.stringify({ args, exitCode: res.exitCode }, null, 2));
    await writeFile(`${base}.stdout`, res.stdout);
    await writeFile(`${base}.stderr`, res.stderr);
    if (status) await writeFile(`${base}.status.json`, JSON.stringify(status));
  }

  private isFly(): boolean {
    return this.flavor === 'fly';
  }

  private async status(p: RktPaths, uuid: string): Promise<RktPodStatus> {
    const res = await this.target.exec([p.bin, ...globalArgs(p.dataDir, p.configDir), 'status', '--format=json', uuid], { timeoutMs: 30_000 });
    if (res.exitCode !== 0) throw new HarnessError(`rkt status ${uuid} failed: ${rktComplaint(res.stderr)}`);
    return parseStatus(res.stdout);
  }

  /** What rkt tells its user about a pod it ran and its images, each as JSON: `rkt cat-manifest`,
   *  `rkt image cat-manifest` (asked by the harness's image ID) and `rkt image list --format=json`. */
  private async inspect(p: RktPaths, uuid: string, images: readonly BuiltImage[]): Promise<ReportedManifests> {
    const global = globalArgs(p.dataDir, p.configDir);
    const stdoutOf = async (args: string[]): Promise<string> => {
      const res = await this.target.exec([p.bin, ...global, ...args], { timeoutMs: 30_000 });
      if (res.exitCode !== 0) throw new HarnessError(`rkt ${args.join(' ')} exited ${res.exitCode ?? res.signal}: ${rktComplaint(res.stderr)}`);
      return res.stdout;
    };
    const json = async (args: string[]): Promise<unknown> => {
      const out = await stdoutOf(args);
      try {
        return JSON.parse(out) as unknown;
      } catch {
        throw new HarnessError(`rkt ${args.join(' ')} printed no JSON: ${out.trim().slice(0, 200)}`);
      }
    };
    const podManifest = await json(['cat-manifest', uuid]);
    const reportedImages = [];
    for (const image of images) reportedImages.push({ id: image.id, manifest: await json(['image', 'cat-manifest', image.id]) });
    const list = await stdoutOf(['image', 'list', '--format=json']);
    let listedImageIds: unknown[];
    try {
      listedImageIds = parseImageListIds(list);
    } catch (err) {
      throw new HarnessError(`rkt image list: ${(err as Error).message}`);
    }
    return { podManifest, images: reportedImages, listedImageIds };
  }

  /** Host flavors: exit codes from rkt status, output from the pod's console. */
  private consoleApps(request: PodRequest, stdout: string, status: RktPodStatus): AppOutcome[] {
    const apps = expectedApps(request);
    const output = assignStreams(demuxConsole(stdout), apps);
    return apps.map((app) => {
      const st = status.apps?.find((a) => a.name === app.name);
      // One journal stream carries both of the app's stdout and stderr: both fields get it.
      const text = output.get(app.name) ?? '';
      return withReport({ name: app.name, exitCode: st?.exit_code ?? null, signal: null, stdout: text, stderr: text });
    });
  }

  /** fly: one app, exec'd by rkt itself; rkt's exit code and streams are the app's. */
  private flyApps(request: PodRequest, res: { exitCode: number | null; signal: string | null; stdout: string; stderr: string }): AppOutcome[] {
    const [app] = expectedApps(request);
    if (!app) return [];
    return [withReport({ name: app.name, exitCode: res.exitCode, signal: res.signal, stdout: res.stdout, stderr: flyAppStderr(res.stderr) })];
  }

  /** Removes an exited pod at once (its netns, veth, NAT rules and leases go with it); stops one still running. */
  private async remove(p: RktPaths, uuid: string): Promise<void> {
    const global = globalArgs(p.dataDir, p.configDir);
    const rm = await this.target.exec([p.bin, ...global, 'rm', uuid], { timeoutMs: 60_000 });
    if (rm.exitCode !== 0) {
      await this.target.exec([p.bin, ...global, 'stop', '--force', uuid], { timeoutMs: 60_000 });
      await this.target.exec([p.bin, ...global, 'rm', uuid], { timeoutMs: 60_000 });
    }
  }

  async dispose(): Promise<void> {
    if (this.ownRun) {
      const run = await this.ownRun.catch(() => undefined);
      this.ownRun = undefined;
      this.paths = undefined;
      await run?.close();
    }
    // In a shared run each pod was removed as it ended; the run's close() gc's the rest (a gc here
    // would race with pods and images of other test files).
  }
}
