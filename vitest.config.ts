// Conformance suites. `npm test` starts vitest through harness/run/main.ts, which overrides
// `provide.config` from its flags; a plain `npx vitest run suites/…` runs against the defaults (ref on host).
import { defineConfig } from 'vitest/config';
import { defaultConfig } from './harness/run/config.js';

export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    pool: 'forks',
    // Pods are slow compared with unit tests; our own per-pod timeout (--pod-timeout) fires first.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    provide: { config: defaultConfig() },
  },
});
