// `npm test -- [options]`: parses our flags, checks the implementation can run here, then runs the
// conformance suites through vitest's Node API and reports with our own result kinds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createVitest } from 'vitest/node';
import { preflight, createImplementation } from '../impl/index.js';
import { ConformanceReporter } from '../report/conformance-reporter.js';
import { SPEC_VERSION } from '../spec/index.js';
import { openTarget } from '../target/index.js';
import { parseCli, USAGE, type CliRequest } from './config.js';
import { HarnessError, UsageError } from './errors.js';
import { PROBE_BINARY, REPO_ROOT } from './paths.js';

/** Exit codes: 0 conformant run, 1 conformance failures, 2 bad input, 3 harness errors. */
export const EXIT = { ok: 0, failures: 1, usage: 2, harness: 3 } as const;

async function run(request: CliRequest): Promise<number> {
  const { config } = request;
  const target = openTarget(config.target);
  try {
    await preflight(target, config);
    if (!existsSync(PROBE_BINARY)) throw new UsageError('the probe is not built: run npm run setup');
    const impl = createImplementation(target, config);
    const info = await impl.info();
    await impl.dispose();
    const startedAt = new Date().toISOString();
    const reporter = new ConformanceReporter(config.reportDir, () => ({
      implementation: info,
      target: config.target,
      specVersion: SPEC_VERSION,
      startedAt,
    }));
    const vitest = await createVitest(
      'test',
      {
        root: REPO_ROOT,
        config: join(REPO_ROOT, 'vitest.config.ts'),
        watch: false,
        provide: { config },
        reporters: ['default', reporter],
        ...(request.testNamePattern !== undefined ? { testNamePattern: request.testNamePattern } : {}),
      },
      {},
    );
    try {
      await vitest.start(request.fileFilters);
    } finally {
      await vitest.close();
    }
    const doc = reporter.results();
    console.log(reporter.summary());
    if (!doc) return EXIT.harness;
    console.log(`reports: ${join(config.reportDir, 'results.json')}, ${join(config.reportDir, 'junit.xml')}`);
    if (doc.tests.length === 0) {
      console.error('appc-conformance: no test matched');
      return EXIT.usage;
    }
    if (doc.counts.error > 0 || doc.harnessErrors.length > 0) return EXIT.harness;
    return doc.counts.fail > 0 ? EXIT.failures : EXIT.ok;
  } finally {
    await target.dispose();
  }
}

async function main(): Promise<void> {
  let request: CliRequest;
  try {
    request = parseCli(process.argv.slice(2));
  } catch (err) {
    console.error(`appc-conformance: ${(err as Error).message}\n(see --help)`);
    process.exit(EXIT.usage);
  }
  if (request.help) {
    console.log(USAGE);
    return;
  }
  try {
    process.exitCode = await run(request);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`appc-conformance: ${err.message}`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof HarnessError) {
      console.error(`appc-conformance: harness error: ${err.message}`);
      process.exitCode = EXIT.harness;
    } else {
      throw err;
    }
  }
}

await main();
