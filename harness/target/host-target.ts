// The `host` target: the implementation runs on this machine, as root.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freeLocalPorts, localFacts } from './agent/local.js';
import { TargetUnavailableError, type ExecOptions, type ExecResult, type Target, type TargetFacts } from './target.js';

const KILL_GRACE_MS = 5_000;

export class HostTarget implements Target {
  readonly kind = 'host' as const;

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('exec: empty command');
    const started = performance.now();
    const result = await execa(file, args, {
      reject: false,
      timeout: opts.timeoutMs,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: KILL_GRACE_MS,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      cwd: opts.cwd,
      env: opts.env,
      stdin: 'ignore',
      stripFinalNewline: false,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.failed && result.exitCode === undefined && !result.timedOut && !result.isTerminated) {
      // The command could not be started at all (e.g. ENOENT).
      throw new TargetUnavailableError(result.shortMessage);
    }
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut: result.timedOut,
      durationMs: performance.now() - started,
    };
  }

  makeTempDir(prefix: string): Promise<string> {
    return mkdtemp(join(tmpdir(), prefix));
  }

  copyIn(localPath: string, remotePath: string): Promise<void> {
    return copyFile(localPath, remotePath);
  }

  copyOut(remotePath: string, localPath: string): Promise<void> {
    return copyFile(remotePath, localPath);
  }

  writeFile(remotePath: string, content: string): Promise<void> {
    return writeFile(remotePath, content);
  }

  readFile(remotePath: string): Promise<string> {
    return readFile(remotePath, 'utf8');
  }

  remove(remotePath: string): Promise<void> {
    return rm(remotePath, { recursive: true, force: true });
  }

  async reachable(port: number) {
    return { host: '127.0.0.1', port };
  }

  async facts(): Promise<TargetFacts> {
    return localFacts();
  }

  freePorts(count: number): Promise<number> {
    return freeLocalPorts(count);
  }

  async dispose(): Promise<void> {}
}
