// The terminal summary: per-suite counts, what failed and why, and the closing count line.
import { groupBy, type ResultsDocument } from './result.js';

export function renderSummary(doc: ResultsDocument): string {
  const lines: string[] = [];
  const impl = doc.implementation;
  const details = Object.entries(impl.details)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push('', `appc ${doc.specVersion} conformance: ${impl.name} ${impl.version}${details ? ` (${details})` : ''} on ${doc.target}`);
  lines.push('');
  lines.push('| suite | pass | fail | skip | error |', '|---|---:|---:|---:|---:|');
  for (const [file, tests] of groupBy(doc.tests, (t) => t.file)) {
    const n = (s: string) => tests.filter((t) => t.status === s).length;
    lines.push(`| ${file} | ${n('pass')} | ${n('fail')} | ${n('skip')} | ${n('error')} |`);
  }
  const show = (status: string, title: string) => {
    const tests = doc.tests.filter((t) => t.status === status);
    if (tests.length === 0) return;
    lines.push('', `${title}:`);
    for (const t of tests) lines.push(`  - [${t.clauses.join(', ')}] ${t.file} > ${t.name}: ${t.reason ?? ''}`.trimEnd());
  };
  show('fail', 'Conformance failures (the implementation broke the spec)');
  show('error', 'Harness errors (not the implementation’s fault)');
  show('skip', 'Skipped');
  for (const e of doc.harnessErrors) lines.push(`  - harness: ${e}`);
  const c = doc.counts;
  lines.push('', `${c.checks} clause checks ran (${c.failedChecks} failed) in ${(doc.durationMs / 1000).toFixed(1)}s`);
  if (c.error + doc.harnessErrors.length > 0) lines.push(`harness errors: ${c.error + doc.harnessErrors.length}`);
  lines.push(`${c.pass} passed, ${c.fail} failed, ${c.skip} skipped`);
  return lines.join('\n');
}
