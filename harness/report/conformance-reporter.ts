// A vitest Reporter that turns test results into our result kinds (applying the expectation file)
// and writes results.json, clauses.json, junit.xml, report.html and the Markdown summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { Expectations } from '../impl/expectations.js';
import { REPO_ROOT } from '../run/paths.js';
import { computeCoverage, mustCoverage, profileVerdicts, type CatalogEntry, type ClauseCoverage } from './coverage.js';
import { renderHtml } from './html.js';
import { peerChecks } from './peer.js';
import { writeJunit } from './junit.js';
import { countResults, isHarnessError, skipKindOf, type ResultsDocument, type RunInfo, type TestRecord } from './result.js';
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
  /** every test of the suite, run or not, for coverage */
  catalog: CatalogEntry[];
  /** tests not run because the expectation file skips them */
  disabled: TestRecord[];
  /** IDs of the tests asked to run; vitest also reports the others of their files, as skipped */
  selected: ReadonlySet<string>;
  /** false for --explain: nothing is written */
  write: boolean;
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
      const reason = `${err?.name && err.name !== 'Error' && err.name !== 'AssertionError' ? `${err.name}: ` : ''}${firstLine(err?.message)}`;
      return { ...base, status: result.errors.some((e) => isHarnessError(e.name)) ? 'error' : 'fail', reason };
    }
    default:
      return { ...base, status: 'error', reason: 'the test did not finish' };
  }
}

function firstLine(s: string | undefined): string {
  return (s ?? 'failed without a message').split('\n')[0]!.slice(0, 1000);
}

export class ConformanceReporter implements Reporter {
  private document: ResultsDocument | undefined;
  private coverage: ClauseCoverage[] = [];

  private readonly startedMs = performance.now();

  constructor(private readonly options: ReporterOptions) {}

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const { expectations, reportDir } = this.options;
    // In suite order (as collected), whatever order the files finished in.
    const order = new Map(this.options.catalog.map((t, i) => [t.id, i]));
    const ran = modules.flatMap((m) => [...m.children.allTests()].map(recordOf)).filter((r) => this.options.selected.has(r.id));
    const tests = [...applyExpectations(ran, expectations), ...this.options.disabled].sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity));
    const harnessErrors = [
      ...modules.flatMap((m) => m.errors().map((e) => `${relative(REPO_ROOT, m.moduleId)}: ${firstLine(e.message)}`)),
      ...unhandled.map((e) => `unhandled: ${firstLine(e.message)}`),
    ];
    const coverage = computeCoverage(tests, this.options.catalog);
    const doc: ResultsDocument = {
      ...this.options.info(),
      durationMs: Math.round(performance.now() - this.startedMs),
      counts: countResults(tests),
      mustCoverage: mustCoverage(coverage),
      profiles: profileVerdicts(coverage),
      tests,
      harnessErrors,
      peerChecks: peerChecks(tests),
    };
    this.document = doc;
    this.coverage = coverage;
    if (!this.options.write) return;
    mkdirSync(reportDir, { recursive: true });
    writeFileSync(join(reportDir, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
    writeFileSync(join(reportDir, 'clauses.json'), JSON.stringify({ specVersion: doc.specVersion, clauses: coverage }, null, 1) + '\n');
    writeJunit(doc, join(reportDir, 'junit.xml'));
    writeFileSync(join(reportDir, 'summary.md'), renderSummary(doc, coverage) + '\n');
    writeFileSync(join(reportDir, 'report.html'), renderHtml(doc, coverage));
  }

  results(): ResultsDocument | undefined {
    return this.document;
  }

  summary(): string {
    return this.document ? renderSummary(this.document, this.coverage) : 'no results (the run did not finish)';
  }
}
