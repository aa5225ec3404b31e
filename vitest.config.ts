// Conformance suites. `npm test` starts vitest through harness/run/main.ts, which overrides
// `provide.config` from its flags; a plain `npx vitest run suites/…` runs against the defaults (ref on host).
import { defineConfig } from 'vitest/config';
import { defaultConfig } from './harness/run/config.js';
import { suiteWorkers } from './harness/run/worker-pool.js';

export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    // vitest's forks, each in a process group of its own: a Ctrl-C reaches the run, which stops them in order.
    pool: suiteWorkers,
    // One file at a time when run straight through vitest: only npm test's scheduler keeps the pods
    // of files running side by side apart (main.ts sets the workers from --jobs).
    fileParallelism: false,
    // A worker runs its test files in one module cache: the harness is loaded once per worker, not
    // once per file (~0.5 s of CPU each). What each file needs is registered by the setup file.
    isolate: false,
    setupFiles: ['harness/run/setup.ts'],
    // Transformed modules kept on disk (node_modules/.experimental-vitest-cache, keyed by content):
    // the catalog collection and the run's workers skip transforming the harness again (~0.5 s each).
    experimental: { fsModuleCache: true },
    // Pods are slow compared with unit tests; our own per-pod timeout (--pod-timeout) fires first.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    provide: { config: defaultConfig() },
  },
});
