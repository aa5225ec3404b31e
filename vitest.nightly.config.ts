// The harness's own long tests (each boots real machines for minutes): the nightly matrix runs them
// (ci/nightly-vagrant.sh); npm run test:unit leaves them out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.nightly.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
});
