// The generic adapter: drives any implementation's CLI as its config file describes (config.ts).
// Anything that goes wrong in that wiring (a command that fails to start or exits unexpectedly, a
// result field that is not there) is a HarnessError: a misconfigured adapter is never the
// implementation's non-conformance.
import { randomUUID } from 'node:crypto';
import { basename, isAbsolute, resolve } from 'node:path';
import type { BuiltImage, PodManifest } from '../../aci/index.js';
import type { RunConfig } from '../../run/config.js';
import { HarnessError } from '../../run/errors.js';
import type { ExecResult, Target } from '../../target/index.js';
import type { AppOutcome, Feature, FetchOutcome, FetchRequest, ImageFile, Implementation, ImplementationInfo, ImportOutcome, PodOutcome, PodRequest, ReportedManifests } from '../implementation.js';
import { execWithForensics } from '../forensics.js';
import { withReport } from '../ref-implementation.js';
import { loadGenericConfig, type Argv, type GenericConfig, type LoadedConfig, type Source } from './config.js';
import { resolvePointer } from './pointer.js';

/** Commands other than the run itself (import, result, stop, cleanup) get this long. */
const AUX_TIMEOUT_MS = 60_000;
const IMAGE_VARS = /\{(image|imageId|imageName)\}/;

type Vars = Partial<Record<'work' | 'binary' | 'config' | 'uuid' | 'podManifest' | 'app' | 'image' | 'imageId' | 'imageName' | 'name' | 'labels' | 'label' | 'prefix' | 'keyFile' | 'caFile', string>>;

interface StagedImage {
  path: string;
  image: BuiltImage;
}

/** `{binary}`: --impl-path, else the config's `binary` (relative to the config file when it has a slash). */
export function binaryOf(loaded: LoadedConfig, implPath?: string): string | undefined {
  if (implPath !== undefined) return implPath;
  const b = loaded.config.binary;
  if (b === undefined) return undefined;
  return b.includes('/') && !isAbsolute(b) ? resolve(loaded.dir, b) : b;
}

export function substitute(s: string, vars: Vars): string {
  return s.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const v = vars[name as keyof Vars];
    if (v === undefined) throw new HarnessError(`adapter config: {${name}} has no value in ${JSON.stringify(s)}`);
    return v;
  });
}

/** Expands an argv: an item (or nested group) that names an image placeholder repeats once per image. */
export function expandArgv(argv: Argv, vars: Vars, images: readonly StagedImage[] = []): string[] {
  const out: string[] = [];
  for (const item of argv) {
    const group = Array.isArray(item) ? item : [item];
    if (group.some((s) => IMAGE_VARS.test(s))) {
      for (const img of images) {
        const per = { ...vars, image: img.path, imageId: img.image.id, imageName: img.image.manifest.name };
        for (const s of group) out.push(substitute(s, per));
      }
    } else {
      for (const s of group) out.push(substitute(s, vars));
    }
  }
  return out;
}

/** The last path segment of an image name as an AC Name: how ref and rkt name the app of an image-only run. */
export function appNameFromImage(imageName: string): string {
  const last = imageName.split('/').pop() ?? '';
  return last.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'app';
}

/** The apps a pod runs, by name, in order: the manifest's, or one per image with an app that no other image depends on. */
export function appNames(images: readonly BuiltImage[], manifest?: PodManifest): string[] {
  if (manifest) return manifest.apps.map((a) => a.name);
  const deps = new Set(images.flatMap((i) => (i.manifest.dependencies ?? []).map((d) => d.imageName)));
  const used = new Set<string>();
  return images
    .filter((i) => i.manifest.app && !deps.has(i.manifest.name))
    .map((i) => {
      const base = appNameFromImage(i.manifest.name);
      let name = base;
      for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
      used.add(name);
      return name;
    });
}

/** Dependencies before the images that need them: an implementation may resolve them on import. */
export function importOrder<T extends { image: BuiltImage }>(images: readonly T[]): T[] {
  const done: T[] = [];
  let left = [...images];
  while (left.length > 0) {
    const ready = left.filter((i) => (i.image.manifest.dependencies ?? []).every((d) => !left.some((o) => o !== i && o.image.manifest.name === d.imageName)));
    const next = ready.length > 0 ? ready : left; // a cycle: keep the given order
    done.push(...next);
    left = left.filter((i) => !next.includes(i));
  }
  return done;
}

function tail(s: string, n = 1500): string {
  const t = s.trim();
  return t.length > n ? `…${t.slice(-n)}` : t;
}

/** Head and tail of a long message: a crash says what on its first line and where on its last. */
function gist(s: string): string {
  const t = s.trim();
  return t.length > 600 ? `${t.slice(0, 250)} … ${t.slice(-300)}` : t;
}

function describe(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Pod runs in flight in this process, so that Ctrl-C can wait for their stop and cleanup commands. */
const inflight = new Set<Promise<unknown>>();
let sigintHooked = false;
const SIGINT_GRACE_MS = 60_000;

/** Ctrl-C reaches the implementation too (same process group): let each running pod end and be
 *  cleaned up, then leave as Ctrl-C would have. A second Ctrl-C leaves at once. */
function hookSigint(): void {
  if (sigintHooked) return;
  sigintHooked = true;
  if (process.listenerCount('SIGINT') > 0) return; // someone else handles Ctrl-C here (adapter-check)
  process.once('SIGINT', () => {
    process.once('SIGINT', () => process.exit(130));
    setTimeout(() => process.exit(130), SIGINT_GRACE_MS).unref();
    void Promise.allSettled([...inflight]).then(() => process.exit(130));
  });
}

export class GenericImplementation implements Implementation {
  readonly name: string;
  readonly features: ReadonlySet<Feature>;
  readonly concurrentPods: boolean;
  private readonly cfg: GenericConfig;
  private readonly loaded: LoadedConfig;

  constructor(
    private readonly target: Target,
    private readonly config: RunConfig,
    loaded?: LoadedConfig,
  ) {
    if (!loaded && config.implConfig === undefined) throw new HarnessError('the generic adapter needs --impl-config');
    this.loaded = loaded ?? loadGenericConfig(config.implConfig!);
    this.cfg = this.loaded.config;
    this.name = this.cfg.name;
    this.features = new Set(this.cfg.features);
    this.concurrentPods = this.cfg.concurrentPods ?? true;
  }

  private baseVars(): Vars {
    const binary = binaryOf(this.loaded, this.config.implPath);
    return { config: this.loaded.dir, ...(binary !== undefined ? { binary } : {}) };
  }

  /** Runs one configured command; a command that cannot start is a HarnessError naming the field. */
  private async exec(what: string, argv: string[], vars: Vars, timeoutMs = AUX_TIMEOUT_MS, signal?: AbortSignal): Promise<ExecResult> {
    const cwd = this.cfg.cwd !== undefined ? substitute(this.cfg.cwd, vars) : vars.work;
    try {
      return await this.target.exec(argv, { timeoutMs, ...(cwd !== undefined ? { cwd } : {}), ...(this.cfg.env ? { env: this.cfg.env } : {}), ...(signal ? { signal } : {}) });
    } catch (err) {
      throw new HarnessError(`${what}: cannot start \`${describe(argv)}\`: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** Runs a command that must succeed (exit 0); returns its stdout. */
  private async mustRun(what: string, argv: string[], vars: Vars): Promise<string> {
    const res = await this.exec(what, argv, vars);
    if (res.timedOut) throw new HarnessError(`${what}: \`${describe(argv)}\` timed out after ${AUX_TIMEOUT_MS / 1000}s`);
    if (res.exitCode !== 0) {
      throw new HarnessError(`${what}: \`${describe(argv)}\` exited ${res.exitCode ?? res.signal}: ${gist(res.stderr || res.stdout)}`);
    }
    return res.stdout;
  }

  async info(): Promise<ImplementationInfo> {
    const details: Record<string, string> = { adapter: 'generic', config: this.loaded.path };
    const binary = binaryOf(this.loaded, this.config.implPath);
    if (binary !== undefined) details.binary = binary;
    let version = 'unknown';
    const v = this.cfg.version;
    if (v) {
      const vars = this.baseVars();
      const out = await this.mustRun('version', expandArgv(v.argv, vars), vars);
      if (v.pointer !== undefined) {
        const got = resolvePointer(parseJson('version', out), v.pointer);
        if (!got.ok) throw new HarnessError(`version: /version/pointer ${got.problem}`);
        version = String(got.value);
      } else {
        version = out.trim().split('\n')[0] ?? 'unknown';
      }
    }
    return { name: this.cfg.name, version, details };
  }

  runPod(request: PodRequest): Promise<PodOutcome> {
    hookSigint();
    const run = this.runPodOnce(request);
    const settled: Promise<unknown> = run.then(
      (): void => void inflight.delete(settled),
      (): void => void inflight.delete(settled),
    );
    inflight.add(settled);
    return run;
  }

  private async runPodOnce(request: PodRequest): Promise<PodOutcome> {
    const t = this.target;
    const cfg = this.cfg;
    const work = await t.makeTempDir('appc-generic-run-');
    // With a uuidFile, {uuid} is the implementation's and unknown until it writes the file.
    const vars: Vars = { ...this.baseVars(), work, ...(cfg.run.uuidFile === undefined ? { uuid: randomUUID() } : {}) };
    const readUuid = async (): Promise<void> => {
      if (cfg.run.uuidFile === undefined || vars.uuid !== undefined) return;
      const uuid = (await t.readFile(substitute(cfg.run.uuidFile, vars)).catch(() => '')).trim();
      if (uuid) vars.uuid = uuid;
    };
    const started = performance.now();
    let failed = false;
    try {
      const images: StagedImage[] = [];
      for (const image of request.images) {
        const path = `${work}/${basename(image.path)}`;
        await t.copyIn(image.path, path);
        images.push({ path, image });
      }
      let runArgv = cfg.run.images;
      if (request.manifest) {
        if (!cfg.run.podManifest) throw new HarnessError('adapter config: the pod has a pod manifest but /run/podManifest is not set');
        vars.podManifest = `${work}/pod-manifest.json`;
        await t.writeFile(vars.podManifest, JSON.stringify(request.manifest, null, 2));
        runArgv = cfg.run.podManifest;
      }
      if (cfg.import) {
        for (const img of importOrder(images)) await this.mustRun(`import of ${img.image.manifest.name}`, expandArgv(cfg.import, vars, [img]), vars);
      }

      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      const argv = expandArgv(runArgv, vars, images);
      // On the pod timeout, forensics (processes running in {work} or naming it, and the config's
      // `status` of the pod) are taken while the pod still hangs; then the run command is stopped.
      const { res: run, hung } = await execWithForensics(t, (opts) => this.exec('run', argv, vars, opts.timeoutMs, opts.signal), {
        marker: work,
        timeoutMs,
        interrupt: request.signal,
        ...(cfg.status ? { status: () => this.statusText(cfg.status!, vars) } : {}),
      });
      // Stopped because the run was interrupted: the stop and cleanup commands below still run.
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) {
        throw new HarnessError(`pod timed out after ${timeoutMs / 1000}s (harness timeout); run printed: ${tail(run.stderr + run.stdout)}`);
      }
      await readUuid();
      const outcome = await this.collect(request, run, vars, describe(argv));
      return { ...outcome, durationMs: performance.now() - started };
    } catch (err) {
      failed = true;
      await readUuid();
      // Best effort: the original error is what the user needs to see.
      if (cfg.stop && this.resolvable(cfg.stop, vars)) await this.exec('stop', expandArgv(cfg.stop, vars), vars).catch(() => undefined);
      throw err;
    } finally {
      try {
        // A cleanup that needs the pod's UUID has nothing to clean when the implementation never wrote one.
        if (cfg.cleanup && this.resolvable(cfg.cleanup, vars)) {
          const argv = expandArgv(cfg.cleanup, vars);
          const res = await this.exec('cleanup', argv, vars).catch((err: Error) => ({ timedOut: false, exitCode: null, signal: err.message, stderr: '' }));
          if (!failed && (res.timedOut || res.exitCode !== 0)) {
            throw new HarnessError(`cleanup: \`${describe(argv)}\` exited ${res.exitCode ?? res.signal}: ${tail(res.stderr, 500)}`);
          }
        }
      } finally {
        await t.remove(work);
      }
    }
  }

  /** The implementation's own status of a hanging pod (/status), for its forensics. */
  private async statusText(argv: Argv, vars: Vars): Promise<string> {
    const uuid = this.cfg.run.uuidFile === undefined ? vars.uuid : (await this.target.readFile(substitute(this.cfg.run.uuidFile, vars)).catch(() => '')).trim();
    if (!uuid && JSON.stringify(argv).includes('{uuid}')) return 'no pod UUID written yet';
    const v = { ...vars, ...(uuid ? { uuid } : {}) };
    const res = await this.exec('status', expandArgv(argv, v), v);
    return `\`${describe(expandArgv(argv, v))}\` exited ${res.exitCode ?? res.signal}\n${res.stdout}${res.stderr}`;
  }

  /** Whether every placeholder of a command (other than per-image ones) has a value now. */
  private resolvable(argv: Argv, vars: Vars): boolean {
    return [...JSON.stringify(argv).matchAll(/\{([A-Za-z]+)\}/g)].every((m) => vars[m[1] as keyof Vars] !== undefined);
  }

  /** Reads refusal, then each app's exit status and output, from the sources the config names. */
  private async collect(request: PodRequest, run: ExecResult, vars: Vars, runCmd: string): Promise<Omit<PodOutcome, 'durationMs'>> {
    const cfg = this.cfg;
    const ranAs = `run \`${runCmd}\` exited ${run.exitCode ?? run.signal}`;
    let doc: unknown;
    const result = async (): Promise<unknown> => {
      if (doc !== undefined || !cfg.result) return doc;
      let text: string;
      if (cfg.result.file !== undefined) {
        const file = substitute(cfg.result.file, vars);
        text = await this.target.readFile(file).catch(() => {
          throw new HarnessError(`result: ${file} missing (${ranAs}: ${tail(run.stderr, 500)})`);
        });
      } else {
        text = await this.mustRun('result', expandArgv(cfg.result.argv!, vars), vars);
      }
      doc = parseJson('result', text);
      return doc;
    };

    const refused = cfg.refused;
    let isRefused = refused?.exitCodes?.includes(run.exitCode ?? -1) ?? false;
    if (!isRefused && refused?.pointer !== undefined) {
      const got = resolvePointer(await result(), refused.pointer);
      isRefused = got.ok && got.value === refused.equals;
    }
    const uuid = vars.uuid;
    if (isRefused) {
      let message = tail(run.stderr, 500);
      if (refused?.message !== undefined) {
        const got = resolvePointer(await result(), refused.message);
        if (got.ok && got.value != null) message = String(got.value);
      }
      return { uuid, status: 'refused', refusal: message || ranAs, apps: [] };
    }

    if (cfg.run.uuidFile !== undefined && uuid === undefined) {
      throw new HarnessError(`${ranAs} without writing the pod UUID to ${substitute(cfg.run.uuidFile, vars)}: ${tail(run.stderr, 500)}`);
    }
    const names = appNames(request.images, request.manifest);
    const single = names.length === 1;
    const apps: AppOutcome[] = [];
    /** apps whose exit-status text came back empty (e.g. no "app-NAME=" line in a status listing) */
    const noStatus: string[] = [];
    for (const name of names) {
      const appVars = { ...vars, app: name };
      // `match` picks lines out of any text a source gives (e.g. "app-web=0" from a status listing).
      const read = async (field: 'exitCode' | 'signal' | 'stdout' | 'stderr', src: Source): Promise<unknown> => {
        const v = await readRaw(field, src);
        return src.match !== undefined && typeof v === 'string' ? pick(v, substitute(src.match, appVars)) : v;
      };
      const readRaw = async (field: 'exitCode' | 'signal' | 'stdout' | 'stderr', src: Source): Promise<unknown> => {
        const where = `/apps/${field}`;
        if (src.pointer !== undefined) {
          const ptr = substitute(src.pointer, appVars);
          const got = resolvePointer(await result(), ptr);
          if (!got.ok) throw new HarnessError(`adapter config ${where}: app ${name}: ${got.problem} in the result (${ranAs})`);
          return got.value;
        }
        if (src.run !== undefined) {
          // The run's own output belongs to one app only, unless `match` picks each app's lines.
          if (!single && src.match === undefined) {
            throw new HarnessError(`adapter config ${where}: {run: ${src.run}} is ambiguous for a pod of ${names.length} apps (add match, or use another source)`);
          }
          return src.run === 'exitCode' ? run.exitCode : src.run === 'signal' ? run.signal : run[src.run];
        }
        if (src.file !== undefined) {
          const file = substitute(src.file, appVars);
          return this.target.readFile(file).catch(() => {
            throw new HarnessError(`adapter config ${where}: app ${name}: ${file} missing (${ranAs})`);
          });
        }
        return this.mustRun(`${where} of app ${name}`, expandArgv(src.argv!, appVars), appVars);
      };
      const text = async (field: 'stdout' | 'stderr', src: Source): Promise<string> => {
        const v = await read(field, src);
        if (typeof v !== 'string') throw new HarnessError(`adapter config /apps/${field}: app ${name}: expected text, got ${JSON.stringify(v)?.slice(0, 80)}`);
        return v;
      };
      const rawCode = await read('exitCode', cfg.apps.exitCode);
      const exitCode = toExitCode(rawCode);
      if (exitCode === undefined && rawCode === '') {
        noStatus.push(name);
        continue;
      }
      if (exitCode === undefined) throw new HarnessError(`adapter config /apps/exitCode: app ${name}: expected an exit code, got ${JSON.stringify(rawCode)?.slice(0, 80)}`);
      let signal: string | null = null;
      if (cfg.apps.signal) {
        const s = await read('signal', cfg.apps.signal);
        signal = s == null || s === '' ? null : String(s).trim() || null;
      }
      apps.push(withReport({ name, exitCode, signal, stdout: await text('stdout', cfg.apps.stdout), stderr: await text('stderr', cfg.apps.stderr) }));
    }
    if (noStatus.length > 0) {
      // A failed run in which no app got an exit status never ran the pod: the implementation declined it.
      if (noStatus.length === names.length && run.exitCode !== 0) {
        return { uuid, status: 'refused', refusal: `${ranAs} and no app has an exit status: ${tail(run.stderr, 500)}`, apps: [] };
      }
      throw new HarnessError(`adapter config /apps/exitCode: app ${noStatus[0]}: no exit status found (${ranAs})`);
    }
    const outcome: Omit<PodOutcome, 'durationMs'> = { uuid, status: 'exited', apps, ...(cfg.messages ? { messages: await this.messages(cfg.messages, run, vars, result, ranAs) } : {}) };
    if (request.inspect && cfg.reported) outcome.reported = await this.reported(cfg.reported, request, run, vars, result, ranAs);
    return outcome;
  }

  /** What the implementation reports about the pod and its images (/reported), each source as JSON. */
  private async reported(spec: NonNullable<GenericConfig['reported']>, request: PodRequest, run: ExecResult, vars: Vars, result: () => Promise<unknown>, ranAs: string): Promise<ReportedManifests> {
    const read = async (where: string, src: Source, v: Vars): Promise<unknown> => {
      if (src.pointer !== undefined) {
        const got = resolvePointer(await result(), substitute(src.pointer, v));
        if (!got.ok) throw new HarnessError(`adapter config ${where}: ${got.problem} in the result (${ranAs})`);
        return got.value;
      }
      let text: string;
      if (src.run !== undefined) text = String(src.run === 'exitCode' ? run.exitCode : src.run === 'signal' ? run.signal : run[src.run]);
      else if (src.file !== undefined) {
        const file = substitute(src.file, v);
        text = await this.target.readFile(file).catch(() => {
          throw new HarnessError(`adapter config ${where}: ${file} missing (${ranAs})`);
        });
      } else text = await this.mustRun(where, expandArgv(src.argv!, v), v);
      return parseJson(`adapter config ${where}`, src.match !== undefined ? pick(text, substitute(src.match, v)) : text);
    };
    const images = [];
    for (const image of request.images) {
      const v = { ...vars, imageId: image.id, imageName: image.manifest.name };
      images.push({ id: image.id, manifest: await read('/reported/imageManifest', spec.imageManifest, v) });
    }
    const out: ReportedManifests = { podManifest: await read('/reported/podManifest', spec.podManifest, vars), images };
    if (spec.imageList) {
      const list = await read('/reported/imageList', spec.imageList, vars);
      if (!Array.isArray(list)) throw new HarnessError(`adapter config /reported/imageList: expected a JSON list, got ${JSON.stringify(list)?.slice(0, 80)}`);
      out.listedImageIds = list.map((e: unknown) => (typeof e === 'object' && e !== null && 'id' in e ? (e as { id: unknown }).id : e));
    }
    return out;
  }

  /** What the implementation told its user about the run (ACE-ISO-GEN-003), from /messages. */
  private async messages(src: Source, run: ExecResult, vars: Vars, result: () => Promise<unknown>, ranAs: string): Promise<string> {
    let v: unknown;
    if (src.pointer !== undefined) {
      const got = resolvePointer(await result(), substitute(src.pointer, vars));
      if (!got.ok) throw new HarnessError(`adapter config /messages: ${got.problem} in the result (${ranAs})`);
      v = Array.isArray(got.value) ? got.value.join('\n') : got.value;
    } else if (src.run !== undefined) {
      v = src.run === 'exitCode' ? run.exitCode : src.run === 'signal' ? run.signal : run[src.run];
    } else if (src.file !== undefined) {
      const file = substitute(src.file, vars);
      v = await this.target.readFile(file).catch(() => '');
    } else {
      v = await this.mustRun('/messages', expandArgv(src.argv!, vars), vars);
    }
    if (typeof v !== 'string') throw new HarnessError(`adapter config /messages: expected text, got ${JSON.stringify(v)?.slice(0, 80)}`);
    return src.match !== undefined ? pick(v, substitute(src.match, vars)) : v;
  }

  /** /imageImport: one command on the staged file; its exit code decides refused or crashed, the
   *  image ID comes from /imageImport/imageId (first matching line). */
  async importImage(file: ImageFile): Promise<ImportOutcome> {
    const spec = this.cfg.imageImport;
    if (!spec) throw new HarnessError('adapter config: importImage needs /imageImport');
    const t = this.target;
    const work = await t.makeTempDir('appc-generic-import-');
    const started = performance.now();
    try {
      const path = `${work}/${basename(file.path)}`;
      await t.copyIn(file.path, path);
      const vars: Vars = { ...this.baseVars(), work, image: path };
      const flat = (argv: Argv) => argv.flatMap((item) => (Array.isArray(item) ? item : [item]).map((s) => substitute(s, vars)));
      const argv = flat(spec.argv);
      const timeoutMs = this.config.podTimeoutMs;
      // A hanging import gets the forensics of a hanging pod (the processes running in or naming {work}).
      const { res, hung } = await execWithForensics(t, (opts) => this.exec('imageImport', argv, vars, opts.timeoutMs, opts.signal), {
        marker: work,
        timeoutMs,
        interrupt: file.signal,
      });
      const durationMs = performance.now() - started;
      // Stopped because the run was interrupted: not an outcome of the implementation's.
      if (file.signal?.aborted) throw file.signal.reason as Error;
      if (hung) throw new HarnessError(`image import timed out after ${timeoutMs / 1000}s (harness timeout): \`${describe(argv)}\``);
      if (res.exitCode !== null && (spec.refusedExitCodes ?? []).includes(res.exitCode)) {
        return { status: 'refused', refusal: tail(res.stderr, 500) || `exit ${res.exitCode}`, durationMs };
      }
      if (res.exitCode !== 0) return { status: 'crashed', message: `\`${describe(argv)}\` exited ${res.exitCode ?? res.signal}: ${gist(res.stderr || res.stdout)}`, durationMs };
      const src = spec.imageId;
      let text: string;
      if (src.run !== undefined) text = String(src.run === 'exitCode' ? res.exitCode : src.run === 'signal' ? res.signal : res[src.run]);
      else if (src.file !== undefined) text = await t.readFile(substitute(src.file, vars)).catch(() => '');
      else text = await this.mustRun('/imageImport/imageId', flat(src.argv!), vars);
      const id = (src.match !== undefined ? pick(text, src.match) : text).trim().split('\n')[0]?.trim() ?? '';
      if (!id) throw new HarnessError(`adapter config /imageImport/imageId: no image ID in ${JSON.stringify(tail(text, 200))}`);
      return { status: 'imported', imageId: id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  /** /imageFetch: the trust commands into a fresh {work}, then the fetch, each in the run's network
   *  namespace; exit codes and the image ID as for /imageImport, a harness timeout is a hang. */
  async fetchImage(request: FetchRequest): Promise<FetchOutcome> {
    const spec = this.cfg.imageFetch;
    if (!spec) throw new HarnessError('adapter config: fetchImage needs /imageFetch');
    const t = this.target;
    const work = await t.makeTempDir('appc-generic-fetch-');
    const started = performance.now();
    const labelPairs = Object.keys(request.labels)
      .sort()
      .map((k) => `${k}=${request.labels[k]}`);
    const base: Vars = { ...this.baseVars(), work, name: request.name, labels: labelPairs.join(','), caFile: request.network.caFile };
    const expand = (argv: Argv, vars: Vars) =>
      argv.flatMap((item) => {
        const group = Array.isArray(item) ? item : [item];
        if (!group.some((s) => s.includes('{label}'))) return group.map((s) => substitute(s, vars));
        return labelPairs.flatMap((label) => group.map((s) => substitute(s, { ...vars, label })));
      });
    const refused = (code: number | null) => code !== null && (spec.refusedExitCodes ?? []).includes(code);
    try {
      for (const [i, entry] of request.trust.entries()) {
        let argv: string[];
        if ('keyFile' in entry) {
          const keyFile = `${work}/key-${i}.asc`;
          await t.copyIn(entry.keyFile, keyFile);
          const form = entry.prefix === 'root' ? spec.trust.rootKey : spec.trust.key;
          if (!form) throw new HarnessError('adapter config /imageFetch/trust/rootKey: needed to trust a root key');
          argv = expand(form, { ...base, keyFile, ...(entry.prefix !== 'root' ? { prefix: entry.prefix } : {}) });
        } else {
          if (!spec.trust.discover) throw new HarnessError('adapter config /imageFetch/trust/discover: needed to trust keys found by pubkeys discovery');
          argv = expand(spec.trust.discover, { ...base, prefix: entry.prefix });
        }
        const res = await this.exec('imageFetch/trust', request.network.wrap(argv), base, AUX_TIMEOUT_MS, request.signal);
        if (request.signal?.aborted) throw request.signal.reason as Error;
        // A key file the harness made must be taken; keys found by discovery may be refused.
        if (refused(res.exitCode) && !('keyFile' in entry)) return { status: 'refused', refusal: `trust: ${tail(res.stderr, 500)}`, durationMs: performance.now() - started };
        if (res.exitCode !== 0) throw new HarnessError(`imageFetch/trust: \`${describe(argv)}\` exited ${res.exitCode ?? res.signal}: ${gist(res.stderr || res.stdout)}`);
      }
      const argv = expand(spec.argv, base);
      const timeoutMs = request.timeoutMs ?? this.config.podTimeoutMs;
      // A hang is an outcome here, with the forensics of a hanging pod taken before the fetch is stopped.
      const { res, hung } = await execWithForensics(t, (opts) => this.exec('imageFetch', request.network.wrap(argv), base, opts.timeoutMs, opts.signal), {
        marker: work,
        timeoutMs,
        interrupt: request.signal,
      });
      const durationMs = performance.now() - started;
      if (request.signal?.aborted) throw request.signal.reason as Error;
      if (hung) return { status: 'hung', durationMs, output: tail(res.stderr + res.stdout, 2000) };
      if (refused(res.exitCode)) return { status: 'refused', refusal: tail(res.stderr, 500) || `exit ${res.exitCode}`, durationMs };
      if (res.exitCode !== 0) return { status: 'crashed', message: `\`${describe(argv)}\` exited ${res.exitCode ?? res.signal}: ${gist(res.stderr || res.stdout)}`, durationMs };
      const src = spec.imageId;
      let text: string;
      if (src.run !== undefined) text = String(src.run === 'exitCode' ? res.exitCode : src.run === 'signal' ? res.signal : res[src.run]);
      else if (src.file !== undefined) text = await t.readFile(substitute(src.file, base)).catch(() => '');
      else text = await this.mustRun('/imageFetch/imageId', expand(src.argv!, base), base);
      const id = (src.match !== undefined ? pick(text, src.match) : text).trim().split('\n')[0]?.trim() ?? '';
      if (!id) throw new HarnessError(`adapter config /imageFetch/imageId: no image ID in ${JSON.stringify(tail(text, 200))}`);
      return { status: 'fetched', imageId: id, durationMs, messages: res.stderr };
    } finally {
      await t.remove(work);
    }
  }

  async dispose(): Promise<void> {}
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HarnessError(`${what}: not JSON (${(err as Error).message}): ${tail(text, 200)}`);
  }
}

/** An exit code from JSON or text: an integer 0..255, or null (killed, never ran); undefined when it is neither. */
function toExitCode(v: unknown): number | null | undefined {
  if (v === null) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
}

/** The lines of `text` (LF or CRLF) that match `re`, each as its first group when it has one. */
function pick(text: string, re: string): string {
  const rx = new RegExp(re);
  const kept: string[] = [];
  for (const line of text.split(/\r?\n/)) { // a console may end lines with CRLF
    const m = rx.exec(line);
    if (m) kept.push(m[1] ?? line);
  }
  return kept.length > 0 ? `${kept.join('\n')}\n` : '';
}
