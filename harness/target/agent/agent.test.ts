// The guest agent and its client, run on this machine (no VM): what a VM target's every exec,
// file and forward rests on, and the three outcomes kept apart (the command's own exit status,
// "the target could not run it", "no result came back").
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../run/paths.js';
import { readFirstLine } from '../../run/tcp.js';
import { NoResultError, TargetUnavailableError } from '../target.js';
import { AgentClient, AgentTarget, type AgentEndpoint } from './client.js';

/** The compiled agent, as a guest runs it (npm run build). */
const AGENT = join(REPO_ROOT, 'dist', 'harness', 'target', 'agent', 'agent.js');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts an agent; resolves once it listens. */
async function startAgent(dir: string, token: string): Promise<{ child: ChildProcess; endpoint: AgentEndpoint }> {
  const tokenFile = join(dir, `token-${token}`);
  await writeFile(tokenFile, token);
  const port = await freePort();
  const child = spawn(process.execPath, [AGENT, '--port', String(port), '--token-file', tokenFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
  return { child, endpoint: { host: '127.0.0.1', port, token } };
}

describe('guest agent', () => {
  let dir: string;
  let agent: { child: ChildProcess; endpoint: AgentEndpoint };
  let target: AgentTarget;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-test-'));
    agent = await startAgent(dir, 'secret-token');
    target = new AgentTarget('qemu', agent.endpoint);
  });
  afterAll(async () => {
    await target.dispose();
    agent.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('gives back the command exit status, stdout and stderr apart', async () => {
    const r = await target.exec(['sh', '-c', 'echo out; echo err >&2; exit 42']);
    expect(r).toMatchObject({ exitCode: 42, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  test('runs in the given directory with the given environment added', async () => {
    const r = await target.exec(['sh', '-c', 'pwd; echo "$APPC_X"; test -n "$PATH"'], { cwd: dir, env: { APPC_X: 'y z' } });
    expect(r.stdout).toBe(`${dir}\ny z\n`);
    expect(r.exitCode).toBe(0);
  });

  test('ends a command at its timeout and says so', async () => {
    const r = await target.exec(['sleep', '30'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGTERM');
  });

  test('stops a command whose signal is aborted, and gives back how it ended', async () => {
    const marker = join(dir, 'cancel-running');
    const stop = new AbortController();
    const pending = target.exec(['sh', '-c', `touch ${marker}; exec sleep 600`], { signal: stop.signal });
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    expect(await pending).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
    // A signal aborted before the command is sent stops it too.
    expect(await target.exec(['sleep', '600'], { signal: AbortSignal.abort() })).toMatchObject({ signal: 'SIGTERM', timedOut: false });
  }, 20_000);

  test('stops the commands of a client that goes away (a stopped test worker)', async () => {
    const pidFile = join(dir, 'orphan.pid');
    const client = new AgentClient(agent.endpoint);
    void client.call({ op: 'exec', argv: ['sh', '-c', `echo $$ > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; exec sleep 600`] }, 700_000).catch(() => undefined);
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    client.close();
    while (existsSync(`/proc/${pid}`) && !(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z ')).includes(') Z ')) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }, 20_000);

  test('a command that cannot start is the target\'s failure, not an exit status', async () => {
    await expect(target.exec(['/no/such/program'])).rejects.toBeInstanceOf(TargetUnavailableError);
  });

  test('copies files in and out byte for byte, and makes and removes directories', async () => {
    const tmp = await target.makeTempDir('appc-agent-test-');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    await writeFile(join(dir, 'in.bin'), bytes);
    await target.copyIn(join(dir, 'in.bin'), join(tmp, 'x.bin'));
    await target.copyOut(join(tmp, 'x.bin'), join(dir, 'out.bin'));
    expect(Buffer.compare(await readFile(join(dir, 'out.bin')), bytes)).toBe(0);
    await target.writeFile(join(tmp, 't.txt'), 'héllo');
    expect(await target.readFile(join(tmp, 't.txt'))).toBe('héllo');
    await target.remove(tmp);
    await expect(target.readFile(join(tmp, 't.txt'))).rejects.toThrow(/ENOENT/);
  });

  test('reports the facts of its machine', async () => {
    const f = await target.facts();
    expect(f.kernel).toMatch(/^\d+\.\d+/);
    expect(['1', '2', 'hybrid']).toContain(f.cgroup);
  });

  test('forwards a port of its loopback to 127.0.0.1 here, and closes a connection nothing answers', async () => {
    const base = await target.freePorts(2);
    const server: Server = createServer((s) => s.end('hello from the guest\n'));
    await new Promise<void>((r) => server.listen(base, '127.0.0.1', () => r()));
    try {
      const at = await target.reachable(base);
      expect(at.host).toBe('127.0.0.1');
      expect(at.port).not.toBe(base);
      expect(await readFirstLine(at.host, at.port, 5_000)).toEqual({ line: 'hello from the guest' });
      const closed = await target.reachable(base + 1);
      expect((await readFirstLine(closed.host, closed.port, 500)).line).toBeUndefined();
    } finally {
      server.close();
    }
  });

  test('answers nobody without the run\'s token', async () => {
    const stranger = new AgentClient({ ...agent.endpoint, token: 'wrong' });
    await expect(stranger.call({ op: 'facts' }, 5_000)).rejects.toBeInstanceOf(NoResultError);
    stranger.close();
  });

  test('a command whose agent dies meanwhile ends as "no result came back"', async () => {
    const other = await startAgent(dir, 'second');
    const t = new AgentTarget('qemu', other.endpoint);
    // Killed only once the command surely runs (its marker exists), however slow the machine.
    const marker = join(dir, 'running');
    const pending = t.exec(['sh', '-c', `touch ${marker}; sleep 30`]);
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise((r) => other.child.once('exit', r));
    other.child.kill('SIGKILL');
    await expect(pending).rejects.toBeInstanceOf(NoResultError);
    // Only once the agent has surely exited is its port closed for the next call (the kernel may
    // still accept a connection on it while the process is being torn down).
    await exited;
    await expect(t.exec(['true'])).rejects.toBeInstanceOf(TargetUnavailableError);
    await t.dispose();
  });
});
