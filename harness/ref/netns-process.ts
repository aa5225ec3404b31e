// A helper process of ref's (the metadata service, the port relay) that runs inside a pod's
// network namespace: `nsenter --net=NETNS node SCRIPT ARGS…`. It gets an optional payload on stdin,
// prints "ready" once it serves, and dies with the pod (its pid goes into the pod state first).
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from './errors.js';
import { procRef, type ProcRef } from './procs.js';

/**
 * Waits until a helper process prints "ready" on stdout (false when it exits or `timeoutMs` passes
 * first); `stderr()` gives what it printed there, for the error message.
 */
export async function readySignal(child: ChildProcess, timeoutMs: number): Promise<{ ready: boolean; stderr: string }> {
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

/** Starts dist/harness/ref/<script> in `netns`; resolves once it printed "ready". */
export async function startInNetns(
  what: string,
  netns: string,
  script: string,
  args: readonly string[],
  stdin: string,
  record: (p: ProcRef) => Promise<void>,
  // A node start takes 4–6 s in a VM under TCG alone, and 10 s was seen to pass on a busy machine.
  timeoutMs = 30_000,
): Promise<ProcRef> {
  const path = join(dirname(fileURLToPath(import.meta.url)), script);
  // nsenter with only --net execs the program itself: the pid is the helper's.
  const child = spawn('nsenter', [`--net=${netns}`, process.execPath, path, ...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (err) => reject(new InfraError(`cannot start the ${what} (nsenter): ${err.message}`)));
  });
  const proc = procRef(pid);
  if (!proc) throw new InfraError(`the ${what} ended at once`);
  await record(proc);
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(stdin);
  const { ready, stderr } = await readySignal(child, timeoutMs);
  // The pipes must not keep ref's event loop alive; the process dies with the pod.
  child.stdout!.destroy();
  child.stderr!.destroy();
  child.unref();
  if (!ready) throw new InfraError(`the ${what} did not start: ${stderr.trim() || 'no ready signal'}`);
  return proc;
}
