// The run's discovery server on its own: each kind of answer, TLS per host, the request log, and
// that stop() leaves no namespace, hosts file, process or directory behind. Needs root (ip netns).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DISCOVERY_SERVER } from '../run/paths.js';
import { NETNS_PREFIX, sweepDeadRuns } from './netns.js';
import { DiscoveryServer } from './server.js';

const run = promisify(execFile);
let server: DiscoveryServer;

/** curl inside the run's namespace: status, body and how it ended. */
async function curl(url: string, ...extra: string[]): Promise<{ code: number; out: string }> {
  const argv = server.network.wrap(['curl', '-sS', '--max-time', '5', '--cacert', server.pki.caFile, '-o', '-', '-w', '\n%{http_code}', ...extra, url]);
  try {
    const { stdout } = await run(argv[0]!, argv.slice(1), { timeout: 15_000 });
    return { code: 0, out: stdout };
  } catch (err) {
    return { code: (err as { code: number }).code, out: (err as { stdout: string }).stdout ?? '' };
  }
}

describe.runIf(process.getuid?.() === 0 && existsSync(DISCOVERY_SERVER))('discovery server', () => {
  let host: string;
  beforeAll(async () => {
    server = await DiscoveryServer.start();
    host = await server.host('unit');
    await server.host('bad', { tls: 'untrusted' });
    await server.host('notls', { tls: 'none' });
    await server.route(`${host}/page`, { kind: 'body', text: 'hello' });
    await server.route(`${host}/moved`, { kind: 'redirect', status: 302, location: '/page' });
    await server.route(`bad.appc.test/page`, { kind: 'body', text: 'hello' });
    await server.route(`notls.appc.test/page`, { kind: 'body', text: 'plain' });
    const big = `${server.dir}/big`;
    await (await import('node:fs/promises')).writeFile(big, Buffer.alloc(8192, 'x'));
    await server.route(`${host}/cut`, { kind: 'truncate', file: big });
    await server.route(`${host}/stall`, { kind: 'stall', file: big });
  }, 60_000);
  afterAll(async () => server?.stop());

  test('serves bodies and redirects over HTTPS with the run CA, and logs each request', async () => {
    expect((await curl(`https://${host}/page`)).out).toBe('hello\n200');
    expect((await curl(`https://${host}/moved`, '-L')).out).toBe('hello\n200');
    expect((await curl(`https://${host}/nothing`)).out).toMatch(/404$/);
    expect(server.requests(host).map((r) => `${r.scheme} ${r.path} ${r.status}`)).toEqual(['https /page 200', 'https /moved 302', 'https /page 200', 'https /nothing 404']);
  });

  test('cuts a body short, stalls one, and fails TLS as each host is told to', async () => {
    expect((await curl(`https://${host}/cut`)).code).not.toBe(0);
    const stalled = await curl(`https://${host}/stall`);
    expect(stalled.code).toBe(28); // curl: operation timed out
    expect((await curl('https://bad.appc.test/page')).code).toBe(60); // curl: peer certificate cannot be authenticated
    expect((await curl('https://notls.appc.test/page')).code).not.toBe(0);
    expect((await curl('http://notls.appc.test/page')).out).toBe('plain\n200');
  }, 30_000);

  test('stop() releases the namespace, its hosts file, the process and the directory', async () => {
    const { netns } = server.network;
    const dir = server.dir;
    await server.stop();
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(netns);
    expect(existsSync(`/etc/netns/${netns}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    // The server's argv names its config in the run's directory: unique to this server.
    const left = await run('pgrep', ['-f', `${dir}/server.json`]).then((r) => r.stdout.trim(), () => '');
    expect(left).toBe('');
  });
});

describe.runIf(process.getuid?.() === 0)('leftovers of a killed run', () => {
  test('a later start sweeps the namespace and dirs of a process that is gone, not those of a live one', async () => {
    // A pid that no process has now (kill 0 says ESRCH).
    let pid = 4_000_000;
    while ((() => { try { process.kill(pid, 0); return true; } catch { return false; } })()) pid--;
    const deadName = `${NETNS_PREFIX}${pid}-sweep`;
    const liveName = `${NETNS_PREFIX}${process.pid}-sweep`;
    try {
      for (const n of [deadName, liveName]) {
        await run('ip', ['netns', 'add', n]);
        mkdirSync(`/etc/netns/${n}`, { recursive: true });
        mkdirSync(`${tmpdir()}/${n}`, { recursive: true });
      }
      await sweepDeadRuns(tmpdir());
      const list = (await run('ip', ['netns', 'list'])).stdout;
      expect(list).not.toContain(deadName);
      expect(existsSync(`/etc/netns/${deadName}`) || existsSync(`${tmpdir()}/${deadName}`)).toBe(false);
      expect(list).toContain(liveName);
      expect(existsSync(`/etc/netns/${liveName}`) && existsSync(`${tmpdir()}/${liveName}`)).toBe(true);
    } finally {
      for (const n of [deadName, liveName]) {
        await run('ip', ['netns', 'del', n]).catch(() => undefined);
        await run('rm', ['-rf', `/etc/netns/${n}`, `${tmpdir()}/${n}`]);
      }
    }
  });
});
