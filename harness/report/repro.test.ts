import { describe, expect, test } from 'vitest';
import { defaultConfig } from '../run/config.js';
import { rerunFailedCommand, reproCommand, shellQuote } from './repro.js';

describe('the rerun command', () => {
  test('quotes for a POSIX shell only when needed', () => {
    expect(shellQuote('--impl=ref')).toBe('--impl=ref');
    expect(shellQuote("it's a > b")).toBe(`'it'\\''s a > b'`);
  });

  test('names exactly one test, with the run flags that were not defaults', () => {
    const config = { ...defaultConfig(), reportDir: '/r', impl: 'rkt', implPath: '/usr/bin/rkt', flavor: 'fly' as const, podTimeoutMs: 30_000 };
    const cmd = reproCommand(config, { file: 'suites/ace-exit-status.test.ts', name: 'Exit status > reports exit code 0 (of the app)' });
    expect(cmd).toBe(
      "npm test -- --impl=rkt --impl-path=/usr/bin/rkt --flavor=fly --pod-timeout=30 --report-dir=/r/rerun -t '^Exit status > reports exit code 0 \\(of the app\\)$' suites/ace-exit-status.test.ts",
    );
    expect(rerunFailedCommand({ ...defaultConfig(), reportDir: '/r' })).toBe('npm test -- --report-dir=/r/rerun --rerun-failed=/r');
  });
});
