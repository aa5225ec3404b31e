// The adapter check tells a working adapter config (the ref example) from broken ones, probe by
// probe, and never calls a wiring mistake a conformance result. Runs real ref pods (root, crun).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { HostTarget } from '../target/index.js';
import { adapterCheck } from './adapter-check.js';
import { defaultConfig } from './config.js';
import { REF_CLI, REPO_ROOT } from './paths.js';

const dir = mkdtempSync(join(tmpdir(), 'adapter-check-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const REF_YAML = readFileSync(join(REPO_ROOT, 'examples/impl-config/ref.yaml'), 'utf8').replace(/^binary: .*$/m, `binary: ${REF_CLI}`);

/** The ref example with one edit; the check's lines by probe name, and its exit code. */
async function check(edit: (text: string) => string): Promise<{ code: number; lines: Record<string, string>; last: string }> {
  const path = join(dir, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, edit(REF_YAML));
  const out: string[] = [];
  const target = new HostTarget();
  const code = await adapterCheck(target, { ...defaultConfig(), impl: 'generic', implConfig: path }, (l) => out.push(l));
  await target.dispose();
  const lines = Object.fromEntries(out.filter((l) => /^(OK|BROKEN)/.test(l)).map((l) => [/^\S+\s+([^:]+):/.exec(l)![1]!, l]));
  return { code, lines, last: out.at(-1)! };
}

describe('adapter-check', () => {
  test('passes the ref example: every probe OK', async () => {
    const r = await check((t) => t);
    expect(Object.values(r.lines).filter((l) => !l.startsWith('OK')), JSON.stringify(r.lines, null, 1)).toEqual([]);
    expect(Object.keys(r.lines)).toEqual(['info', 'pod runs', 'probe report', 'exit codes', 'stdout/stderr', 'timeout', 'cleanup']);
    expect(r.last).toBe('adapter OK');
    expect(r.code).toBe(0);
  });

  test('reports a wrong exit-status path as a broken adapter, naming the field', async () => {
    const r = await check((t) => t.replace('/apps/[name={app}]/exitCode', '/apps/[name={app}]/exit_code'));
    expect(r.code).toBe(1);
    expect(r.lines['exit codes']).toMatch(/^BROKEN\s+exit codes: HarnessError: adapter config \/apps\/exitCode: app adapter-check-a: .*exit_code: no such field/);
    expect(r.last).toMatch(/^adapter broken: pod runs, probe report, exit codes, stdout\/stderr\b.*\(a wiring problem of the adapter, not a conformance result\)$/);
  });

  test('reports a wrong stdout source (the stderr field) as a broken adapter', async () => {
    const r = await check((t) => t.replace('stdout: { pointer: "/apps/[name={app}]/stdout" }', 'stdout: { pointer: "/apps/[name={app}]/stderr" }'));
    expect(r.code).toBe(1);
    expect(r.lines['pod runs']).toMatch(/^OK/);
    expect(r.lines['exit codes']).toMatch(/^OK/);
    expect(r.lines['probe report']).toMatch(/^BROKEN\s+probe report: none: /);
    expect(r.lines['stdout/stderr']).toMatch(/^BROKEN\s+stdout\/stderr: adapter-check-a: stdout lacks its line/);
    expect(r.last).toMatch(/^adapter broken: probe report, stdout\/stderr /);
  });
});
