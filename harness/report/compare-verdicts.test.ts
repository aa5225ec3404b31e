import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { compareVerdicts, main, seenOnlyBySecond } from './compare-verdicts.js';
import type { TestRecord } from './result.js';

const rec = (id: string, status: TestRecord['status'], skipKind?: TestRecord['skipKind']): TestRecord =>
  ({ id, name: id, file: 'f', clauses: [], checks: [], status, durationMs: 1, ...(skipKind ? { skipKind } : {}) }) as TestRecord;

describe('compare-verdicts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compare-verdicts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('equal verdicts give no difference, whatever the durations', () => {
    const a = { tests: [rec('t1', 'pass'), rec('t2', 'skip', 'unsupported')], harnessErrors: [] };
    const b = { tests: [{ ...rec('t2', 'skip', 'unsupported'), durationMs: 9 }, rec('t1', 'pass')], harnessErrors: [] };
    expect(compareVerdicts(a, b)).toEqual([]);
  });

  test('one line per differing, missing or extra test, and per harness error count', () => {
    const a = { tests: [rec('t1', 'pass'), rec('t2', 'skip', 'unsupported'), rec('t3', 'pass')], harnessErrors: [] };
    const b = { tests: [rec('t1', 'fail'), rec('t2', 'skip', 'host'), rec('t4', 'error')], harnessErrors: [{}] } as never;
    expect(compareVerdicts(a, b, ['ref', 'generic'])).toEqual([
      't1: ref pass, generic fail',
      't2: ref skip (unsupported), generic skip (host)',
      't3: ref pass, generic absent',
      't4: ref absent, generic error',
      'run-level harness errors: ref 0, generic 1',
    ]);
  });

  test('a host skip in the first run that the second run observed is listed apart, not as a difference; the reverse is one', () => {
    const host = { tests: [rec('aa', 'skip', 'host'), rec('cg', 'pass')], harnessErrors: [] };
    const vm = { tests: [rec('aa', 'pass'), rec('cg', 'skip', 'host')], harnessErrors: [] };
    expect(compareVerdicts(host, vm, ['host', 'qemu'])).toEqual(['cg: host pass, qemu skip (host)']);
    expect(seenOnlyBySecond(host, vm, ['host', 'qemu'])).toEqual(['aa: host skip (host), qemu pass (observed only by qemu)']);
  });

  test('--subset compares only the tests the second run ran (a VM smoke run against a full host run)', () => {
    const full = { tests: [rec('t1', 'pass'), rec('t2', 'pass'), rec('t3', 'skip', 'host')], harnessErrors: [] };
    expect(compareVerdicts(full, { tests: [rec('t1', 'pass'), rec('t3', 'skip', 'host')], harnessErrors: [] }, ['host', 'qemu'], true)).toEqual([]);
    expect(compareVerdicts(full, { tests: [rec('t1', 'fail'), rec('t3', 'skip', 'host')], harnessErrors: [] }, ['host', 'qemu'], true)).toEqual(['t1: host pass, qemu fail']);
  });

  test('the CLI exits 0 on same verdicts, 1 on differences, 2 on bad input', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify({ tests: [rec('t1', 'pass')], harnessErrors: [] }));
    writeFileSync(b, JSON.stringify({ tests: [rec('t1', 'fail')], harnessErrors: [] }));
    expect(main([a, a])).toBe(0);
    expect(main([a, b])).toBe(1);
    expect(log).toHaveBeenCalledWith(`t1: ${a} pass, ${b} fail`);
    expect(main([a])).toBe(2);
    expect(main([a, join(dir, 'missing.json')])).toBe(2);
    writeFileSync(b, '{"no": "tests"}');
    expect(main([a, b])).toBe(2);
    expect(err.mock.calls.every((c) => !String(c[0]).includes('\n'))).toBe(true);
    log.mockRestore();
    err.mockRestore();
  });
});
