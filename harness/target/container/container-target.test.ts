// --target=container as a user meets it, through `npm test`'s own entry point: without an engine
// and without Podman the run ends in one line before any pod; a normal run, Ctrl-C while a pod runs
// and a pod timeout each leave no container, no Podman service or monitor (conmon) of the run, no
// forwarded port, no run directory and no pod cgroup. Needs Podman (npm run setup -- --container).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentPortOf, ctrlC, portOpen, runMain } from '../lifecycle-testkit.js';

const hasPodman = spawnSync('sh', ['-c', 'command -v podman']).status === 0;
/** The run dir's name, in the Podman service's socket path and (as the container's name) on conmon's command line. */
const RUN_DIR = 'appc-container-';

/** Processes of this harness's container runs: the Podman services and conmons. */
function runProcesses(): string[] {
  const r = spawnSync('pgrep', ['-af', 'podman system service|conmon']);
  return r.stdout.toString().split('\n').filter((l) => l.includes(RUN_DIR) && !l.includes('pgrep'));
}

/** Containers of any run of the harness, as Podman lists them. */
function runContainers(): string[] {
  const r = spawnSync('podman', ['ps', '-a', '-q', '--filter', 'label=appc-conformance.run']);
  return r.stdout.toString().split('\n').filter(Boolean);
}

function runDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('appc-container-'));
}

function podCgroups(): string[] {
  return readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, 'appc-ref')));
}

function leftovers(): Record<string, string[]> {
  return { containers: runContainers(), processes: runProcesses(), runDirs: runDirs(), podCgroups: podCgroups() };
}
const NOTHING = { containers: [], processes: [], runDirs: [], podCgroups: [] };

describe('--target=container prerequisites', () => {
  test('no DOCKER_HOST and no podman: one line, exit code 2, before any pod, nothing left', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent' };
    delete env.DOCKER_HOST;
    const dirsBefore = runDirs();
    const run = await runMain(['--target=container', 'suites/ace-exit-status'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'appc-conformance: --target=container needs a Docker-API engine: set DOCKER_HOST to one, or install Podman (npm run setup -- --container)',
    ]);
    expect(run.stdout).toBe('');
    expect(runDirs()).toEqual(dirsBefore);
  });

  test('a DOCKER_HOST that does not answer: one line, exit code 2', async () => {
    const run = await runMain(['--target=container', 'suites/ace-exit-status'], { env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^appc-conformance: --target=container: the engine at DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock does not answer \(.*\)$/);
  });
});

describe.runIf(hasPodman && process.getuid?.() === 0)('--target=container lifecycle', () => {
  let dir: string;
  const env = { ...process.env };
  delete env.DOCKER_HOST;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'container-target-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a run reports the engine and the container, and leaves nothing', async () => {
    let agentPort = 0;
    const reports = join(dir, 'reports-ok');
    const run = await runMain(['--target=container', `--report-dir=${reports}`, 'suites/ace-exit-status', '-t', 'exit code 42'], { env, onLine: (line) => {
      agentPort ||= agentPortOf(line);
    } });
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as { tests: { status: string }[]; targetInfo?: { kind: string; engine?: string; cgroup: string } };
    expect(results.tests.map((t) => t.status)).toEqual(['pass']);
    expect(results.targetInfo?.kind).toBe('container');
    expect(results.targetInfo?.engine).toMatch(/^podman \d/);
    expect(agentPort).toBeGreaterThan(0);
    expect(await portOpen(agentPort)).toBe(false);
    expect(leftovers()).toEqual(NOTHING);
  });

  test('Ctrl-C while a pod runs in the container ends the run, the container, the service and its files', async () => {
    let agentPort = 0;
    let signalledAt = 0;
    // Suites that take well over the 4 s below in the container (these two alone ended in 4–4.5 s).
    const suites = ['suites/ace-exit-status', 'suites/ace-execution-environment', 'suites/pod-volumes', 'suites/ace-isolators'];
    const run = await runMain(['--target=container', `--report-dir=${join(dir, 'reports-sigint')}`, ...suites], { env, onLine: (line, child) => {
      const port = agentPortOf(line);
      if (port && !agentPort) {
        agentPort = port;
        // Once the container is up, give the first pods a few seconds to be under way, then interrupt.
        setTimeout(() => ((signalledAt = performance.now()), ctrlC(child)), 4_000);
      }
    } });
    expect(agentPort).toBeGreaterThan(0);
    expect(run.code).toBe(130);
    expect(performance.now() - signalledAt).toBeLessThan(30_000);
    expect(await portOpen(agentPort)).toBe(false);
    expect(leftovers()).toEqual(NOTHING);
  });

  // ci/hang.yaml's pods never end: only the run's own stop, through the agent, ends them.
  const hanging = (reports: string) => ['--target=container', '--impl=generic', '--impl-config=ci/hang.yaml', `--report-dir=${join(dir, reports)}`, 'suites/ace-exit-status'];
  const hangingPods = () => spawnSync('pgrep', ['-xf', 'sleep 3600']).stdout.toString().split('\n').filter(Boolean);
  /** runMain's onLine: once the container is up and a hanging pod runs in it, `act` on the run. */
  const onceAPodHangs =
    (act: (child: ChildProcess) => void) =>
    (line: string, child: ChildProcess): void => {
      if (!agentPortOf(line)) return;
      const poll = setInterval(() => {
        if (hangingPods().length === 0) return;
        clearInterval(poll);
        act(child);
      }, 100);
      child.once('close', () => clearInterval(poll));
    };

  test('Ctrl-C while a pod that never ends runs in the container stops the pod in order, then the container', async () => {
    let signalledAt = 0;
    const run = await runMain(hanging('reports-hang-sigint'), { env, onLine: onceAPodHangs((child) => {
      signalledAt = performance.now();
      ctrlC(child);
    }) });
    expect(signalledAt).toBeGreaterThan(0);
    expect(run.code, run.stderr).toBe(130);
    expect(performance.now() - signalledAt).toBeLessThan(30_000);
    expect(run.stderr).not.toMatch(/forcing the exit|container: stop/);
    expect(hangingPods()).toEqual([]);
    expect(leftovers()).toEqual(NOTHING);
  });

  test('a second Ctrl-C forces the exit, and the container still goes', async () => {
    const run = await runMain(hanging('reports-hang-forced'), { env, onLine: onceAPodHangs((child) => {
      ctrlC(child);
      setTimeout(() => ctrlC(child), 100);
    }) });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/second signal \(SIGINT\): forcing the exit after one clean-up attempt/);
    expect(run.stderr).not.toMatch(/container: stop/);
    expect(hangingPods()).toEqual([]);
    expect(leftovers()).toEqual(NOTHING);
  });

  test('a pod timeout in the container is a harness error, and the run still leaves nothing', async () => {
    let agentPort = 0;
    const reports = join(dir, 'reports-timeout');
    // No pod of ref starts, runs and ends within 20 ms.
    const run = await runMain(['--target=container', '--pod-timeout=0.02', `--report-dir=${reports}`, 'suites/ace-exit-status', '-t', 'exit code 42'], { env, onLine: (line) => {
      agentPort ||= agentPortOf(line);
    } });
    expect(run.code).toBe(3);
    const results = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as { tests: { status: string; reason?: string }[] };
    expect(results.tests.map((t) => t.status)).toEqual(['error']);
    expect(results.tests[0]!.reason).toMatch(/timed out after 0\.02s \(harness timeout/);
    expect(await portOpen(agentPort)).toBe(false);
    expect(leftovers()).toEqual(NOTHING);
  });
});
