// A vitest Reporter that turns test results into our result kinds (applying the expectation file)
// and writes results.json, clauses.json, junit.xml, report.html and the Markdown summary.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import type { Expectations } from '../impl/expectations.js';
import { REPO_ROOT } from '../run/paths.js';
import { makeReportDir } from '../run/preflight.js';
import { fixtureBuildStats, imageOperationStats, podStats, stagedEvidence, stagedHostChanges, writeArtifacts } from './artifacts.js';
import { computeCoverage, failureLevel, mustCoverage, profileVerdicts, type CatalogEntry, type ClauseCoverage } from './coverage.js';
import { renderHtml } from './html.js';
import { peerChecks } from './peer.js';
import { writeJunit } from './junit.js';
import { countResults, isHarnessError, isInterruption, skipKindOf, type ResultsDocument, type RunInfo, type TestRecord } from './result.js';
import { renderSummary } from './summary.js';

/** Stable test ID: file and full name. Expectation files and coverage use it. */
export function testIdOf(moduleId: string, fullName: string): string {
  return `${relative(REPO_ROOT, moduleId)} > ${fullName}`;
}

/**
 * Applies the expectation file. A failure it predicts (by test, or by every clause that failed)
 * is an xfail. A test it names that passes is an xpass; a clause it names is stale, and its passing
 * tests xpass, only when no check of that clause failed anywhere in the run.
 */
export function applyExpectations(records: readonly TestRecord[], expectations: Expectations): TestRecord[] {
  const failingClauses = new Set(records.flatMap((r) => r.checks.filter((c) => !c.ok).flatMap((c) => c.clauses)));
  return records.map((record) => {
    const byTest = expectations.testFailure(record.id);
    if (record.status === 'fail') {
      const failedClauses = record.checks.filter((c) => !c.ok).flatMap((c) => c.clauses);
      const byClause = failedClauses.map((id) => expectations.clauseFailure(id));
      const expected = byTest ?? (byClause.length > 0 && byClause.every((e) => e !== undefined) ? byClause[0] : undefined);
      if (expected) return { ...record, status: 'xfail', expected: { reason: expected.reason, link: expected.link } };
    }
    if (record.status === 'pass') {
      const expected =
        byTest ??
        record.checks
          .flatMap((c) => c.clauses)
          .filter((id) => !failingClauses.has(id))
          .map((id) => expectations.clauseFailure(id))
          .find((e) => e);
      if (expected) {
        return {
          ...record,
          status: 'xpass',
          reason: 'passed although the expectation file says it fails: remove the stale entry',
          expected: { reason: expected.reason, link: expected.link },
        };
      }
    }
    return record;
  });
}

export interface ReporterOptions {
  reportDir: string;
  info: () => Omit<RunInfo, 'durationMs'>;
  expectations: Expectations;
  /** every test of the suite, run or not, for coverage (and, in an interrupted run, the tests that never started) */
  catalog: (CatalogEntry & { name: string; file: string })[];
  /** tests not run because the expectation file skips them */
  disabled: TestRecord[];
  /** IDs of the tests asked to run; vitest also reports the others of their files, as skipped */
  selected: ReadonlySet<string>;
  /** false for --explain: nothing is written */
  write: boolean;
  /** the command that reruns exactly one test */
  repro?: (t: TestRecord) => string | undefined;
}

export function recordOf(test: TestCase): TestRecord {
  const meta = test.meta();
  const result = test.result();
  const file = relative(REPO_ROOT, test.module.moduleId);
  const base = {
    id: testIdOf(test.module.moduleId, test.fullName),
    name: test.fullName,
    file,
    clauses: meta.clauses ?? [],
    checks: meta.checks ?? [],
    ...(meta.peer ? { peer: meta.peer } : {}),
    ...(meta.observations?.length ? { observations: meta.observations } : {}),
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
  };
  switch (result.state) {
    case 'passed':
      if (base.checks.length === 0 && meta.observations?.length) return { ...base, status: 'observed' };
      if (base.checks.length === 0) {
        // A test that asserted nothing proves nothing: that is the suite's defect, not a pass.
        return { ...base, status: 'error', reason: 'the test passed without running any clause check' };
      }
      return { ...base, status: 'pass' };
    case 'skipped': {
      const { kind, reason } = skipKindOf(result.note);
      return { ...base, status: 'skip', skipKind: kind, reason };
    }
    case 'failed': {
      const err = result.errors[0];
      if (result.errors.some((e) => isInterruption(e.name))) return { ...base, status: 'skip', skipKind: 'interrupted', reason: firstLine(err?.message) };
      const reason = `${err?.name && err.name !== 'Error' && err.name !== 'AssertionError' ? `${err.name}: ` : ''}${firstLine(err?.message)}`;
      if (result.errors.some((e) => isHarnessError(e.name))) return { ...base, status: 'error', reason };
      const level = failureLevel(base.checks, base.clauses);
      return { ...base, status: 'fail', reason, ...(level ? { failedLevel: level } : {}) };
    }
    default:
      return { ...base, status: 'error', reason: 'the test did not finish' };
  }
}

/** In an interrupted run, a test that did not finish (cancelled, still pending, or errored because
 *  its pod was stopped) is skipped (interrupted): neither the implementation's fault nor the harness's.
 *  What it observed is dropped too: it saw a pod or fetch the interruption stopped. */
function asInterrupted(r: TestRecord, signal: string): TestRecord {
  const unfinished =
    (r.status === 'skip' && r.skipKind === 'unspecified' && /aborted|without a reason/.test(r.reason ?? '')) || (r.status === 'error' && r.reason === 'the test did not finish') || r.skipKind === 'interrupted';
  if (!unfinished) return r;
  const { observations: _dropped, ...rest } = r;
  return { ...rest, status: 'skip', skipKind: 'interrupted', reason: `the run was interrupted (${signal}) before this test finished` };
}

function firstLine(s: string | undefined): string {
  return (s ?? 'failed without a message').split('\n')[0]!.slice(0, 1000);
}

export class ConformanceReporter implements Reporter {
  private document: ResultsDocument | undefined;
  private coverage: ClauseCoverage[] = [];

  private readonly startedMs = performance.now();

  constructor(private readonly options: ReporterOptions) {}

  /** the signal that interrupted the run */
  private interruptedBy?: string;

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>, reason?: TestRunEndReason): void {
    const { expectations } = this.options;
    if (reason === 'interrupted') this.interruptedBy ??= 'cancelled';
    // In suite order (as collected), whatever order the files finished in.
    const order = new Map(this.options.catalog.map((t, i) => [t.id, i]));
    const ran = modules
      .flatMap((m) => [...m.children.allTests()].map(recordOf))
      .filter((r) => this.options.selected.has(r.id))
      .map((r) => (this.interruptedBy ? asInterrupted(r, this.interruptedBy) : r));
    if (this.interruptedBy) ran.push(...this.neverStarted(ran, this.interruptedBy));
    const sorted = [...applyExpectations(ran, expectations), ...this.options.disabled].sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity));
    const info = this.options.info();
    const podRuns = new Map(modules.flatMap((m) => [...m.children.allTests()].map((t) => [testIdOf(m.moduleId, t.fullName), t.meta().podRuns ?? []] as const)));
    const evidence = this.options.write ? stagedEvidence(this.options.reportDir) : undefined;
    const pods = evidence ? podStats(evidence) : undefined;
    const imageOperations = evidence ? imageOperationStats(evidence) : undefined;
    const fixtureBuilds = this.options.write ? fixtureBuildStats(this.options.reportDir) : undefined;
    const hostChanges = evidence ? stagedHostChanges(evidence, podRuns) : [];
    const tests = this.options.write ? writeArtifacts({ reportDir: this.options.reportDir, tests: sorted, podRuns, run: info, repro: this.options.repro }) : sorted;
    const harnessErrors = [
      ...modules.flatMap((m) => m.errors().map((e) => `${relative(REPO_ROOT, m.moduleId)}: ${firstLine(e.message)}`)),
      ...unhandled.map((e) => `unhandled: ${firstLine(e.message)}`),
    ];
    const coverage = computeCoverage(tests, this.options.catalog);
    const doc: ResultsDocument = {
      ...info,
      ...(pods ? { pods } : {}),
      ...(imageOperations?.count ? { imageOperations } : {}),
      ...(fixtureBuilds?.builds ? { fixtureBuilds } : {}),
      ...(hostChanges.length > 0 ? { hostChanges } : {}),
      durationMs: Math.round(performance.now() - this.startedMs),
      counts: countResults(tests),
      mustCoverage: mustCoverage(coverage),
      profiles: profileVerdicts(coverage),
      tests,
      harnessErrors,
      peerChecks: peerChecks(tests),
      ...(this.interruptedBy ? { interrupted: { signal: this.interruptedBy } } : {}),
    };
    this.document = doc;
    this.coverage = coverage;
    this.write();
  }

  /** Selected tests of files that never started before the run was interrupted. */
  private neverStarted(ran: readonly TestRecord[], signal: string): TestRecord[] {
    const seen = new Set(ran.map((r) => r.id));
    return this.options.catalog
      .filter((t) => this.options.selected.has(t.id) && !seen.has(t.id))
      .map((t) => ({ id: t.id, name: t.name, file: t.file, clauses: t.clauses, checks: [], status: 'skip', skipKind: 'interrupted', reason: `the run was interrupted (${signal}) before this test started`, durationMs: 0 }));
  }

  /** A signal stopped the run: the reports say so (rewritten if they were written already). */
  markInterrupted(signal: string): void {
    this.interruptedBy = signal;
    if (this.document && !this.document.interrupted) {
      this.document = { ...this.document, interrupted: { signal } };
      this.write();
    }
  }

  /** A forced exit: writes what the run has so far, unless the reports are written already. */
  writePartial(modules: ReadonlyArray<TestModule>): void {
    if (!this.document) this.onTestRunEnd(modules, [], 'interrupted');
  }

  /** Each report is written whole or not at all (temp file, then rename): a forced exit never
   *  leaves half a file. */
  private write(): void {
    const doc = this.document;
    if (!doc || !this.options.write) return;
    const { reportDir } = this.options;
    if (!existsSync(reportDir)) makeReportDir(reportDir);
    const put = (name: string, write: (path: string) => void) => {
      const tmp = join(reportDir, `.${name}.tmp`);
      write(tmp);
      renameSync(tmp, join(reportDir, name));
    };
    const text = (content: string) => (path: string) => writeFileSync(path, content);
    put('results.json', text(JSON.stringify(doc, null, 2) + '\n'));
    put('clauses.json', text(JSON.stringify({ specVersion: doc.specVersion, clauses: this.coverage }, null, 1) + '\n'));
    put('junit.xml', (path) => writeJunit(doc, path));
    put('summary.md', text(renderSummary(doc, this.coverage) + '\n'));
    put('report.html', text(renderHtml(doc, this.coverage)));
  }

  results(): ResultsDocument | undefined {
    return this.document;
  }

  summary(): string {
    return this.document ? renderSummary(this.document, this.coverage) : 'no results (the run did not finish)';
  }
}
