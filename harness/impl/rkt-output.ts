// Pure helpers of the rkt adapter: command lines, and reading what rkt 1.30 prints. Everything that
// parses rkt's text lives here, each with a unit test on output recorded from a real rkt
// (harness/impl/testdata/rkt/).
import type { App, BuiltImage, PodManifest, RuntimeApp } from '../aci/index.js';
import type { Flavor } from '../run/config.js';
import type { Feature } from './implementation.js';

/** What every flavor of rkt 1.30 supports, as far as our suites ask. */
const COMMON: readonly Feature[] = [
  'pod-manifest',
  'volumes/host',
  'isolator/resource/memory',
  'isolator/resource/cpu',
  'isolator/os/linux/capabilities-retain-set',
  'isolator/os/linux/capabilities-remove-set',
  'isolator/os/linux/no-new-privileges',
  'isolator/os/linux/oom-score-adj',
  'isolator/os/linux/cpu-shares',
  'isolator/os/linux/seccomp-remove-set',
  'isolator/os/linux/seccomp-retain-set',
  'ports',
  'image-import',
  'image-fetch',
  'reported-manifests',
];

/** Per stage1 flavor. fly is a chroot-and-exec stage1 without systemd: one app per pod, no empty
 *  volumes, no metadata service, no event handlers (rkt's own fly documentation). kvm reports exit
 *  statuses differently (not measured here: kvm does not build on these machines). */
export const RKT_FEATURES: Record<Flavor, ReadonlySet<Feature>> = {
  host: new Set<Feature>([...COMMON, 'multi-app', 'volumes/empty', 'event-handlers', 'metadata-service', 'app-exit-status', 'socket-activation']),
  coreos: new Set<Feature>([...COMMON, 'multi-app', 'volumes/empty', 'event-handlers', 'metadata-service', 'app-exit-status']),
  kvm: new Set<Feature>([...COMMON, 'multi-app', 'volumes/empty', 'event-handlers', 'metadata-service']),
  fly: new Set<Feature>([...COMMON, 'app-exit-status']),
};

/** Global options of every rkt call of a run: its private data dir and an empty local config dir,
 *  so nothing of the machine's /var/lib/rkt or /etc/rkt is used or touched. */
export function globalArgs(dataDir: string, configDir: string): string[] {
  return [`--dir=${dataDir}`, `--local-config=${configDir}`, '--insecure-options=image'];
}

/** rkt's image string for a fetch by name: `name,version=1.0.0,os=linux,arch=amd64` (rkt's
 *  `name,label=value` form; labels sorted, so command lines are stable). */
export function rktImageString(name: string, labels: Record<string, string>): string {
  return [name, ...Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`)].join(',');
}

/** Global options of a fetch by name: its own data dir and local config (whose trustedkeys are the
 *  fetch's trust store), and never --insecure-options, so rkt verifies signatures and TLS. */
export function fetchGlobalArgs(dataDir: string, configDir: string): string[] {
  return [`--dir=${dataDir}`, `--local-config=${configDir}`];
}

/** `rkt trust` of one trust entry: a key file for a prefix or as a root key, or pubkeys discovery
 *  of a prefix (no key file). Fingerprint review is the operator's: the harness accepts it. */
export function rktTrustArgs(dataDir: string, configDir: string, prefix: string | 'root', keyFile?: string): string[] {
  const scope = prefix === 'root' ? ['--root'] : [`--prefix=${prefix}`];
  return [...fetchGlobalArgs(dataDir, configDir), 'trust', '--skip-fingerprint-review', ...scope, ...(keyFile !== undefined ? [keyFile] : [])];
}

/** `rkt fetch` by name with discovery: the full image ID on stdout. */
export function rktFetchByNameArgs(dataDir: string, configDir: string, name: string, labels: Record<string, string>): string[] {
  return [...fetchGlobalArgs(dataDir, configDir), 'fetch', '--full', '--pull-policy=update', rktImageString(name, labels)];
}

/** The environment a fetch by name runs with: Go's crypto/tls reads extra roots from SSL_CERT_FILE
 *  (which replaces the system's, fine for a run that only talks to its own server). */
export function rktFetchEnv(caFile: string): string[] {
  return ['env', `SSL_CERT_FILE=${caFile}`];
}

/** How rkt is told which stage1 to use: a file next to the binary, else the one in rkt's stage1 images dir. */
export function stage1Args(flavor: Flavor | undefined, stage1File: string | undefined): string[] {
  if (flavor === undefined) return [];
  return stage1File ? [`--stage1-path=${stage1File}`] : [`--stage1-from-dir=stage1-${flavor}.aci`];
}

export interface RunArgs {
  global: string[];
  stage1: string[];
  uuidFile: string;
  mdsRegister: boolean;
  /** the pod manifest file, or undefined to run the images as they are */
  podManifest?: string;
  images: readonly BuiltImage[];
}

/** `rkt run`: pods stay on a network that reaches only the host (default-restricted): tests never
 *  send traffic off this machine. */
export function runArgs(a: RunArgs): string[] {
  const args = [...a.global, 'run', `--uuid-file-save=${a.uuidFile}`, ...a.stage1, '--net=default-restricted'];
  args.push(`--mds-register=${a.mdsRegister}`);
  if (a.podManifest) args.push(`--pod-manifest=${a.podManifest}`);
  else for (const img of a.images) if (img.manifest.app) args.push(img.id);
  return args;
}

/** The images in an order where every dependency comes before the images that need it: rkt fetch
 *  of an image looks its dependencies up in the store (else by discovery, which fails offline).
 *  Every image of a dependency's name comes first, not only the first found: the one its labels
 *  (or image ID) pick may be any of them, and rkt judges that when it fetches the image. */
export function dependenciesFirst(images: readonly BuiltImage[]): BuiltImage[] {
  const out: BuiltImage[] = [];
  const visit = (img: BuiltImage, path: Set<BuiltImage>) => {
    if (out.includes(img) || path.has(img)) return;
    path.add(img);
    for (const dep of img.manifest.dependencies ?? []) {
      for (const found of images.filter((i) => i.id === dep.imageID || i.name === dep.imageName)) visit(found, path);
    }
    out.push(img);
  };
  for (const img of images) visit(img, new Set());
  return out;
}

/**
 * The manifest handed to rkt. rkt 1.30's `status` panics on a pod whose runtime apps have no `app`
 * section; by the spec a missing `app` means the image's, so the adapter fills it in from the image
 * (the same app, spelled out). Everything else is passed as the suite wrote it.
 */
export function manifestForRkt(manifest: PodManifest, images: readonly BuiltImage[]): PodManifest {
  // Malformed manifests (the schema suite's refusal tests) are passed through as they are: rkt is
  // the one to judge them.
  if (!Array.isArray(manifest.apps)) return manifest;
  return {
    ...manifest,
    apps: manifest.apps.map((app): RuntimeApp => {
      if (typeof app !== 'object' || app === null || app.app) return app;
      const img = images.find((i) => i.id === app.image?.id);
      return img?.manifest.app ? { ...app, app: img.manifest.app } : app;
    }),
  };
}

/** The apps rkt will run, in order, with the exec it will start (to tell an app's output from its handlers'). */
export function expectedApps(request: { images: readonly BuiltImage[]; manifest?: PodManifest }): ExpectedApp[] {
  const of = (name: string, app: App | undefined): ExpectedApp => ({
    name,
    exec: app?.exec ?? [],
    handlers: (app?.eventHandlers ?? []).map((h) => h.exec),
  });
  if (request.manifest) {
    if (!Array.isArray(request.manifest.apps)) return [];
    return request.manifest.apps
      .filter((a) => typeof a === 'object' && a !== null)
      .map((a) => of(a.name, a.app ?? request.images.find((i) => i.id === a.image?.id)?.manifest.app));
  }
  // Without a manifest rkt names each app after the last part of its image name.
  return request.images.filter((i) => i.manifest.app).map((i) => of(i.manifest.name.split('/').at(-1)!, i.manifest.app));
}

// ---------------------------------------------------------------------------------------------
// rkt status --format=json

export interface RktAppStatus {
  name: string;
  state: string;
  exit_code?: number;
  /** nanoseconds; missing when the app never started */
  started_at?: number;
}

export interface RktPodStatus {
  name: string;
  state: string;
  apps?: RktAppStatus[];
}

export function parseStatus(json: string): RktPodStatus {
  const doc = JSON.parse(json) as Partial<RktPodStatus>;
  if (typeof doc.name !== 'string' || typeof doc.state !== 'string') throw new Error(`not an rkt pod status: ${json.slice(0, 200)}`);
  return { name: doc.name, state: doc.state, apps: Array.isArray(doc.apps) ? doc.apps : [] };
}

/**
 * Whether any app of a pod that rkt ended with a failure ran at all. Under fly an app that started
 * has a started_at (fly records no exit code). Under the host flavor started_at is set before
 * systemd-nspawn starts the pod, so a pod nspawn could not set up (e.g. "Cannot bind mount
 * directory … on file") has it too: there an app ran when rkt has its exit code or the console
 * has lines under its name.
 */
export function appsRan(status: RktPodStatus, flavor: Flavor, stdout: string, appNames: readonly string[]): boolean {
  const apps = status.apps ?? [];
  if (flavor === 'fly') return apps.some((a) => a.exit_code !== undefined || a.started_at !== undefined);
  return apps.some((a) => a.exit_code !== undefined) || demuxConsole(stdout).some((s) => appNames.includes(s.ident));
}

/** `rkt list --format=json`: the pods of a data dir. */
export function parseList(json: string): RktPodStatus[] {
  const doc = JSON.parse(json || '[]') as unknown;
  return Array.isArray(doc) ? (doc as RktPodStatus[]) : [];
}

// ---------------------------------------------------------------------------------------------
// The console of a host-flavor pod

export interface ConsoleStream {
  ident: string;
  pid: number;
  lines: string[];
}

// systemd in the pod forwards every journal entry to the console as "[monotonic] IDENT[PID]: MESSAGE".
const CONSOLE_LINE = /^\[\s*\d+\.\d+\] ([^\s[\]]+)\[(\d+)\]: ?(.*)$/;

/**
 * Splits rkt's stdout (the pod's console) into one stream per process. The pod's own systemd
 * (PID 1) and anything not in the journal format are dropped. An app's stdout and stderr are
 * one journal stream under rkt's host flavor, so they cannot be told apart here.
 */
export function demuxConsole(stdout: string): ConsoleStream[] {
  const streams = new Map<number, ConsoleStream>();
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = CONSOLE_LINE.exec(line);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === 1) continue;
    let s = streams.get(pid);
    if (!s) streams.set(pid, (s = { ident: m[1]!, pid, lines: [] }));
    s.lines.push(m[3]!);
  }
  return [...streams.values()];
}

interface ReportLike {
  argv?: unknown;
  env?: Record<string, unknown>;
  pid?: unknown;
}

function lastJson(lines: readonly string[]): ReportLike | undefined {
  const last = lines.filter((l) => l.trim() !== '').at(-1);
  if (!last?.startsWith('{')) return undefined;
  try {
    return JSON.parse(last) as ReportLike;
  } catch {
    return undefined;
  }
}

const sameArgv = (a: unknown, b: readonly string[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

export interface ExpectedApp {
  name: string;
  /** the exec rkt starts for the app */
  exec: readonly string[];
  /** the execs of its event handlers, which log under the app's name too */
  handlers: readonly (readonly string[])[];
}

/**
 * Assigns console streams to the pod's apps. rkt's host flavor logs each app under its app name
 * (the syslog identifier), its event handlers too but from other processes. An app's stream is
 * the one of that name whose probe report carries the app's exec; without a report (e.g. a probe
 * told not to report, or one that failed early), every stream of that name that is not a
 * handler's (by its report's argv) is the app's.
 */
export function assignStreams(streams: readonly ConsoleStream[], apps: readonly ExpectedApp[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const app of apps) {
    const named = streams.filter((s) => s.ident === app.name);
    const byExec = named.filter((s) => sameArgv(lastJson(s.lines)?.argv, app.exec));
    const chosen =
      byExec.length > 0 ? byExec : named.filter((s) => !app.handlers.some((h) => sameArgv(lastJson(s.lines)?.argv, h)));
    if (chosen.length > 0) out.set(app.name, chosen.flatMap((s) => s.lines.map((l) => `${l}\n`)).join(''));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// fly: the app's stdout and stderr are rkt's own

// rkt's own diagnostics on stderr start with the name of the part that prints them.
const RKT_DIAGNOSTIC = /^(run|stage0|stage1|image|prepare|networking|fetch|status|rm|gc): /;

/** rkt's own lines on stderr: all of it under host and the other flavors, the diagnostics under fly. */
export function rktMessages(stderr: string, fly: boolean): string {
  if (!fly) return stderr;
  return stderr
    .split('\n')
    .filter((l, i, all) => RKT_DIAGNOSTIC.test(l) || (l.startsWith('  └─') && i > 0 && RKT_DIAGNOSTIC.test(all[i - 1]!)))
    .join('\n');
}

/** The app's stderr under fly: rkt's stderr without rkt's own diagnostic lines. */
export function flyAppStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l, i, all) => !(RKT_DIAGNOSTIC.test(l) || (l.startsWith('  └─') && i > 0 && RKT_DIAGNOSTIC.test(all[i - 1]!))))
    .join('\n');
}

/** The last few lines of rkt's stderr without its harmless warnings, for error messages. */
export function rktComplaint(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/group "rkt" not found|journal ACLs|Attempted to remove disk file system/.test(l))
    .slice(-6)
    .join(' | ')
    .slice(-1500);
}

/** The stage1 flavor named by a stage1 image (coreos.com/rkt/stage1-host → host). */
export function flavorOfStage1Name(name: string): Flavor | undefined {
  const m = /\/stage1-(host|coreos|kvm|fly)(?::[^/]*)?$/.exec(name);
  return m ? (m[1] as Flavor) : undefined;
}

/** The image IDs of `rkt image list --format=json` (full, unlike its table), as rkt gives them. */
export function parseImageListIds(stdout: string): unknown[] {
  const doc = JSON.parse(stdout) as unknown;
  if (!Array.isArray(doc)) throw new Error(`rkt image list --format=json printed ${JSON.stringify(doc)?.slice(0, 100)}, not a list`);
  return doc.map((e) => (typeof e === 'object' && e !== null ? (e as { id?: unknown }).id : e));
}
