// Host process bookkeeping: a pid is only ours while its start time matches what we recorded,
// so a recycled pid is never killed by cleanup or gc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcRef {
  pid: number;
  /** field 22 of /proc/<pid>/stat (clock ticks since boot) */
  start: number;
}

export function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields after it start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const start = startTimeOf(pid);
  return start === undefined ? undefined : { pid, start };
}

export function isAlive(ref: ProcRef): boolean {
  return startTimeOf(ref.pid) === ref.start;
}

/** SIGKILLs the process if it is still the one recorded. */
export function killRef(ref: ProcRef): void {
  if (!isAlive(ref)) return;
  try {
    process.kill(ref.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function waitGone(refs: readonly ProcRef[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A zombie still has its /proc entry; its state field says Z.
    if (refs.every((r) => !isAlive(r) || isZombie(r.pid))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A zombie still has its /proc entry; its state field says Z. A pid already gone counts as one. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Host pids of the children of `pid` (all its threads). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface CommandResult {
  /** -1 when the command could not be started or was killed by a signal */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion without throwing. (child_process directly: loading execa costs
 * ~150 ms per ref invocation, more than a whole crun run.)
 */
export function runCommand(cmd: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ exitCode: -1, stdout, stderr: stderr + err.message }));
    child.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
  });
}
