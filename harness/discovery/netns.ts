// A network namespace made for one run: its own loopback (up), and a private hosts file that
// `ip netns exec` bind-mounts over /etc/hosts for what runs inside, so the run's names resolve to
// that loopback and nowhere else. The host's /etc/hosts is never touched.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const NETNS_PREFIX = 'appc-disc-';

export class RunNetns {
  private released = false;
  private constructor(readonly name: string) {}

  static async create(): Promise<RunNetns> {
    const name = `${NETNS_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const ns = new RunNetns(name);
    try {
      await run('ip', ['netns', 'add', name], { timeout: 10_000 });
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { timeout: 10_000 });
      mkdirSync(ns.etcDir, { recursive: true });
      ns.setHosts([]);
    } catch (err) {
      ns.release();
      throw new Error(`cannot make the discovery network namespace ${name}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    return ns;
  }

  get etcDir(): string {
    return `/etc/netns/${this.name}`;
  }

  /** Names that resolve to the namespace's own loopback. */
  setHosts(names: readonly string[]): void {
    writeFileSync(`${this.etcDir}/hosts`, `127.0.0.1\tlocalhost ${names.join(' ')}\n::1\tlocalhost\n`);
  }

  /** argv run inside the namespace (with its hosts file as /etc/hosts). */
  wrap(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv];
  }

  /** Synchronous, so that it also runs from a process 'exit' hook. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // never made, or already gone
    }
    rmSync(this.etcDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what a discovery server of a worker that died without its clean-up (SIGKILL) left:
 *  namespaces, their /etc/netns dirs and the run dirs named after a process that is gone. Runs
 *  of live processes (other runs on this machine) are left alone. */
export async function sweepDeadRuns(tmp: string): Promise<void> {
  const dead = (name: string, prefix: string) => {
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(name);
    return m !== null && !alive(Number(m[1]));
  };
  const { stdout } = await run('ip', ['netns', 'list'], { timeout: 10_000 }).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (dead(name, NETNS_PREFIX)) await run('ip', ['netns', 'del', name], { timeout: 10_000 }).catch(() => undefined);
  }
  for (const dir of [...safeList('/etc/netns').map((n) => ['/etc/netns', n]), ...safeList(tmp).map((n) => [tmp, n])]) {
    if (dead(dir[1]!, NETNS_PREFIX)) rmSync(`${dir[0]}/${dir[1]}`, { recursive: true, force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
