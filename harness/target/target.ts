// Where the implementation under test runs. Suites and adapters only use this interface, so the same
// adapter works on this machine, in a VM or in a container.
import { HarnessError } from '../run/errors.js';
import type { TargetFacts } from './agent/protocol.js';

export type { TargetFacts } from './agent/protocol.js';

export interface ExecOptions {
  /** kill the command after this long (SIGTERM, then SIGKILL after a grace period) */
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** when aborted, the command is stopped as on a timeout (SIGTERM, then SIGKILL) and its result given back */
  signal?: AbortSignal;
}

/** The command's own outcome: it ran, and this is how it ended. */
export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** The target could not run the command (not started, target unreachable or closed): the harness's fault. */
export class TargetUnavailableError extends HarnessError {
  override name = 'TargetUnavailableError';
}

/** The command was handed to the target but no result came back (the VM died, the channel broke). */
export class NoResultError extends HarnessError {
  override name = 'NoResultError';
}

export type TargetKind = 'host' | 'qemu' | 'container' | 'vagrant';

/** vCPUs of the qemu and vagrant guests (each a host thread under TCG, so more than the host's
 *  cores would only contend). */
export const VM_CPUS = 2;
export const TARGET_KINDS: readonly TargetKind[] = ['host', 'qemu', 'container', 'vagrant'];

export interface Target {
  readonly kind: TargetKind;
  /**
   * Runs a command on the target. Resolves with its outcome; rejects with TargetUnavailableError
   * when it could not be run, NoResultError when it was handed over but no outcome came back.
   */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** A fresh private directory on the target. */
  makeTempDir(prefix: string): Promise<string>;
  /** Copies a local file to the target. */
  copyIn(localPath: string, remotePath: string): Promise<void>;
  /** Copies a file of the target to this machine. */
  copyOut(remotePath: string, localPath: string): Promise<void>;
  writeFile(remotePath: string, content: string): Promise<void>;
  readFile(remotePath: string): Promise<string>;
  remove(remotePath: string): Promise<void>;
  /** An address on this machine's 127.0.0.1 whose connections reach `port` on the target's loopback. */
  reachable(port: number): Promise<{ host: string; port: number }>;
  /** `count` consecutive TCP ports free on the target's loopback right now. */
  freePorts(count: number): Promise<number>;
  /** What the target is (distribution, kernel, cgroup version, init), for reports. */
  facts(): Promise<TargetFacts>;
  /** Releases this handle's own resources (connections, forwards); the machine behind it is its owner's. */
  dispose(): Promise<void>;
}

/** How the run reached its target, as reports show it. */
export interface TargetDescription extends TargetFacts {
  kind: TargetKind;
  /** VM targets: the accelerator QEMU used */
  accel?: 'kvm' | 'tcg';
  /** VM targets: the guest profile (lean, systemd) or "user image" */
  guest?: string;
  /** VM targets: from QEMU's start to the agent's first answer (container: from create to it) */
  bootMs?: number;
  /** container: the Docker-API engine and its version, e.g. "podman 4.3.1" */
  engine?: string;
  /** vagrant: the provider with Vagrant's and its own version */
  provider?: string;
}
