// JUnit XML (junit-report-builder): one testsuite per suite file, clause IDs as testcase properties.
import junitModule, { type Builder } from 'junit-report-builder';
import { groupBy, type ResultsDocument } from './result.js';

// The package is CommonJS: at run time the default import is the builder itself.
const rootBuilder = junitModule as unknown as Builder;

export function writeJunit(doc: ResultsDocument, path: string): void {
  const junit = rootBuilder.newBuilder().name(`appc-conformance ${doc.implementation.name}`);
  const byFile = groupBy(doc.tests, (t) => t.file);
  for (const [file, tests] of byFile) {
    const suite = junit
      .testSuite()
      .name(file)
      .property('implementation', doc.implementation.name)
      .property('implementation.version', doc.implementation.version)
      .property('target', doc.target)
      .property('spec.version', doc.specVersion);
    if (doc.interrupted) suite.property('interrupted', doc.interrupted.signal);
    for (const [k, v] of Object.entries(doc.implementation.details)) suite.property(`implementation.${k}`, v);
    for (const [k, v] of Object.entries(doc.targetInfo ?? {})) if (k !== 'kind') suite.property(`target.${k}`, String(v));
    for (const t of tests) {
      const tc = suite
        .testCase()
        .className(file)
        .name(t.name)
        .time(t.durationMs / 1000)
        .property('clauses', t.clauses.join(' '));
      t.clauses.forEach((id) => tc.property('clause', id));
      // A failure only on SHOULD / SHOULD NOT clauses is typed apart, so CI views can tell it from a MUST.
      if (t.status === 'fail') tc.failure(t.reason, t.failedLevel === 'SHOULD' ? 'recommendation' : 'conformance');
      if (t.failedLevel) tc.property('failed.level', t.failedLevel);
      else if (t.status === 'error') tc.error(t.reason, 'harness');
      for (const o of t.observations ?? []) tc.property(`observation.${o.topic}`, o.value);
      if (t.artifacts) tc.property('artifacts', t.artifacts);
      if (t.repro) tc.property('repro', t.repro);
      if (t.status === 'skip') tc.skipped().property('skip.kind', t.skipKind ?? 'unspecified').property('skip.reason', t.reason ?? '');
    }
  }
  if (doc.harnessErrors.length > 0) {
    const suite = junit.testSuite().name('harness');
    doc.harnessErrors.forEach((e, i) => suite.testCase().className('harness').name(`harness error ${i + 1}`).error(e, 'harness'));
  }
  junit.writeTo(path);
}
