import { describe, expect, test } from 'vitest';
import { countResults, describeTarget, groupBy, isHarnessError, skipKindOf, type TestRecord } from './result.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJunit } from './junit.js';
import { computeCoverage, mustCoverage, profileVerdicts } from './coverage.js';
import { renderSummary } from './summary.js';

const rec = (status: TestRecord['status'], extra: Partial<TestRecord> = {}): TestRecord => ({
  id: `f > ${status}`,
  name: status,
  file: 'suites/x.test.ts',
  clauses: ['ACE-ENV-001'],
  checks: [{ clauses: ['ACE-ENV-001'], ok: status !== 'fail' }],
  status,
  durationMs: 1,
  ...extra,
});

describe('result kinds', () => {
  test('a skip reason says who is missing what', () => {
    expect(skipKindOf('unsupported: ref does not declare multi-app')).toEqual({ kind: 'unsupported', reason: 'ref does not declare multi-app' });
    expect(skipKindOf('host: no SELinux')).toEqual({ kind: 'host', reason: 'no SELinux' });
    expect(skipKindOf('disabled: by config')).toMatchObject({ kind: 'disabled' });
    expect(skipKindOf(undefined)).toEqual({ kind: 'unspecified', reason: 'skipped without a reason' });
  });

  test('harness errors are told apart by error class', () => {
    expect(isHarnessError('HarnessError')).toBe(true);
    expect(isHarnessError('UnknownClauseError')).toBe(true);
    expect(isHarnessError('NoResultError')).toBe(true);
    expect(isHarnessError('TargetUnavailableError')).toBe(true);
    expect(isHarnessError('BootError')).toBe(true);
    expect(isHarnessError('AssertionError')).toBe(false);
    expect(isHarnessError(undefined)).toBe(false);
  });

  test('counts and the closing line keep pass, fail, skip and error apart', () => {
    const tests = [rec('pass'), rec('pass'), rec('fail', { reason: 'boom' }), rec('skip', { reason: 'x', skipKind: 'host' }), rec('error', { reason: 'vm died' })];
    const counts = countResults(tests);
    expect(counts).toEqual({ pass: 2, fail: 1, skip: 1, error: 1, xfail: 0, xpass: 0, observed: 0, checks: 5, failedChecks: 1 });
    const coverage = computeCoverage(tests, []);
    const text = renderSummary(
      {
        implementation: { name: 'ref', version: '0.1.0', details: {} },
        expectationsFile: null,
        target: 'host',
        specVersion: '0.8.11',
        startedAt: '',
        durationMs: 1000,
        counts,
        mustCoverage: mustCoverage(coverage),
        profiles: profileVerdicts(coverage),
        tests,
        harnessErrors: [],
      },
      coverage,
    );
    expect(text.split('\n').at(-1)).toBe('2 passed, 1 failed, 1 skipped');
    expect(text).toContain('harness errors: 1');
    expect(text).toMatch(/Conformance failures[^\n]*\n\s+- \[ACE-ENV-001\] f > fail: boom/);
    expect(text).toMatch(/MUST coverage: 0 of \d+ testable MUST\/MUST NOT clauses passed/);
  });

  test('reports name the target: kind, distribution, kernel, cgroup version, init, accelerator and guest', () => {
    const targetInfo = { kind: 'qemu' as const, distribution: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-57-amd64', cgroup: '2' as const, init: 'tini', accel: 'tcg' as const, guest: 'lean', bootMs: 9500 };
    expect(describeTarget({ target: 'qemu', targetInfo })).toBe('qemu (Debian GNU/Linux 12 (bookworm), kernel 6.1.0-57-amd64, cgroup v2, init tini, TCG, lean guest, ready in 9.5 s)');
    expect(describeTarget({ target: 'host' })).toBe('host');
    const tests = [rec('pass')];
    const coverage = computeCoverage(tests, []);
    const dir = mkdtempSync(join(tmpdir(), 'junit-target-'));
    writeJunit({
      implementation: { name: 'ref', version: '0.1.0', details: {} },
      expectationsFile: null,
      target: 'qemu',
      targetInfo,
      specVersion: '0.8.11',
      startedAt: '',
      durationMs: 1000,
      counts: countResults(tests),
      mustCoverage: mustCoverage(coverage),
      profiles: profileVerdicts(coverage),
      tests,
      harnessErrors: [],
    }, join(dir, 'junit.xml'));
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    rmSync(dir, { recursive: true });
    for (const [k, v] of [['target.kernel', '6.1.0-57-amd64'], ['target.cgroup', '2'], ['target.accel', 'tcg'], ['target.guest', 'lean'], ['target.distribution', 'Debian GNU/Linux 12 (bookworm)']]) {
      expect(xml).toContain(`<property name="${k}" value="${v}"/>`);
    }
  });

  test('groupBy keeps first-seen order', () => {
    expect([...groupBy(['b1', 'a1', 'b2'], (s) => s[0]!).entries()]).toEqual([
      ['b', ['b1', 'b2']],
      ['a', ['a1']],
    ]);
  });
});
