import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../run/paths.js';
import { SLOWEST_FIRST, slowestFirst } from './file-order.js';

describe('the order suite files start in without a vitest cache', () => {
  test('lists files that exist', () => {
    expect(SLOWEST_FIRST.filter((f) => !existsSync(join(REPO_ROOT, f)))).toEqual([]);
  });
  test('slowest first, files it does not know before all others', () => {
    expect(slowestFirst(['suites/ace-lifecycle.test.ts', 'suites/new.test.ts', 'suites/ace-isolators.test.ts', 'suites/pod-ports.test.ts'])).toEqual([
      'suites/new.test.ts',
      'suites/ace-isolators.test.ts',
      'suites/pod-ports.test.ts',
      'suites/ace-lifecycle.test.ts',
    ]);
  });
});
