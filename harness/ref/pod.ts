// One pod from images to exit statuses: load and check the images and the pod manifest, render
// every app (fresh rootfs, volumes, user, exec, OCI config), start all apps in the pod's shared
// namespaces, wait for all of them, then undo everything.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AC_VERSION, type ImageManifest, type PodManifest, type RuntimeApp } from '../aci/manifest.js';
import { prepareApp, type HandlerName, type PodContext, type PreparedApp } from './app.js';
import { applyPodResources, createPodCgroups } from './cgroups.js';
import { cleanupPod } from './cleanup.js';
import { Crun, StartError, type AppExit, type StartedApp } from './crun.js';
import { InfraError, KilledError, messageOf, refuse, RefusalError } from './errors.js';
import { podHostname, startHolder, type Holder } from './holder.js';
import { loadImage, type LoadedImage } from './image.js';
import { hostSecret, mergeAnnotations, metadataUrl, newToken, startMds, type MdsConfig } from './mds.js';
import { createPodLink, limitPodLink } from './network.js';
import { listenHostPorts, planPorts } from './ports.js';
import { activeMutant, isMutant } from './mutants.js';
import { buildOciConfig, KNOWN_ISOLATORS, resources } from './oci.js';
import { procRef } from './procs.js';
import { activatedProcess, passedFiles, planActivation } from './socket-activation.js';
import { matchDependency } from './render.js';
import { StateFile } from './state.js';
import { trace } from './trace.js';
import { checkPodManifest } from './validate.js';
import { createEmptyVolume } from './volumes.js';

export interface RunRequest {
  dataDir: string;
  images: string[];
  podManifestFile?: string;
  uuid?: string;
  /** aborted with a KilledError as reason on SIGTERM/SIGINT */
  signal: AbortSignal;
}

export interface HandlerResult {
  name: HandlerName;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface AppResult {
  name: string;
  imageId: string;
  /** null (with signal null) when the app never ran, e.g. after a failed pre-start handler */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** event handlers that ran, in order (only for apps that have handlers) */
  handlers?: HandlerResult[];
}

export type PodStatus = 'exited' | 'refused' | 'error' | 'killed';

export interface RunResult {
  uuid: string;
  status: PodStatus;
  error?: string;
  apps: AppResult[];
  timings: { renderMs: number; runMs: number; cleanupMs: number };
  /** isolators ignored, metadata not restored…: printed by the CLI when the pod ran */
  warnings: string[];
  /** what ref tells its user it ran: the resolved pod manifest and each image's ID and manifest */
  reported?: Reported;
}

export interface Reported {
  podManifest: PodManifest;
  images: { id: string; manifest: ImageManifest }[];
}

/** The report of a pod that got as far as its apps (the mutants misreport it). */
function reportOf(podManifest: PodManifest, images: readonly LoadedImage[]): Reported {
  const cut = (id: string) => (isMutant('reported-short-image-id') ? id.slice(0, 'sha512-'.length + 64) : id);
  return {
    podManifest: { ...podManifest, apps: podManifest.apps.map((a) => ({ ...a, image: { ...a.image, id: cut(a.image.id ?? '') } })) },
    images: images.map((i) => {
      let manifest = i.manifest;
      if (isMutant('reported-bad-ac-version')) manifest = { ...manifest, acVersion: '1.0.0' };
      if (isMutant('reported-without-labels')) manifest = { ...manifest, labels: [] };
      return { id: i.id, manifest };
    }),
  };
}

/** The last path segment of an image name as an AC Name ("example.com/My_App" → "my-app"). */
export function appNameFromImage(imageName: string): string {
  const last = imageName.split('/').pop() ?? '';
  return last.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'app';
}

/** Without a pod manifest: one app per image with an `app`, except images another given image depends on. */
export function synthesizePod(images: readonly LoadedImage[]): PodManifest {
  const dependencies = new Set<LoadedImage>();
  for (const img of images) {
    for (const dep of img.manifest.dependencies ?? []) {
      const found = matchDependency(dep, images);
      if (found && found !== img) dependencies.add(found);
    }
  }
  const mains = images.filter((img) => img.manifest.app && !dependencies.has(img));
  if (mains.length === 0) refuse('none of the given images has an app section to run');
  const used = new Set<string>();
  const apps: RuntimeApp[] = mains.map((img) => {
    const base = appNameFromImage(img.manifest.name);
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return { name, image: { id: img.id, name: img.manifest.name } };
  });
  return { acKind: 'PodManifest', acVersion: AC_VERSION, apps, volumes: [] };
}

async function readPodManifest(file: string): Promise<PodManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    refuse(`cannot read pod manifest ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    refuse(`pod manifest ${file} is not valid JSON: ${messageOf(err)}`);
  }
  checkPodManifest(doc);
  return doc;
}

function statusOf(err: unknown): { status: PodStatus; error: string } {
  if (err instanceof KilledError) return { status: 'killed', error: err.message };
  if (err instanceof RefusalError) return { status: 'refused', error: err.message };
  if (err instanceof InfraError) return { status: 'error', error: err.message };
  // Anything unexpected is ref's own failure, never the pod's.
  return { status: 'error', error: `internal error: ${messageOf(err)}` };
}

/** A crun start failure caused by the image (exec, cwd) is a refusal; anything else is ours. */
function startFailure(app: string, err: unknown): Error {
  const msg = messageOf(err);
  if (err instanceof StartError && /exec|executable|chdir|No such file|Permission denied|not found/i.test(msg)) {
    return new RefusalError(`app ${app} could not be started: ${msg}`);
  }
  return err instanceof InfraError ? err : new InfraError(`app ${app} could not be started: ${msg}`);
}

/**
 * The pod manifest as ref runs it (POD-REIFY-*), for the metadata service: every app names its
 * image by ID, and every mountPoint no mount fulfilled has the empty volume ref made for it.
 */
export function resolvedManifest(pod: PodManifest, launched: readonly RuntimeApp[], prepared: readonly PreparedApp[]): PodManifest {
  const volumes = [...(pod.volumes ?? [])];
  const taken = new Set(volumes.map((v) => v.name));
  const apps = launched.map((rt) => {
    const p = prepared.find((x) => x.name === rt.name)!;
    const app: RuntimeApp = { ...rt, image: { ...rt.image, id: p.image.id, name: rt.image.name ?? p.image.manifest.name } };
    if (isMutant('unresolved-mounts') || p.impliedVolumes.length === 0) return app;
    const mounts = [...(rt.mounts ?? [])];
    for (const { path, volume } of p.impliedVolumes) {
      let name = taken.has(volume.name) ? `${rt.name}-${volume.name}` : volume.name;
      for (let i = 2; taken.has(name); i++) name = `${rt.name}-${volume.name}-${i}`;
      taken.add(name);
      volumes.push({ ...volume, name });
      mounts.push({ volume: name, path });
    }
    return { ...app, mounts };
  });
  return { ...pod, apps, volumes };
}

export async function runPod(req: RunRequest): Promise<RunResult> {
  const uuid = req.uuid ?? (isMutant('bad-uuid') ? randomUUID().replaceAll('-', '') : randomUUID());
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const timings = { renderMs: 0, runMs: 0, cleanupMs: 0 };
  const apps: AppResult[] = [];
  const podDir = join(req.dataDir, 'pods', uuid);
  let state: StateFile | undefined;
  let crun: Crun | undefined;
  let holder: Holder | undefined;
  let closePorts: (() => Promise<void>) | undefined;
  let closeMds: (() => Promise<void>) | undefined;
  let outcome: { status: PodStatus; error?: string } = { status: 'exited' };
  let reported: Reported | undefined;
  const checkAborted = () => {
    if (req.signal.aborted) throw req.signal.reason;
  };

  let t = performance.now();
  try {
    await mkdir(join(req.dataDir, 'pods'), { recursive: true });
    try {
      await mkdir(podDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') refuse(`a pod with UUID ${uuid} already exists in ${req.dataDir}`);
      throw err;
    }
    state = new StateFile(podDir, {
      uuid,
      owner: procRef(process.pid) ?? null,
      processes: [],
      containers: [],
      apps: [],
    });
    await state.update(() => undefined);
    crun = await Crun.detect(join(req.dataDir, 'crun'));
    await mkdir(crun.root, { recursive: true });

    trace('load images');
    const images = await Promise.all(req.images.map((file, i) => loadImage(file, podDir, i)));
    checkAborted();
    const pod = req.podManifestFile ? await readPodManifest(req.podManifestFile) : synthesizePod(images);
    // ACE-ISO-GEN-003: the user hears of every isolator ref does not apply.
    if (!isMutant('silent-isolators')) for (const iso of pod.isolators ?? []) if (!KNOWN_ISOLATORS.has(iso.name)) warn(`pod isolator ${iso.name} ignored`);
    const emptyVolumes = new Map<string, string>();
    for (const v of pod.volumes ?? []) {
      if (v.kind !== 'empty') continue;
      // The mutant keeps empty volumes outside the pod dir, where cleanup never looks (POD-VOL-005).
      const dir = isMutant('keep-empty-volumes') ? join(tmpdir(), `appc-ref-kept-${uuid}-${v.name}`) : join(podDir, 'volumes', 'pod', v.name);
      await createEmptyVolume(v, dir);
      emptyVolumes.set(v.name, dir);
    }
    // The metadata service knows each app by the random token in its AC_METADATA_URL (ACE-ENV-003).
    const tokens = new Map(pod.apps.map((rt) => [rt.name, newToken()]));
    const metadataUrls = new Map([...tokens].map(([name, token]) => [name, metadataUrl(token)]));
    const ctx: PodContext = { uuid, podDir, pod, images, emptyVolumes, metadataUrls, warn };
    trace('render apps');
    const launched = isMutant('drop-last-app') && pod.apps.length > 1 ? pod.apps.slice(0, -1) : pod.apps;
    const prepared = await Promise.all(launched.map((rt) => prepareApp(ctx, rt)));
    const activation = planActivation(prepared.map((p) => ({ name: p.name, app: p.app, seccomp: p.runtime.seccomp })));
    const resolved = resolvedManifest(pod, launched, prepared);
    reported = reportOf(resolved, images);
    checkAborted();
    timings.renderMs = performance.now() - t;
    t = performance.now();

    // --- run ---
    await state.update((s) => {
      s.apps = prepared.map((p) => p.name);
    });
    await createPodCgroups(uuid);
    trace('start holder');
    let holderProcs = 0;
    holder = await startHolder(podHostname(uuid), (proc) =>
      state!.update((s) => s.processes.push({ role: holderProcs++ === 0 ? 'holder' : 'pod-init', proc })),
    );
    const h = holder;
    const onAbort = () => void h.kill();
    req.signal.addEventListener('abort', onAbort, { once: true });
    try {
      checkAborted();
      const podIsolators = isMutant('ignore-pod-isolators') ? [] : (pod.isolators ?? []);
      const podResources = resources(isMutant('hidden-cgroups-pod-memory') ? podIsolators.filter((i) => i.name !== 'resource/memory') : podIsolators);
      const skipped = await applyPodResources(uuid, podResources);
      for (const f of skipped) warn(`pod-level limit ${f} not applied (no cgroup controller for it)`);

      trace('create pod link');
      const link = await createPodLink(h.init.pid, h.nsPath('net'), (hostIf) =>
        state!.update((s) => {
          s.links = [...(s.links ?? []), hostIf];
        }),
      );
      // The apps share the link: the smallest of the pod's and every app's limit bounds it.
      const netLimits = [podResources, ...prepared.map((p) => p.runtime.resources)].flatMap((r) => (r.networkBps === undefined ? [] : [r.networkBps]));
      if (netLimits.length > 0) {
        const bps = Math.min(...netLimits);
        if (!(bps >= 1)) refuse(`isolator resource/network-bandwidth: limit must be at least 1 byte per second`);
        await limitPodLink(link, h.nsPath('net'), bps);
      }

      // The metadata service, on the pod's own loopback; killed with the pod's other processes.
      trace('start metadata service');
      const mds: MdsConfig = {
        uuid,
        secret: hostSecret(),
        podManifest: resolved,
        apps: prepared.map((p) => ({
          name: p.name,
          token: tokens.get(p.name)!,
          imageId: p.image.id,
          imageManifest: p.image.manifest,
          annotations: mergeAnnotations(p.image.manifest.annotations, launched.find((rt) => rt.name === p.name)?.annotations),
        })),
        ...(activeMutant() !== undefined ? { mutant: activeMutant()! } : {}),
      };
      try {
        closeMds = await startMds(h.nsPath('net'), podDir, mds, (proc) => state!.update((s) => s.processes.push({ role: 'mds', proc })));
      } catch (err) {
        // The no-loopback mutant leaves no 127.0.0.1 in the pod to listen on.
        if (!isMutant('no-loopback')) throw err;
        warn(`metadata service not started: ${messageOf(err)}`);
      }

      // Host ports (POD-PORT-*): ref listens on the host and connects to the pod over its link.
      const mappings = planPorts(
        pod,
        prepared.map((p) => ({ name: p.name, app: p.app })),
      );
      if (mappings.length > 0) closePorts = await listenHostPorts(mappings, link.podIP);

      // The pod's shared namespaces (POD-CTX-001..004); a mutant leaves one out, so each app gets its own.
      const namespaces = {
        ...(isMutant('separate-pid') ? {} : { pid: h.nsPath('pid') }),
        ...(isMutant('separate-netns') ? {} : { net: h.nsPath('net') }),
        ...(isMutant('separate-ipc') ? {} : { ipc: h.nsPath('ipc') }),
        ...(isMutant('separate-uts') ? {} : { uts: h.nsPath('uts') }),
      };
      const st = state;
      const cr = crun;

      /** Starts one process of an app (main or event handler) as its own crun container. */
      const launch = async (p: PreparedApp, kind: 'main' | HandlerName): Promise<StartedApp> => {
        const main = kind === 'main';
        const id = main ? p.containerId : `${p.containerId}.${kind}`;
        const bundle = main ? p.bundle : join(p.bundle, kind);
        if (!main) await mkdir(bundle, { recursive: true });
        // ACE-PORT-003: only the main process gets the app's sockets.
        const sockets = main ? (activation.get(p.name) ?? []) : [];
        const config = buildOciConfig({
          ...p.runtime,
          ...(main ? activatedProcess(p.runtime, sockets) : { args: p.handlers[kind]!, rootfs: p.rootfs, cgroupsPath: `${p.runtime.cgroupsPath}.${kind}` }),
          // ACE-ENV-005: handlers get the main process's variables; the mutant drops AC_APP_NAME.
          ...(!main && isMutant('handler-env-bare') ? { env: new Map([...p.runtime.env].filter(([k]) => k !== 'AC_APP_NAME')) } : {}),
          namespaces,
        });
        await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
        await st.update((s) => s.containers.push(id));
        const pass = sockets.length > 0 ? { netns: h.nsPath('net'), files: passedFiles(sockets) } : undefined;
        const proc = cr.start(id, bundle, join(bundle, 'pid'), join(bundle, 'crun.log'), pass);
        const monitor = proc.monitor.pid !== undefined ? procRef(proc.monitor.pid) : undefined;
        if (monitor) await st.update((s) => s.processes.push({ role: `monitor:${p.name}:${kind}`, proc: monitor }));
        try {
          const pid = procRef(await proc.started);
          if (pid) await st.update((s) => s.processes.push({ role: `${main ? 'app' : kind}:${p.name}`, proc: pid }));
        } catch (err) {
          throw startFailure(p.name, err);
        }
        return proc;
      };

      /** A handler runs to its end; what it leaves behind does not hold up the app (ACE-LIFE-001/002). */
      const runHandler = async (p: PreparedApp, kind: HandlerName): Promise<HandlerResult> => {
        const proc = await launch(p, kind);
        const exit = await proc.exited;
        const late = new Promise<{ stdout: string; stderr: string }>((r) => setTimeout(() => r(proc.outputSoFar()), 1000).unref());
        const out = await Promise.race([Promise.all([proc.stdout, proc.stderr]).then(([stdout, stderr]) => ({ stdout, stderr })), late]);
        return { name: kind, ...exit, ...out };
      };

      interface Chain {
        exit: AppExit;
        main?: StartedApp;
        handlers: HandlerResult[];
      }
      const runChain = async (p: PreparedApp): Promise<Chain> => {
        const handlers: HandlerResult[] = [];
        if (p.handlers['pre-start'] && !isMutant('skip-pre-start')) {
          const pre = await runHandler(p, 'pre-start');
          handlers.push(pre);
          // The main process only starts after a successful pre-start handler.
          if (pre.exitCode !== 0) return { exit: { exitCode: null, signal: null }, handlers };
        }
        const main = await launch(p, 'main');
        const exit = await main.exited.catch((err: unknown) => Promise.reject(new InfraError(messageOf(err))));
        if (p.handlers['post-stop'] && !req.signal.aborted && !isMutant('skip-post-stop')) handlers.push(await runHandler(p, 'post-stop'));
        return { exit, main, handlers };
      };

      trace('start apps');
      // Every app's chain starts at once: the apps of a pod run concurrently. The first failure
      // stops the whole pod at once rather than after the other apps end on their own.
      let firstError: unknown;
      const settled = await Promise.allSettled(
        prepared.map((p) =>
          runChain(p).catch((err: unknown) => {
            if (firstError === undefined) {
              firstError = err;
              void h.kill();
            }
            throw err;
          }),
        ),
      );
      if (firstError !== undefined) throw firstError;
      const chains = settled.map((r) => (r as PromiseFulfilledResult<Chain>).value);
      trace('apps exited');
      // Whatever the apps left running dies with the pod; then their output streams end.
      await h.kill();
      trace('pod killed');
      // An app's captured output is its handlers' and its main process's, in the order they ran
      // (as a console would show it): what a pre-start or post-stop handler prints is the app's log too.
      const outputs = await Promise.all(
        chains.map(async (c) => {
          const main = c.main
            ? { stdout: await c.main.stdout, stderr: isMutant('drop-stderr') ? '' : await c.main.stderr }
            : { stdout: '', stderr: `ref: pre-start handler failed (${c.handlers[0]?.signal ?? `exit ${c.handlers[0]?.exitCode}`}); main process not started\n` };
          const pre = c.handlers.filter((h) => h.name === 'pre-start');
          const post = c.handlers.filter((h) => h.name === 'post-stop');
          const join = (key: 'stdout' | 'stderr') => [...pre.map((h) => h[key]), main[key], ...post.map((h) => h[key])].join('');
          return { stdout: join('stdout'), stderr: isMutant('drop-stderr') ? '' : join('stderr') };
        }),
      );
      const exits = chains.map((c) => c.exit);
      const reported = exits.map((e) =>
        isMutant('exit-zero') ? { exitCode: 0, signal: null } : isMutant('first-app-status') ? exits[0]! : e,
      );
      prepared.forEach((p, i) =>
        apps.push({
          name: p.name,
          imageId: p.image.id,
          ...reported[i]!,
          ...outputs[i]!,
          ...(chains[i]!.handlers.length > 0 ? { handlers: chains[i]!.handlers } : {}),
        }),
      );
      // Interrupted: the apps above were killed by ref, and the result says so.
      checkAborted();
    } finally {
      req.signal.removeEventListener('abort', onAbort);
    }
    timings.runMs = performance.now() - t;
  } catch (err) {
    outcome = statusOf(err);
    if (timings.renderMs === 0) timings.renderMs = performance.now() - t;
    else timings.runMs = performance.now() - t;
  }

  t = performance.now();
  trace('cleanup');
  if (closePorts) await closePorts();
  if (closeMds) await closeMds();
  if (holder) await holder.kill();
  if (state) {
    const problems = await cleanupPod(podDir, state.state, crun);
    if (problems.length > 0 && outcome.status === 'exited') {
      outcome = { status: 'error', error: `cleanup incomplete: ${problems.join('; ')}` };
    } else {
      for (const p of problems) warn(`cleanup: ${p}`);
    }
  }
  timings.cleanupMs = performance.now() - t;
  trace('done');
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    uuid,
    status: outcome.status,
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    apps,
    timings: { renderMs: round(timings.renderMs), runMs: round(timings.runMs), cleanupMs: round(timings.cleanupMs) },
    warnings,
    ...(reported && outcome.status === 'exited' ? { reported } : {}),
  };
}
