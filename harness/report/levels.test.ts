// Reporting by RFC 2119 level: a failed SHOULD / SHOULD NOT clause is visible in every report, but a
// profile's verdict is made of its MUST / MUST NOT clauses alone.
import { describe, expect, test } from 'vitest';
import { CLAUSES } from '../spec/index.js';
import { computeCoverage, failureLevel, levelFigures, mustCoverage, profileVerdicts, RECOMMENDED_LEVELS } from './coverage.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { writeJunit } from './junit.js';
import type { TestCase } from 'vitest/node';
import { REPO_ROOT } from '../run/paths.js';
import { recordOf } from './conformance-reporter.js';
import { countResults, type ResultsDocument, type TestRecord } from './result.js';
import { renderSummary } from './summary.js';

const rec = (id: string, status: TestRecord['status'], checks: [string, boolean][], extra: Partial<TestRecord> = {}): TestRecord => ({
  id,
  name: id,
  file: 'suites/x.test.ts',
  clauses: [...new Set(checks.map(([c]) => c))],
  checks: checks.map(([c, ok]) => ({ clauses: [c], ok })),
  status,
  durationMs: 0,
  ...extra,
});

const core = [...CLAUSES.values()].filter((c) => c.profile === 'core-execution' && c.normative && (c.level === 'MUST' || c.level === 'MUST NOT') && !c.untestable);
// ACE-VOL-006 (SHOULD) and ACE-VOL-014 (SHOULD NOT) are core-execution recommendations.
const SHOULD = 'ACE-VOL-006';
const SHOULD_NOT = 'ACE-VOL-014';

function doc(tests: TestRecord[]): { doc: ResultsDocument; coverage: ReturnType<typeof computeCoverage> } {
  const coverage = computeCoverage(tests, []);
  return {
    coverage,
    doc: {
      implementation: { name: 'ref', version: '0.1.0', details: {} },
      expectationsFile: null,
      target: 'host',
      specVersion: '0.8.11',
      startedAt: '',
      durationMs: 1000,
      counts: countResults(tests),
      mustCoverage: mustCoverage(coverage),
      profiles: profileVerdicts(coverage),
      tests,
      harnessErrors: [],
    },
  };
}

describe('reporting by level', () => {
  test('the registry has the levels this relies on', () => {
    expect(CLAUSES.get(SHOULD)).toMatchObject({ level: 'SHOULD', profile: 'core-execution' });
    expect(CLAUSES.get(SHOULD_NOT)).toMatchObject({ level: 'SHOULD NOT', profile: 'core-execution' });
  });

  test('a failure counts at SHOULD only when every failed check names recommendations only', () => {
    expect(failureLevel([{ clauses: [SHOULD], ok: false }, { clauses: ['ACE-ENV-001'], ok: true }])).toBe('SHOULD');
    expect(failureLevel([{ clauses: [SHOULD_NOT], ok: false }])).toBe('SHOULD');
    expect(failureLevel([{ clauses: [SHOULD, 'ACE-ENV-001'], ok: false }])).toBe('MUST');
    expect(failureLevel([{ clauses: [SHOULD], ok: false }, { clauses: ['ACE-ENV-001'], ok: false }])).toBe('MUST');
    expect(failureLevel([{ clauses: ['NO-SUCH-CLAUSE'], ok: false }])).toBe('MUST');
    expect(failureLevel([{ clauses: [SHOULD], ok: true }])).toBeUndefined();
    // failed outside any check: the clauses the test declares decide
    expect(failureLevel([{ clauses: [SHOULD], ok: true }], [SHOULD])).toBe('SHOULD');
    expect(failureLevel([], [SHOULD, 'ACE-ENV-001'])).toBe('MUST');
  });

  test('a failed test is recorded with the level of what failed', () => {
    const fake = (checks: { clauses: string[]; ok: boolean }[], clauses: string[]) =>
      ({
        meta: () => ({ clauses, checks }),
        result: () => ({ state: 'failed', errors: [{ name: 'AssertionError', message: 'expected x' }] }),
        module: { moduleId: join(REPO_ROOT, 'suites/x.test.ts') },
        fullName: 'x > y',
        diagnostic: () => ({ duration: 1 }),
      }) as unknown as TestCase;
    expect(recordOf(fake([{ clauses: ['ACE-ENV-003'], ok: true }, { clauses: ['MDS-GEN-006'], ok: false }], ['ACE-ENV-003', 'MDS-GEN-006']))).toMatchObject({ status: 'fail', failedLevel: 'SHOULD' });
    expect(recordOf(fake([{ clauses: ['ACE-ENV-003'], ok: false }], ['ACE-ENV-003', 'MDS-GEN-006']))).toMatchObject({ status: 'fail', failedLevel: 'MUST' });
  });

  test('a failed SHOULD and SHOULD NOT leave a conformant profile conformant, and are counted beside the verdict', () => {
    const tests = [
      rec('all', 'pass', core.map((c) => [c.id, true])),
      rec('should', 'fail', [[SHOULD, false]], { failedLevel: 'SHOULD', reason: 'nested targets ran' }),
      rec('should-not', 'xfail', [[SHOULD_NOT, false]], { failedLevel: 'SHOULD' }),
    ];
    const { coverage } = doc(tests);
    const p = profileVerdicts(coverage).find((v) => v.profile === 'core-execution')!;
    expect(p).toMatchObject({ verdict: 'conformant', failed: 0, passed: core.length });
    expect(p.recommended).toMatchObject({ failed: 2 });
    expect(p.recommended!.testable).toBe(levelFigures(coverage, RECOMMENDED_LEVELS, 'core-execution').testable);
    expect(mustCoverage(coverage).covered).toBe(core.length);
  });

  test('a failed MUST still makes the profile not conformant whatever the SHOULDs did', () => {
    const tests = [rec('all', 'pass', [...core.slice(1).map((c) => [c.id, true] as [string, boolean]), [SHOULD, true]]), rec('must', 'fail', [[core[0]!.id, false]])];
    const p = profileVerdicts(doc(tests).coverage).find((v) => v.profile === 'core-execution')!;
    expect(p.verdict).toBe('not conformant');
    expect(p.recommended).toMatchObject({ passed: 1, failed: 0 });
  });

  test('summary.md lists SHOULD failures apart from conformance failures, with SHOULD figures per profile', () => {
    const tests = [rec('must', 'fail', [['ACE-ENV-001', false]], { failedLevel: 'MUST', reason: 'no PATH' }), rec('should', 'fail', [[SHOULD, false]], { failedLevel: 'SHOULD', reason: 'nested targets ran' })];
    const { doc: d, coverage } = doc(tests);
    const text = renderSummary(d, coverage);
    expect(text).toMatch(/Conformance failures[^\n]*\n\s+- \[ACE-ENV-001\] must: no PATH\n\n/);
    expect(text).toMatch(/Recommendations not followed[^\n]*\n\s+- \[ACE-VOL-006\] should: nested targets ran/);
    expect(text).toMatch(/\| profile \| verdict \|[^\n]*\| SHOULD passed \| SHOULD failed \| SHOULD untested \|/);
    expect(text).toMatch(/\| core-execution \| not conformant \| 0 \| 1 \| \d+ \| \d+ \| 0 \| 1 \| \d+ \|/);
    expect(text).toContain('of the failed: 1 only on SHOULD / SHOULD NOT clauses (recommendations)');
    expect(text.split('\n').at(-1)).toBe('0 passed, 2 failed, 0 skipped');
  });

  test('report.html marks a test that failed only on recommendations and shows SHOULD figures', () => {
    const tests = [rec('should', 'fail', [[SHOULD, false]], { failedLevel: 'SHOULD' })];
    const { doc: d, coverage } = doc(tests);
    const html = renderHtml(d, coverage);
    expect(html).toContain('fail (SHOULD)');
    expect(html).toContain('<th>SHOULD failed</th>');
  });

  test('junit.xml types a failure only on recommendations apart and carries the level', () => {
    const { doc: d } = doc([rec('should', 'fail', [[SHOULD, false]], { failedLevel: 'SHOULD', reason: 'ran' }), rec('must', 'fail', [['ACE-ENV-001', false]], { failedLevel: 'MUST', reason: 'no PATH' })]);
    const dir = mkdtempSync(join(tmpdir(), 'junit-level-'));
    writeJunit(d, join(dir, 'junit.xml'));
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    rmSync(dir, { recursive: true });
    expect(xml).toMatch(/<failure message="ran" type="recommendation"/);
    expect(xml).toMatch(/<failure message="no PATH" type="conformance"/);
    expect(xml).toContain('<property name="failed.level" value="SHOULD"/>');
  });

  test('a summary of a report written before SHOULD figures existed still renders', () => {
    const { doc: d, coverage } = doc([rec('a', 'pass', [['ACE-ENV-001', true]])]);
    const old = { ...d, profiles: d.profiles.map(({ recommended: _, ...p }) => p) };
    expect(renderSummary(old, coverage)).toMatch(/\| core-execution \| incomplete \|[^\n]*\| – \| – \| – \|/);
  });
});
