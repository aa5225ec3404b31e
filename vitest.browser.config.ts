// Reports as a person sees them: headless Chromium from Debian (npm run setup -- --browser) loads
// pages built from recorded results and the tests check what is shown.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.browser.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
