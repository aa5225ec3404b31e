import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkFreeSpace, makeReportDir, removeEmptyDirs } from './preflight.js';
import { UsageError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'appc-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the report dir', () => {
  test('is made one level at a time, and only what was made is removed again while empty', () => {
    const target = join(dir, 'a', 'b', 'c');
    const made = makeReportDir(target);
    expect(made).toEqual([join(dir, 'a'), join(dir, 'a', 'b'), target]);
    removeEmptyDirs(made);
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  test('with reports in it, is kept', () => {
    const target = join(dir, 'kept', 'reports');
    const made = makeReportDir(target);
    writeFileSync(join(target, 'results.json'), '{}');
    removeEmptyDirs(made);
    expect(existsSync(join(target, 'results.json'))).toBe(true);
  });

  test('that cannot be created (/proc/x) is one line at once, not a spin', () => {
    expect(() => makeReportDir('/proc/x')).toThrow(UsageError);
    expect(() => makeReportDir('/proc/x/y/z')).toThrow(/cannot create \/proc\/x \(/);
  });

  test('below a file is refused', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(() => makeReportDir(join(dir, 'file', 'reports'))).toThrow(/not a directory/);
  });

  test('a path deeper than any real one is refused without walking it', () => {
    expect(() => makeReportDir(join(dir, ...Array.from({ length: 80 }, () => 'd')))).toThrow(/too deep/);
    expect(existsSync(join(dir, 'd'))).toBe(false);
  });
});

describe('free space', () => {
  test('is read from the nearest existing directory', () => {
    expect(() => checkFreeSpace(join(dir, 'not', 'yet'), 1, 'work dir')).not.toThrow();
    expect(() => checkFreeSpace(dir, Number.MAX_SAFE_INTEGER, 'work dir')).toThrow(/work dir .*: only .* MiB free on its file system, a run needs/);
  });
});
