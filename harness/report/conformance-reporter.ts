// A vitest Reporter that turns test results into our result kinds and writes results.json,
// junit.xml and the terminal summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { REPO_ROOT } from '../run/paths.js';
import { writeJunit } from './junit.js';
import { countResults, isHarnessError, skipKindOf, type ResultsDocument, type RunInfo, type TestRecord } from './result.js';
import { renderSummary } from './summary.js';

export function recordOf(test: TestCase): TestRecord {
  const meta = test.meta();
  const result = test.result();
  const file = relative(REPO_ROOT, test.module.moduleId);
  const base = {
    id: `${file} > ${test.fullName}`,
    name: test.fullName,
    file,
    clauses: meta.clauses ?? [],
    checks: meta.checks ?? [],
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
  };
  switch (result.state) {
    case 'passed':
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

  constructor(
    private readonly reportDir: string,
    private readonly info: () => Omit<RunInfo, 'durationMs'>,
    private readonly startedMs = performance.now(),
  ) {}

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const tests = modules.flatMap((m) => [...m.children.allTests()].map(recordOf));
    const harnessErrors = [
      ...modules.flatMap((m) => m.errors().map((e) => `${relative(REPO_ROOT, m.moduleId)}: ${firstLine(e.message)}`)),
      ...unhandled.map((e) => `unhandled: ${firstLine(e.message)}`),
    ];
    const doc: ResultsDocument = {
      ...this.info(),
      durationMs: Math.round(performance.now() - this.startedMs),
      counts: countResults(tests),
      tests,
      harnessErrors,
    };
    mkdirSync(this.reportDir, { recursive: true });
    writeFileSync(join(this.reportDir, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
    writeJunit(doc, join(this.reportDir, 'junit.xml'));
    writeFileSync(join(this.reportDir, 'summary.md'), renderSummary(doc) + '\n');
    this.document = doc;
  }

  results(): ResultsDocument | undefined {
    return this.document;
  }

  summary(): string {
    return this.document ? renderSummary(this.document) : 'no results (the run did not finish)';
  }
}
