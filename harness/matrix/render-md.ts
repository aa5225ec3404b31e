// matrix.md: the merged matrix as Markdown (a CI log, a pull request comment): the changes since
// the baseline first, the headline per cell, disagreements, and the clauses some cell judged.
import type { MatrixDocument, Verdict } from './merge.js';
import { regressionCount } from './merge.js';
import { specPlain } from '../spec/spec-links.js';

const word = (v: Verdict | undefined) => (!v ? '–' : v.v === 'skip' ? `skip (${v.skipKind ?? '?'})` : v.v);
const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);
const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMatrixMarkdown(doc: MatrixDocument): string {
  const out: string[] = [`# appc ${doc.specVersion} conformance matrix`, '', `Generated ${doc.generatedAt}; ${doc.cells.length} cells.`, ''];
  // The spec's own sentence where the registry records one, else the registry's words.
  const text = new Map(doc.clauses.map((r) => [r.id, r.specText ? `“${specPlain(r.specText)}”` : r.text]));
  const b = doc.baseline;
  if (b) {
    out.push(`## Since the baseline of ${b.generatedAt}: ${regressionCount(b)} regression(s)`, '');
    const list = (title: string, items: string[]) => {
      if (items.length === 0) return;
      out.push(`${title}:`, ...items.map((x) => `- ${x}`), '');
    };
    list('New failures', b.newFailures.map((c) => `${c.clause} in ${c.label}: ${c.before} → ${c.now} — ${text.get(c.clause) ?? ''}`));
    list('Cells that ran in the baseline and did not run now', b.cellsNotRunNow.map((c) => `${c.label}: ${c.reason ?? ''}`));
    list('MUST coverage down', b.mustCoverageDown.map((c) => `${c.label}: ${c.before} → ${c.now}`));
    list('Clauses no longer judged', b.coverageLost.map((c) => `${c.clause} in ${c.label}: ${c.before} → ${c.now}`));
    list('Fixed', b.fixed.map((c) => `${c.clause} in ${c.label}: ${c.before} → ${c.now}`));
    list('MUST coverage up', b.mustCoverageUp.map((c) => `${c.label}: ${c.before} → ${c.now}`));
    list('Clauses newly judged', b.coverageGained.map((c) => `${c.clause} in ${c.label}: ${c.before} → ${c.now}`));
    if (b.newCells.length + b.goneCells.length > 0) out.push(`New cells: ${b.newCells.join(', ') || 'none'}; cells gone: ${b.goneCells.join(', ') || 'none'}`, '');
  }
  out.push('## Cells', '', '| cell | implementation | where | pass | fail | xfail | xpass | skip | error | MUST coverage | profiles |', '|---|---|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const c of doc.cells) {
    if (c.status !== 'ran') {
      out.push(`| ${c.label} | – | – | | | | | | | ${c.status === 'not-run' ? 'not run' : 'error'}: ${cellText(c.reason ?? '')} | |`);
      continue;
    }
    const i = c.implementation!;
    const n = c.counts!;
    const m = c.mustCoverage!;
    const profiles = c.profiles!.map((p) => `${p.profile}: ${p.verdict}`).join('; ');
    const details = Object.entries(i.details).filter(([k]) => k !== 'flavor').map(([k, v]) => `${k} ${v}`).join(', ');
    out.push(`| ${c.label} | ${i.name} ${i.version}${i.flavor ? ` (${i.flavor})` : ''}${details ? ` (${cellText(details)})` : ''} | ${cellText(c.where ?? c.target)} | ${n.pass} | ${n.fail} | ${n.xfail} | ${n.xpass} | ${n.skip} | ${n.error} | ${m.covered}/${m.testable} (${pct(m.covered, m.testable)}) | ${profiles} |`);
  }
  out.push('');
  const dis = (title: string, list: MatrixDocument['disagreements']['implementations']) => {
    out.push(`## ${title} (${list.length})`, '');
    for (const d of list) out.push(`- ${d.clause} (${d.on}): ${d.verdicts.map((v) => `${v.label} ${v.v}`).join(', ')} — ${text.get(d.clause) ?? ''}`);
    out.push('');
  };
  dis('Implementations disagree (same target)', doc.disagreements.implementations);
  dis('One implementation, different verdicts on different targets', doc.disagreements.targets);
  const labels = doc.cells.map((c) => c.label);
  const judged = doc.clauses.filter((r) => labels.some((l) => ['pass', 'fail', 'xfail', 'skip', 'error'].includes(r.verdicts[l]!.v)));
  out.push(`## Clauses judged or skipped in some cell (${judged.length} of ${doc.clauses.length}; the rest are untested everywhere: matrix.html)`, '');
  out.push(`| clause | level | ${labels.join(' | ')} |`, `|---|---|${labels.map(() => '---').join('|')}|`);
  for (const r of judged) out.push(`| ${r.id} | ${r.level} | ${labels.map((l) => word(r.verdicts[l])).join(' | ')} |`);
  return out.join('\n') + '\n';
}
