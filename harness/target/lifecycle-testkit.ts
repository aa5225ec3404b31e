// Shared by the targets' lifecycle tests: they drive `npm test`'s own entry point as a user would,
// watch its output (to send a signal at the right moment) and look for what a run left behind.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../run/paths.js';

export const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  /** sees every output line as it comes, e.g. to signal the run at a given point */
  onLine?: (line: string, child: ReturnType<typeof spawn>) => void;
}

/** Runs npm test's entry point with `args` until it exits. The run leads its own process group,
 *  as a shell job does (see ctrlC). */
export function runMain(args: string[], opts: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    const feed = (chunk: string) => chunk.split('\n').forEach((l) => opts.onLine?.(l, child));
    child.stdout.on('data', (d: Buffer) => ((stdout += d), feed(d.toString())));
    child.stderr.on('data', (d: Buffer) => ((stderr += d), feed(d.toString())));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A terminal's Ctrl-C: SIGINT to the run's whole process group, every process the run started in
 *  it included (a target's own processes must not be among them, or the run cannot stop them in order). */
export function ctrlC(child: ReturnType<typeof spawn>): void {
  try {
    process.kill(-child.pid!, 'SIGINT');
  } catch {
    // the run has ended already
  }
}

/** Whether something still accepts connections on 127.0.0.1:`port` (a forward left behind). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** The agent's forwarded port, from the line a VM or container target prints when it is ready. */
export const agentPortOf = (line: string): number => Number(/agent on 127\.0\.0\.1:(\d+)/.exec(line)?.[1] ?? 0);
