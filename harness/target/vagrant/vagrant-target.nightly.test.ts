// --target=vagrant as a user meets it, through `npm test`'s own entry point: after a normal run,
// after Ctrl-C (while the box comes up, and while a pod runs) and after a pod timeout, nothing of
// the run is left: no libvirt domain, volume or network, no Vagrant project (machine) directory,
// no ssh process, no forward listening. Each test brings a real box up under TCG (1–2 min), so
// the file is in the nightly matrix (ci/nightly-vagrant.sh, vitest.nightly.config.ts), not in
// npm run test:unit. Needs npm run setup -- --vagrant.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentPortOf, type CliRun, type CliRunOptions, ctrlC, portOpen, runMain as runCli } from '../lifecycle-testkit.js';
import { installedBox, vagrantHome } from './box.js';

const ready = spawnSync('sh', ['-c', 'command -v vagrant && command -v virsh']).status === 0 && installedBox() !== undefined;

function virsh(...args: string[]): string {
  return spawnSync('virsh', ['-c', 'qemu:///system', ...args]).stdout.toString();
}

/** Vagrant's global machine index (what `vagrant global-status` lists). */
function machineIndex(): string {
  try {
    return readFileSync(join(vagrantHome(), 'data', 'machine-index', 'index'), 'utf8');
  } catch {
    return '';
  }
}

/** Everything of run `name` still on this machine (empty when it left nothing). */
async function leftovers(name: string, agentPort: number): Promise<string[]> {
  const left = [
    ...virsh('list', '--all', '--name').split('\n').filter((d) => d.startsWith(name)).map((d) => `domain ${d}`),
    ...virsh('vol-list', 'default').split('\n').slice(2).map((l) => l.trim().split(/\s+/)[0] ?? '').filter((v) => v.startsWith(name)).map((v) => `volume ${v}`),
    ...virsh('net-list', '--all', '--name').split('\n').filter((n) => n.trim() === name).map((n) => `network ${n}`),
    ...(existsSync(join(tmpdir(), name)) ? [`project dir ${join(tmpdir(), name)}`] : []),
    ...(machineIndex().includes(join(tmpdir(), name)) ? [`Vagrant's machine index entry for ${name}`] : []),
    ...spawnSync('pgrep', ['-af', name]).stdout.toString().split('\n').filter((l) => l.trim() && !l.includes('pgrep')).map((l) => `process ${l}`),
  ];
  return agentPort && (await portOpen(agentPort)) ? [...left, `forward 127.0.0.1:${agentPort}`] : left;
}

interface Run extends CliRun {
  /** the run's machine name and agent forward, from its output */
  name: string;
  agentPort: number;
}

async function runMain(args: string[], onLine?: CliRunOptions['onLine']): Promise<Run> {
  let name = '';
  let agentPort = 0;
  const run = await runCli(['--target=vagrant', ...args], {
    onLine: (l, child) => {
      name ||= /bringing up (appc-vagrant-\S+)/.exec(l)?.[1] ?? '';
      agentPort ||= agentPortOf(l);
      onLine?.(l, child);
    },
  });
  return { ...run, name, agentPort };
}

describe.runIf(ready && process.getuid?.() === 0)('--target=vagrant lifecycle', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vagrant-target-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a run brings the box up, runs pods in it, reports its facts, and leaves nothing', async () => {
    const reports = join(dir, 'reports-ok');
    const run = await runMain([`--report-dir=${reports}`, 'suites/ace-exit-status', '-t', 'exit code 42']);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.code).toBe(0);
    const results = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as { tests: { status: string }[]; targetInfo?: Record<string, unknown> };
    expect(results.tests.map((t) => t.status)).toEqual(['pass']);
    expect(results.targetInfo).toMatchObject({ kind: 'vagrant', cgroup: '2', distribution: expect.stringContaining('Debian'), provider: expect.stringMatching(/^libvirt \(Vagrant [\d.]+, vagrant-libvirt [\d.]+\)$/) });
    expect(run.name).toMatch(/^appc-vagrant-/);
    expect(run.agentPort).toBeGreaterThan(0);
    expect(await leftovers(run.name, run.agentPort)).toEqual([]);
  });

  test('Ctrl-C while the box comes up ends vagrant and leaves nothing', async () => {
    let sent = false;
    let domainSeen = false;
    const run = await runMain([`--report-dir=${join(dir, 'reports-sigint-up')}`, 'suites/ace-exit-status'], (line, child) => {
      const name = /bringing up (appc-vagrant-\S+)/.exec(line)?.[1];
      if (!name || sent) return;
      sent = true;
      // Interrupt once libvirt has the run's domain (vagrant up is then booting it and waiting for its address).
      const poll = setInterval(() => {
        if (virsh('list', '--all', '--name').includes(name)) {
          domainSeen = true;
          clearInterval(poll);
          ctrlC(child);
        }
      }, 250);
      child.once('close', () => clearInterval(poll));
    });
    expect(domainSeen).toBe(true);
    expect(run.code).toBe(130);
    expect(run.agentPort).toBe(0);
    expect(await leftovers(run.name, 0)).toEqual([]);
  });

  test('Ctrl-C while a pod runs in the box ends the run, the box, its network and its forward', async () => {
    let sent = false;
    let signalledAt = 0;
    // Suites that take well over the 8 s below in the guest, however fast its pods become.
    const run = await runMain([`--report-dir=${join(dir, 'reports-sigint')}`, 'suites/ace-exit-status', 'suites/ace-execution-environment', 'suites/pod-volumes'], (line, child) => {
      if (/agent on 127\.0\.0\.1:/.test(line) && !sent) {
        sent = true;
        setTimeout(() => ((signalledAt = performance.now()), ctrlC(child)), 8_000);
      }
    });
    expect(run.agentPort).toBeGreaterThan(0);
    expect(run.code).toBe(130);
    expect(performance.now() - signalledAt).toBeLessThan(90_000);
    expect(await leftovers(run.name, run.agentPort)).toEqual([]);
  });

  test('a pod timeout in the box is a harness error, and the run still leaves nothing', async () => {
    const reports = join(dir, 'reports-timeout');
    const run = await runMain(['--pod-timeout=1', `--report-dir=${reports}`, 'suites/ace-exit-status', '-t', 'exit code 42']);
    expect(run.code).toBe(3);
    const results = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as { tests: { status: string; reason?: string }[] };
    expect(results.tests.map((t) => t.status)).toEqual(['error']);
    expect(results.tests[0]!.reason).toMatch(/timed out after 1s \(harness timeout/);
    expect(await leftovers(run.name, run.agentPort)).toEqual([]);
  });
});
