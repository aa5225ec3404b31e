// The terminal (Markdown) summary: per-suite counts, what failed and why, clause coverage per spec
// area and level, profile verdicts, untested MUST clauses, and the closing count line.
import { renderHostChanges } from '../run/host-changes.js';
import { LEVELS } from '../spec/index.js';
import { REQUIRED_LEVELS, type ClauseCoverage } from './coverage.js';
import { renderPeerChecks } from './peer.js';
import { describeTarget, groupBy, type ResultsDocument, type ResultStatus } from './result.js';

const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

export function renderSummary(doc: ResultsDocument, coverage: readonly ClauseCoverage[]): string {
  const lines: string[] = [];
  const impl = doc.implementation;
  const details = Object.entries(impl.details)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push('', `## appc ${doc.specVersion} conformance: ${impl.name} ${impl.version}${details ? ` (${details})` : ''} on ${describeTarget(doc)}`, '');
  if (doc.interrupted) lines.push(interruptedLine(doc), '');
  lines.push('| suite | pass | fail | xfail | xpass | skip | error | observed |', '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [file, tests] of groupBy(doc.tests, (t) => t.file)) {
    const n = (s: ResultStatus) => tests.filter((t) => t.status === s).length;
    lines.push(`| ${file} | ${n('pass')} | ${n('fail')} | ${n('xfail')} | ${n('xpass')} | ${n('skip')} | ${n('error')} | ${n('observed')} |`);
  }
  const show = (status: ResultStatus, title: string, which: (t: ResultsDocument['tests'][number]) => boolean = () => true) => {
    const tests = doc.tests.filter((t) => t.status === status && which(t));
    if (tests.length === 0) return;
    lines.push('', `${title}:`);
    for (const t of tests) {
      const expected = t.expected ? ` [expected: ${t.expected.reason}${t.expected.link ? ` ${t.expected.link}` : ''}]` : '';
      const kind = t.skipKind ? `(${t.skipKind}) ` : '';
      lines.push(`  - [${t.clauses.join(', ')}] ${t.id}: ${kind}${t.reason ?? ''}${expected}`.trimEnd());
    }
  };
  show('fail', 'Conformance failures (the implementation broke the spec)', (t) => t.failedLevel !== 'SHOULD');
  show('fail', 'Recommendations not followed (only SHOULD / SHOULD NOT checks failed; no profile verdict depends on them)', (t) => t.failedLevel === 'SHOULD');
  show('xpass', 'Unexpected passes (the expectation file is stale; this fails the run)');
  show('error', 'Harness errors (not the implementation’s fault)');
  show('xfail', 'Expected failures (xfail)');
  show('skip', 'Skipped');
  const observed = doc.tests.filter((t) => t.observations?.length);
  if (observed.length > 0) {
    lines.push('', 'Observations (the spec is silent here: what the implementation did, not judged):');
    for (const t of observed) for (const o of t.observations!) lines.push(`  - ${t.name} — ${o.topic}: ${o.value}`);
  }
  for (const e of doc.harnessErrors) lines.push(`  - harness: ${e}`);
  lines.push(...renderHostChanges(doc.hostChanges ?? []));

  lines.push('', '### Clause coverage (passed / testable, from checks that ran)', '');
  lines.push(`| area | ${LEVELS.join(' | ')} |`, `|---|${LEVELS.map(() => '---:').join('|')}|`);
  for (const [area, clauses] of groupBy([...coverage].filter((c) => c.normative), (c) => c.area)) {
    const cells = LEVELS.map((level) => {
      const testable = clauses.filter((c) => c.level === level && c.status !== 'untestable');
      const failed = testable.filter((c) => c.status === 'covered-fail' || c.status === 'xfail').length;
      const passed = testable.filter((c) => c.status === 'covered-pass').length;
      return testable.length === 0 ? '–' : `${passed}/${testable.length}${failed ? ` (${failed} failed)` : ''}`;
    });
    lines.push(`| ${area} | ${cells.join(' | ')} |`);
  }

  lines.push('', '### Verdict per profile (normative MUST / MUST NOT clauses)', '');
  lines.push('| profile | verdict | passed | failed | untested | required | SHOULD passed | SHOULD failed | SHOULD untested |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of doc.profiles) {
    const r = p.recommended;
    const should = r ? `${r.passed} | ${r.failed} | ${r.untested}` : '– | – | –';
    lines.push(`| ${p.profile} | ${p.verdict} | ${p.passed} | ${p.failed} | ${p.untested} | ${p.required} | ${should} |`);
  }
  lines.push('', 'SHOULD / SHOULD NOT clauses (recommendations) are counted beside each verdict, never in it.');

  lines.push(...renderPeerChecks(doc.peerChecks));

  const untested = coverage.filter((c) => c.normative && REQUIRED_LEVELS.has(c.level) && c.status === 'untested');
  lines.push('', `Untested MUST / MUST NOT clauses (${untested.length}; reasons in clauses.json and report.html):`);
  for (const [area, list] of groupBy(untested, (c) => c.area)) lines.push(`  - ${area}: ${list.map((c) => c.id).join(' ')}`);

  const c = doc.counts;
  const m = doc.mustCoverage;
  lines.push('', `MUST coverage: ${m.covered} of ${m.testable} testable MUST/MUST NOT clauses passed (${pct(m.covered, m.testable)})`);
  lines.push(`${c.checks} clause checks ran (${c.failedChecks} failed) in ${(doc.durationMs / 1000).toFixed(1)}s`);
  if (c.xfail + c.xpass > 0) lines.push(`expected failures: ${c.xfail}, unexpected passes: ${c.xpass}`);
  if (c.observed > 0) lines.push(`observations: ${c.observed} tests recorded spec-silent behaviour`);
  if (c.error + doc.harnessErrors.length > 0) lines.push(`harness errors: ${c.error + doc.harnessErrors.length}`);
  const shouldOnly = doc.tests.filter((t) => t.status === 'fail' && t.failedLevel === 'SHOULD').length;
  if (shouldOnly > 0) lines.push(`of the failed: ${shouldOnly} only on SHOULD / SHOULD NOT clauses (recommendations)`);
  lines.push(`${c.pass} passed, ${c.fail + c.xpass} failed, ${c.skip} skipped`);
  return lines.join('\n');
}

/** The line that says a run's results are partial. */
export function interruptedLine(doc: ResultsDocument): string {
  const unfinished = doc.tests.filter((t) => t.skipKind === 'interrupted').length;
  return `**INTERRUPTED** by ${doc.interrupted!.signal}: partial results; ${unfinished} selected tests did not finish (skipped, interrupted).`;
}
