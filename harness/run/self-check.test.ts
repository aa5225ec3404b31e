// The suite checks itself: ref with one behaviour broken on purpose must fail the tests that check
// that behaviour's clause, and only because of that clause. Runs the real CLI (npm test's entry).
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MUTANTS } from '../ref/mutants.js';
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

async function runSuite(args: string[]): Promise<{ exitCode: number | undefined; doc: ResultsDocument; stderr: string }> {
  const reportDir = join(dir, args.join('_').replace(/[^a-z0-9]+/gi, '-'));
  const res = await execa(process.execPath, [MAIN, '--report-dir', reportDir, ...args], { cwd: REPO_ROOT, reject: false });
  const doc = JSON.parse(await readFile(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
  return { exitCode: res.exitCode, doc, stderr: res.stderr };
}

/** The suite files that check any of these clauses. */
function suitesChecking(clauseIds: string[]): string[] {
  const dir = join(REPO_ROOT, 'suites');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => clauseIds.some((id) => readFileSync(join(dir, f), 'utf8').includes(`'${id}'`)))
    .map((f) => `suites/${f}`);
}

describe.runIf(existsSync(PROBE_BINARY) && process.getuid?.() === 0)('ref mutants are caught', () => {
  test.for(MUTANTS.map((m) => [m.name, m.clauses] as const))('%s fails the checks of %j', async ([mutant, broken]) => {
    const suites = suitesChecking(broken);
    expect(suites, 'a suite checks the clauses this mutant breaks').not.toEqual([]);
    const { exitCode, doc } = await runSuite(['--mutant', mutant, ...suites]);
    expect(doc.counts.error, 'no harness errors').toBe(0);
    expect(exitCode).toBe(1);
    const failedChecks = doc.tests.flatMap((t) => t.checks.filter((c) => !c.ok).flatMap((c) => c.clauses));
    // Killed by a check of the broken clause, and by nothing else (not by accident, e.g. a crash).
    expect(failedChecks.some((id) => broken.includes(id))).toBe(true);
    expect(failedChecks.filter((id) => !broken.includes(id))).toEqual([]);
    expect(doc.tests.filter((t) => t.status === 'fail' && t.checks.every((c) => c.ok))).toEqual([]);
    expect(doc.implementation.details.mutant).toBe(mutant);
  });
});

describe('command line errors', () => {
  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--impl=nope'], /unknown --impl "nope" \(known: ref\)/],
    [['--mutant=nope'], /unknown --mutant "nope"/],
  ])('%j ends with one clear line and exit code 2', async (args, message) => {
    const res = await execa(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, reject: false });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
