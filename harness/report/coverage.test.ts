import { describe, expect, test } from 'vitest';
import { Expectations } from '../impl/expectations.js';
import { CLAUSES } from '../spec/index.js';
import { applyExpectations } from './conformance-reporter.js';
import { computeCoverage, mustCoverage, profileVerdicts } from './coverage.js';
import type { TestRecord } from './result.js';

const rec = (id: string, status: TestRecord['status'], checks: [string, boolean][]): TestRecord => ({
  id,
  name: id,
  file: 'suites/x.test.ts',
  clauses: [...new Set(checks.map(([c]) => c))],
  checks: checks.map(([c, ok]) => ({ clauses: [c], ok })),
  status,
  durationMs: 0,
});
const status = (cov: ReturnType<typeof computeCoverage>, id: string) => cov.find((c) => c.id === id);

describe('clause coverage', () => {
  test('counts only checks that ran in tests that ended as pass, fail, xfail or xpass', () => {
    const cov = computeCoverage(
      [
        rec('a', 'pass', [['ACE-ENV-001', true]]),
        rec('b', 'fail', [['ACE-ENV-002', false]]),
        rec('c', 'error', [['ACE-ENV-004', true]]),
        { ...rec('s', 'skip', []), skipKind: 'unsupported', reason: 'no multi-app' },
        rec('e', 'xfail', [['ACE-WD-001', false]]),
      ],
      [
        { id: 'd', clauses: ['ACE-ENV-007'] },
        { id: 's', clauses: ['ACE-ENV-008'] },
      ],
    );
    expect(status(cov, 'ACE-ENV-001')).toMatchObject({ status: 'covered-pass', tests: ['a'] });
    expect(status(cov, 'ACE-ENV-002')).toMatchObject({ status: 'covered-fail' });
    expect(status(cov, 'ACE-ENV-004')?.status).toBe('untested'); // a harness error covers nothing
    expect(status(cov, 'ACE-WD-001')?.status).toBe('xfail');
    expect(status(cov, 'ACE-ENV-007')).toMatchObject({ status: 'untested', reason: 'not selected in this run' });
    expect(status(cov, 'ACE-ENV-008')).toMatchObject({ status: 'untested', reason: 'skipped (unsupported): no multi-app' });
    expect(status(cov, 'ACE-EXEC-001')).toMatchObject({ status: 'untested', reason: 'no test checks it yet' });
    const untestable = [...CLAUSES.values()].find((c) => c.untestable)!;
    expect(status(cov, untestable.id)).toMatchObject({ status: 'untestable', reason: untestable.untestable });
  });

  test('a failing check outweighs passing ones of the same clause', () => {
    const cov = computeCoverage([rec('a', 'pass', [['ACE-ENV-001', true]]), rec('b', 'fail', [['ACE-ENV-001', false]])], []);
    expect(status(cov, 'ACE-ENV-001')).toMatchObject({ status: 'covered-fail', tests: ['a', 'b'] });
  });

  test('profiles: a failure makes a profile not conformant, anything untested keeps it incomplete', () => {
    const core = [...CLAUSES.values()].filter((c) => c.profile === 'core-execution' && c.normative && (c.level === 'MUST' || c.level === 'MUST NOT') && !c.untestable);
    const allPass = computeCoverage([rec('all', 'pass', core.map((c) => [c.id, true]))], []);
    expect(profileVerdicts(allPass).find((p) => p.profile === 'core-execution')).toMatchObject({ verdict: 'conformant', passed: core.length, required: core.length });
    expect(profileVerdicts(allPass).find((p) => p.profile === 'isolators')?.verdict).toBe('incomplete');
    const oneXfail = computeCoverage([rec('all', 'pass', core.slice(1).map((c) => [c.id, true])), rec('x', 'xfail', [[core[0]!.id, false]])], []);
    expect(profileVerdicts(oneXfail).find((p) => p.profile === 'core-execution')?.verdict).toBe('not conformant');
    expect(mustCoverage(allPass).covered).toBe(core.length);
  });
});

describe('expectations applied to results', () => {
  const exp = new Expectations([
    { test: 'known-bad', expect: 'fail', reason: 'observed: exit code 0' },
    { clause: 'ACE-ENV-002', expect: 'fail', reason: 'observed: image name used', link: 'https://example.com/issue/1' },
  ]);

  const one = (r: TestRecord) => applyExpectations([r], exp)[0]!;

  test('a predicted failure is an xfail, by test or by every failed clause', () => {
    expect(one(rec('known-bad', 'fail', [['ACE-ENV-001', false]])).status).toBe('xfail');
    expect(one(rec('t', 'fail', [['ACE-ENV-002', false]]))).toMatchObject({ status: 'xfail', expected: { link: 'https://example.com/issue/1' } });
  });

  test('a failure of another clause stays a failure', () => {
    expect(one(rec('t', 'fail', [['ACE-ENV-002', false], ['ACE-ENV-001', false]])).status).toBe('fail');
  });

  test('a pass where a failure was predicted is an xpass', () => {
    expect(one(rec('known-bad', 'pass', [['ACE-ENV-001', true]])).status).toBe('xpass');
    expect(one(rec('t', 'pass', [['ACE-ENV-002', true]])).status).toBe('xpass');
    expect(one(rec('t', 'pass', [['ACE-ENV-001', true]])).status).toBe('pass');
  });

  test('a clause expected to fail is not stale while another check of it fails', () => {
    const [passing, failing] = applyExpectations([rec('p', 'pass', [['ACE-ENV-002', true]]), rec('f', 'fail', [['ACE-ENV-002', false]])], exp);
    expect(passing?.status).toBe('pass');
    expect(failing?.status).toBe('xfail');
  });

  test('a skip entry applies by test or clause', () => {
    const skips = new Expectations([{ clause: 'ACE-ENV-003', expect: 'skip', reason: 'no metadata service here' }]);
    expect(skips.skipOf('x', ['ACE-ENV-003'])?.reason).toBe('no metadata service here');
    expect(skips.skipOf('x', ['ACE-ENV-001'])).toBeUndefined();
  });
});

describe('coverage ratchet', () => {
  test('fails when MUST coverage drops below the baseline and asks to raise it when it grows', async () => {
    const { ratchet } = await import('./ratchet.js');
    expect(ratchet({ mustCoverage: { covered: 30, testable: 258 } }, { mustCovered: 31 }).ok).toBe(false);
    expect(ratchet({ mustCoverage: { covered: 31, testable: 258 } }, { mustCovered: 31 })).toMatchObject({ ok: true });
    expect(ratchet({ mustCoverage: { covered: 40, testable: 258 } }, { mustCovered: 31 }).message).toMatch(/raise it/);
  });
});
