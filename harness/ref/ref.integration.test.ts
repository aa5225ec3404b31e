// Runs the compiled ref CLI on real images with the static probe: what a pod promises, observed
// from inside, and that nothing is left behind afterwards. Needs root, crun, unshare, perl.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { buildAci, hostFile, type BuiltImage, type FileEntry } from '../aci/builder.js';
import { DEFAULT_PATH, type ImageManifest, type PodManifest } from '../aci/manifest.js';
import { parseProbeReport } from '../probe/parse.js';
import type { ProbeReport } from '../probe/report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'dist/harness/ref/main.js');
const PROBE = join(REPO, 'fixtures/probe/probe');

interface RefResult {
  uuid: string;
  status: string;
  error?: string;
  apps: { name: string; imageId: string; exitCode: number | null; signal: string | null; stdout: string; stderr: string }[];
  timings: { renderMs: number; runMs: number; cleanupMs: number };
}

/** Why these tests cannot run here, if they cannot. */
function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['crun', 'unshare', 'perl', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `needs ${tool}`;
    }
  }
  return undefined;
}

/** dist/ is rebuilt when any ref source is newer than the compiled CLI. */
function ensureBuilt(): void {
  const sources = readdirSync(join(REPO, 'harness/ref')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  if (sources.some((f) => statSync(join(REPO, 'harness/ref', f)).mtimeMs > built)) {
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: REPO, stdio: 'inherit' });
  }
}

function ensureProbe(): void {
  if (!existsSync(PROBE)) execFileSync('make', ['-C', join(REPO, 'fixtures/probe')], { stdio: 'inherit' });
}

const skipReason = missingPrerequisite();
let work: string;

function manifest(name: string, app: ImageManifest['app']): ImageManifest {
  return { acKind: 'ImageManifest', acVersion: '0.8.11', name, ...(app ? { app } : {}) };
}

async function image(name: string, app: ImageManifest['app'], extra: FileEntry[] = [], gzip = false): Promise<BuiltImage> {
  return buildAci(
    { manifest: manifest(name, app), files: [await hostFile(PROBE, '/probe'), ...extra], compression: gzip ? 'gzip' : 'none' },
    join(work, 'images'),
  );
}

function ref(args: string[]): ResultPromise<{ reject: false; all: false }> {
  return execa('node', [CLI, ...args], { reject: false, all: false });
}

async function run(
  name: string,
  images: BuiltImage[],
  pod?: PodManifest,
  extraArgs: string[] = [],
): Promise<{ exitCode: number | undefined; stderr: string; result: RefResult; dataDir: string; wallMs: number }> {
  const dataDir = join(work, `data-${name}`);
  const resultFile = join(work, `${name}.json`);
  const args = ['run', '--data-dir', dataDir, '--result', resultFile, ...images.flatMap((i) => ['--image', i.path]), ...extraArgs];
  if (pod) {
    await writeFile(join(work, `${name}.pod.json`), JSON.stringify(pod));
    args.push('--pod-manifest', join(work, `${name}.pod.json`));
  }
  const t = performance.now();
  const res = await ref(args);
  const wallMs = performance.now() - t;
  const result = JSON.parse(await readFile(resultFile, 'utf8')) as RefResult;
  return { exitCode: res.exitCode, stderr: String(res.stderr), result, dataDir, wallMs };
}

function report(stdout: string): ProbeReport {
  const r = parseProbeReport(stdout);
  if (typeof r === 'string') throw new Error(`no probe report: ${r}`);
  return r;
}

/** Nothing of the pod is left: containers, mounts, cgroups, veths, files. */
function expectClean(dataDir: string, uuid: string): void {
  const crunRoot = join(dataDir, 'crun');
  if (existsSync(crunRoot)) {
    expect(execFileSync('crun', ['--root', crunRoot, 'list', '--quiet'], { encoding: 'utf8' }).trim()).toBe('');
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp.startsWith(dataDir));
  expect(mounts).toEqual([]);
  const cgroups = readdirSync('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h, 'appc-ref', uuid))
    .filter((d) => existsSync(d));
  expect(cgroups).toEqual([]);
  // The unit tests run one file at a time: any pod veth now is this pod's.
  expect(readdirSync('/sys/class/net').filter((n) => n.startsWith('appc-ref'))).toEqual([]);
  expect(existsSync(join(dataDir, 'pods', uuid))).toBe(false);
  const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`ref-${uuid.replace(/-/g, '').slice(0, 12)}`) || (l.includes('socat') && l.includes(uuid)));
  expect(leftovers).toEqual([]);
}

function skipUnlessReady(ctx: TestContext): void {
  if (skipReason) ctx.skip(skipReason);
}

describe('ref CLI on real pods', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ref-it-'));
    if (skipReason) return;
    ensureBuilt();
    ensureProbe();
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints its version and mutants', async (ctx) => {
    skipUnlessReady(ctx);
    const v = JSON.parse(String((await ref(['version'])).stdout)) as { name: string; version: string; crun: string };
    expect(v).toMatchObject({ name: 'ref', version: '0.1.0' });
    expect(v.crun).toMatch(/^\d+\.\d+/);
    const m = JSON.parse(String((await ref(['mutants'])).stdout)) as { name: string; clauses: string[] }[];
    expect(m.map((x) => x.name)).toContain('separate-netns');
    const bad = await ref(['run', '--data-dir']);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr).trim().split('\n')).toHaveLength(1);
  });

  it('runs one app: exit code, environment, cwd, numeric user, preserved metadata', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image(
      'example.org/ref-it/one_app',
      {
        exec: ['/probe', 'exit=42', 'file=/suid'],
        user: '1234',
        group: '5678',
        workingDirectory: '/work',
        environment: [{ name: 'APPC_TEST', value: '$PATH ${HOME}' }],
      },
      [
        { type: 'dir', path: '/work' },
        { type: 'file', path: '/suid', content: 'x', mode: 0o4755, uid: 42, gid: 43 },
      ],
      true,
    );
    const { exitCode, result, dataDir, wallMs } = await run('one', [img]);
    console.log(`one-app pod: ${Math.round(wallMs)} ms wall`, result.timings);
    expect(exitCode).toBe(0);
    expect(result.status).toBe('exited');
    expect(result.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [app] = result.apps;
    expect(app).toMatchObject({ name: 'one-app', imageId: img.id, exitCode: 42, signal: null });
    const r = report(app!.stdout);
    // crun adds HOME when the environment has none (ACE-ENV-006 allows extra variables).
    const { HOME: _home, AC_METADATA_URL: metadataUrl, ...env } = r.env;
    expect(env).toEqual({ PATH: DEFAULT_PATH, APPC_TEST: '$PATH ${HOME}', AC_APP_NAME: 'one-app', container: 'appc-ref' });
    expect(metadataUrl).toMatch(/^http:\/\/127\.0\.0\.1:2375\/[0-9a-f]{32}$/);
    expect(r.cwd).toBe('/work');
    expect([r.uid, r.gid]).toEqual([1234, 5678]);
    expect(r.hostname).toBe(`ref-${result.uuid.replace(/-/g, '').slice(0, 12)}`);
    expect(r.interfaces.find((i) => i.name === 'lo')).toMatchObject({ up: true });
    expect(r.capabilities.bounding).toBe('00000000a80425fb');
    expect(r.files[0]).toMatchObject({ path: '/suid', mode: 0o4755, uid: 42, gid: 43 });
    expectClean(dataDir, result.uuid);
  });

  it('runs two apps sharing pid/net/ipc/uts but not mounts, with host, read-only and empty volumes', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/pair', { exec: ['/probe'], user: '0', group: '0' });
    const host = join(work, 'host-vol');
    await mkdir(host, { recursive: true });
    await writeFile(join(host, 'hello'), 'from the host\n');
    const pod: PodManifest = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [
        {
          name: 'a',
          image: { id: img.id },
          // Both apps sleep so that they overlap: namespace inodes are only comparable while alive.
          app: { exec: ['/probe', 'write=/host/from-a', 'write=/ro/x', 'write=/shared/a', 'sleep=400', 'exit=7'], user: '0', group: '0' },
          mounts: [
            { volume: 'host', path: '/host' },
            { volume: 'host-ro', path: '/ro' },
            { volume: 'shared', path: '/shared' },
          ],
        },
        {
          name: 'b',
          image: { id: img.id },
          app: {
            exec: ['probe', 'sleep=400', 'file=/shared/a', 'file=/ro/hello', 'write=/mp/y'],
            user: '0',
            group: '0',
            mountPoints: [{ name: 'mp', path: '/mp', readOnly: true }],
          },
          mounts: [
            { volume: 'shared', path: '/shared' },
            { volume: 'host', path: '/ro' },
          ],
        },
      ],
      volumes: [
        { name: 'host', kind: 'host', source: host },
        { name: 'host-ro', kind: 'host', source: host, readOnly: true },
        { name: 'shared', kind: 'empty', mode: '0777' },
      ],
    };
    // exec "probe" without a slash: found through PATH? Not in this image (it lives at /probe),
    // so PATH is extended for b via its environment.
    pod.apps[1]!.app!.environment = [{ name: 'PATH', value: `/:${DEFAULT_PATH}` }];
    const { exitCode, result, dataDir, wallMs, stderr } = await run('pair', [img], pod);
    console.log(`two-app pod: ${Math.round(wallMs)} ms wall`, result.timings);
    expect(exitCode, stderr).toBe(0);
    const [a, b] = result.apps.map((x) => ({ ...x, r: report(x.stdout) }));
    expect([a!.exitCode, b!.exitCode]).toEqual([7, 0]);
    for (const ns of ['pid', 'net', 'ipc', 'uts'] as const) expect(a!.r.namespaces[ns]).toBe(b!.r.namespaces[ns]);
    expect(a!.r.namespaces.mnt).not.toBe(b!.r.namespaces.mnt);
    expect(a!.r.writes).toEqual([
      { path: '/host/from-a', ok: true },
      { path: '/ro/x', ok: false, error: 'EROFS' },
      { path: '/shared/a', ok: true },
    ]);
    expect(existsSync(join(host, 'from-a'))).toBe(true);
    expect(b!.r.files[1]).toMatchObject({ path: '/ro/hello', content: 'from the host\n' });
    expect(b!.r.writes).toEqual([{ path: '/mp/y', ok: false, error: 'EROFS' }]);
    expectClean(dataDir, result.uuid);
  });

  it('runs pre-start before and post-stop after the main process, in its filesystem (ACE-LIFE-*)', async (ctx) => {
    skipUnlessReady(ctx);
    const host = join(work, 'handlers-vol');
    await mkdir(host, { recursive: true });
    const img = await image('example.org/ref-it/handlers', {
      exec: ['/probe', 'file=/prestart', 'exit=4'],
      user: '0',
      group: '0',
      mountPoints: [{ name: 'out', path: '/out' }],
      eventHandlers: [
        { name: 'pre-start', exec: ['/probe', 'noreport', 'write=/prestart', 'stdout=pre-start says', 'stderr=pre-start warns'] },
        { name: 'post-stop', exec: ['/probe', 'noreport', 'write=/out/poststop', 'stdout=post-stop says', 'stderr=post-stop warns'] },
      ],
    });
    const failing = await image('example.org/ref-it/handlers-fail', {
      exec: ['/probe', 'write=/out/main-ran'],
      user: '0',
      group: '0',
      eventHandlers: [{ name: 'pre-start', exec: ['/probe', 'exit=9'] }],
    });
    const pod: PodManifest = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [
        { name: 'ok', image: { id: img.id }, mounts: [{ volume: 'out', path: '/out' }] },
        { name: 'fail', image: { id: failing.id }, mounts: [{ volume: 'out', path: '/out' }] },
      ],
      volumes: [{ name: 'out', kind: 'host', source: host }],
    };
    const { exitCode, result, dataDir, stderr } = await run('handlers', [img, failing], pod);
    expect(exitCode, stderr).toBe(0);
    const [ok, fail] = result.apps as (RefResult['apps'][number] & { handlers?: { name: string; exitCode: number | null }[] })[];
    expect(ok!.exitCode).toBe(4);
    // The main process's report precedes what post-stop printed after it.
    expect(report(ok!.stdout.replace(/post-stop says\n$/, '')).files[0]).toMatchObject({ path: '/prestart', exists: true });
    expect(ok!.handlers?.map((h) => [h.name, h.exitCode])).toEqual([
      ['pre-start', 0],
      ['post-stop', 0],
    ]);
    expect(existsSync(join(host, 'poststop'))).toBe(true);
    // Handler output is the app's log too, in the order the processes ran.
    expect(ok!.stdout.startsWith('pre-start says\n')).toBe(true);
    expect(ok!.stdout.endsWith('\npost-stop says\n')).toBe(true);
    expect(ok!.stderr).toBe('pre-start warns\npost-stop warns\n');
    expect(fail).toMatchObject({ exitCode: null, signal: null });
    expect(fail!.handlers?.map((h) => [h.name, h.exitCode])).toEqual([['pre-start', 9]]);
    expect(existsSync(join(host, 'main-ran'))).toBe(false);
    expectClean(dataDir, result.uuid);
  });

  it('refuses a pod whose host volume source is missing, with one line on stderr', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/refused', { exec: ['/probe'], user: '0', group: '0' });
    const pod: PodManifest = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [{ name: 'x', image: { id: img.id }, mounts: [{ volume: 'gone', path: '/gone' }] }],
      volumes: [{ name: 'gone', kind: 'host', source: join(work, 'does-not-exist') }],
    };
    const { exitCode, stderr, result, dataDir } = await run('refused', [img], pod);
    expect(exitCode).toBe(1);
    expect(result.status).toBe('refused');
    expect(result.error).toMatch(/does not exist/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(work, 'does-not-exist'))).toBe(false);
    expectClean(dataDir, result.uuid);
  });

  it('refuses a missing working directory and an unknown user', async (ctx) => {
    skipUnlessReady(ctx);
    const wd = await image('example.org/ref-it/no-wd', { exec: ['/probe'], user: '0', group: '0', workingDirectory: '/nope' });
    const r1 = await run('no-wd', [wd]);
    expect([r1.exitCode, r1.result.status]).toEqual([1, 'refused']);
    expect(r1.result.error).toMatch(/ACE-WD-004/);
    const user = await image('example.org/ref-it/no-user', { exec: ['/probe'], user: 'ghost', group: '0' });
    const r2 = await run('no-user', [user]);
    expect([r2.exitCode, r2.result.status]).toEqual([1, 'refused']);
    expectClean(r2.dataDir, r2.result.uuid);
  });

  it('reports an app killed by a signal as a signal, not an exit code', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/victim', { exec: ['/probe', 'sleep=20000'], user: '0', group: '0' });
    const dataDir = join(work, 'data-victim');
    const resultFile = join(work, 'victim.json');
    const child = ref(['run', '--data-dir', dataDir, '--result', resultFile, '--image', img.path]);
    const pid = await appPid(dataDir);
    process.kill(pid, 'SIGTERM');
    expect((await child).exitCode).toBe(0);
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as RefResult;
    expect(result.apps[0]).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expectClean(dataDir, result.uuid);
  });

  it('stops the pod on SIGTERM and reports it killed', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/long', { exec: ['/probe', 'sleep=20000'], user: '0', group: '0' });
    const dataDir = join(work, 'data-term');
    const resultFile = join(work, 'term.json');
    const child = ref(['run', '--data-dir', dataDir, '--result', resultFile, '--image', img.path]);
    await appPid(dataDir);
    child.kill('SIGTERM');
    const res = await child;
    expect(res.exitCode).toBe(143);
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as RefResult;
    expect(result.status).toBe('killed');
    expectClean(dataDir, result.uuid);
  });

  it('gc cleans up after a SIGKILLed run, and again without complaint', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/orphan', { exec: ['/probe', 'sleep=20000'], user: '0', group: '0' });
    const dataDir = join(work, 'data-gc');
    const child = ref(['run', '--data-dir', dataDir, '--result', join(work, 'gc.json'), '--image', img.path]);
    await appPid(dataDir);
    const uuid = readdirSync(join(dataDir, 'pods'))[0]!;
    child.kill('SIGKILL');
    await child;
    expect(execFileSync('crun', ['--root', join(dataDir, 'crun'), 'list', '--quiet'], { encoding: 'utf8' }).trim()).not.toBe('');
    const gc = await ref(['gc', '--data-dir', dataDir]);
    expect(gc.exitCode, String(gc.stderr)).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
    expectClean(dataDir, uuid);
    expect((await ref(['gc', '--data-dir', dataDir])).exitCode).toBe(0);
  });

  it('cleanup kills a holder its state never recorded', async (ctx) => {
    skipUnlessReady(ctx);
    const { startHolder, podHostname } = await import('./holder.js');
    const { cleanupPod } = await import('./cleanup.js');
    const { waitGone } = await import('./procs.js');
    const uuid = '0badc0de-0000-4000-8000-000000000001';
    const holder = await startHolder(podHostname(uuid), async () => undefined);
    const podDir = join(work, 'unrecorded');
    await mkdir(podDir);
    const problems = await cleanupPod(podDir, { uuid, owner: null, processes: [], containers: [], apps: [] }, undefined);
    expect(problems).toEqual([]);
    // Our own child (unshare) stays a zombie until Node reaps it; waitGone counts that as gone.
    expect(await waitGone([holder.unshare, holder.init], 2000)).toBe(true);
    expect(existsSync(podDir)).toBe(false);
  });

  it('breaks exactly the named behaviour under a mutant', async (ctx) => {
    skipUnlessReady(ctx);
    const img = await image('example.org/ref-it/mutant', { exec: ['/probe', 'exit=5'], user: '0', group: '0' });
    const { result } = await run('mutant', [img], undefined, ['--mutant', 'exit-zero']);
    expect(result.apps[0]).toMatchObject({ exitCode: 0 });
    expect(report(result.apps[0]!.stdout).env.PATH).toBe(DEFAULT_PATH);
  });
});

/** Host pid of the first app of the only pod under dataDir, once it runs (from ref's state file). */
async function appPid(dataDir: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const [uuid] = readdirSync(join(dataDir, 'pods'));
      const state = JSON.parse(readFileSync(join(dataDir, 'pods', uuid!, 'state.json'), 'utf8')) as {
        processes: { role: string; proc: { pid: number } }[];
      };
      const app = state.processes.find((p) => p.role.startsWith('app:'));
      if (app) return app.proc.pid;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no app started under ${dataDir}`);
}
