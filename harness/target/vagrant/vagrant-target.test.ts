// --target=vagrant's prerequisites, through npm test's entry point: each missing piece is one line
// and exit code 2 before any pod runs (and before any machine is made). No box is brought up.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../run/paths.js';
import { payloadFor } from './vagrant-target.js';
import { defaultConfig } from '../../run/config.js';

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');
const hasVagrant = spawnSync('sh', ['-c', 'command -v vagrant']).status === 0;
const hasVirtualbox = spawnSync('sh', ['-c', 'command -v VBoxManage']).status === 0;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, '--target=vagrant', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const projects = () => readdirSync(tmpdir()).filter((d) => d.startsWith('appc-vagrant-'));

describe('the box payload', () => {
  test('holds ref, the agent and the packages they import, not the whole node_modules', () => {
    const paths = payloadFor(defaultConfig());
    expect(paths).toContain(join(REPO_ROOT, 'dist'));
    expect(paths).toContain(join(REPO_ROOT, 'node_modules', 'tar-stream'));
    // loaded with require() only when no compiled validator is cached (harness/aci/validate.ts)
    expect(paths).toContain(join(REPO_ROOT, 'node_modules', 'ajv'));
    expect(paths).toContain(join(REPO_ROOT, 'node_modules', 'ajv-formats'));
    expect(paths.some((p) => p.endsWith('/node_modules/vitest'))).toBe(false);
  });

  test('adds the directory of an implementation outside the repository', () => {
    const paths = payloadFor({ ...defaultConfig(), implPath: '/opt/rkt/rkt' });
    expect(paths).toContain('/opt/rkt');
  });
});

describe.runIf(hasVagrant)('--target=vagrant prerequisites', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vagrant-home-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('no box: one line naming npm run vagrant-box, exit 2, no machine made', () => {
    const before = projects();
    // an empty VAGRANT_HOME has no box (and no plugins: the provider check comes first)
    const r = run(['suites/ace-exit-status'], { VAGRANT_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^appc-conformance: .*(npm run vagrant-box|npm run setup -- --vagrant)/);
    expect(projects()).toEqual(before);
  });

  test('no vagrant on PATH: one line naming the set-up, exit 2', () => {
    const r = run(['suites/ace-exit-status'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('appc-conformance: --target=vagrant needs vagrant: run npm run setup -- --vagrant');
  });

  test.skipIf(hasVirtualbox)('a provider that is not installed: one line, exit 2', () => {
    const r = run(['--vagrant-provider=virtualbox', 'suites/ace-exit-status']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('appc-conformance: --vagrant-provider=virtualbox needs VirtualBox (VBoxManage)');
  });
});
