// The harness's own tests (unit tests next to the code, and self-checks that run the suites).
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'fixtures/**/*.test.ts'],
    // *.nightly.test.ts boot machines for minutes each: vitest.nightly.config.ts runs them.
    // Pages in a real browser: npm run test:browser (needs chromium: npm run setup -- --browser).
    exclude: [...configDefaults.exclude, '**/*.nightly.test.ts', '**/*.browser.test.ts'],
    pool: 'forks',
    // Several files check that nothing is left behind on the host; run them one at a time.
    fileParallelism: false,
    // Concurrent tests inside a file (the self-check's mutant runs) on a 2-core machine.
    maxConcurrency: 3,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
