// Socket activation (spec/aci.md § app.ports `socketActivated`; ACE-PORT-003, ACE-PORT-004): an
// app port with `socketActivated: true` reaches the app as an already-listening socket, passed
// with the sd_listen_fds protocol: the sockets at fds 3, 4, …, LISTEN_FDS their number, LISTEN_PID
// the pid of the process meant to use them.
//
// How ref does it, per app, when its main process starts (event handlers get nothing):
// * its monitor (crun.ts), run inside the pod's network namespace, makes one socket per port
//   (each port of a `count` range), bound to all IPv4 addresses of the pod and listening before
//   crun runs, and hands them to `crun run --preserve-fds`, which leaves them at fds 3…;
// * LISTEN_FDS and LISTEN_FDNAMES (the port names, as systemd's FileDescriptorName) are in the
//   OCI config's environment;
// * LISTEN_PID cannot be: the app joins the pod's PID namespace (POD-CTX-001), where it is not PID
//   1 (crun's own default when it passes fds) and where its pid is unknown until the process
//   exists. The monitor therefore also passes, after the sockets, the static shim
//   harness/ref/listen-pid/listen-pid opened on the host, and the process starts as
//   `/proc/self/fd/N PROGRAM ARG…`: the shim sets LISTEN_PID to its own pid, closes fd N and execs
//   PROGRAM in the same process. Nothing is added to the app's file system or mounts, and argv and
//   open files are the app's own again once it runs.
// * crun loads an app's seccomp filter before it execs, so the shim runs under it: a retain-set
//   also allows the shim's few calls (SHIM_SYSCALLS, as RETAIN_DEFAULT_ALLOW does for crun's), and
//   a remove-set that blocks one of them is refused rather than left to kill the app at start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../aci/manifest.js';
import { REPO_ROOT } from '../run/paths.js';
import type { PassedFile } from './crun.js';
import { InfraError, refuse } from './errors.js';
import { isMutant } from './mutants.js';

/** Built by `npm run setup` (make -C harness/ref/listen-pid). */
export const LISTEN_PID_SHIM = join(REPO_ROOT, 'harness', 'ref', 'listen-pid', 'listen-pid');

/** The first fd of the sd_listen_fds protocol (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/** The shim's system calls: musl's start-up (TLS, tid address), close, getpid, execve. */
export const SHIM_SYSCALLS: readonly string[] = [
  'close',
  'getpid',
  'execve',
  'set_tid_address',
  ...(process.arch === 'x64' ? ['arch_prctl'] : process.arch === 'ia32' ? ['set_thread_area'] : []),
];

interface SeccompRule {
  names: string[];
  action: string;
}
type SeccompProfile = Record<string, unknown> & { defaultAction?: string; syscalls?: SeccompRule[] };

export interface ActivatedSocket {
  /** the app port's name, for LISTEN_FDNAMES */
  name: string;
  protocol: 'tcp' | 'udp';
  port: number;
  /** bound with SO_REUSEPORT because several apps get it (only the sockets-to-every-app mutant) */
  shared?: boolean;
}

/**
 * The sockets of each app, by app name: one per port of its own socket-activated ports, in the
 * order the app declares them. Refuses what ref cannot listen on.
 */
export function planActivation(apps: readonly { name: string; app: App; seccomp?: SeccompProfile }[]): Map<string, ActivatedSocket[]> {
  const plan = new Map<string, ActivatedSocket[]>();
  const taken = new Map<string, string>();
  for (const { name, app, seccomp } of apps) {
    const sockets: ActivatedSocket[] = [];
    for (const p of app.ports ?? []) {
      if (p.socketActivated !== true) continue;
      if (p.protocol !== 'tcp' && p.protocol !== 'udp') refuse(`app ${name}: port ${p.name}: socket activation of protocol ${p.protocol} is not supported (tcp, udp)`);
      const count = p.count ?? 1;
      if (p.port + count - 1 > 65535) refuse(`app ${name}: port ${p.name}: the range ends above 65535`);
      for (let i = 0; i < count; i++) {
        const key = `${p.protocol}/${p.port + i}`;
        // One socket per protocol and port in the pod's network namespace.
        const other = taken.get(key);
        if (other !== undefined) refuse(`app ${name}: port ${p.name}: ${key} is socket-activated twice in the pod (also by ${other})`);
        taken.set(key, `app ${name}`);
        sockets.push({ name: p.name, protocol: p.protocol, port: p.port + i });
      }
    }
    if (sockets.length > 0 && seccomp?.defaultAction === 'SCMP_ACT_ALLOW') {
      const blocked = SHIM_SYSCALLS.filter((c) => seccomp.syscalls?.some((r) => r.action !== 'SCMP_ACT_ALLOW' && r.names.includes(c)));
      if (blocked.length > 0) refuse(`app ${name}: socket activation needs ${blocked.join(', ')}, which its os/linux/seccomp-remove-set blocks`);
    }
    plan.set(name, isMutant('no-socket-activation') ? [] : sockets);
  }
  if (isMutant('sockets-to-every-app')) {
    const all = [...plan.values()].flat().map((s) => ({ ...s, shared: true }));
    for (const name of plan.keys()) plan.set(name, all);
  }
  return plan;
}

/**
 * The main process of an app with sockets: the shim first (see above), and LISTEN_FDS and
 * LISTEN_FDNAMES added to its environment. Nothing changes without sockets.
 */
export function activatedProcess(
  proc: { args: readonly string[]; env: ReadonlyMap<string, string>; seccomp?: SeccompProfile },
  sockets: readonly ActivatedSocket[],
): { args: string[]; env: Map<string, string>; seccomp?: SeccompProfile } | Record<string, never> {
  if (sockets.length === 0) return {};
  const env = new Map(proc.env);
  env.set('LISTEN_FDS', String(sockets.length));
  env.set('LISTEN_FDNAMES', sockets.map((s) => s.name).join(':'));
  // The mutant says "PID 1", as crun does when it passes fds itself.
  if (isMutant('listen-pid-one')) return { args: [...proc.args], env: env.set('LISTEN_PID', '1') };
  const args = [`/proc/self/fd/${LISTEN_FDS_START + sockets.length}`, ...proc.args];
  const seccomp = proc.seccomp;
  // A retain-set: its allow rule also lets the shim through. (Blocking every call stays so.)
  if (seccomp && seccomp.defaultAction !== 'SCMP_ACT_ALLOW' && seccomp.syscalls?.some((r) => r.action === 'SCMP_ACT_ALLOW')) {
    const syscalls = seccomp.syscalls.map((r) => (r.action === 'SCMP_ACT_ALLOW' ? { ...r, names: [...new Set([...r.names, ...SHIM_SYSCALLS])] } : r));
    return { args, env, seccomp: { ...seccomp, syscalls } };
  }
  return { args, env };
}

/** What the app's monitor passes: the sockets at fds 3…, then the shim when activatedProcess uses it. */
export function passedFiles(sockets: readonly ActivatedSocket[]): PassedFile[] {
  if (sockets.length === 0) return [];
  const files: PassedFile[] = sockets.map((s) => ({ socket: s.protocol, port: s.port, ...(s.shared ? { shared: true } : {}) }));
  if (isMutant('listen-pid-one')) return files;
  if (!existsSync(LISTEN_PID_SHIM)) throw new InfraError(`${LISTEN_PID_SHIM} is missing (npm run setup builds it)`);
  return [...files, { file: LISTEN_PID_SHIM }];
}
