import { describe, expect, test } from 'vitest';
import { parseCli } from './config.js';
import { UsageError } from './errors.js';

describe('CLI flags', () => {
  test('defaults to ref on the host target with reports/', () => {
    const { config, fileFilters } = parseCli([]);
    expect(config).toMatchObject({ impl: 'ref', target: 'host', podTimeoutMs: 60_000 });
    expect(config.reportDir).toMatch(/\/reports$/);
    expect(fileFilters).toEqual([]);
  });

  test('takes --impl, --impl-path, --report-dir in both spellings, and passes filters through', () => {
    const r = parseCli(['--impl=rkt', '--impl-path', '/usr/bin/rkt', '--report-dir=out', 'ace-exec', '-t', 'PATH']);
    expect(r.config.impl).toBe('rkt');
    expect(r.config.implPath).toBe('/usr/bin/rkt');
    expect(r.config.reportDir).toMatch(/\/out$/);
    expect(r.fileFilters).toEqual(['ace-exec']);
    expect(r.testNamePattern).toBe('PATH');
  });

  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--target=moon'], /unknown --target "moon"/],
    [['--pod-timeout=-1'], /--pod-timeout/],
    [['--impl'], /--impl/],
  ])('refuses %j with one line', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    try {
      parseCli(argv);
    } catch (err) {
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
