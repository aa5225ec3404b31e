import { describe, expect, test } from 'vitest';
import type { TestRecord } from '../report/result.js';
import { EXIT, failureExit } from './exit-code.js';

const doc = (...tests: Partial<TestRecord>[]) => {
  const all = tests as TestRecord[];
  return { tests: all, counts: { xpass: all.filter((t) => t.status === 'xpass').length } as never };
};

describe('failureExit', () => {
  test('is 0 when nothing failed', () => {
    expect(failureExit(doc({ status: 'pass' }, { status: 'skip' }), undefined)).toBe(EXIT.ok);
  });
  test('is 1 on a MUST failure and on an unexpected pass, at every level', () => {
    for (const level of [undefined, 'must', 'should'] as const) {
      expect(failureExit(doc({ status: 'fail', failedLevel: 'MUST' }), level)).toBe(EXIT.failures);
      expect(failureExit(doc({ status: 'xpass' }), level)).toBe(EXIT.failures);
    }
  });
  test('is 1 on a failure of SHOULD checks alone, unless the run asked for --level must', () => {
    expect(failureExit(doc({ status: 'fail', failedLevel: 'SHOULD' }), undefined)).toBe(EXIT.failures);
    expect(failureExit(doc({ status: 'fail', failedLevel: 'SHOULD' }), 'should')).toBe(EXIT.failures);
    expect(failureExit(doc({ status: 'fail', failedLevel: 'SHOULD' }), 'must')).toBe(EXIT.ok);
  });
});
