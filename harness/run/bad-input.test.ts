// Bad input is refused before any target starts or pod runs: the real CLI (npm test's entry) gets
// each bad input of the table and must answer with one line on stderr, exit code 2, no stack trace,
// nothing left behind, within seconds. No pod runs here, so no suite lock is needed.
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROBE_BINARY, REPO_ROOT } from './paths.js';

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');
const isRoot = process.getuid?.() === 0;
let dir: string;
/** The CLI's TMPDIR: its work dir, which must stay empty. */
let work: string;
const mounts: string[] = [];

beforeAll(async () => {
  // The CLI runs compiled: build once so this test sees the current source.
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  dir = mkdtempSync(join(tmpdir(), 'appc-bad-input-'));
  work = join(dir, 'work');
  mkdirSync(work);
  writeFileSync(join(dir, 'not-json.json'), '{ nope');
  writeFileSync(join(dir, 'bad-schema.json'), JSON.stringify({ implementation: 'ref', entries: [{ test: 'x', expect: 'maybe', reason: 'long enough reason' }] }));
  writeFileSync(join(dir, 'unknown-test.json'), JSON.stringify({ implementation: 'ref', entries: [{ test: 'suites/none.test.ts > no such test', expect: 'fail', reason: 'long enough reason' }] }));
  writeFileSync(join(dir, 'bad-generic.yaml'), 'name: x\nrun: 42\n');
  writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n');
  chmodSync(join(dir, 'not-executable'), 0o644);
  writeFileSync(join(dir, 'a-file'), '');
  if (isRoot) {
    // A read-only file system and a nearly full one, as small tmpfs mounts.
    for (const [name, opts] of [['ro', 'ro,size=64m'], ['full', 'size=1m']] as const) {
      mkdirSync(join(dir, name));
      await execa('mount', ['-t', 'tmpfs', '-o', opts, `appc-bad-input-${name}`, join(dir, name)]);
      mounts.push(join(dir, name));
    }
  }
}, 300_000);

afterAll(async () => {
  for (const m of mounts) await execa('umount', [m], { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  what: string;
  argv: (d: string) => string[];
  /** the line's gist */
  says: RegExp;
  /** the CLI's TMPDIR, when the case is about the work dir */
  tmp?: (d: string) => string;
  /** these need the suites collected (vitest imports every suite file): slower */
  collects?: boolean;
  root?: boolean;
}

// Every case also gets a fresh --report-dir unless it names its own, and must not create it.
const CASES: Case[] = [
  { what: 'an unknown flag', argv: () => ['--bogus'], says: /Unknown option '--bogus'/ },
  { what: 'an unknown implementation', argv: () => ['--impl=foo'], says: /unknown --impl "foo"/ },
  { what: 'an unknown target', argv: () => ['--target=moon'], says: /unknown --target "moon"/ },
  { what: 'a pod timeout that is not a positive number', argv: () => ['--pod-timeout=-1'], says: /--pod-timeout/ },
  { what: 'a --jobs that is not a whole number from 1', argv: () => ['--jobs=0'], says: /--jobs must be a whole number from 1 to 64/ },
  { what: 'a --jobs that is not a number', argv: () => ['--jobs', 'many'], says: /--jobs must be a whole number from 1 to 64/ },
  { what: 'a test name pattern that is not a regular expression', argv: () => ['-t', '('], says: /not a regular expression/ },
  { what: 'two modes at once', argv: () => ['--list', '--explain'], says: /exclude each other/ },
  { what: 'a report dir that cannot be created (/proc/x)', argv: () => ['--report-dir=/proc/x'], says: /--report-dir \/proc\/x: cannot create \/proc\/x/ },
  { what: 'a report dir below a file', argv: (d) => ['--report-dir', join(d, 'a-file', 'reports')], says: /not a directory/ },
  { what: 'a report dir on a read-only file system', argv: (d) => ['--report-dir', join(d, 'ro', 'reports')], says: /--report-dir .*cannot create .*EROFS/, root: true },
  { what: 'a report dir on a full file system', argv: (d) => ['--report-dir', join(d, 'full', 'reports')], says: /--report-dir .*: only 1 MiB free on its file system, a run needs 16 MiB/, root: true },
  { what: 'a work dir on a full file system', argv: () => [], tmp: (d) => join(d, 'full'), says: /work dir .*: only 1 MiB free/, root: true },
  { what: 'a --clause that matches no clause', argv: () => ['--clause', 'NOPE-*'], says: /--clause NOPE-\* matches no clause of the registry/ },
  { what: 'a --clause glob that is not a pattern', argv: () => ['--clause', 'ACE-['], says: /--clause ACE-\[/ },
  { what: 'a missing expectation file', argv: (d) => ['--expectations', join(d, 'none.json')], says: /expectation file .*none\.json: ENOENT/ },
  { what: 'an expectation file that is not JSON', argv: (d) => ['--expectations', join(d, 'not-json.json')], says: /expectation file .*not-json\.json: / },
  { what: 'an expectation file against its schema', argv: (d) => ['--expectations', join(d, 'bad-schema.json')], says: /expectation file .*bad-schema\.json: \/entries\/0\/expect/ },
  { what: 'an expectation file naming no test of the suite', argv: (d) => ['--expectations', join(d, 'unknown-test.json')], says: /\/entries\/0: no test "suites\/none\.test\.ts > no such test"/, collects: true },
  { what: 'a selection that matches no test', argv: () => ['no-such-suite-file'], says: /no test matches the selection/, collects: true },
  { what: 'an unknown ref mutant', argv: () => ['--mutant=nope'], says: /unknown --mutant "nope" \(known: wrong-cwd, / },
  { what: 'a mutant for another implementation', argv: () => ['--impl=rkt', '--mutant=wrong-cwd'], says: /--mutant applies to --impl=ref only/ },
  { what: 'an --impl-path for ref', argv: () => ['--impl-path=/bin/true'], says: /ref: --impl-path is not used by ref/ },
  { what: 'a missing implementation binary', argv: () => ['--impl=rkt', '--impl-path=/nonexistent/rkt'], says: /--impl-path \/nonexistent\/rkt: no such file/ },
  { what: 'an implementation binary that is not executable', argv: (d) => ['--impl=rkt', '--impl-path', join(d, 'not-executable')], says: /not executable/ },
  { what: 'an implementation binary that is a directory', argv: () => ['--impl=rkt', '--impl-path=/usr'], says: /--impl-path \/usr: not a file/ },
  { what: 'the generic adapter without its config', argv: () => ['--impl=generic'], says: /generic: needs --impl-config FILE/ },
  { what: 'a missing generic config', argv: (d) => ['--impl=generic', '--impl-config', join(d, 'none.yaml')], says: /none\.yaml: cannot read .*ENOENT/ },
  { what: 'a generic config against its schema', argv: (d) => ['--impl=generic', '--impl-config', join(d, 'bad-generic.yaml')], says: /bad-generic\.yaml: / },
  { what: '--impl-config for another implementation', argv: (d) => ['--impl-config', join(d, 'bad-generic.yaml')], says: /--impl-config applies to --impl=generic only/ },
  { what: 'a --vm-image that is not a directory (qemu)', argv: () => ['--target=qemu', '--vm-image=/nonexistent'], says: /--vm-image \/nonexistent: not a directory|--target=qemu needs/ },
  { what: 'qemu options without the qemu target', argv: () => ['--vm-profile=lean'], says: /apply to --target=qemu only/ },
  { what: 'an unknown guest release (qemu)', argv: () => ['--target=qemu', '--guest-release=sid'], says: /unknown --guest-release "sid"/ },
];

describe.runIf(existsSync(PROBE_BINARY))('bad input is refused before any pod runs', () => {
  test.each(CASES.map((c) => [c.what, c] as const))('%s: one line, exit 2, no stack trace, nothing left behind', async (_what, c) => {
    if (c.root && !isRoot) return;
    const reportDir = join(dir, `reports-${CASES.indexOf(c)}`);
    const argv = c.argv(dir);
    const args = argv.some((a) => a.startsWith('--report-dir')) ? argv : ['--report-dir', reportDir, ...argv];
    const tmp = c.tmp?.(dir) ?? work;
    const started = performance.now();
    const res = await execa(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, reject: false, env: { TMPDIR: tmp }, timeout: 120_000 });
    const seconds = (performance.now() - started) / 1000;
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(res.exitCode, res.stderr).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(c.says);
    expect(lines[0]).toMatch(/^appc-conformance: /);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    expect(res.stdout).toBe('');
    // Nothing left behind: no report dir, nothing in the work dir or the mounts.
    expect(existsSync(reportDir)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    for (const m of mounts) expect(readdirSync(m)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('reports'))).toEqual([]);
    // Within seconds: collecting the suites (importing every suite file) is the slow part.
    expect(seconds).toBeLessThan(c.collects ? 60 : 15);
  });
});
