// Preparing one app of a pod: render its rootfs, set up its volumes, resolve user, group, exec
// and working directory, and work out everything its OCI config needs but the pod's namespaces.
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { App, PodManifest, RuntimeApp, Volume } from '../aci/manifest.js';
import { appCgroupPath } from './cgroups.js';
import { refuse } from './errors.js';
import { lookupExec } from './exec.js';
import type { LoadedImage } from './image.js';
import { isMutant } from './mutants.js';
import { podSysctl, securityOf } from './lsm.js';
import { appEnvironment, capabilities, effectiveIsolators, KNOWN_ISOLATORS, resources, seccompProfile, type AppRuntime } from './oci.js';
import { ensureDirIn, ensureFileIn, resolveIn } from './paths.js';
import { layerOrder, renderRootfs } from './render.js';
import { resolveGroup, resolveUser } from './users.js';
import { checkHostSource, createEmptyVolume, planMounts } from './volumes.js';

export type HandlerName = 'pre-start' | 'post-stop';

export interface PreparedApp {
  name: string;
  image: LoadedImage;
  bundle: string;
  rootfs: string;
  containerId: string;
  runtime: Omit<AppRuntime, 'namespaces'>;
  /** argv of each event handler, exec[0] already looked up */
  handlers: Partial<Record<HandlerName, string[]>>;
  /** the app section in force (the pod's or the image's) */
  app: App;
  /** empty volumes ref made for mountPoints no mount fulfils (POD-REIFY-002) */
  impliedVolumes: { path: string; volume: Volume }[];
}

export interface PodContext {
  uuid: string;
  podDir: string;
  pod: PodManifest;
  images: readonly LoadedImage[];
  /** host directories of the pod's empty volumes, by name (shared by all apps, POD-VOL-004) */
  emptyVolumes: Map<string, string>;
  /** AC_METADATA_URL of each app, by app name (ACE-ENV-003) */
  metadataUrls?: ReadonlyMap<string, string>;
  warn: (m: string) => void;
}

/** What ref puts at /etc/hosts of an image that has none (ACE-LNX-014: a localhost entry). */
export const ETC_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/**
 * Gives the app an /etc/hosts when its image has none (ACE-LNX-014); one the image ships is left
 * as it is (ACE-LNX-015). The mutants write one without localhost, or over the image's own.
 */
async function provideEtcHosts(rootfs: string): Promise<void> {
  const hosts = await resolveIn({ rootfs }, '/etc/hosts', false);
  if (hosts.stat && (!isMutant('rewrite-etc-hosts') || !hosts.stat.isFile())) return;
  const dir = posix.dirname(hosts.path);
  const etc = await resolveIn({ rootfs }, dir);
  // An /etc that is not a directory is the image's business: nothing is written.
  if (etc.stat && !etc.stat.isDirectory()) return;
  if (!etc.stat) await ensureDirIn(rootfs, dir);
  const content = isMutant('hosts-without-localhost') ? '# appc-ref: no entries\n' : isMutant('rewrite-etc-hosts') ? `${ETC_HOSTS}# written by appc-ref\n` : ETC_HOSTS;
  await writeFile(hosts.host, content, { mode: 0o644 });
}

/** Renders one app and works out everything its OCI config needs except the namespaces. */
export async function prepareApp(ctx: PodContext, rt: RuntimeApp): Promise<PreparedApp> {
  const name = rt.name;
  const image = ctx.images.find((i) => i.id === rt.image.id) ?? refuse(`app ${name}: no given image has ID ${rt.image.id}`);
  // POD-APP-006: the pod's app object replaces the image's.
  let app: App = rt.app ?? image.manifest.app ?? refuse(`app ${name}: image ${image.manifest.name} has no app section`);
  if (isMutant('merge-app') && rt.app && image.manifest.app) {
    app = { ...app, environment: [...(image.manifest.app.environment ?? []), ...(rt.app.environment ?? [])] };
  }
  // ACE-ISO-GEN-005: the isolators of the app section in force apply; the mutant drops the image's own.
  if (isMutant('ignore-image-isolators') && !rt.app) app = { ...app, isolators: [] };
  const layers = layerOrder(image, ctx.images);
  if (isMutant('merge-dependency-app')) {
    // The mutant lets the app sections of the image's dependencies add to its environment.
    const depEnv = layers.filter((l) => l.image !== image).flatMap((l) => l.image.manifest.app?.environment ?? []);
    app = { ...app, environment: [...depEnv, ...(app.environment ?? [])] };
  }

  // Cheap refusals first: volume sources, before anything is rendered.
  const planned = planMounts(rt, app.mountPoints ?? [], ctx.pod.volumes ?? []);
  const appDir = join(ctx.podDir, 'apps', name);
  await mkdir(appDir, { recursive: true });
  const sources: { source: string; isFile: boolean }[] = [];
  for (const p of planned) {
    if (p.volume.kind === 'host') {
      const { isFile } = await checkHostSource(p.volume);
      sources.push({ source: p.volume.source!, isFile });
    } else if (p.origin === 'pod') {
      sources.push({ source: ctx.emptyVolumes.get(p.volume.name)!, isFile: false });
    } else {
      const dir = join(ctx.podDir, 'volumes', 'app', name, `${p.origin}-${p.volume.name}`);
      await createEmptyVolume(p.volume, dir);
      sources.push({ source: dir, isFile: false });
    }
  }

  const rootfs = join(appDir, 'rootfs');
  await renderRootfs(layers, rootfs, ctx.warn);

  const volumes: AppRuntime['volumes'] = [];
  for (const [i, p] of planned.entries()) {
    const { source, isFile } = sources[i]!;
    const before = await resolveIn({ rootfs }, p.target);
    const masked = before.stat !== undefined && (!before.stat.isDirectory() || (await readdir(before.host)).length > 0);
    // ACE-VOL-004: a file where a directory volume goes is replaced (ensureDirIn); the mutant refuses it.
    if (isMutant('refuse-file-target') && before.stat && !before.stat.isDirectory() && !isFile) refuse(`app ${name}: mount target ${p.target} is not a directory`);
    // ACE-VOL-005: the user hears about image files a volume hides.
    if (masked && !isMutant('silent-masking')) ctx.warn(`app ${name}: volume ${p.volume.name} at ${p.target} masks what the image has there`);
    // ACE-VOL-003: the mutant copies what the image has at the target into an empty volume, so it stays visible.
    if (masked && before.stat!.isDirectory() && p.volume.kind === 'empty' && isMutant('copy-up-volumes')) await cp(before.host, source, { recursive: true });
    const target = isFile ? await ensureFileIn(rootfs, p.target) : await ensureDirIn(rootfs, p.target);
    volumes.push({ target, source, readOnly: p.readOnly, recursive: p.recursive });
  }
  await provideEtcHosts(rootfs);
  const view = { rootfs, mounts: volumes.map((v) => ({ target: v.target, source: v.source })) };

  // The schema requires both; guards so that an image that slipped past it is refused, not a crash.
  if (typeof app.user !== 'string' || typeof app.group !== 'string') refuse(`app ${name}: user and group are required`);
  const [uid, gid] = isMutant('ignore-user')
    ? [0, 0]
    : await Promise.all([resolveUser(rootfs, app.user), resolveGroup(rootfs, app.group)]);
  const supplementary = app.supplementaryGIDs ?? (app as { supplementaryGids?: number[] }).supplementaryGids ?? [];
  const env = appEnvironment(app.environment, name, image.manifest.name, ctx.metadataUrls?.get(name));
  if (isMutant('user-labels-as-env')) {
    // The mutant hands the app's userLabels and userAnnotations to it as variables (ACI-APP-020).
    for (const [k, v] of Object.entries({ ...app.userAnnotations, ...app.userLabels })) env.set(`APPC_USER_${k.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, v);
  }

  const cwd = isMutant('wrong-cwd') ? '/' : app.workingDirectory || (isMutant('lost-default-cwd') ? '/dev' : '/');
  const wd = await resolveIn(view, cwd);
  // lost-default-cwd: /dev is mounted by the runtime, so the image need not have it.
  if (!wd.stat?.isDirectory() && !(isMutant('lost-default-cwd') && !app.workingDirectory)) refuse(`app ${name}: working directory ${cwd} does not exist in the app's filesystem (ACE-WD-004)`);

  const exec = app.exec ?? [];
  if (exec.length === 0 || exec[0] === '') refuse(`app ${name}: no exec given`);
  const program = await lookupExec(view, exec[0]!, env.get('PATH'), cwd);
  if (program === undefined) refuse(`app ${name}: ${exec[0]} not found in PATH ${env.get('PATH') ?? '(unset)'}`);
  if (program.startsWith('/') && !(await resolveIn(view, program)).stat) refuse(`app ${name}: ${program} does not exist`);

  const handlers: PreparedApp['handlers'] = {};
  for (const h of app.eventHandlers ?? []) {
    if (!Array.isArray(h.exec) || h.exec.length === 0) refuse(`app ${name}: ${h.name} handler has no exec`);
    const prog = await lookupExec(view, h.exec[0]!, env.get('PATH'), cwd);
    if (prog === undefined) refuse(`app ${name}: ${h.name} handler ${h.exec[0]} not found in PATH`);
    handlers[h.name] = [prog, ...h.exec.slice(1)];
  }

  const podIsolators = isMutant('ignore-pod-isolators') ? [] : ctx.pod.isolators;
  const isolators = effectiveIsolators(isMutant('hidden-cgroups-pod-memory') ? podIsolators?.filter((i) => i.name !== 'resource/memory') : podIsolators, app);
  if (!isMutant('silent-isolators')) for (const iso of isolators) if (!KNOWN_ISOLATORS.has(iso.name)) ctx.warn(`app ${name}: isolator ${iso.name} ignored`);
  const nnp = isolators.filter((i) => i.name === 'os/linux/no-new-privileges').map((i) => i.value);
  if (nnp.some((v) => typeof v !== 'boolean')) refuse(`app ${name}: os/linux/no-new-privileges must be a boolean`);
  const oom = isolators.find((i) => i.name === 'os/linux/oom-score-adj')?.value;
  if (oom !== undefined && !(Number.isInteger(oom) && (oom as number) >= -1000 && (oom as number) <= 1000)) {
    refuse(`app ${name}: os/linux/oom-score-adj must be an integer in -1000..1000`);
  }

  return {
    name,
    app,
    impliedVolumes: planned.filter((p) => p.origin === 'auto').map((p) => ({ path: p.target, volume: p.volume })),
    image,
    bundle: appDir,
    rootfs,
    containerId: `${ctx.uuid}-${name}`,
    handlers,
    runtime: {
      args: [program, ...exec.slice(1)],
      cwd,
      env,
      uid,
      gid,
      additionalGids: isMutant('drop-supp-gids') ? [] : supplementary,
      // caps-non-root: a non-root app without capability isolators loses the whole default set.
      capabilities: isMutant('caps-non-root') && uid !== 0 && !isolators.some((i) => i.name.startsWith('os/linux/capabilities-')) ? [] : capabilities(isolators),
      seccomp: seccompProfile(isolators),
      sysctl: podSysctl(ctx.pod.isolators),
      security: securityOf(isolators, name),
      noNewPrivileges: nnp.length > 0 ? nnp[nnp.length - 1] === true : isMutant('nnp-non-root') && uid !== 0,
      ...(oom !== undefined && !isMutant('ignore-oom-score-adj') ? { oomScoreAdj: oom as number } : {}),
      readonlyRootfs: rt.readOnlyRootFS === true,
      volumes,
      cgroupsPath: appCgroupPath(ctx.uuid, name),
      resources: resources(isolators),
    },
  };
}
