// The pod's shared namespaces (POD-CTX-001..004): a holder process started with util-linux
// `unshare` owns new PID, network, IPC and UTS namespaces; every app's container joins them by
// path and gets only its own mount namespace. The holder's child is PID 1 of the pod: killing it
// kills every process of the pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { InfraError } from './errors.js';
import { isMutant } from './mutants.js';
import { readdirSync, readFileSync } from 'node:fs';
import { childrenOf, killRef, procRef, waitGone, type ProcRef } from './procs.js';

// Sets the pod hostname and brings loopback up (ACE-NET-001) inside the new namespaces, says it is
// ready, then sleeps as PID 1 of the pod.
const HOLDER_SCRIPT = 'hostname "$1" && ip link set lo up && echo ready && exec sleep infinity';
/** The no-loopback mutant leaves lo down (ACE-NET-001). */
const HOLDER_SCRIPT_NO_LO = 'hostname "$1" && echo ready && exec sleep infinity';

/**
 * Waits until the holder prints "ready" on stdout (false when it exits or `timeoutMs` passes
 * first); `stderr` is what it printed there, for the error message.
 */
async function readySignal(child: ChildProcess, timeoutMs: number): Promise<{ ready: boolean; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<boolean>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(false);
    let out = '';
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return { ready, stderr };
}

export interface Holder {
  /** the unshare process */
  unshare: ProcRef;
  /** PID 1 of the pod, as seen from the host */
  init: ProcRef;
  nsPath(kind: 'pid' | 'net' | 'ipc' | 'uts'): string;
  /** Kills every process of the pod and the holder; idempotent. */
  kill(): Promise<void>;
}

export function podHostname(uuid: string): string {
  return 'ref-' + uuid.replace(/-/g, '').slice(0, 12);
}

const HOLDER_NAME = 'ref-holder';

/**
 * The pod's holder processes found by their command line (`… ref-holder <hostname>`) and their
 * children, whether or not the state file recorded them: a holder that started while its run was
 * failing (e.g. under heavy load) must not outlive the pod.
 */
export function findHolders(uuid: string): ProcRef[] {
  const hostname = podHostname(uuid);
  const found: ProcRef[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = args.indexOf(HOLDER_NAME);
    if (at < 0 || args[at + 1] !== hostname) continue;
    for (const pid of [Number(entry), ...childrenOf(Number(entry))]) {
      const ref = procRef(pid);
      if (ref) found.push(ref);
    }
  }
  return found;
}

/**
 * Starts the holder. `record` runs as soon as a pid is known, before anything waits on it, so a
 * crash from then on leaves enough for `ref gc`.
 */
export async function startHolder(hostname: string, record: (p: ProcRef) => Promise<void>, timeoutMs = 10_000): Promise<Holder> {
  const child: ChildProcess = spawn(
    'unshare',
    ['--net', '--ipc', '--uts', '--pid', '--fork', '--kill-child', 'sh', '-c', isMutant('no-loopback') ? HOLDER_SCRIPT_NO_LO : HOLDER_SCRIPT, HOLDER_NAME, hostname],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (err) => reject(new InfraError(`cannot start the namespace holder (unshare): ${err.message}`)));
  });
  const unshare = procRef(spawned);
  if (!unshare) throw new InfraError('the namespace holder ended at once');
  await record(unshare);

  const { ready, stderr } = await readySignal(child, timeoutMs);
  const [initPid] = childrenOf(unshare.pid);
  const init = initPid === undefined ? undefined : procRef(initPid);
  const kill = async () => {
    if (init) killRef(init);
    killRef(unshare);
    await waitGone(init ? [init, unshare] : [unshare], 5000);
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  if (init) await record(init);
  if (!ready || !init) {
    await kill();
    throw new InfraError(`the namespace holder did not start: ${stderr.trim() || 'no ready signal'}`);
  }
  return {
    unshare,
    init,
    nsPath: (kind) => `/proc/${init.pid}/ns/${kind}`,
    kill,
  };
}
