// Bad input to the generic adapter through the real commands: one line on stderr, exit 2, no stack
// trace, and no work directory left behind.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../run/paths.js';

const MAIN = join(REPO_ROOT, 'dist/harness/run/main.js');
const CHECK = join(REPO_ROOT, 'dist/harness/run/adapter-check.js');
const dir = mkdtempSync(join(tmpdir(), 'generic-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bad = join(dir, 'impl-config.yaml');
writeFileSync(bad, 'name: x\nfeatures: []\nrun:\n  argv: [a]\n  images: [impl, run, 2]\napps: {}\n');
const noBinary = join(dir, 'nobin.yaml');
writeFileSync(
  noBinary,
  'name: x\nfeatures: []\nrun:\n  images: [/nonexistent/impl, run]\napps: { exitCode: { run: exitCode }, stdout: { run: stdout }, stderr: { run: stderr } }\n',
);

describe.each([
  ['npm test', MAIN],
  ['adapter-check', CHECK],
])('%s with bad generic input', (_, cmd) => {
  test.each([
    [['--impl=generic'], /generic: needs --impl-config FILE/],
    [['--impl=generic', '--impl-config=/nonexistent.yaml'], /nonexistent\.yaml: cannot read \/nonexistent\.yaml: ENOENT/],
    [['--impl=generic', `--impl-config=${bad}`], /impl-config\.yaml: \/run: unknown field "argv"/],
    [['--impl=generic', `--impl-config=${noBinary}`], /generic: nobin\.yaml: \/run\/images\/0: command not found: \/nonexistent\/impl/],
    [['--impl=ref', `--impl-config=${bad}`], /--impl-config applies to --impl=generic only/],
  ])('%j: one line, exit 2', async (args, message) => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('appc-generic-run-'));
    const res = await execa(process.execPath, [cmd, ...args], { cwd: REPO_ROOT, reject: false });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')[0]).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('appc-generic-run-'))).toEqual(before);
  });
});
