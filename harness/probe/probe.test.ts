// Runs the in-container probe (fixtures/probe) directly on the host and checks
// that its report matches the contract in ./report.ts. Network use is loopback only.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execa, type Options } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBE_PROTOCOL, type ProbeReport } from './report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const probeDir = path.join(root, 'fixtures/probe');
const probe = path.join(probeDir, 'probe');

let tmp = '';

beforeAll(async () => {
  await execa('make', ['-C', probeDir]);
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'appc-probe-test-')));
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function run(args: string[], opts: Options = {}) {
  const r = await execa(probe, args, { reject: false, stripFinalNewline: false, ...opts });
  const stdout = String(r.stdout ?? '');
  const lines = stdout.split('\n');
  expect(lines.pop(), 'stdout ends with a newline').toBe('');
  const last = lines.at(-1) ?? '';
  return { exitCode: r.exitCode, stdout, stderr: String(r.stderr ?? ''), lines, report: JSON.parse(last) as ProbeReport };
}

type Kind = 'string' | 'number' | 'array' | 'object' | 'object|null';
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

// Record<keyof ProbeReport, …> makes the compiler reject a missing or extra key.
const shape: Record<keyof ProbeReport, Kind> = {
  activation: 'object',
  probe: 'string', protocol: 'number', argv: 'array', env: 'object', cwd: 'string', pid: 'number',
  ppid: 'number', uid: 'number', gid: 'number', euid: 'number', egid: 'number', groups: 'array',
  hostname: 'string', namespaces: 'object', mounts: 'array', capabilities: 'object', noNewPrivs: 'number',
  seccomp: 'number', oomScoreAdj: 'number', cgroups: 'array', cgroupLimits: 'object', interfaces: 'array',
  // null where no cgroup2 hierarchy holds the probe's cgroup
  cgroupV2: 'object|null',
  files: 'array', writes: 'array', fetches: 'array', transfers: 'array', errors: 'array',
};

const canUnshare = process.getuid?.() === 0 && existsSync('/usr/bin/unshare');

describe('report shape', () => {
  test('every ProbeReport key with the right type, one line', async () => {
    const { report, lines, exitCode, stderr } = await run([]);
    expect(exitCode).toBe(0);
    expect(stderr).toBe('');
    expect(lines).toHaveLength(1);
    expect(Object.keys(report).sort()).toEqual(Object.keys(shape).sort());
    for (const [k, kind] of Object.entries(shape)) expect(kind.split('|'), k).toContain(kindOf(report[k as keyof ProbeReport]));
    expect(report.probe).toBe('appc-probe');
    expect(report.protocol).toBe(PROBE_PROTOCOL);
    expect(report.errors).toEqual([]);
    expect(report.uid).toBe(process.getuid?.());
    expect(report.gid).toBe(process.getgid?.());
    expect(report.euid).toBe(process.geteuid?.());
    expect(report.groups.every(Number.isInteger)).toBe(true);
    expect(report.hostname.length).toBeGreaterThan(0);
    expect(Object.keys(report.namespaces).sort()).toEqual(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']);
    for (const [k, v] of Object.entries(report.namespaces)) expect(v).toMatch(new RegExp(`^${k}:\\[\\d+\\]$`));
    expect(Object.keys(report.capabilities).sort()).toEqual(['ambient', 'bounding', 'effective', 'inheritable', 'permitted']);
    for (const v of Object.values(report.capabilities)) expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect([0, 1]).toContain(report.noNewPrivs);
    expect([0, 1, 2]).toContain(report.seccomp);
    expect(Number.isInteger(report.oomScoreAdj)).toBe(true);
    expect(report.cgroups.length).toBeGreaterThan(0);
    expect(Object.keys(report.cgroupLimits).sort()).toEqual(['cpuPeriodUs', 'cpuQuotaUs', 'cpuShares', 'memoryLimitBytes']);
    for (const v of Object.values(report.cgroupLimits)) expect(v === null || typeof v === 'number').toBe(true);
    // Its own cgroup v2 directory: a cgroup2 mount point plus the "0::" path below that mount's root.
    const v2 = report.cgroupV2;
    if (v2) {
      expect(report.cgroups).toContain(`0::${v2.path}`);
      const m = report.mounts.find((x) => x.fsType === 'cgroup2' && v2.dir.startsWith(x.mountPoint));
      expect(m, 'a cgroup2 mount holding dir').toBeDefined();
      const rel = v2.path.slice(m!.root === '/' ? 0 : m!.root.length);
      expect(v2.dir).toBe(rel === '/' ? m!.mountPoint : `${m!.mountPoint === '/' ? '' : m!.mountPoint}${rel}`);
      for (const k of ['memoryMax', 'cpuMax', 'cpuWeight', 'ioMax'] as const) expect(v2[k] === null || typeof v2[k] === 'string', k).toBe(true);
      expect(v2.ancestors.every((a) => v2.dir.startsWith(a.dir))).toBe(true);
    }
    const lo = report.interfaces.find((i) => i.name === 'lo');
    expect(lo).toMatchObject({ up: true, loopback: true });
    expect(lo?.addresses).toContain('127.0.0.1');
    expect(new Set(report.interfaces.map((i) => i.name)).size).toBe(report.interfaces.length);
  });

  test('mountinfo entries look sane', async () => {
    const { report } = await run([]);
    expect(report.mounts.length).toBeGreaterThan(0);
    const ids = new Set(report.mounts.map((m) => m.id));
    for (const m of report.mounts) {
      expect(m.id).toBeGreaterThan(0);
      expect(Number.isInteger(m.parentId)).toBe(true);
      expect(m.majorMinor).toMatch(/^\d+:\d+$/);
      // nsfs bind mounts (ip netns, pods of other runtimes) have roots like net:[4026531840]
      expect(m.root).toMatch(/^\/|^[a-z]+:\[\d+\]$/);
      expect(m.mountPoint.startsWith('/')).toBe(true);
      expect(m.options).toContain(m.options.includes('ro') ? 'ro' : 'rw');
      expect(m.fsType).toMatch(/^[\w.-]+$/);
      expect(typeof m.source).toBe('string');
      expect(Array.isArray(m.superOptions)).toBe(true);
    }
    expect(report.mounts.some((m) => m.mountPoint === '/')).toBe(true);
    expect(report.mounts.find((m) => m.mountPoint === '/proc')?.fsType).toBe('proc');
    // every mount but the namespace root hangs off another listed mount
    expect(report.mounts.filter((m) => !ids.has(m.parentId)).length).toBeLessThanOrEqual(1);
  });

  test.skipIf(!canUnshare)('octal escapes in mountinfo paths are decoded', async () => {
    const dir = path.join(tmp, 'with space');
    await mkdir(dir, { recursive: true });
    const { stdout } = await execa('unshare', ['--mount', 'sh', '-c', 'mount -t tmpfs "my src" "$1" && exec "$2"', 'sh', dir, probe]);
    const report = JSON.parse(stdout) as ProbeReport;
    expect(report.mounts.find((m) => m.mountPoint === dir)).toMatchObject({ fsType: 'tmpfs', source: 'my src' });
  });

  test.skipIf(!canUnshare)('fresh net/pid namespaces: lo is down, pid is 1', async () => {
    const { stdout } = await execa('unshare', ['--net', '--pid', '--fork', '--mount-proc', probe]);
    const report = JSON.parse(stdout) as ProbeReport;
    expect(report.pid).toBe(1);
    expect(report.interfaces).toEqual([{ name: 'lo', up: false, loopback: true, addresses: [] }]);
    expect(report.errors).toEqual([]);
  });
});

describe('echo', () => {
  test('argv, env and cwd', async () => {
    const odd = 'stderr=tab\there "quote" back\\slash é ✓ \u0001';
    const { report } = await run(['sleep=0', odd], { cwd: tmp, env: { PROBE_TEST: 'a=b "c"\nd', EMPTY: '' }, stderr: 'pipe' });
    expect(report.argv).toEqual([probe, 'sleep=0', odd]);
    expect(report.env.PROBE_TEST).toBe('a=b "c"\nd');
    expect(report.env.EMPTY).toBe('');
    expect(report.cwd).toBe(tmp);
    expect(report.ppid).toBeGreaterThan(0);
    expect(report.pid).not.toBe(process.pid);
  });

  test('stdout= and stderr= lines come before the report', async () => {
    const r = await run(['stdout=hello', 'stderr=oops', 'stdout=world']);
    expect(r.lines.slice(0, 2)).toEqual(['hello', 'world']);
    expect(r.lines).toHaveLength(3);
    expect(r.stderr).toBe('oops\n');
  });

  test('exit=42 sets the exit code after the report', async () => {
    const r = await run(['exit=42']);
    expect(r.exitCode).toBe(42);
    expect(r.report.probe).toBe('appc-probe');
  });

  test('unknown or malformed directives exit 125 before doing anything', async () => {
    const marker = path.join(tmp, 'not-created');
    for (const bad of ['bogus=1', 'exit=abc', 'listen=0', 'sleep', 'file=', 'pause', 'serve=80', 'serve=0:1', 'sink=x', 'pull=1.2.3.4']) {
      const r = await execa(probe, [`write=${marker}`, bad], { reject: false });
      expect(r.exitCode, bad).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(bad);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('arguments after -- are not directives and appear verbatim in argv', async () => {
    const r = await run(['exit=3', '--', '$HOME', 'bogus=1', 'exit=9']);
    expect(r.exitCode).toBe(3);
    expect(r.report.argv.slice(1)).toEqual(['exit=3', '--', '$HOME', 'bogus=1', 'exit=9']);
  });

  test('pause exits 0 on SIGTERM and prints nothing', async () => {
    const p = execa(probe, ['pause', 'bogus=ignored'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    expect(p.exitCode).toBeNull();
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
  });
});

describe('files and writes', () => {
  test('file= on a file, dir, symlink, /dev/null and a missing path', async () => {
    const dir = path.join(tmp, 'files');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'text'), 'héllo\n"q"\t✓');
    await chmod(path.join(dir, 'text'), 0o4640);
    await writeFile(path.join(dir, 'binary'), Buffer.from([0x61, 0, 0x62]));
    await writeFile(path.join(dir, 'latin1'), Buffer.from([0x61, 0xe9]));
    await writeFile(path.join(dir, 'big'), 'x'.repeat(65537));
    await writeFile(path.join(dir, 'exact'), 'y'.repeat(65536));
    await writeFile(path.join(dir, Buffer.from([0x62, 0xff]).toString('latin1')), '');
    await writeFile(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0x7a, 0xff])]), '');
    await symlink('text', path.join(dir, 'link'));
    const names = ['text', 'binary', 'latin1', 'big', 'exact', 'link', 'missing'];
    const { report } = await run([...names.map((n) => `file=${path.join(dir, n)}`), `file=${dir}`, 'file=/dev/null']);
    expect(report.errors).toEqual([]);
    const [text, binary, latin1, big, exact, link, missing, d, devnull] = report.files;
    const st = await stat(path.join(dir, 'text'));
    expect(text).toEqual({
      path: path.join(dir, 'text'), exists: true, type: 'file', mode: 0o4640, uid: st.uid, gid: st.gid,
      size: st.size, mtime: Math.floor(st.mtimeMs / 1000), content: 'héllo\n"q"\t✓',
    });
    expect(binary).toMatchObject({ type: 'file', size: 3 });
    expect(binary).not.toHaveProperty('content');
    expect(latin1).not.toHaveProperty('content');
    expect(big).not.toHaveProperty('content');
    expect(exact?.content).toHaveLength(65536);
    expect(link).toMatchObject({ type: 'symlink', linkTarget: 'text' });
    expect(link).not.toHaveProperty('content');
    expect(missing).toEqual({ path: path.join(dir, 'missing'), exists: false });
    expect(d).toMatchObject({ type: 'dir', mode: 0o755 });
    // a name that is not UTF-8 ("z\xff") is escaped byte by byte as \u00ff, keeping the JSON valid
    // sorted bytewise: "b\xc3\xbf" (UTF-8 ÿ) after "binary"
    expect(d?.entries).toEqual(['big', 'binary', 'bÿ', 'exact', 'latin1', 'link', 'sub', 'text', 'z\u00ff']);
    expect(devnull).toMatchObject({ type: 'char', rdev: { major: 1, minor: 3 }, mode: 0o666 });
  });

  test('file= on a path below a regular file reports ENOTDIR', async () => {
    const f = path.join(tmp, 'plain');
    await writeFile(f, '');
    const { report } = await run([`file=${f}/x`]);
    expect(report.files).toEqual([{ path: `${f}/x`, exists: false, error: 'ENOTDIR' }]);
  });

  test('alloc= allocates and touches memory, recorded as an "alloc:" write', async () => {
    const { report } = await run(['alloc=8388608']);
    expect(report.writes).toEqual([{ path: 'alloc:', ok: true }]);
  });

  test('write= and mkdir= record success and errno names', async () => {
    const dir = path.join(tmp, 'writes');
    await mkdir(dir);
    await writeFile(path.join(dir, 'file'), '');
    const args = [
      `write=${dir}/a:hello: world`, `write=${dir}/b`, `write=${dir}/nodir/x`, `write=${dir}`,
      `write=${dir}/file/x`, `mkdir=${dir}/m`, `mkdir=${dir}/m`, `mkdir=${dir}/nodir/m`,
    ];
    const { report } = await run(args);
    expect(report.writes).toEqual([
      { path: `${dir}/a`, ok: true },
      { path: `${dir}/b`, ok: true },
      { path: `${dir}/nodir/x`, ok: false, error: 'ENOENT' },
      { path: dir, ok: false, error: 'EISDIR' },
      { path: `${dir}/file/x`, ok: false, error: 'ENOTDIR' },
      { path: `${dir}/m`, ok: true },
      { path: `${dir}/m`, ok: false, error: 'EEXIST' },
      { path: `${dir}/nodir/m`, ok: false, error: 'ENOENT' },
    ]);
    expect(await readFile(`${dir}/a`, 'utf8')).toBe('hello: world');
    expect(await readFile(`${dir}/b`, 'utf8')).toBe('probe');
    expect((await stat(`${dir}/m`)).isDirectory()).toBe(true);
  });

  test.skipIf(process.getuid?.() === 0)('write= to an unwritable directory is EACCES', async () => {
    const dir = path.join(tmp, 'ro');
    await mkdir(dir, { mode: 0o555 });
    const { report } = await run([`write=${dir}/x`]);
    expect(report.writes).toEqual([{ path: `${dir}/x`, ok: false, error: 'EACCES' }]);
  });

  test('out= writes the same document as stdout; noreport silences stdout', async () => {
    const out = path.join(tmp, 'report.json');
    const r = await run([`out=${out}`, 'stdout=first']);
    expect(await readFile(out, 'utf8')).toBe(`${r.lines.at(-1)}\n`);
    expect(existsSync(`${out}.tmp`)).toBe(false);

    const quiet = path.join(tmp, 'quiet.json');
    const q = await execa(probe, ['noreport', `out=${quiet}`, 'exit=3'], { reject: false });
    expect(q.exitCode).toBe(3);
    expect(q.stdout).toBe('');
    expect((JSON.parse(await readFile(quiet, 'utf8')) as ProbeReport).probe).toBe('appc-probe');
  });

  test('a failing out= is reported in errors and in the other out files', async () => {
    const good = path.join(tmp, 'good.json');
    const bad = path.join(tmp, 'nodir', 'r.json');
    const r = await run([`out=${good}`, `out=${bad}`]);
    expect(r.exitCode).toBe(0);
    expect(r.report.errors).toEqual([`out ${bad}: ENOENT`]);
    expect(await readFile(good, 'utf8')).toBe(`${r.lines.at(-1)}\n`);
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

// Connects to 127.0.0.1:port, retrying until the probe is listening; resolves with what it sent.
async function readFrom(port: number, deadline = Date.now() + 5000): Promise<string> {
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        let data = '';
        c.on('data', (d) => (data += d.toString()));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('network (loopback only)', () => {
  test('listen= answers one connection with its port and hostname', async () => {
    const port = await freePort();
    const p = run([`listen-ms=5000`, `listen=${port}`]);
    const line = await readFrom(port);
    const { report, exitCode } = await p;
    expect(exitCode).toBe(0);
    expect(line).toBe(`appc-probe ${port} ${report.hostname}\n`);
    expect(report.errors).toEqual([]);
  });

  test('listen= without a connection records an error', async () => {
    const port = await freePort();
    const { report } = await run(['listen-ms=100', `listen=${port}`]);
    expect(report.errors).toEqual([`listen ${port}: no connection`]);
  });

  test('serve= sends its bytes to one reader; pull= reads them to EOF', async () => {
    const port = await freePort();
    const server = run(['listen-ms=5000', `serve=${port}:3000000`]);
    const client = await run(['listen-ms=5000', `pull=127.0.0.1:${port}`]);
    const served = (await server).report;
    expect(client.report.transfers).toEqual([{ op: 'pull', peer: `127.0.0.1:${port}`, bytes: 3000000, ms: expect.any(Number) }]);
    expect(served.transfers).toEqual([{ op: 'serve', peer: String(port), bytes: 3000000, ms: expect.any(Number) }]);
    expect(served.errors).toEqual([]);
  });

  test('sink= reads one writer to EOF, counts the bytes and answers with the count', async () => {
    const port = await freePort();
    const p = run(['listen-ms=5000', `sink=${port}`]);
    let answer = '';
    for (const deadline = Date.now() + 5000; ; ) {
      const sent = await new Promise<boolean>((resolve) => {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => c.end(Buffer.alloc(200000)));
        c.on('data', (d) => (answer += d.toString()));
        c.on('close', () => resolve(answer !== ''));
        c.on('error', () => resolve(false));
      });
      if (sent || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { report } = await p;
    expect(answer).toBe('appc-probe received 200000\n');
    expect(report.transfers).toEqual([{ op: 'sink', peer: String(port), bytes: 200000, ms: expect.any(Number) }]);
  });

  test('pull= gives up after listen-ms when nothing listens', async () => {
    const port = await freePort();
    const { report } = await run(['listen-ms=200', `pull=127.0.0.1:${port}`]);
    expect(report.transfers).toEqual([{ op: 'pull', peer: `127.0.0.1:${port}`, bytes: 0, ms: 0, error: 'ECONNREFUSED' }]);
  });

  test('fetch= does an HTTP/1.0 GET with the metadata header', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const urls: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      urls.push(req.url ?? '');
      if (req.url === '/big') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end('z'.repeat(70000));
        return;
      }
      res.writeHead(req.url === '/missing' ? 404 : 203, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.url === '/missing' ? 'nope' : 'hello ✓\n{"json":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const closed = await freePort();
    try {
      const base = `http://127.0.0.1:${port}`;
      const { report } = await run([
        `fetch=${base}/acApp/name?x=1`, `fetch=${base}/missing`, `fetch=${base}/big`,
        `fetch=http://127.0.0.1:${closed}/`, 'fetch=http://localhost/', 'fetch=https://127.0.0.1/',
      ]);
      expect(report.fetches[0]).toEqual({
        url: `${base}/acApp/name?x=1`, ok: true, status: 203,
        contentType: 'text/plain; charset=utf-8', body: 'hello ✓\n{"json":true}',
      });
      expect(report.fetches[1]).toMatchObject({ ok: true, status: 404, body: 'nope' });
      expect(report.fetches[2]?.body).toBe('z'.repeat(65536));
      expect(report.fetches.slice(3)).toEqual([
        { url: `http://127.0.0.1:${closed}/`, ok: false, error: 'ECONNREFUSED' },
        { url: 'http://localhost/', ok: false, error: 'EINVAL' },
        { url: 'https://127.0.0.1/', ok: false, error: 'EINVAL' },
      ]);
      expect(urls).toEqual(['/acApp/name?x=1', '/missing', '/big']);
      expect(seen[0]?.['metadata-flavor']).toBe('AppContainer');
      expect(seen[0]?.host).toBe(`127.0.0.1:${port}`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('post= sends a form POST; $AC_METADATA_URL and $FETCHn expand', async () => {
    const posts: { url: string; type?: string; body: string; flavor?: string | string[] }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posts.push({ url: req.url ?? '', type: req.headers['content-type'], body, flavor: req.headers['metadata-flavor'] });
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=us-ascii' });
        res.end(req.method === 'GET' ? 'a b/+=' : `${req.method}:${body}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const base = `http://127.0.0.1:${port}/tok`;
      const { report } = await run(
        ['fetch=$AC_METADATA_URL/first', `post=${base}/sign:content=hi&x=$FETCH0&y=$FETCH9`, 'post=$AC_METADATA_URL/empty'],
        { env: { AC_METADATA_URL: base } },
      );
      expect(report.fetches).toEqual([
        { url: `${base}/first`, ok: true, status: 200, contentType: 'text/plain; charset=us-ascii', body: 'a b/+=' },
        { url: `${base}/sign`, ok: true, status: 200, contentType: 'text/plain; charset=us-ascii', body: 'POST:content=hi&x=a%20b%2F%2B%3D&y=' },
        { url: `${base}/empty`, ok: true, status: 200, contentType: 'text/plain; charset=us-ascii', body: 'POST:' },
      ]);
      expect(posts.map((p) => p.url)).toEqual(['/tok/first', '/tok/sign', '/tok/empty']);
      expect(posts[1]).toMatchObject({ type: 'application/x-www-form-urlencoded', flavor: 'AppContainer' });
      const unset = await run(['fetch=$AC_METADATA_URL/x'], { env: { AC_METADATA_URL: '' } });
      expect(unset.report.fetches).toEqual([{ url: '/x', ok: false, error: 'EINVAL' }]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('fetch= gives up after 5 s when the server never answers', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const { report } = await run([`fetch=http://127.0.0.1:${port}/`]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
      expect(report.fetches).toEqual([{ url: `http://127.0.0.1:${port}/`, ok: false, error: 'ETIMEDOUT' }]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }, 15_000);
});

// Passes sockets the way an executor does for socket activation (a TCP listener at fd 3, a UDP
// socket at fd 4, and a regular file at fd 5 outside LISTEN_FDS), then execs the probe with
// LISTEN_FDS=2 and LISTEN_PID set to the probe's own pid. Perl, as ref's monitor uses it.
const PASS_FDS = String.raw`
use strict; use warnings; use POSIX (); use Fcntl qw(F_DUPFD);
use Socket qw(PF_INET SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR INADDR_LOOPBACK pack_sockaddr_in unpack_sockaddr_in);
my ($probe, @args) = @ARGV;
my ($t, $u);
socket($t, PF_INET, SOCK_STREAM, 0) && setsockopt($t, SOL_SOCKET, SO_REUSEADDR, 1) && bind($t, pack_sockaddr_in(0, INADDR_LOOPBACK)) && listen($t, 8) or die "tcp: $!";
socket($u, PF_INET, SOCK_DGRAM, 0) && bind($u, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "udp: $!";
open(my $f, '<', $probe) or die "file: $!";
my @tmp = map { fcntl($_, F_DUPFD, 10) } ($t, $u, $f);
POSIX::dup2($tmp[$_], 3 + $_) // die "dup2: $!" for 0 .. 2;
POSIX::close($_) for @tmp;
my ($tp) = unpack_sockaddr_in(getsockname($t)); my ($up) = unpack_sockaddr_in(getsockname($u));
print STDERR "ports $tp $up\n";
@ENV{qw(LISTEN_FDS LISTEN_PID LISTEN_FDNAMES)} = (2, $$, 'web:dns');
exec { $probe } $probe, @args or die "exec: $!";
`;

async function withPassedFds(args: string[], connect: boolean) {
  const child = execa('perl', ['-e', PASS_FDS, probe, ...args], { reject: false });
  const ports = await new Promise<[number, number]>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /^ports (\d+) (\d+)\n/.exec(err);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    void child.then((r) => reject(new Error(`perl ended before passing the fds: ${String(r.stderr)}`)));
  });
  const answer = connect
    ? await new Promise<string>((resolve) => {
        let data = '';
        const c = net.connect(ports[0], '127.0.0.1');
        c.on('data', (d: Buffer) => (data += d.toString()));
        c.on('close', () => resolve(data));
        c.on('error', () => resolve(data));
      })
    : undefined;
  const r = await child;
  const report = JSON.parse(String(r.stdout).trim().split('\n').at(-1)!) as ProbeReport;
  return { tcpPort: ports[0], udpPort: ports[1], answer, report, exitCode: r.exitCode };
}

describe('socket activation (inherited fds)', () => {
  test('reports LISTEN_* verbatim and each inherited fd; accept-fds= answers on the listening socket', async () => {
    const { tcpPort, udpPort, answer, report, exitCode } = await withPassedFds(['accept-fds=5000'], true);
    expect(exitCode).toBe(0);
    expect(answer).toBe(`appc-probe ${tcpPort} ${report.hostname} ${report.pid}\n`);
    expect(report.errors).toEqual([]);
    const { fds, ...vars } = report.activation!;
    expect(vars).toEqual({ listenFds: '2', listenPid: String(report.pid), listenFdNames: 'web:dns' });
    // fds above 5 may be whatever this test's own environment leaked; 3..5 are the ones passed.
    expect(fds.filter((f) => f.fd <= 5)).toEqual([
      { fd: 3, type: 'socket', socketType: 'stream', family: 'inet', listening: true, address: '127.0.0.1', port: tcpPort, answered: true },
      { fd: 4, type: 'socket', socketType: 'dgram', family: 'inet', listening: false, address: '127.0.0.1', port: udpPort },
      { fd: 5, type: 'file' },
    ]);
  });

  test('accept-fds= gives up after its time when nobody connects', async () => {
    const { report } = await withPassedFds(['accept-fds=200'], false);
    expect(report.errors).toEqual(['accept-fds 3: no connection']);
    expect(report.activation!.fds[0]).toMatchObject({ fd: 3, listening: true, answered: false });
  });

  test('without LISTEN_FDS: null variables, and accept-fds= says why at once', async () => {
    const started = Date.now();
    const env = { ...process.env };
    for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[k];
    const { report } = await run(['accept-fds=60000'], { env, extendEnv: false });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.activation).toMatchObject({ listenFds: null, listenPid: null, listenFdNames: null });
    expect(report.errors).toEqual(['accept-fds: LISTEN_FDS is not set']);
  });

  test('a malformed accept-fds= exits 125', async () => {
    for (const bad of ['accept-fds', 'accept-fds=', 'accept-fds=x', 'accept-fds=-1']) {
      const r = await execa(probe, [bad], { reject: false });
      expect(r.exitCode, bad).toBe(125);
    }
  });
});
