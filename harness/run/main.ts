// `npm test -- [options]`: parses our flags, checks the implementation can run here, collects the
// suites' tests, selects what to run, then runs them through vitest's Node API and reports with
// our own result kinds.
import { join } from 'node:path';
import { createVitest } from 'vitest/node';
import { defaultExpectationsPath, entriesFor, Expectations, loadExpectations } from '../impl/expectations.js';
import { createImplementation, guestProfileOf, openRun, preflight } from '../impl/index.js';
import { ConformanceReporter } from '../report/conformance-reporter.js';
import { rerunFailedCommand, reproCommand } from '../report/repro.js';
import { groupBy, type TestRecord } from '../report/result.js';
import { clause, SPEC_VERSION } from '../spec/index.js';
import { startTarget, type StartedTarget } from '../target/index.js';
import { parseCli, USAGE, type CliRequest } from './config.js';
import { EXIT, failureExit } from './exit-code.js';
import { HarnessError, UsageError } from './errors.js';
import { RunGuard } from './interrupt.js';
import { SuiteSequencer } from '../schedule/file-order.js';
import { pods } from '../schedule/jobs.js';
import { startSchedulerServer } from '../schedule/server.js';
import { REPO_ROOT } from './paths.js';
import { preflightInput } from './preflight.js';
import { collectTests, selectTests, type TestEntry } from './selection.js';

/** Exit codes: 0 conformant run, 1 conformance failures (or stale expectations), 2 bad input, 3 harness
 *  errors; an interrupted run exits 130 (SIGINT) or 143 (SIGTERM), see interrupt.ts. */
function printList(tests: readonly TestEntry[]): void {
  for (const [file, list] of groupBy(tests, (t) => t.file)) {
    console.log(file);
    for (const t of list) {
      console.log(`  ${t.name.slice(0)}`);
      console.log(`      ${t.clauses.map((id) => `${id} (${clause(id).level})`).join(', ')}`);
    }
  }
  console.log(`${tests.length} tests`);
}

function printExplain(records: readonly TestRecord[]): void {
  for (const r of records) {
    const wouldRun = r.status === 'skip' && r.skipKind === 'explain';
    const what = wouldRun ? 'run ' : r.status === 'skip' ? `skip (${r.skipKind}): ${r.reason}` : `${r.status}: ${r.reason ?? ''}`;
    console.log(`${r.id}\n    ${what}`);
  }
}

async function run(request: CliRequest, guard: RunGuard): Promise<number> {
  const { selection } = request;
  let { config } = request;
  const wallStart = performance.now();
  // Bad input ends here, before any target starts or pod runs (see preflight.ts).
  const prepared = preflightInput(request);
  let started: StartedTarget | undefined;
  try {
    // The suites are collected while the target starts and the implementation's own preflight runs:
    // a bad selection or a broken implementation is found without waiting for the other.
    const startConfig = config;
    const [collected, starting] = await Promise.allSettled([
      collectTests(config),
      request.mode === 'list'
        ? undefined
        : (async () => {
            const s = await startTarget(startConfig, { guestProfile: guestProfileOf(startConfig) });
            guard.started(s, startConfig.reportDir);
            await preflight(s.target, { ...startConfig, targetHandle: s.handle });
            return s;
          })(),
    ]);
    if (collected.status === 'rejected') throw collected.reason;
    if (starting.status === 'rejected') throw starting.reason;
    const catalog = collected.value;
    const selected = selectTests(catalog, prepared.rerunIds ? { ...selection, testIds: prepared.rerunIds } : selection);
    if (selected.length === 0) throw new UsageError('no test matches the selection');
    if (request.mode === 'list') {
      printList(selected);
      return EXIT.ok;
    }
    const expectationsPath = config.expectationsPath ?? defaultExpectationsPath(config.impl, config.flavor);
    const expectations = new Expectations(
      expectationsPath ? entriesFor(loadExpectations(expectationsPath, new Set(catalog.map((t) => t.id))), config.target) : [],
    );

    started = starting.value!;
    config = { ...config, targetHandle: started.handle };
    const target = started.target;
    if (request.mode === 'run') {
      guard.opening();
      const scope = await openRun(target, config);
      guard.opened(scope);
      config = scope.config;
    }
    // Tests an expectation file skips are reported as disabled without running.
    const disabled: TestRecord[] = [];
    const toRun = selected.filter((t) => {
      const skip = expectations.skipOf(t.id, t.clauses);
      if (skip) {
        disabled.push({ id: t.id, name: t.name, file: t.file, clauses: t.clauses, checks: [], status: 'skip', skipKind: 'disabled', reason: `expectation file: ${skip.reason}`, durationMs: 0 });
      }
      return !skip;
    });

    const impl = createImplementation(target, config);
    const info = await impl.info();
    await impl.dispose();
    // One scheduler for all test workers: --jobs pods at a time, declared resources kept apart.
    const scheduler = await startSchedulerServer(config.jobs);
    guard.scheduling(scheduler);
    config = { ...config, scheduler: scheduler.address };
    const startedAt = new Date().toISOString();
    const reporter = new ConformanceReporter({
      reportDir: config.reportDir,
      info: () => {
        const stats = scheduler.stats();
        return {
          implementation: info,
          target: config.target,
          targetInfo: started?.description,
          specVersion: SPEC_VERSION,
          startedAt,
          expectationsFile: expectationsPath ?? null,
          scheduling: {
            jobs: config.jobs,
            mostPodsAtOnce: stats.maxInFlight,
            waitedMs: Math.round(stats.waitedMs),
            slotMs: Math.round(stats.slotMs),
            ...(stats.firstGrantMs !== undefined ? { firstPodMs: Math.round(stats.firstGrantMs) } : {}),
          },
        };
      },
      expectations,
      catalog,
      disabled,
      selected: new Set(toRun.map((t) => t.id)),
      write: request.mode === 'run',
      repro: (t) => reproCommand(request.config, t),
    });
    const vitest = await createVitest('test', {
      root: REPO_ROOT,
      config: join(REPO_ROOT, 'vitest.config.ts'),
      watch: false,
      provide: { config },
      reporters: request.mode === 'run' ? ['default', reporter] : [reporter],
      // Test files side by side in --jobs + 1 workers, and as many tests at once in a file written
      // for it (describe.concurrent); the scheduler bounds the pods of all of them together to
      // --jobs. The spare worker fills the slot a worker leaves idle while its tests wait outside pod
      // slots (the discovery suite's fetches, a file starting up): docs/speed.md.
      fileParallelism: config.jobs > 1,
      maxWorkers: config.jobs + 1,
      maxConcurrency: config.jobs,
      sequence: { sequencer: SuiteSequencer },
    });
    try {
      // standalone() initialises the reporters without running anything; we then run exactly the selected tests.
      await vitest.standalone();
      guard.running(vitest, reporter);
      const project = vitest.getRootProject();
      const specs = [...groupBy(toRun, (t) => t.moduleId)].map(([moduleId, tests]) =>
        project.createSpecification(moduleId, { testIds: tests.map((t) => t.vitestId) }),
      );
      await vitest.runTestSpecifications(specs, false);
    } finally {
      await vitest.close();
    }
    const doc = reporter.results();
    if (!doc) return EXIT.harness;
    if (request.mode === 'explain') {
      printExplain(doc.tests);
      return EXIT.ok;
    }
    console.log(reporter.summary());
    console.log(
      `wall time: ${((performance.now() - wallStart) / 1000).toFixed(1)} s (${info.name} ${info.version}${info.details.flavor ? `, ${info.details.flavor} flavor` : ''}; --jobs ${config.jobs}, at most ${pods(doc.scheduling?.mostPodsAtOnce ?? 0)} at once)`,
    );
    console.log(`reports: ${['results.json', 'clauses.json', 'junit.xml', 'report.html', 'summary.md'].map((f) => join(config.reportDir, f)).join(', ')}`);
    const failed = doc.tests.filter((t) => t.repro);
    for (const t of failed) console.log(`rerun ${t.status}: ${t.repro}  (artifacts: ${join(config.reportDir, t.artifacts ?? '')})`);
    if (failed.length > 1) console.log(`rerun all ${failed.length}: ${rerunFailedCommand(request.config)}`);
    if (doc.interrupted) console.log(`interrupted by ${doc.interrupted.signal}: the reports hold the tests that finished`);
    if (doc.counts.error > 0 || doc.harnessErrors.length > 0) return EXIT.harness;
    return failureExit(doc, request.selection.level);
  } finally {
    await guard.dispose();
    prepared.undo();
  }
}

async function main(): Promise<void> {
  let request: CliRequest;
  try {
    request = parseCli(process.argv.slice(2));
  } catch (err) {
    console.error(`appc-conformance: ${(err as Error).message} (see --help)`);
    process.exit(EXIT.usage);
  }
  if (request.mode === 'help') {
    console.log(USAGE);
    return;
  }
  const guard = new RunGuard();
  try {
    process.exitCode = await run(request, guard);
  } catch (err) {
    if (guard.signal) {
      // Failed after a Ctrl-C: fallout of the signal (a helper in the process group ended), not a
      // fault of the run's; the run's own stop has cleaned up, and it ends as interrupted.
      console.error(`appc-conformance: after ${guard.signal}: ${(err as Error).message.split('\n')[0]}`);
    } else if (err instanceof UsageError) {
      console.error(`appc-conformance: ${err.message}`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof HarnessError) {
      console.error(`appc-conformance: harness error: ${err.message}`);
      process.exitCode = EXIT.harness;
    } else {
      throw err;
    }
  }
  if (guard.signal) guard.exit();
}

await main();
