// report.html: one self-contained page (no server, no scripts) with the verdicts, coverage per
// area and level, every clause with its status, and every test with its result.
import { createHash } from 'node:crypto';
import { CLAUSES, LEVELS } from '../spec/index.js';
import { specLocation, specPlain } from '../spec/spec-links.js';
import type { ClauseCoverage } from './coverage.js';
import { describeTarget, groupBy, type ResultsDocument } from './result.js';

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass,.covered-pass,.conformant{background:#e6f4e6}.fail,.covered-fail,.xpass,.not-conformant{background:#fbe3e3}
.xfail{background:#fdf1dc}.skip,.untested,.incomplete{background:#f4f4f4}.error{background:#f6e0f6}.untestable{color:#777}
code{font-size:12px}.stmt{color:#333}q.spec{font-family:Georgia,serif;color:#111}.where{color:#666;font-size:12px}a code{color:inherit}.interrupted{background:#fbe3e3;padding:6px;border:2px solid #c33}`;

const cls = (s: string) => s.replace(/\s+/g, '-');

/** The anchor of a test's row in report.html: stable across runs (from the test ID), so the
 *  matrix links a cell's verdict to the test's evidence. */
export function testAnchor(testId: string): string {
  return `test-${createHash('sha1').update(testId).digest('hex').slice(0, 12)}`;
}

/** A clause ID as a link to its section of the spec at v0.8.11, with the spec's sentence as the title. */
export function clauseLink(id: string): string {
  const c = CLAUSES.get(id);
  if (!c) return `<code>${esc(id)}</code>`;
  const loc = specLocation(c);
  const code = `<code>${esc(id)}</code>`;
  const sentence = c.specText ? specPlain(c.specText) : c.text;
  return loc.url ? `<a href="${esc(loc.url)}" title="${esc(`${sentence} (${loc.label})`)}">${code}</a>` : `<span title="${esc(sentence)}">${code}</span>`;
}

/** The spec's own sentence at v0.8.11 (quoted), where it stands in the spec (linked), and what the
 *  suite checks of it in the registry's words. */
export function clauseStatement(id: string): string {
  const c = CLAUSES.get(id);
  if (!c) return '';
  return specStatement(c.specText, c.text, specLocation(c));
}

/** Shared with the merged matrix (harness/matrix/render-html.ts). */
export function specStatement(specText: string | null, text: string, loc: { url: string | null; label: string }): string {
  const where = loc.url ? `<a href="${esc(loc.url)}">${esc(loc.label)}</a>` : esc(loc.label);
  if (!specText) return `<span class="stmt">${esc(text)}</span> <span class="where">(${where})</span>`;
  return `<q class="spec">${esc(specPlain(specText))}</q> <span class="where">(${where})</span><br><span class="stmt">checked: ${esc(text)}</span>`;
}

function table(head: string[], rows: string[][], rowClass?: (i: number) => string, rowId?: (i: number) => string): string {
  const h = head.map((x) => `<th>${esc(x)}</th>`).join('');
  const body = rows.map((r, i) => `<tr${rowId ? ` id="${esc(rowId(i))}"` : ''} class="${rowClass ? rowClass(i) : ''}">${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${h}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderHtml(doc: ResultsDocument, coverage: readonly ClauseCoverage[]): string {
  const impl = doc.implementation;
  const c = doc.counts;
  const m = doc.mustCoverage;
  const parts: string[] = [];
  parts.push(`<h1>appc ${esc(doc.specVersion)} conformance: ${esc(impl.name)} ${esc(impl.version)}</h1>`);
  parts.push(
    `<p>Target <b>${esc(describeTarget(doc))}</b>; ${Object.entries(impl.details)
      .map(([k, v]) => `${esc(k)} <code>${esc(v)}</code>`)
      .join(', ')}; started ${esc(doc.startedAt)}, ${(doc.durationMs / 1000).toFixed(1)} s.</p>`,
  );
  if (doc.interrupted) parts.push(`<p class="interrupted"><b>Interrupted</b> by ${esc(doc.interrupted.signal)}: partial results; the tests that did not finish are skipped (interrupted).</p>`);
  parts.push(
    `<p><b>${c.pass}</b> passed, <b>${c.fail}</b> failed, <b>${c.xfail}</b> expected failures, <b>${c.xpass}</b> unexpected passes, <b>${c.skip}</b> skipped, <b>${c.error}</b> harness errors; ${c.checks} clause checks ran. MUST coverage: <b>${m.covered}</b> of ${m.testable} testable MUST/MUST NOT clauses passed.</p>`,
  );

  parts.push('<h2>Verdict per profile</h2>');
  parts.push(
    table(
      ['profile', 'verdict', 'passed', 'failed', 'untested', 'required', 'SHOULD passed', 'SHOULD failed', 'SHOULD untested'],
      doc.profiles.map((p) => [
        esc(p.profile),
        esc(p.verdict),
        String(p.passed),
        String(p.failed),
        String(p.untested),
        String(p.required),
        ...(p.recommended ? [String(p.recommended.passed), String(p.recommended.failed), String(p.recommended.untested)] : ['–', '–', '–']),
      ]),
      (i) => cls(doc.profiles[i]!.verdict),
    ),
  );
  parts.push('<p>The verdict counts the MUST / MUST NOT clauses only; SHOULD / SHOULD NOT clauses (recommendations) are counted beside it. A test that failed only on recommendations says <i>fail (SHOULD)</i>.</p>');

  parts.push('<h2>Coverage per spec area and level</h2><p>passed / testable (failed)</p>');
  const areaRows = [...groupBy(coverage.filter((x) => x.normative), (x) => x.area)].map(([area, list]) => [
    esc(area),
    ...LEVELS.map((level) => {
      const testable = list.filter((x) => x.level === level && x.status !== 'untestable');
      const failed = testable.filter((x) => x.status === 'covered-fail' || x.status === 'xfail').length;
      const passed = testable.filter((x) => x.status === 'covered-pass').length;
      return testable.length === 0 ? '–' : `${passed} / ${testable.length}${failed ? ` (${failed})` : ''}`;
    }),
  ]);
  parts.push(table(['area', ...LEVELS], areaRows));

  for (const pc of doc.peerChecks ?? []) {
    parts.push(`<h2>Peer check: ${esc(pc.peer)}</h2><p>${pc.compared} clauses checked by both it and our suites: ${pc.agree} agree, ${pc.disagreements.length} disagree (worth a look, not a failure by itself).${pc.peerOnly.length > 0 ? ` Checked only by ${esc(pc.peer)}: ${pc.peerOnly.map((x) => `${clauseLink(x.clause)}${x.verdict === 'fail' ? ' (fail)' : ''}`).join(' ')}.` : ''}</p>`);
    if (pc.disagreements.length > 0) {
      parts.push(table(['clause', pc.peer, 'our suites', 'evidence'], pc.disagreements.map((d) => [`${clauseLink(d.clause)}<br>${clauseStatement(d.clause)}`, esc(d.peer), esc(d.own), esc(d.evidence ?? '')])));
    }
  }

  parts.push('<h2>Tests</h2>');
  parts.push(
    table(
      ['result', 'test', 'clauses', 'reason'],
      doc.tests.map((t) => [
        esc(t.status + (t.skipKind ? ` (${t.skipKind})` : '') + (t.failedLevel === 'SHOULD' ? ' (SHOULD)' : '')),
        esc(t.id) + (t.artifacts ? `<br><a href="${esc(t.artifacts)}/">artifacts</a>` : '') + (t.repro ? `<br><code>${esc(t.repro)}</code>` : ''),
        t.clauses.map((id) => `<a href="#clause-${esc(id)}" title="${esc(CLAUSES.get(id)?.text ?? '')}"><code>${esc(id)}</code></a>`).join(' '),
        esc(t.reason ?? '') +
          (t.expected ? `<br><i>expected: ${esc(t.expected.reason)}</i>` : '') +
          (t.observations ?? []).map((o) => `<br>${esc(o.topic)}: <code>${esc(o.value)}</code>`).join(''),
      ]),
      (i) => doc.tests[i]!.status,
      (i) => testAnchor(doc.tests[i]!.id),
    ),
  );
  if (doc.harnessErrors.length > 0) parts.push(`<h2>Harness errors</h2><ul>${doc.harnessErrors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>`);

  parts.push('<h2>Clauses</h2><p>Each clause in the words of the suite\'s registry (harness/spec/clauses.json), linked to its section of the appc spec at v0.8.11.</p>');
  parts.push(
    table(
      ['clause', 'statement', 'level', 'area', 'profile', 'status', 'tests or reason'],
      coverage.map((x) => [
        `${clauseLink(x.id)}${x.normative ? '' : ' (suite)'}`,
        clauseStatement(x.id),
        esc(x.level),
        esc(x.area),
        esc(x.profile),
        esc(x.status),
        x.tests.length > 0 ? x.tests.map((t) => `<a href="#${testAnchor(t)}">${esc(t)}</a>`).join('<br>') : esc(x.reason ?? ''),
      ]),
      (i) => coverage[i]!.status,
      (i) => `clause-${coverage[i]!.id}`,
    ),
  );
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>appc conformance: ${esc(impl.name)}</title><style>${STYLE}</style></head>\n<body>\n${parts.join('\n')}\n</body></html>\n`;
}
