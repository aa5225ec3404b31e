// merge-reports refuses what it cannot merge with one line and exit 2, writing nothing.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './merge-main.js';

const root = mkdtempSync(join(tmpdir(), 'merge-inputs-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const results = (over: Record<string, unknown> = {}) => ({
  implementation: { name: 'ref', version: '0.1.0', details: {} },
  expectationsFile: null,
  target: 'host',
  specVersion: '0.8.11',
  startedAt: '2026-12-04T00:00:00Z',
  durationMs: 1,
  counts: { pass: 1, fail: 0, skip: 0, error: 0, xfail: 0, xpass: 0, observed: 0, checks: 1, failedChecks: 0 },
  mustCoverage: { covered: 1, testable: 258 },
  profiles: [],
  tests: [{ id: 'suites/a.test.ts > x', name: 'x', file: 'suites/a.test.ts', clauses: ['ACE-WD-001'], checks: [{ clauses: ['ACE-WD-001'], ok: true }], status: 'pass', durationMs: 1 }],
  harnessErrors: [],
  ...over,
});
const clauses = (spec = '0.8.11', id = 'ACE-WD-001') => ({ specVersion: spec, clauses: [{ id, level: 'MUST', area: 'execution', profile: 'core-execution', normative: true, status: 'covered-pass', tests: ['suites/a.test.ts > x'] }] });

function reportDir(name: string, files: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

let errors: string[];
beforeEach(() => {
  errors = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const good = reportDir('good', { 'results.json': results(), 'clauses.json': clauses() });

describe('merge-reports: bad input', () => {
  it.each([
    ['a directory that does not exist', () => [join(root, 'nope')], /nope: no such directory$/],
    ['a directory without results.json', () => [reportDir('empty', {})], /empty: not a report directory \(no results\.json\)$/],
    ['results.json that is not JSON', () => [reportDir('broken', { 'results.json': '{"tests": [', 'clauses.json': clauses() })], /broken\/results\.json: not JSON \(/],
    ['a results.json of another tool (a JUnit-ish summary)', () => [reportDir('other', { 'results.json': { numTotalTests: 3, testResults: [] }, 'clauses.json': clauses() })], /other\/results\.json: not a results\.json of appc-conformance \(top level: missing 'implementation'\)$/],
    ['a test with an unknown status', () => [reportDir('status', { 'results.json': results({ tests: [{ id: 'a', status: 'passed', clauses: [], checks: [] }] }), 'clauses.json': clauses() })], /status\/results\.json: not a results\.json of appc-conformance \(tests\/0\/status: must be equal to one of the allowed values\)$/],
    ['results.json without clauses.json', () => [reportDir('half', { 'results.json': results() })], /half: results\.json without clauses\.json$/],
    ['different spec versions', () => [good, reportDir('old', { 'results.json': results({ specVersion: '0.8.10' }), 'clauses.json': clauses('0.8.10') })], /spec versions differ: .*good is of appc 0\.8\.11, .*old of appc 0\.8\.10$/],
    ['a spec version this suite does not check', () => [reportDir('v9', { 'results.json': results({ specVersion: '0.9.0' }), 'clauses.json': clauses('0.9.0') })], /v9: a report of appc 0\.9\.0; this suite's registry is of appc 0\.8\.11$/],
    ['a clause the registry does not know', () => [reportDir('unknown', { 'results.json': results(), 'clauses.json': clauses('0.8.11', 'ACE-NOPE-001') })], /unknown\/clauses\.json: clause ACE-NOPE-001 is not in this suite's registry/],
    ['the same cell twice', () => [good, reportDir('again', { 'results.json': results(), 'clauses.json': clauses() })], /good and .*again are both cell ref@host$/],
    ['a baseline that is not a matrix', () => [good, '--baseline', good], /good: no matrix\.json there$/],
    ['a baseline of another tool', () => [good, '--baseline', reportDir('b', { 'matrix.json': { cells: [] } })], /b\/matrix\.json: not a matrix\.json of appc-conformance \(top level: missing 'tool'\)$/],
    ['no directory at all', () => [], /^merge-reports: no report directory given$/],
    ['an unknown flag', () => ['--bogus', good], /^merge-reports: Unknown option '--bogus'/],
  ])('%s: one line, exit 2, nothing written', (_name, args, message) => {
    const out = join(root, `out-${Math.random().toString(36).slice(2)}`);
    expect(main(['--out', out, ...args()])).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(errors[0]).not.toContain('\n');
    expect(existsSync(out)).toBe(false);
  });

  it('a good input is merged', () => {
    const out = join(root, 'out-good');
    expect(main(['--out', out, good])).toBe(0);
    expect(errors).toEqual([]);
    for (const f of ['matrix.html', 'matrix.md', 'matrix.json']) expect(existsSync(join(out, f))).toBe(true);
  });
});
