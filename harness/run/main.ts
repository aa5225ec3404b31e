// `npm test -- [options]`: parses our flags, checks the implementation can run here, collects the
// suites' tests, selects what to run, then runs them through vitest's Node API and reports with
// our own result kinds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createVitest } from 'vitest/node';
import { defaultExpectationsPath, entriesFor, Expectations, loadExpectations } from '../impl/expectations.js';
import { createImplementation, guestProfileOf, openRun, preflight, type RunScope } from '../impl/index.js';
import { ConformanceReporter } from '../report/conformance-reporter.js';
import { groupBy, type TestRecord } from '../report/result.js';
import { clause, SPEC_VERSION } from '../spec/index.js';
import { abortStarting, startTarget, type StartedTarget } from '../target/index.js';
import { parseCli, USAGE, type CliRequest } from './config.js';
import { HarnessError, UsageError } from './errors.js';
import { PROBE_BINARY, REPO_ROOT } from './paths.js';
import { collectTests, selectTests, type TestEntry } from './selection.js';

/** Exit codes: 0 conformant run, 1 conformance failures (or stale expectations), 2 bad input, 3 harness errors. */
export const EXIT = { ok: 0, failures: 1, usage: 2, harness: 3 } as const;

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

/**
 * Ctrl-C (SIGINT) and SIGTERM during a run: the run's scope (e.g. rkt's data dir and metadata
 * service) is closed before the process exits, also when the signal comes while the scope is
 * still being opened (then it is closed as soon as it is open).
 */
const REAL_EXIT: (code?: number) => never = process.exit.bind(process);

class SignalGuard {
  private scope?: RunScope;
  private scopeOpening = false;
  private target?: StartedTarget;
  private reportDir?: string;
  private closing?: Promise<void>;
  private signal?: NodeJS.Signals;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    console.error(`appc-conformance: ${signal}: cleaning up`);
    // vitest's own handler for the same signal calls process.exit() a millisecond later, which
    // would cut the clean-up short: until the guard is done, process.exit() only notes the wish.
    process.exit = ((): void => undefined) as typeof process.exit;
    process.on('SIGINT', () => console.error('appc-conformance: still cleaning up'));
    this.signal = signal;
    // A scope being opened is closed as soon as it is open (opened() below).
    if (!this.scopeOpening || this.scope) void this.exitAfterClose();
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Takes the started target; it is stopped last, after the scope, its console log kept in `reportDir`. */
  started(target: StartedTarget, reportDir: string): void {
    this.target = target;
    this.reportDir = reportDir;
  }

  opening(): void {
    this.scopeOpening = true;
  }

  /** Takes the opened scope; if a signal came meanwhile, closes it and exits. */
  opened(scope: RunScope): void {
    this.scope = scope;
    if (this.signal) void this.exitAfterClose();
  }

  private async exitAfterClose(): Promise<never> {
    await this.close().catch((err: Error) => console.error(`appc-conformance: clean-up: ${err.message}`));
    REAL_EXIT(this.signal === 'SIGINT' ? 130 : 143);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.scope?.close();
      } finally {
        // A target still starting (a guest build, a booting VM) is ended too.
        await abortStarting();
        if (this.target?.saveConsole && this.reportDir && existsSync(this.reportDir)) {
          await this.target.saveConsole(join(this.reportDir, 'target-console.log'));
        }
        await this.target?.stop();
      }
    })();
    return this.closing;
  }

  async dispose(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    await this.close();
  }
}

async function run(request: CliRequest): Promise<number> {
  const { selection } = request;
  let { config } = request;
  const wallStart = performance.now();
  const guard = new SignalGuard();
  let started: StartedTarget | undefined;
  try {
    if (request.mode !== 'list') {
      if (!existsSync(PROBE_BINARY)) throw new UsageError('the probe is not built: run npm run setup');
      started = await startTarget(config, { guestProfile: guestProfileOf(config) });
      guard.started(started, config.reportDir);
      config = { ...config, targetHandle: started.handle };
      await preflight(started.target, config);
    }
    const target = started?.target;
    if (request.mode === 'run') {
      guard.opening();
      const scope = await openRun(target!, config);
      guard.opened(scope);
      config = scope.config;
    }
    const catalog = await collectTests(config);
    const selected = selectTests(catalog, selection);
    if (selected.length === 0) throw new UsageError('no test matches the selection');
    if (request.mode === 'list') {
      printList(selected);
      return EXIT.ok;
    }

    const expectationsPath = config.expectationsPath ?? defaultExpectationsPath(config.impl, config.flavor);
    const expectations = new Expectations(
      expectationsPath ? entriesFor(loadExpectations(expectationsPath, new Set(catalog.map((t) => t.id))), config.target) : [],
    );
    // Tests an expectation file skips are reported as disabled without running.
    const disabled: TestRecord[] = [];
    const toRun = selected.filter((t) => {
      const skip = expectations.skipOf(t.id, t.clauses);
      if (skip) {
        disabled.push({ id: t.id, name: t.name, file: t.file, clauses: t.clauses, checks: [], status: 'skip', skipKind: 'disabled', reason: `expectation file: ${skip.reason}`, durationMs: 0 });
      }
      return !skip;
    });

    const impl = createImplementation(target!, config);
    const info = await impl.info();
    await impl.dispose();
    const startedAt = new Date().toISOString();
    const reporter = new ConformanceReporter({
      reportDir: config.reportDir,
      info: () => ({ implementation: info, target: config.target, targetInfo: started?.description, specVersion: SPEC_VERSION, startedAt, expectationsFile: expectationsPath ?? null }),
      expectations,
      catalog,
      disabled,
      selected: new Set(toRun.map((t) => t.id)),
      write: request.mode === 'run',
    });
    const vitest = await createVitest('test', {
      root: REPO_ROOT,
      config: join(REPO_ROOT, 'vitest.config.ts'),
      watch: false,
      provide: { config },
      reporters: request.mode === 'run' ? ['default', reporter] : [reporter],
    });
    try {
      // standalone() initialises the reporters without running anything; we then run exactly the selected tests.
      await vitest.standalone();
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
    console.log(`wall time: ${((performance.now() - wallStart) / 1000).toFixed(1)} s (${info.name} ${info.version}${info.details.flavor ? `, ${info.details.flavor} flavor` : ''})`);
    console.log(`reports: ${['results.json', 'clauses.json', 'junit.xml', 'report.html', 'summary.md'].map((f) => join(config.reportDir, f)).join(', ')}`);
    if (doc.counts.error > 0 || doc.harnessErrors.length > 0) return EXIT.harness;
    return doc.counts.fail + doc.counts.xpass > 0 ? EXIT.failures : EXIT.ok;
  } finally {
    await guard.dispose();
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
  if (request.mode === 'help') {
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
