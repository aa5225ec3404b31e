// Merge logic on made-up runs (no suite runs): verdicts per cell, disagreements, the baseline diff.
import { describe, expect, it } from 'vitest';
import type { ClauseCoverage } from '../report/coverage.js';
import type { ResultsDocument, TestRecord } from '../report/result.js';
import { esc, testAnchor } from '../report/html.js';
import { CLAUSES } from '../spec/index.js';
import { specPlain } from '../spec/spec-links.js';
import type { ReportInput } from './inputs.js';
import { joinShards } from './combine.js';
import { diffBaseline, mergeReports, regressionCount, verdictOf } from './merge.js';
import { renderMatrixHtml } from './render-html.js';
import { renderMatrixMarkdown } from './render-md.js';

const WD = 'ACE-WD-001';
const ENV = 'ACE-ENV-007';
const EXIT2 = 'FN-EXIT-002';

function test(id: string, clause: string, status: TestRecord['status'], ok = status !== 'fail' && status !== 'xfail', extra: Partial<TestRecord> = {}): TestRecord {
  const ran = status !== 'skip' && status !== 'error';
  return { id, name: id, file: 'suites/x.test.ts', clauses: [clause], checks: ran ? [{ clauses: [clause], ok, message: ok ? undefined : `${clause}: wrong` }] : [], status, durationMs: 1, ...extra };
}

/** A run as npm test would report it: coverage from its tests, the rest untested. */
function run(label: string, impl: string, target: string, tests: TestRecord[], flavor?: string, guest?: string): ReportInput {
  const clauses: ClauseCoverage[] = [...CLAUSES.values()].map((c) => {
    const mine = tests.filter((t) => t.checks.some((k) => k.clauses.includes(c.id)));
    const status = mine.some((t) => t.status === 'fail') ? 'covered-fail' : mine.some((t) => t.status === 'xfail') ? 'xfail' : mine.length ? 'covered-pass' : c.untestable ? 'untestable' : 'untested';
    return { id: c.id, level: c.level, area: c.area, profile: c.profile, normative: c.normative, status, tests: mine.map((t) => t.id), ...(status === 'untested' ? { reason: 'not selected in this run' } : {}) };
  });
  const results = {
    implementation: { name: impl, version: '1.0', details: flavor ? { flavor } : {} },
    expectationsFile: null,
    target,
    targetInfo: guest ? { kind: target, guest } : undefined,
    specVersion: '0.8.11',
    startedAt: '2026-12-04T00:00:00Z',
    durationMs: 1000,
    counts: { pass: 0, fail: 0, skip: 0, error: 0, xfail: 0, xpass: 0, observed: 0, checks: 0, failedChecks: 0 },
    mustCoverage: { covered: clauses.filter((c) => c.status === 'covered-pass').length, testable: 258 },
    profiles: [],
    tests,
    harnessErrors: [],
  } as unknown as ResultsDocument;
  return { dir: `/m/cells/${label}`, label, results, clauses };
}

const notRun = (label: string, reason: string): ReportInput => ({
  dir: `/m/cells/${label}`,
  label,
  cell: { tool: 'appc-conformance', kind: 'matrix-cell', label, impl: label.split('@')[0]!, target: label.split('@')[1]!, status: 'not-run', reason, wallMs: 0 },
});

const refHost = run('ref@host', 'ref', 'host', [test('t-wd', WD, 'pass'), test('t-env', ENV, 'pass'), test('t-multi', EXIT2, 'pass')]);
const refQemu = run('ref@qemu', 'ref', 'qemu', [test('t-wd', WD, 'fail'), test('t-env', ENV, 'pass'), test('t-multi', EXIT2, 'pass')], undefined, 'lean');
const rktFly = run('rkt:fly@host', 'rkt', 'host', [
  test('t-wd', WD, 'pass'),
  test('t-env', ENV, 'xfail', false, { expected: { reason: 'fly drops it' } }),
  test('t-multi', EXIT2, 'skip', true, { skipKind: 'unsupported', reason: 'no multi-app' }),
]);

describe('a clause verdict in one cell', () => {
  it('links a pass, a failure and an expected failure to the test that gave it', () => {
    expect(verdictOf(WD, refHost, 'cells/ref@host')).toEqual({ v: 'pass', test: 't-wd', evidence: `cells/ref@host/report.html#${testAnchor('t-wd')}` });
    expect(verdictOf(WD, refQemu, 'q')).toMatchObject({ v: 'fail', test: 't-wd', evidence: `q/report.html#${testAnchor('t-wd')}`, reason: `${WD}: wrong` });
    expect(verdictOf(ENV, rktFly, 'r')).toMatchObject({ v: 'xfail', test: 't-env', reason: 'fly drops it' });
  });
  it('a skip keeps its kind and reason; a clause no test checked is untested; a cell that did not run says why', () => {
    expect(verdictOf(EXIT2, rktFly, 'r')).toMatchObject({ v: 'skip', skipKind: 'unsupported', reason: 'no multi-app', test: 't-multi' });
    expect(verdictOf('ACE-USER-001', refHost, 'x')).toEqual({ v: 'untested', reason: 'not selected in this run' });
    expect(verdictOf(WD, notRun('rkt@host', 'no rkt binary'), 'x')).toEqual({ v: 'not-run', reason: 'no rkt binary' });
  });
});

describe('merged matrix', () => {
  const doc = mergeReports([refHost, refQemu, rktFly, notRun('ref@mars', 'unknown target mars')], '/m', { now: new Date('2026-12-04T01:00:00Z') });

  it('has a column per cell (a cell that did not run too) and a row per registry clause with its sentence and spec link', () => {
    expect(doc.cells.map((c) => [c.label, c.status])).toEqual([['ref@host', 'ran'], ['ref@qemu', 'ran'], ['rkt:fly@host', 'ran'], ['ref@mars', 'not-run']]);
    expect(doc.cells[0]!.report).toBe('cells/ref@host/report.html');
    expect(doc.clauses).toHaveLength(CLAUSES.size);
    const wd = doc.clauses.find((r) => r.id === WD)!;
    expect(wd.text).toBe(CLAUSES.get(WD)!.text);
    expect(wd.url).toMatch(/^https:\/\/github\.com\/appc\/spec\/blob\/v0\.8\.11\/spec\//);
    expect(Object.keys(wd.verdicts)).toEqual(['ref@host', 'ref@qemu', 'rkt:fly@host', 'ref@mars']);
  });

  it('finds implementations that differ on one target (an xfail still fails the clause)', () => {
    expect(doc.disagreements.implementations).toEqual([
      { clause: ENV, on: 'host', verdicts: [{ label: 'ref@host', v: 'pass' }, { label: 'rkt:fly@host', v: 'xfail' }] },
    ]);
  });

  it('finds an implementation whose verdict depends on the target', () => {
    expect(doc.disagreements.targets).toEqual([{ clause: WD, on: 'ref', verdicts: [{ label: 'ref@host', v: 'pass' }, { label: 'ref@qemu', v: 'fail' }] }]);
  });

  it('a skip or an untested clause is no disagreement', () => {
    expect(doc.disagreements.implementations.some((d) => d.clause === EXIT2)).toBe(false);
  });

  it("renders the page and the Markdown with every clause ID next to the spec's own sentence", () => {
    const html = renderMatrixHtml(doc);
    expect(html).toContain(`<a href="cells/ref@qemu/report.html#${testAnchor('t-wd')}">FAIL</a>`);
    expect(html).toContain('not run: unknown target mars');
    expect(html).not.toContain('<script');
    const md = renderMatrixMarkdown(doc);
    expect(md).toContain(`- ${WD} (ref): ref@host pass, ref@qemu fail — “${specPlain(CLAUSES.get(WD)!.specText!)}”`);
    expect(html).toContain(`<q class="spec">${esc(specPlain(CLAUSES.get(WD)!.specText!))}</q>`);
    expect(html).toContain(esc(CLAUSES.get(WD)!.text));
  });
});

describe('against a baseline', () => {
  const night1 = mergeReports([refHost, rktFly], '/m', { now: new Date('2026-12-03T01:00:00Z') });
  const refHostBroken = run('ref@host', 'ref', 'host', [test('t-wd', WD, 'fail'), test('t-env', ENV, 'pass')]);
  const rktFixed = run('rkt:fly@host', 'rkt', 'host', [test('t-wd', WD, 'pass'), test('t-env', ENV, 'pass'), test('t-multi', EXIT2, 'skip', true, { skipKind: 'unsupported', reason: 'no multi-app' })]);

  it('lists new failures, clauses no longer judged and fixed clauses', () => {
    const night2 = mergeReports([refHostBroken, rktFixed], '/m', { baseline: night1 });
    const b = night2.baseline!;
    expect(b.generatedAt).toBe('2026-12-03T01:00:00.000Z');
    expect(b.newFailures).toEqual([{ clause: WD, label: 'ref@host', before: 'pass', now: 'fail', evidence: `cells/ref@host/report.html#${testAnchor('t-wd')}` }]);
    expect(b.coverageLost).toEqual([{ clause: EXIT2, label: 'ref@host', before: 'pass', now: 'untested' }]);
    expect(b.fixed).toEqual([expect.objectContaining({ clause: ENV, label: 'rkt:fly@host', before: 'xfail', now: 'pass' })]);
    expect(b.mustCoverageDown).toEqual([{ label: 'ref@host', before: 3, now: 1 }]);
    expect(regressionCount(b)).toBe(3);
  });

  it('shows regressions before improvements on the page', () => {
    const html = renderMatrixHtml(mergeReports([refHostBroken, rktFixed], '/m', { baseline: night1 }));
    expect(html.indexOf('New failures')).toBeGreaterThan(0);
    expect(html.indexOf('New failures')).toBeLessThan(html.indexOf('Fixed clauses'));
    expect(html.indexOf('Regressions: 3')).toBeLessThan(html.indexOf('id="cells"'));
  });

  it('a cell that ran last night and did not run now is a regression; new and gone cells are listed', () => {
    const now = mergeReports([notRun('ref@host', 'no VM tools'), refQemu], '/m', { baseline: night1 });
    const b = diffBaseline(now, night1);
    expect(b.cellsNotRunNow).toEqual([{ label: 'ref@host', reason: 'no VM tools' }]);
    expect(b.newCells).toEqual(['ref@qemu']);
    expect(b.goneCells).toEqual(['rkt:fly@host']);
    expect(b.newFailures).toEqual([]);
  });
});

describe('a test that ended before checking its clause', () => {
  it('leaves the clause untested, linked to that test', () => {
    const xf = run('rkt:fly@host', 'rkt', 'host', [{ ...test('t-wd2', 'ACE-WD-002', 'xfail'), checks: [], reason: 'no probe report', expected: { reason: 'observed' } }]);
    expect(verdictOf('ACE-WD-002', xf, 'r')).toEqual({ v: 'untested', test: 't-wd2', evidence: `r/report.html#${testAnchor('t-wd2')}`, reason: 'its test ended (xfail) before checking it: no probe report' });
  });
});

describe('a cell run in shards', () => {
  const shard = (input: ReportInput, s: string): ReportInput => ({
    ...input,
    dir: `${input.dir}.shard-${s.replace('/', '-of-')}`,
    cell: { tool: 'appc-conformance', kind: 'matrix-cell', label: input.label, impl: 'ref', target: 'host', status: 'ran', shard: s, wallMs: 1 },
  });
  const part1 = shard(run('ref@host', 'ref', 'host', [test('t-wd', WD, 'pass')]), '1/2');
  const part2 = shard(run('ref@host', 'ref', 'host', [test('t-env', ENV, 'fail')]), '2/2');

  it('is one column: the shards’ tests together, each verdict linked to its own shard’s report', () => {
    const doc = mergeReports(joinShards([part1, part2]), '/m');
    expect(doc.cells.map((c) => c.label)).toEqual(['ref@host']);
    expect(doc.cells[0]!.counts).toMatchObject({ pass: 1, fail: 1 });
    expect(doc.cells[0]!.shardReports).toEqual(['cells/ref@host.shard-1-of-2/report.html', 'cells/ref@host.shard-2-of-2/report.html']);
    const v = (id: string) => doc.clauses.find((r) => r.id === id)!.verdicts['ref@host']!;
    expect(v(WD)).toMatchObject({ v: 'pass', evidence: `cells/ref@host.shard-1-of-2/report.html#${testAnchor('t-wd')}` });
    expect(v(ENV)).toMatchObject({ v: 'fail', evidence: `cells/ref@host.shard-2-of-2/report.html#${testAnchor('t-env')}` });
    expect(v(EXIT2).v).toBe('untested');
  });

  it('says which shard is missing, and refuses a shard given twice', () => {
    const doc = mergeReports(joinShards([part1]), '/m');
    expect(doc.cells[0]).toMatchObject({ status: 'ran', reason: 'shard 2/2 missing' });
    expect(() => joinShards([part1, { ...part1, dir: '/other' }])).toThrow(/are both shard 1\/2 of cell ref@host$/);
  });
});
