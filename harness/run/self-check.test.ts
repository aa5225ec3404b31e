// The suite checks itself: ref with one behaviour broken on purpose must fail the tests that check
// that behaviour's clause, and only because of that clause. Runs the real CLI (npm test's entry).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MUTANTS } from '../ref/mutants.js';
import { judge, killMatrix, sampleMutants, suitesChecking } from './kill-matrix.js';
import type { ResultsDocument } from '../report/result.js';
import { PROBE_BINARY, REPO_ROOT } from './paths.js';

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');
let dir: string;

beforeAll(async () => {
  // The CLI and ref run compiled; build once so this test sees the current source.
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  dir = await mkdtemp(join(tmpdir(), 'appc-self-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runSuite(args: string[]): Promise<{ exitCode: number | undefined; doc: ResultsDocument; stderr: string; reportDir: string }> {
  const reportDir = join(dir, args.join('_').replace(/[^a-z0-9]+/gi, '-'));
  const res = await execa(process.execPath, [MAIN, '--report-dir', reportDir, ...args], { cwd: REPO_ROOT, reject: false });
  const doc = JSON.parse(await readFile(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
  return { exitCode: res.exitCode, doc, stderr: res.stderr, reportDir };
}

describe.runIf(existsSync(PROBE_BINARY) && process.getuid?.() === 0)('kill matrix (npm run mutants runs all of it)', () => {
  test('kills a mutant by the checks of the clause it breaks', async () => {
    const [result] = await killMatrix(MUTANTS.filter((m) => m.name === 'wrong-cwd'), join(dir, 'matrix'));
    expect(result).toMatchObject({ mutant: 'wrong-cwd', status: 'killed', unrelated: [], suites: ['suites/ace-execution-environment.test.ts', 'suites/ace-validator.test.ts'] });
    expect(result!.killedBy.length).toBeGreaterThan(0);
  });
});

/** The folder of the one test that failed, with its JSON files read. */
async function artifactsOf(doc: ResultsDocument, reportDir: string) {
  const failed = doc.tests.filter((t) => t.status === 'fail');
  expect(failed).toHaveLength(1);
  const folder = join(reportDir, failed[0]!.artifacts!);
  const files = (await readdir(folder)).sort();
  const read = async (f: string) => JSON.parse(await readFile(join(folder, f), 'utf8'));
  return { test: failed[0]!, files, read };
}

describe.runIf(existsSync(PROBE_BINARY) && process.getuid?.() === 0)('failures a maintainer can act on', () => {
  test('a failed test leaves its pod runs in its folder, and its rerun command runs it alone with the same verdict', async () => {
    const args = ['--mutant', 'wrong-cwd', '-t', 'starts the app in its workingDirectory', 'suites/ace-execution-environment.test.ts'];
    const { doc, reportDir } = await runSuite(args);
    const { test: failed, files, read } = await artifactsOf(doc, reportDir);
    expect(files).toEqual(['fingerprint.json', 'pod-1.json', 'repro.txt', 'test.json']);
    const pod = await read('pod-1.json');
    expect(pod.request.images[0].id).toMatch(/^sha512-[0-9a-f]{128}$/);
    expect(pod.commands.some((c: { argv: string[]; exitCode: number }) => c.argv.includes('run') && c.exitCode === 0)).toBe(true);
    expect(pod.outcome.apps[0].report.cwd).toBe('/'); // the probe's evidence: the mutant started it in /
    expect((await read('fingerprint.json')).implementation.details.mutant).toBe('wrong-cwd');
    // The printed command, run as printed (without npm's build step): the one test, the same verdict.
    const command = failed.repro!.replace(/^npm test -- /, `${process.execPath} ${MAIN} `);
    await execa('sh', ['-c', command], { cwd: REPO_ROOT, reject: false });
    const rerun = JSON.parse(await readFile(join(reportDir, 'rerun', 'results.json'), 'utf8')) as ResultsDocument;
    expect(rerun.tests.map((t) => [t.id, t.status])).toEqual([[failed.id, 'fail']]);
  });

  test('a failed image test leaves the import and the pod run of each image it handed over', async () => {
    const args = ['--mutant', 'ignore-os-arch', '-t', 'refuses an image for another arch', 'suites/image-manifest.test.ts'];
    const { doc, reportDir } = await runSuite(args);
    const { files, read } = await artifactsOf(doc, reportDir);
    // The refused image's twin (valid, the same otherwise) and the image itself: each imported, then run.
    expect(files).toEqual(['fingerprint.json', 'import-1.json', 'import-2.json', 'pod-1.json', 'pod-2.json', 'repro.txt', 'test.json']);
    const imports = [await read('import-1.json'), await read('import-2.json')];
    const foreign = imports.find((i) => i.request.image.manifest.labels.some((l: { name: string; value: string }) => l.name === 'arch' && l.value !== 'amd64'));
    expect(foreign.outcome).toMatchObject({ status: 'imported', imageId: foreign.request.image.id });
    expect(foreign.commands[0].argv).toContain('import');
    const pods = [await read('pod-1.json'), await read('pod-2.json')];
    expect(pods.map((p) => p.request.images[0].id).sort()).toEqual(imports.map((i) => i.request.image.id).sort());
  });

  test('--rerun-failed reruns every failed test of an earlier run, and only those, with the same verdicts', async () => {
    const reportDir = join(dir, 'rerun-failed');
    const first = await execa(process.execPath, [MAIN, '--report-dir', reportDir, '--mutant', 'ignore-os-arch', '-t', 'runs an image of acVersion 0.8.0|refuses an image for another', 'suites/image-manifest.test.ts'], { cwd: REPO_ROOT, reject: false });
    const doc = JSON.parse(await readFile(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
    const failed = doc.tests.filter((t) => t.status === 'fail').map((t) => t.id);
    expect(failed).toHaveLength(2);
    expect(doc.tests.some((t) => t.status === 'pass')).toBe(true);
    const printed = first.stdout.split('\n').find((l) => l.startsWith('rerun all 2: npm test -- '))!;
    await execa('sh', ['-c', printed.replace(/^rerun all 2: npm test -- /, `${process.execPath} ${MAIN} `)], { cwd: REPO_ROOT, reject: false });
    const rerun = JSON.parse(await readFile(join(reportDir, 'rerun', 'results.json'), 'utf8')) as ResultsDocument;
    expect(rerun.tests.map((t) => [t.id, t.status]).sort()).toEqual(failed.map((id) => [id, 'fail']).sort());
  });

  test('an import that hangs ends as a harness error, its forensics (the hanging command) in the folder, nothing left behind', async () => {
    const work = join(dir, 'hang-import-tmp');
    await mkdir(work, { recursive: true });
    const reportDir = join(dir, 'hang-import');
    const res = await execa(process.execPath, [MAIN, '--report-dir', reportDir, '--impl=generic', '--impl-config=ci/hang.yaml', '--pod-timeout=2', '-t', 'imports and runs the valid image', 'suites/image-archive.test.ts'], {
      cwd: REPO_ROOT,
      reject: false,
      env: { TMPDIR: work },
    });
    expect(res.exitCode).toBe(3);
    const doc = JSON.parse(await readFile(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
    const errored = doc.tests.filter((t) => t.status === 'error');
    expect(errored).toHaveLength(1);
    expect(errored[0]!.reason).toMatch(/image import timed out after 2s \(harness timeout\)/);
    const imported = JSON.parse(await readFile(join(reportDir, errored[0]!.artifacts!, 'import-1.json'), 'utf8'));
    expect(imported.forensics).toMatch(/sleep 3600/);
    expect(imported.error.name).toBe('HarnessError');
    expect(await readdir(work)).toEqual([]);
  });

  test('a failed fetch test leaves the fetch: what was asked for, its commands and what the discovery server saw', async () => {
    const args = ['--mutant', 'skip-signature-check', '-t', 'refuses an image served without a signature', 'suites/image-discovery.test.ts'];
    const { doc, reportDir } = await runSuite(args);
    const { files, read } = await artifactsOf(doc, reportDir);
    expect(files).toContain('fetch-1.json');
    const fetch = await read('fetch-1.json');
    expect(fetch.request.fetch.name).toMatch(/unsigned/);
    expect(fetch.outcome.status).toBe('fetched');
    expect(fetch.commands.some((c: { argv: string[] }) => c.argv.includes('fetch'))).toBe(true);
    expect(fetch.serverSaw.some((r: string) => /\?ac-discovery=1 → 200$/.test(r))).toBe(true);
    expect(fetch.serverSaw.some((r: string) => /\.asc → 404$/.test(r))).toBe(false); // the mutant never asked for the signature
  });
});

describe('kill matrix verdicts', () => {
  const mutant = { name: 'm', clauses: ['ACE-WD-001'], description: '' };
  const doc = (tests: Partial<ResultsDocument['tests'][number]>[]) =>
    ({ counts: { error: 0 }, harnessErrors: [], tests: tests.map((t, i) => ({ id: `t${i}`, status: 'pass', checks: [], ...t })) }) as unknown as ResultsDocument;

  test('killed: only checks of the broken clause failed', () => {
    expect(judge(mutant, doc([{ status: 'fail', checks: [{ clauses: ['ACE-WD-001'], ok: false }] }])).status).toBe('killed');
  });
  test('survived: nothing failed', () => {
    expect(judge(mutant, doc([{ checks: [{ clauses: ['ACE-WD-001'], ok: true }] }])).status).toBe('survived');
  });
  test('survived by accident: failed, but not through a check of the broken clause', () => {
    expect(judge(mutant, doc([{ status: 'fail', checks: [{ clauses: ['ACE-ENV-001'], ok: false }] }])).status).toBe('survived by accident');
    expect(judge(mutant, doc([{ status: 'fail', reason: 'crash', checks: [] }])).status).toBe('survived by accident');
  });
  test('a harness error is not a kill', () => {
    expect(judge(mutant, { ...doc([]), counts: { error: 1 } } as unknown as ResultsDocument).status).toBe('harness error');
  });
});

describe.runIf(existsSync(PROBE_BINARY) && process.getuid?.() === 0)('expectation files', () => {
  const file = async (entries: object[]) => {
    const path = join(dir, `expect-${Math.random()}.json`);
    await writeFile(path, JSON.stringify({ implementation: 'ref', entries }));
    return path;
  };
  const exitSuite = 'suites/ace-exit-status.test.ts';

  test('turn predicted failures into xfail: the run passes and the profile is still not conformant', async () => {
    const path = await file([{ clause: 'ACE-ENV-007', expect: 'fail', reason: 'observed: APPC_TEST missing from the environment' }]);
    const { exitCode, doc } = await runSuite(['--mutant', 'drop-env', '--expectations', path, 'suites/ace-execution-environment.test.ts']);
    expect(doc.counts).toMatchObject({ fail: 0, xfail: 1, xpass: 0, error: 0 });
    expect(exitCode).toBe(0);
    expect(doc.profiles.find((p) => p.profile === 'core-execution')?.verdict).toBe('not conformant');
  });

  test('keep a clause expected to fail from going stale while any check of it still fails', async () => {
    const path = await file([{ clause: 'FN-EXIT-001', expect: 'fail', reason: 'observed: exit codes squashed to 0' }]);
    const { doc } = await runSuite(['--mutant', 'exit-zero', '--expectations', path, exitSuite]);
    // exit code 0 still "passes" under the mutant, but FN-EXIT-001 fails elsewhere: not an xpass.
    expect(doc.counts).toMatchObject({ xfail: 3, xpass: 0, pass: 1, fail: 1 });
  });

  test('make a stale entry an xpass that fails the run', async () => {
    const path = await file([{ clause: 'FN-EXIT-002', expect: 'fail', reason: 'observed once: the first app status for all' }]);
    const { exitCode, doc } = await runSuite(['--expectations', path, exitSuite]);
    expect(doc.counts.xpass).toBe(1);
    expect(exitCode).toBe(1);
  });

  test('skip entries disable tests without running them', async () => {
    const path = await file([{ clause: 'FN-EXIT-001', expect: 'skip', reason: 'not wanted in this run' }]);
    const { exitCode, doc } = await runSuite(['--expectations', path, exitSuite]);
    const skipped = doc.tests.filter((t) => t.status === 'skip');
    expect(skipped).toHaveLength(4);
    expect(skipped.every((t) => t.skipKind === 'disabled' && t.reason === 'expectation file: not wanted in this run')).toBe(true);
    expect(exitCode).toBe(0);
  });
});

describe('selection before running', () => {
  test('--list prints tests with their clauses and runs nothing', async () => {
    const res = await execa(process.execPath, [MAIN, '--list', '--clause', 'ACE-USER-00[12]', '--level', 'must'], { cwd: REPO_ROOT, reject: false });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('ACE-USER-001 (MUST)');
    expect(res.stdout).toContain('ACE-USER-002 (MUST)');
    expect(res.stdout).not.toContain('ACE-USER-005');
    expect(res.stdout.trim().split('\n').at(-1)).toBe('2 tests');
  });

  test.runIf(process.getuid?.() === 0)('--explain says which tests would run and which skip, without running pods', async () => {
    const res = await execa(process.execPath, [MAIN, '--explain', 'suites/pod-isolation.test.ts'], { cwd: REPO_ROOT, reject: false });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/runs all apps of a pod in one network namespace\n\s+run/);
  });
});

describe('command line errors', () => {
  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--impl=nope'], /unknown --impl "nope" \(known: ref, [a-z, ]*generic[a-z, ]*\)/],
    [['--impl=nope'], /unknown --impl "nope" \(known: [a-z, ]*rkt[a-z, ]*\)/],
    [['--impl=rkt', '--impl-path=/nonexistent/rkt'], /^appc-conformance: --impl-path \/nonexistent\/rkt: no such file$/m],
    [['--impl=rkt', '--flavor=src'], /unknown --flavor "src"/],
    [['--flavor=fly'], /ref: --flavor is not used by ref/],
    [['--mutant=nope'], /unknown --mutant "nope"/],
    [['--list', '--clause=NOPE-*'], /--clause NOPE-\* matches no clause/],
    [['--list', 'no-such-suite'], /no test matches the selection/],
    [['--expectations=/nonexistent.json'], /expectation file \/nonexistent.json: ENOENT/],
  ])('%j ends with one clear line and exit code 2', async (args, message) => {
    const res = await execa(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, reject: false });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('kill matrix sample', () => {
  test('takes one mutant per suite file and still reaches every suite that has mutants', () => {
    const sample = sampleMutants(MUTANTS);
    const all = new Set(MUTANTS.flatMap((m) => suitesChecking(m.clauses)));
    const reached = new Set(sample.flatMap((m) => suitesChecking(m.clauses)));
    expect(reached).toEqual(all);
    expect(sample.length).toBeLessThanOrEqual(all.size);
  });
});
