// matrix.html: one self-contained page (no server, no scripts) a person reads at a glance: what
// changed since the baseline (regressions first), the headline per cell, where implementations
// or targets disagree, and the clause grid grouped by spec section and level, each verdict linked
// to the evidence in its cell's report.html.
import { esc, specStatement } from '../report/html.js';
import { LEVELS } from '../spec/index.js';
import { regressionCount, type Change, type ClauseRow, type Disagreement, type MatrixDocument, type Verdict } from './merge.js';

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.grid td.v{text-align:center;white-space:nowrap}.grid th.sec{background:#dde6f0;font-size:15px}.grid th.lvl{background:#eef2f6;font-weight:normal}
.v-pass,.conformant{background:#e6f4e6}.v-fail,.not-conformant,.regress{background:#fbe3e3}.v-xfail{background:#fdf1dc}
.v-skip,.v-untested,.incomplete,.v-not-run{background:#f4f4f4;color:#555}.v-error{background:#f6e0f6}.v-untestable{color:#888}
.prof{font-size:12px;white-space:nowrap}.tgt{min-width:24em}.stmt{max-width:40em}q.spec{font-family:Georgia,serif;color:#111}.where{color:#666;font-size:12px}code{font-size:12px}nav a{margin-right:1em}a code{color:inherit}`;

const VERDICT_WORD: Record<Verdict['v'], string> = {
  pass: 'pass',
  fail: 'FAIL',
  xfail: 'xfail',
  skip: 'skip',
  error: 'error',
  untested: 'untested',
  untestable: 'untestable',
  'not-run': 'not run',
};

function clauseCell(row: ClauseRow): string {
  const id = `<code>${esc(row.id)}</code>`;
  return row.url ? `<a href="${esc(row.url)}" title="${esc(row.section)}">${id}</a>` : id;
}

function statement(row: ClauseRow): string {
  return specStatement(row.specText ?? null, row.text, { url: row.url, label: row.section });
}

function verdictCell(v: Verdict, row: ClauseRow, label: string): string {
  const word = VERDICT_WORD[v.v] + (v.v === 'skip' && v.skipKind ? ` (${v.skipKind})` : '');
  const title = [v.test, v.reason].filter(Boolean).join(': ');
  const inner = v.evidence ? `<a href="${esc(v.evidence)}">${esc(word)}</a>` : esc(word);
  return `<td class="v v-${v.v}" data-clause="${esc(row.id)}" data-cell="${esc(label)}"${title ? ` title="${esc(title.slice(0, 600))}"` : ''}>${inner}</td>`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  if (rows.length === 0) return '<p>None.</p>';
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows
    .map((r) => `<tr>${r.map((c) => (c.startsWith('<td') ? c : `<td>${c}</td>`)).join('')}</tr>`)
    .join('\n')}\n</tbody></table>`;
}

export function renderMatrixHtml(doc: MatrixDocument): string {
  const rows = new Map(doc.clauses.map((r) => [r.id, r]));
  const labels = doc.cells.map((c) => c.label);
  const parts: string[] = [];
  parts.push(`<h1>appc ${esc(doc.specVersion)} conformance matrix</h1>`);
  const ran = doc.cells.filter((c) => c.status === 'ran').length;
  parts.push(`<p>Generated ${esc(doc.generatedAt)}: ${doc.cells.length} cells, ${ran} ran. A cell is an implementation (and flavor) on a target (and guest). Every clause is shown in the spec's own sentence (appc v0.8.11, quoted), with a link to its section and what the suite checks of it in the registry's words; every verdict links to the test that gave it in its cell's report.</p>`);
  parts.push(`<nav>${doc.baseline ? '<a href="#changes">changes since the baseline</a>' : ''}<a href="#cells">cells</a><a href="#disagreements">disagreements</a><a href="#grid">clause grid</a></nav>`);

  const b = doc.baseline;
  if (b) {
    const changeRows = (list: Change[]) =>
      list.map((c) => {
        const row = rows.get(c.clause)!;
        return [clauseCell(row), statement(row), esc(c.label), `${esc(c.before)} → ${esc(c.now)}`, c.evidence ? `<a href="${esc(c.evidence)}">evidence</a>` : ''];
      });
    const head = ['clause', 'statement', 'cell', 'before → now', 'evidence'];
    parts.push(`<h2 id="changes">Changes since the baseline of ${esc(b.generatedAt)}</h2>`);
    parts.push(`<h3 id="regressions" class="${regressionCount(b) ? 'regress' : ''}">Regressions: ${regressionCount(b)}</h3>`);
    parts.push(`<h4>New failures (${b.newFailures.length})</h4>`, table(head, changeRows(b.newFailures)));
    if (b.cellsNotRunNow.length) parts.push(`<h4>Cells that ran in the baseline and did not run now</h4>`, table(['cell', 'why'], b.cellsNotRunNow.map((c) => [esc(c.label), esc(c.reason ?? '')])));
    if (b.mustCoverageDown.length) parts.push(`<h4>MUST coverage down</h4>`, table(['cell', 'before', 'now'], b.mustCoverageDown.map((c) => [esc(c.label), String(c.before), String(c.now)])));
    if (b.coverageLost.length) parts.push(`<h4>Clauses no longer judged (${b.coverageLost.length})</h4>`, table(head, changeRows(b.coverageLost)));
    parts.push(`<h3>Improvements</h3>`);
    parts.push(`<h4>Fixed clauses (${b.fixed.length})</h4>`, table(head, changeRows(b.fixed)));
    if (b.mustCoverageUp.length) parts.push(`<h4>MUST coverage up</h4>`, table(['cell', 'before', 'now'], b.mustCoverageUp.map((c) => [esc(c.label), String(c.before), String(c.now)])));
    if (b.coverageGained.length) parts.push(`<h4>Clauses newly judged (${b.coverageGained.length})</h4>`, table(head, changeRows(b.coverageGained)));
    if (b.newCells.length || b.goneCells.length) parts.push(`<p>New cells: ${esc(b.newCells.join(', ') || 'none')}. Cells gone: ${esc(b.goneCells.join(', ') || 'none')}.</p>`);
  }

  parts.push('<h2 id="cells">Cells</h2><p>Counts are tests; MUST coverage counts the testable MUST/MUST NOT clauses that passed; a profile is conformant when all its MUST clauses passed, not conformant when one failed, else incomplete.</p>');
  const profileNames = [...new Set(doc.cells.flatMap((c) => c.profiles?.map((p) => p.profile) ?? []))];
  parts.push(
    table(
      ['cell', 'implementation', 'target and guest', 'pass', 'fail', 'xfail', 'xpass', 'skip', 'error', 'MUST coverage', ...profileNames, 'report'],
      doc.cells.map((c) => {
        if (c.status !== 'ran') {
          return [`<b>${esc(c.label)}</b>`, `<td colspan="${9 + profileNames.length}" class="v-not-run">${c.status === 'not-run' ? 'not run' : 'harness error'}: ${esc(c.reason ?? '')}</td>`, `<a href="${esc(c.dir)}/cell.log">log</a>`];
        }
        const i = c.implementation!;
        const n = c.counts!;
        const m = c.mustCoverage!;
        const profiles = profileNames.map((name) => {
          const p = c.profiles!.find((x) => x.profile === name);
          return p ? `<td class="prof ${p.verdict.replace(/\s+/g, '-')}" title="${p.passed} passed, ${p.failed} failed, ${p.untested} untested of ${p.required} MUST clauses">${esc(p.verdict)}</td>` : '–';
        });
        return [
          `<b>${esc(c.label)}</b>`,
          `<b>${esc(i.name)} ${esc(i.version)}</b>${i.flavor ? ` (flavor ${esc(i.flavor)})` : ''}<br><span class="where">${Object.entries(i.details)
            .filter(([k]) => k !== 'flavor')
            .map(([k, v]) => `${esc(k)} ${esc(v)}`)
            .join(', ')}</span>`,
          `<td class="tgt"><b>${esc(c.target)}${c.guest ? ` / ${esc(c.guest)} guest` : ''}</b><br><span class="where">${esc(c.where ?? '')}</span></td>`,
          String(n.pass),
          n.fail ? `<td class="v-fail">${n.fail}</td>` : '0',
          String(n.xfail),
          n.xpass ? `<td class="v-fail">${n.xpass}</td>` : '0',
          String(n.skip),
          n.error ? `<td class="v-error">${n.error}</td>` : '0',
          `${m.covered} / ${m.testable}${m.testable ? ` (${((100 * m.covered) / m.testable).toFixed(0)}%)` : ''}`,
          ...profiles,
          (c.shardReports ?? [c.report!]).map((r, k, all) => `<a href="${esc(r)}">report${all.length > 1 ? ` ${k + 1}/${all.length}` : ''}</a>`).join('<br>') +
            (c.reason ? `<br><span class="where">${esc(c.reason)}</span>` : ''),
        ];
      }),
    ),
  );

  const disRows = (list: Disagreement[]) =>
    list.map((d) => {
      const row = rows.get(d.clause)!;
      return [clauseCell(row), statement(row), esc(d.on), d.verdicts.map((v) => `${esc(v.label)}: ${verdictLink(row.verdicts[v.label]!)}`).join('<br>')];
    });
  const verdictLink = (v: Verdict) => (v.evidence ? `<a href="${esc(v.evidence)}">${esc(VERDICT_WORD[v.v])}</a>` : esc(VERDICT_WORD[v.v]));
  parts.push('<h2 id="disagreements">Disagreements</h2>');
  parts.push(`<h3>Implementations differ on the same target (${doc.disagreements.implementations.length})</h3>`);
  parts.push(table(['clause', 'statement', 'target', 'verdicts'], disRows(doc.disagreements.implementations)));
  parts.push(`<h3>One implementation, different verdicts on different targets (${doc.disagreements.targets.length})</h3><p>A target-dependent verdict is worth a look: the implementation, the target or the suite may be at fault.</p>`);
  parts.push(table(['clause', 'statement', 'implementation', 'verdicts'], disRows(doc.disagreements.targets)));

  parts.push('<h2 id="grid">Clause grid</h2>');
  parts.push('<p>One row per clause, grouped by spec section and RFC 2119 level; one column per cell. <b>pass</b>/<b>FAIL</b>/<b>xfail</b> (an expected failure) link to the test that judged the clause; <b>skip</b> says why (unsupported by the implementation, host lacks something, disabled); <b>untested</b>: no check of it ran; <b>untestable</b>: no test can fail on it.</p>');
  const groups = new Map<string, ClauseRow[]>();
  for (const r of doc.clauses) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const body: string[] = [];
  const width = 3 + labels.length;
  for (const [group, list] of groups) {
    body.push(`<tr><th class="sec" colspan="${width}">${esc(group)}</th></tr>`);
    for (const level of LEVELS) {
      const atLevel = list.filter((r) => r.level === level);
      if (atLevel.length === 0) continue;
      body.push(`<tr><th class="lvl" colspan="${width}">${esc(level)} (${atLevel.length})</th></tr>`);
      for (const r of atLevel) {
        body.push(`<tr id="clause-${esc(r.id)}"><td>${clauseCell(r)}${r.normative ? '' : ' (suite)'}</td><td>${statement(r)}</td><td>${esc(r.level)}</td>${labels.map((l) => verdictCell(r.verdicts[l]!, r, l)).join('')}</tr>`);
      }
    }
  }
  parts.push(`<table class="grid"><thead><tr><th>clause</th><th>statement</th><th>level</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>appc conformance matrix</title><style>${STYLE}</style></head>\n<body>\n${parts.join('\n')}\n</body></html>\n`;
}
