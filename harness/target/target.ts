// Where the implementation under test runs. Suites and adapters only use this interface, so the same
// adapter works on this machine, in a VM or in a container.

export interface ExecOptions {
  /** kill the command after this long (SIGTERM, then SIGKILL after a grace period) */
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export type TargetKind = 'host';
export const TARGET_KINDS: readonly TargetKind[] = ['host'];

export interface Target {
  readonly kind: TargetKind;
  /** Runs a command on the target. Resolves with its outcome; rejects only when it could not be started. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** A fresh private directory on the target. */
  makeTempDir(prefix: string): Promise<string>;
  /** Copies a local file to the target; returns the path there. */
  copyIn(localPath: string, remotePath: string): Promise<void>;
  writeFile(remotePath: string, content: string): Promise<void>;
  readFile(remotePath: string): Promise<string>;
  remove(remotePath: string): Promise<void>;
  /** The address the harness uses to reach a port the target exposes on its loopback. */
  reachable(port: number): { host: string; port: number };
  /** `count` consecutive TCP ports free on the target's loopback right now. */
  freePorts(count: number): Promise<number>;
  dispose(): Promise<void>;
}
