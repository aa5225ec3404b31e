// The OCI runtime config (config.json) of one app: what the ACE promises the app (spec/ace.md
// § Execution Environment, OS-SPEC.md, isolators) expressed for crun.
import type { App, Isolator, NameValue } from '../aci/manifest.js';
import { DEFAULT_PATH } from '../aci/manifest.js';
import { isMutant } from './mutants.js';
import { quantityMilli, quantityUnits, QuantityError } from './quantity.js';
import { refuse } from './errors.js';
import { readdirSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Security } from './lsm.js';

/** The executor's name in the `container` variable (ACE-ENV-004). */
export const CONTAINER_ENV = 'appc-ref';

/** Capabilities an app gets without a capability isolator (ACE-ISO-CAPRM-002: CapBnd a80425fb). */
export const DEFAULT_CAPABILITIES = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
] as const;

export const CPU_PERIOD_US = 100_000;
/** The kernel refuses CFS quotas below 1 ms. */
const MIN_CPU_QUOTA_US = 1000;

/**
 * Environment of the main process, in order: PATH (ACE-ENV-001), the app's entries verbatim
 * (ACE-ENV-007/008; an entry may override PATH, in place), then AC_APP_NAME (ACE-ENV-002) and
 * `container` (ACE-ENV-004) and AC_METADATA_URL (ACE-ENV-003, when the pod has a metadata
 * service), which the executor owns.
 */
export function appEnvironment(
  environment: readonly NameValue[] | undefined,
  podAppName: string,
  imageName: string,
  metadataUrl?: string,
): Map<string, string> {
  const env = new Map<string, string>();
  if (!isMutant('no-path-default')) env.set('PATH', DEFAULT_PATH);
  const entries = isMutant('drop-env') ? (environment ?? []).slice(1) : (environment ?? []);
  for (const { name, value } of entries) env.set(name, value);
  env.set('AC_APP_NAME', isMutant('wrong-app-name') ? imageName : podAppName);
  if (!isMutant('no-container-env')) env.set('container', CONTAINER_ENV);
  if (metadataUrl !== undefined && !isMutant('no-metadata-url')) env.set('AC_METADATA_URL', metadataUrl);
  return env;
}

/** App isolators, plus pod isolators of a name the app does not set itself (app-level wins). */
export function effectiveIsolators(podIsolators: readonly Isolator[] | undefined, app: App): Isolator[] {
  const own = app.isolators ?? [];
  const names = new Set(own.map((i) => i.name));
  return [...own, ...(podIsolators ?? []).filter((i) => !names.has(i.name))];
}

function capSet(iso: Isolator): string[] {
  const v = iso.value as { set?: unknown } | null;
  if (!v || !Array.isArray(v.set) || v.set.length === 0 || !v.set.every((c) => typeof c === 'string' && /^CAP_[A-Z_]+$/.test(c))) {
    refuse(`isolator ${iso.name}: value must be {"set": ["CAP_…", …]}`);
  }
  return v.set as string[];
}

/**
 * The bounding set (ACE-ISO-CAPRM-*, ACE-ISO-CAPRT-*): retain-set = exactly the set; remove-set =
 * the default set minus the listed ones; neither = the default set.
 */
export function capabilities(isolators: readonly Isolator[]): string[] {
  const retain = isolators.filter((i) => i.name === 'os/linux/capabilities-retain-set');
  const remove = isolators.filter((i) => i.name === 'os/linux/capabilities-remove-set');
  if (retain.length > 0 && remove.length > 0) refuse('capabilities-retain-set and capabilities-remove-set cannot be combined');
  if (retain.length > 0 && !isMutant('ignore-cap-retain')) return [...new Set(retain.flatMap(capSet))].sort();
  const removed = new Set(isMutant('ignore-cap-remove') ? [] : remove.flatMap(capSet));
  return DEFAULT_CAPABILITIES.filter((c) => !removed.has(c));
}

export interface Resources {
  memoryLimit?: number;
  cpuQuota?: number;
  cpuShares?: number;
  /** bytes per second, for every block device (resource/block-bandwidth, default true) */
  blockBps?: number;
  /** operations per second, for every block device (resource/block-iops, default true) */
  blockIops?: number;
  /** bytes per second on the pod's link (resource/network-bandwidth, default true): see network.ts */
  networkBps?: number;
}

function limitOf(iso: Isolator): unknown {
  const v = iso.value as { limit?: unknown } | null;
  return v && typeof v === 'object' ? v.limit : undefined;
}

/** cgroup limits from resource/memory, resource/cpu (limit only) and os/linux/cpu-shares. */
export function resources(isolators: readonly Isolator[]): Resources {
  const out: Resources = {};
  let requestShares: number | undefined;
  try {
    for (const iso of isolators) {
      if (iso.name === 'resource/memory' && limitOf(iso) !== undefined && !isMutant('ignore-memory-limit')) {
        out.memoryLimit = Number(quantityUnits(limitOf(iso)));
      } else if (iso.name === 'resource/cpu') {
        if (limitOf(iso) !== undefined && !isMutant('ignore-cpu-limit') && !isMutant('hidden-cgroups-cpu-limit')) {
          const milli = quantityMilli(limitOf(iso));
          out.cpuQuota = Math.max(MIN_CPU_QUOTA_US, Number((milli * BigInt(CPU_PERIOD_US)) / 1000n));
        }
        // The request is the app's guaranteed share (ACE-ISO-CPU-003), the limit when omitted
        // (ACE-ISO-RES-002): 1024 shares per CPU, the kernel's weight of one plain task.
        const request = (iso.value as { request?: unknown }).request ?? (isMutant('cpu-request-ignored') ? undefined : limitOf(iso));
        if (request !== undefined && !isMutant('cpu-request-ignored') && !isMutant('hidden-cgroups-cpu-shares')) {
          requestShares = Math.min(262144, Math.max(2, Number((quantityMilli(request) * 1024n) / 1000n)));
        }
      } else if (iso.name === 'os/linux/cpu-shares') {
        if (!Number.isInteger(iso.value) || (iso.value as number) < 2 || (iso.value as number) > 262144) {
          refuse('isolator os/linux/cpu-shares: value must be an integer in 2..262144');
        }
        if (!isMutant('ignore-cpu-shares') && !isMutant('hidden-cgroups-cpu-shares')) out.cpuShares = iso.value as number;
      } else if (iso.name === 'resource/block-bandwidth' && !isMutant('ignore-block-limits')) {
        out.blockBps = Number(quantityUnits(limitOf(iso)));
      } else if (iso.name === 'resource/block-iops' && !isMutant('ignore-block-limits')) {
        out.blockIops = Number(quantityUnits(limitOf(iso)));
      } else if (iso.name === 'resource/network-bandwidth') {
        out.networkBps = Number(quantityUnits(limitOf(iso)));
      }
    }
  } catch (err) {
    if (err instanceof QuantityError) refuse(`isolator: ${err.message}`);
    throw err;
  }
  // os/linux/cpu-shares names the weight itself and wins over a request.
  if (out.cpuShares === undefined && requestShares !== undefined) out.cpuShares = requestShares;
  return out;
}

/** Isolator names this executor applies; the others are reported and ignored (ACE-ISO-GEN-002/003). */
export const KNOWN_ISOLATORS = new Set([
  'os/linux/seccomp-remove-set',
  'os/linux/seccomp-retain-set',
  'os/linux/capabilities-retain-set',
  'os/linux/capabilities-remove-set',
  'os/linux/no-new-privileges',
  'os/linux/oom-score-adj',
  'os/linux/cpu-shares',
  'resource/memory',
  'resource/cpu',
  'resource/block-bandwidth',
  'resource/block-iops',
  'resource/network-bandwidth',
  'os/linux/selinux-context',
  'os/linux/apparmor-profile',
  'os/unix/sysctl',
]);

/** Syscalls every app may make under a seccomp-retain-set: the minimum its life-cycle needs
 *  (ACE-ISO-SECRT-012). crun loads the filter before it drops capabilities and switches user
 *  (prctl, capget/capset, setgroups/setres[ug]id, rt_sigprocmask), then calls execve. */
export const RETAIN_DEFAULT_ALLOW = [
  'prctl', 'capget', 'capset', 'setgroups', 'setresgid', 'setresuid', 'rt_sigprocmask', 'execve', 'exit', 'exit_group', 'rt_sigreturn',
];

function seccompSet(iso: Isolator): { set: string[]; errno?: string } {
  const v = iso.value as { set?: unknown; errno?: unknown } | null;
  if (!v || !Array.isArray(v.set) || v.set.length === 0 || !v.set.every((n) => typeof n === 'string' && /^(@appc\.io\/(all|empty)|[a-z0-9_]+)$/.test(n))) {
    refuse(`isolator ${iso.name}: "set" must list syscall names or @appc.io/all, @appc.io/empty (ref defines no wildcards of its own)`);
  }
  if (v.errno !== undefined && typeof v.errno !== 'string') refuse(`isolator ${iso.name}: "errno" must be a string`);
  return { set: v.set as string[], ...(typeof v.errno === 'string' && v.errno !== '' ? { errno: v.errno } : {}) };
}

/** What a blocked call does: fail with `errno` when given, else kill the process with SIGSYS. */
function blockedAction(name: string, errnoName: string | undefined): Record<string, unknown> {
  if (errnoName === undefined || isMutant('seccomp-errno-always')) {
    return isMutant('seccomp-errno-always') ? { action: 'SCMP_ACT_ERRNO', errnoRet: osConstants.errno.EPERM } : { action: 'SCMP_ACT_KILL_PROCESS' };
  }
  const errno = (osConstants.errno as Record<string, number>)[errnoName] ?? (isMutant('posix-errno-only') ? undefined : LINUX_ERRNO[errnoName]);
  if (errno === undefined) refuse(`isolator ${name}: unknown errno ${JSON.stringify(errnoName)}`);
  return { action: 'SCMP_ACT_ERRNO', errnoRet: errno };
}

/** Linux errno names Node's os.constants leaves out (ACE-ISO-SECRM-010, SECRT-010: Linux-specific
 *  names are supported too), numbered as the kernel's generic errno.h does (x86-64, arm64). */
export const LINUX_ERRNO: Readonly<Record<string, number>> = {
  ECHRNG: 44, EL2NSYNC: 45, EL3HLT: 46, EL3RST: 47, ELNRNG: 48, EUNATCH: 49, ENOCSI: 50, EL2HLT: 51, EBADE: 52, EBADR: 53,
  EXFULL: 54, ENOANO: 55, EBADRQC: 56, EBADSLT: 57, EDEADLOCK: 35, EBFONT: 59, ENONET: 64, ENOPKG: 65, EREMOTE: 66, EADV: 68,
  ESRMNT: 69, ECOMM: 70, EDOTDOT: 73, ENOTUNIQ: 76, EBADFD: 77, EREMCHG: 78, ELIBACC: 79, ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82,
  ELIBEXEC: 83, ERESTART: 85, ESTRPIPE: 86, EUSERS: 87, ESOCKTNOSUPPORT: 94, EPFNOSUPPORT: 96, ESHUTDOWN: 108, ETOOMANYREFS: 109,
  EHOSTDOWN: 112, EUCLEAN: 117, ENOTNAM: 118, ENAVAIL: 119, EISNAM: 120, EREMOTEIO: 121, ENOMEDIUM: 123, EMEDIUMTYPE: 124,
  ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128, EKEYREJECTED: 129, EOWNERDEAD: 130, ENOTRECOVERABLE: 131, ERFKILL: 132, EHWPOISON: 133,
};

/**
 * OCI seccomp from os/linux/seccomp-remove-set (ACE-ISO-SECRM-*: everything allowed but the set)
 * or os/linux/seccomp-retain-set (ACE-ISO-SECRT-*: only the set and RETAIN_DEFAULT_ALLOW). The
 * spec's wildcards mask the other entries: @appc.io/empty in a remove-set and @appc.io/all in a
 * retain-set mean no filtering at all; @appc.io/all in a remove-set and @appc.io/empty in a
 * retain-set block every call.
 */
export function seccompProfile(isolators: readonly Isolator[]): Record<string, unknown> | undefined {
  const remove = isolators.filter((i) => i.name === 'os/linux/seccomp-remove-set');
  const retain = isolators.filter((i) => i.name === 'os/linux/seccomp-retain-set');
  if (remove.length > 1) refuse('at most one os/linux/seccomp-remove-set per app');
  if (retain.length > 1) refuse('at most one os/linux/seccomp-retain-set per app');
  if (remove.length > 0 && retain.length > 0) refuse('os/linux/seccomp-remove-set and seccomp-retain-set cannot be combined');
  const wildcards = !isMutant('seccomp-wildcards-literal');
  if (remove.length > 0 && !isMutant('ignore-seccomp')) {
    const { set, errno } = seccompSet(remove[0]!);
    const action = blockedAction(remove[0]!.name, errno);
    if (wildcards && set.includes('@appc.io/empty')) return undefined;
    if (wildcards && set.includes('@appc.io/all')) return { defaultAction: action.action, ...(action.errnoRet !== undefined ? { defaultErrnoRet: action.errnoRet } : {}) };
    return { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: set.filter((n) => !n.startsWith('@')), ...action }] };
  }
  if (retain.length > 0 && !isMutant('ignore-seccomp-retain')) {
    const { set, errno } = seccompSet(retain[0]!);
    const action = blockedAction(retain[0]!.name, errno);
    if (wildcards && set.includes('@appc.io/all')) return undefined;
    const allowed = wildcards && set.includes('@appc.io/empty') ? [] : set.filter((n) => !n.startsWith('@'));
    return {
      defaultAction: action.action,
      ...(action.errnoRet !== undefined ? { defaultErrnoRet: action.errnoRet } : {}),
      syscalls: [{ names: [...new Set([...allowed, ...RETAIN_DEFAULT_ALLOW])], action: 'SCMP_ACT_ALLOW' }],
    };
  }
  return undefined;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface AppRuntime {
  args: string[];
  cwd: string;
  env: Map<string, string>;
  uid: number;
  gid: number;
  additionalGids: number[];
  capabilities: string[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  readonlyRootfs: boolean;
  /** root filesystem, relative to the bundle or absolute (event handlers share the app's) */
  rootfs?: string;
  /** volume bind mounts, parents first */
  volumes: { target: string; source: string; readOnly: boolean; recursive: boolean }[];
  /** /proc/<pid>/ns/* paths of the pod's namespace holder; one left undefined = a new namespace */
  namespaces: { pid?: string; net?: string; ipc?: string; uts?: string };
  /** OCI seccomp profile, when the app has a seccomp isolator */
  seccomp?: Record<string, unknown>;
  /** the pod's kernel parameters (os/unix/sysctl), written by crun inside the pod's namespaces */
  sysctl: Record<string, string>;
  security: Security;
  cgroupsPath: string;
  resources: Resources;
}

/** Standard file systems of every app (OS-SPEC.md § Devices and File Systems; ACE-LNX-001..012). */
export function standardMounts(): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    // Lets an app read its own limits (the probe's cgroupLimits); read-only.
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  // The hidden-cgroups mutants leave the app blind to its limits, as rkt's host flavor does: only outside evidence sees them.
  const hidden = isMutant('hidden-cgroups-cpu-limit') || isMutant('hidden-cgroups-cpu-shares') || isMutant('hidden-cgroups-pod-memory') ? ['/sys/fs/cgroup'] : [];
  if (isMutant('no-dev-shm')) hidden.push('/dev/shm');
  return mounts.filter((m) => !hidden.includes(m.destination));
}

/** Every whole block device of the host ("default": true means all of them). */
export function blockDevices(): { major: number; minor: number }[] {
  let names: string[];
  try {
    names = readdirSync('/sys/block');
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      const [major, minor] = readFileSync(`/sys/block/${n}/dev`, 'utf8').trim().split(':').map(Number);
      return [{ major: major!, minor: minor! }];
    } catch {
      return [];
    }
  });
}

export function buildOciConfig(rt: AppRuntime): Record<string, unknown> {
  // A non-root app gets the bounding set only, as rkt does: no effective capabilities for free.
  const privileged = rt.uid === 0;
  const caps = rt.capabilities;
  const resources: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (rt.resources.memoryLimit !== undefined) resources.memory = { limit: rt.resources.memoryLimit };
  const devices = rt.resources.blockBps !== undefined || rt.resources.blockIops !== undefined ? blockDevices() : [];
  const throttle = (rate: number | undefined) => (rate === undefined ? [] : devices.map((d) => ({ ...d, rate })));
  if (devices.length > 0) {
    resources.blockIO = {
      throttleReadBpsDevice: throttle(rt.resources.blockBps),
      throttleWriteBpsDevice: throttle(rt.resources.blockBps),
      throttleReadIOPSDevice: throttle(rt.resources.blockIops),
      throttleWriteIOPSDevice: throttle(rt.resources.blockIops),
    };
  }
  if (rt.resources.cpuQuota !== undefined || rt.resources.cpuShares !== undefined) {
    resources.cpu = {
      ...(rt.resources.cpuQuota !== undefined ? { quota: rt.resources.cpuQuota, period: CPU_PERIOD_US } : {}),
      ...(rt.resources.cpuShares !== undefined ? { shares: rt.resources.cpuShares } : {}),
    };
  }
  const ns = (type: string, path: string | undefined) => (path !== undefined ? { type, path } : { type });
  const namespaces: { type: string; path?: string }[] = [
    // The host-pid mutant leaves the pid namespace out: crun then keeps the host's.
    ...(isMutant('host-pid') ? [] : [ns('pid', rt.namespaces.pid)]),
    ns('network', rt.namespaces.net),
    ns('ipc', rt.namespaces.ipc),
    ns('uts', rt.namespaces.uts),
    { type: 'mount' },
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: rt.uid, gid: rt.gid, ...(rt.additionalGids.length > 0 ? { additionalGids: rt.additionalGids } : {}) },
      args: rt.args,
      env: [...rt.env].map(([k, v]) => `${k}=${v}`),
      cwd: rt.cwd,
      capabilities: {
        bounding: caps,
        effective: privileged ? caps : [],
        permitted: privileged ? caps : [],
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: rt.noNewPrivileges && !isMutant('ignore-nnp'),
      ...(rt.oomScoreAdj !== undefined ? { oomScoreAdj: rt.oomScoreAdj } : {}),
      ...(rt.security.apparmorProfile !== undefined ? { apparmorProfile: rt.security.apparmorProfile } : {}),
      ...(rt.security.selinuxLabel !== undefined ? { selinuxLabel: rt.security.selinuxLabel } : {}),
    },
    root: { path: rt.rootfs ?? 'rootfs', readonly: rt.readonlyRootfs && !isMutant('writable-rootfs') },
    mounts: [
      ...standardMounts(),
      ...rt.volumes.map((v) => ({
        destination: v.target,
        type: 'bind',
        source: v.source,
        options: [v.recursive || isMutant('always-recursive') ? 'rbind' : 'bind', v.readOnly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      namespaces,
      cgroupsPath: rt.cgroupsPath,
      resources,
      ...(rt.seccomp ? { seccomp: rt.seccomp } : {}),
      ...(Object.keys(rt.sysctl).length > 0 ? { sysctl: rt.sysctl } : {}),
      // /dev/console must exist (ACE-LNX-009); there is no console to give, so the node is not allowed.
      devices: [{ path: '/dev/console', type: 'c', major: 5, minor: 1, fileMode: 0o600, uid: 0, gid: 0 }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
