// The merged matrix (matrix.json): per cell a headline, per clause a verdict in every cell with a
// link to the test that gave it, where implementations or targets disagree, and with a baseline
// (last night's matrix.json) what changed, regressions first.
import { relative, sep } from 'node:path';
import { testAnchor } from '../report/html.js';
import type { ProfileVerdict } from '../report/coverage.js';
import { describeTarget, type ResultsDocument, type SkipKind, type TestRecord } from '../report/result.js';
import { CLAUSES, SPEC_VERSION, type Level } from '../spec/index.js';
import { specLocation } from '../spec/spec-links.js';
import type { ReportInput } from './inputs.js';
import type { CellStatus } from './runner.js';

export type VerdictKind = 'pass' | 'fail' | 'xfail' | 'skip' | 'error' | 'untested' | 'untestable' | 'not-run';

export interface Verdict {
  v: VerdictKind;
  skipKind?: SkipKind;
  /** the test that gave the verdict */
  test?: string;
  /** link to its evidence, relative to the matrix's directory */
  evidence?: string;
  /** why (skip, error, untested, not run), or the failure's message */
  reason?: string;
}

export interface CellSummary {
  label: string;
  status: CellStatus;
  reason?: string;
  /** the cell's report directory, relative to the matrix */
  dir: string;
  report?: string;
  /** a cell run in shards: each shard's report */
  shardReports?: string[];
  implementation?: { name: string; version: string; flavor?: string; details: Record<string, string> };
  target: string;
  guest?: string;
  where?: string;
  counts?: ResultsDocument['counts'];
  mustCoverage?: { covered: number; testable: number };
  profiles?: ProfileVerdict[];
  startedAt?: string;
  durationMs?: number;
}

export interface ClauseRow {
  id: string;
  level: Level;
  area: string;
  normative: boolean;
  /** "ace.md § Volume Setup": the registry's section */
  section: string;
  /** the spec heading the clause is grouped and linked under ("spec/ace.md § Volume Setup") */
  group: string;
  url: string | null;
  /** the clause in the registry's words (harness/spec/clauses.json) */
  text: string;
  /** the spec's own sentence at v0.8.11, verbatim Markdown (null: the suite's own clause, or
   *  none in that text); optional: matrices merged before it existed lack it */
  specText?: string | null;
  verdicts: Record<string, Verdict>;
}

export interface Disagreement {
  clause: string;
  /** the target (between implementations) or the implementation (between targets) they share */
  on: string;
  verdicts: { label: string; v: VerdictKind }[];
}

export interface Change {
  clause: string;
  label: string;
  before: VerdictKind | 'absent';
  now: VerdictKind;
  evidence?: string;
}

export interface BaselineDiff {
  generatedAt: string;
  newFailures: Change[];
  /** cells that ran in the baseline and did not run now */
  cellsNotRunNow: { label: string; reason?: string }[];
  coverageLost: Change[];
  mustCoverageDown: { label: string; before: number; now: number }[];
  fixed: Change[];
  coverageGained: Change[];
  mustCoverageUp: { label: string; before: number; now: number }[];
  newCells: string[];
  goneCells: string[];
}

export interface MatrixDocument {
  tool: 'appc-conformance';
  kind: 'matrix';
  version: 1;
  specVersion: string;
  generatedAt: string;
  cells: CellSummary[];
  clauses: ClauseRow[];
  disagreements: { implementations: Disagreement[]; targets: Disagreement[] };
  baseline?: BaselineDiff;
}

const href = (from: string, to: string) => relative(from, to).split(sep).join('/') || '.';

function cellSummary(input: ReportInput, outDir: string): CellSummary {
  const dir = href(outDir, input.dir);
  const r = input.results;
  const c = input.cell;
  if (!r) return { label: input.label, status: c!.status, reason: c!.reason, dir, target: c!.target, guest: c!.guest, implementation: undefined };
  const flavor = r.implementation.details.flavor;
  return {
    label: input.label,
    status: 'ran',
    ...(c?.reason ? { reason: c.reason } : {}),
    dir,
    report: `${dir}/report.html`,
    ...(input.shardDirs ? { shardReports: input.shardDirs.map((d) => `${href(outDir, d)}/report.html`) } : {}),
    implementation: { name: r.implementation.name, version: r.implementation.version, ...(flavor ? { flavor } : {}), details: r.implementation.details },
    target: r.target,
    guest: r.targetInfo?.guest ?? c?.guest,
    where: describeTarget(r),
    counts: r.counts,
    mustCoverage: r.mustCoverage,
    profiles: r.profiles,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
  };
}

/** A clause's verdict in one cell, from its clauses.json status and the tests of its results.json. */
export function verdictOf(id: string, input: ReportInput, dir: string, dirOfTest?: (testId: string) => string): Verdict {
  if (!input.results || !input.clauses) return { v: 'not-run', reason: input.cell?.reason };
  const cov = input.clauses.find((c) => c.id === id);
  const tests = input.results.tests;
  const ev = (t: TestRecord) => ({ test: t.id, evidence: `${dirOfTest?.(t.id) ?? dir}/report.html#${testAnchor(t.id)}` });
  const failedIn = (statuses: string[]) => tests.find((t) => statuses.includes(t.status) && t.checks.some((k) => !k.ok && k.clauses.includes(id)));
  if (!cov) return { v: 'untested', reason: 'not in this report' };
  switch (cov.status) {
    case 'covered-fail': {
      const t = failedIn(['fail', 'xpass']) ?? tests.find((x) => x.id === cov.tests[0]);
      const msg = t?.checks.find((k) => !k.ok && k.clauses.includes(id))?.message ?? t?.reason;
      return { v: 'fail', ...(t ? ev(t) : {}), reason: msg };
    }
    case 'xfail': {
      const t = failedIn(['xfail']);
      return { v: 'xfail', ...(t ? ev(t) : {}), reason: t?.expected?.reason };
    }
    case 'covered-pass': {
      const t = tests.find((x) => x.id === cov.tests[0]);
      return { v: 'pass', ...(t ? ev(t) : {}) };
    }
    case 'untestable':
      return { v: 'untestable', reason: cov.reason };
    default: {
      const declaring = tests.filter((t) => t.clauses.includes(id));
      const skipped = declaring.find((t) => t.status === 'skip');
      if (skipped) return { v: 'skip', skipKind: skipped.skipKind, ...ev(skipped), reason: skipped.reason };
      const broken = declaring.find((t) => t.status === 'error');
      if (broken) return { v: 'error', ...ev(broken), reason: broken.reason };
      // A test that ended (failed, or failed as expected) before checking this clause judged
      // nothing about it: untested, with that test as the evidence of why.
      const ended = declaring.find((t) => t.status !== 'skip');
      if (ended) return { v: 'untested', ...ev(ended), reason: `its test ended (${ended.status}) before checking it${ended.reason ? `: ${ended.reason}` : ''}` };
      return { v: 'untested', reason: cov.reason };
    }
  }
}

/** pass, or fail (an expected failure still fails the clause); anything else is no verdict to compare. */
const side = (v: VerdictKind): 'pass' | 'fail' | undefined => (v === 'pass' ? 'pass' : v === 'fail' || v === 'xfail' ? 'fail' : undefined);
const implKey = (c: CellSummary) => (c.implementation ? `${c.implementation.name}${c.implementation.flavor ? `:${c.implementation.flavor}` : ''}` : c.label.split('@')[0]!);

/** Clauses where cells that share `groupKey` differ in pass/fail, and the cells differ in `splitKey`. */
function disagreements(rows: readonly ClauseRow[], cells: readonly CellSummary[], groupKey: (c: CellSummary) => string, splitKey: (c: CellSummary) => string): Disagreement[] {
  const out: Disagreement[] = [];
  const groups = new Map<string, CellSummary[]>();
  for (const c of cells.filter((x) => x.status === 'ran')) groups.set(groupKey(c), [...(groups.get(groupKey(c)) ?? []), c]);
  for (const row of rows) {
    for (const [on, members] of groups) {
      const judged = members.map((c) => ({ c, s: side(row.verdicts[c.label]!.v) })).filter((x) => x.s);
      const passing = new Set(judged.filter((x) => x.s === 'pass').map((x) => splitKey(x.c)));
      const failing = new Set(judged.filter((x) => x.s === 'fail').map((x) => splitKey(x.c)));
      if ([...passing].some((a) => [...failing].some((b) => a !== b))) {
        out.push({ clause: row.id, on, verdicts: judged.map((x) => ({ label: x.c.label, v: row.verdicts[x.c.label]!.v })) });
      }
    }
  }
  return out;
}

const JUDGED: ReadonlySet<VerdictKind> = new Set(['pass', 'fail', 'xfail']);

export function diffBaseline(now: MatrixDocument, base: MatrixDocument): BaselineDiff {
  const baseRows = new Map(base.clauses.map((r) => [r.id, r]));
  const baseCells = new Map(base.cells.map((c) => [c.label, c]));
  const diff: BaselineDiff = {
    generatedAt: base.generatedAt,
    newFailures: [],
    cellsNotRunNow: [],
    coverageLost: [],
    mustCoverageDown: [],
    fixed: [],
    coverageGained: [],
    mustCoverageUp: [],
    newCells: now.cells.filter((c) => !baseCells.has(c.label)).map((c) => c.label),
    goneCells: base.cells.filter((c) => !now.cells.some((n) => n.label === c.label)).map((c) => c.label),
  };
  for (const cell of now.cells) {
    const before = baseCells.get(cell.label);
    if (!before) continue;
    if (before.status === 'ran' && cell.status !== 'ran') diff.cellsNotRunNow.push({ label: cell.label, reason: cell.reason });
    if (before.mustCoverage && cell.mustCoverage && before.mustCoverage.covered !== cell.mustCoverage.covered) {
      const entry = { label: cell.label, before: before.mustCoverage.covered, now: cell.mustCoverage.covered };
      (entry.now < entry.before ? diff.mustCoverageDown : diff.mustCoverageUp).push(entry);
    }
    if (cell.status !== 'ran' || before.status !== 'ran') continue;
    for (const row of now.clauses) {
      const v = row.verdicts[cell.label]!;
      const was = baseRows.get(row.id)?.verdicts[cell.label]?.v ?? 'absent';
      const change: Change = { clause: row.id, label: cell.label, before: was, now: v.v, ...(v.evidence ? { evidence: v.evidence } : {}) };
      if (v.v === 'fail' && was !== 'fail') diff.newFailures.push(change);
      else if (v.v === 'pass' && (was === 'fail' || was === 'xfail')) diff.fixed.push(change);
      else if (!JUDGED.has(v.v) && was !== 'absent' && JUDGED.has(was)) diff.coverageLost.push(change);
      else if (JUDGED.has(v.v) && !JUDGED.has(was as VerdictKind)) diff.coverageGained.push(change);
    }
  }
  return diff;
}

export function regressionCount(d: BaselineDiff): number {
  return d.newFailures.length + d.cellsNotRunNow.length + d.coverageLost.length + d.mustCoverageDown.length;
}

export function mergeReports(inputs: readonly ReportInput[], outDir: string, opts: { baseline?: MatrixDocument; now?: Date } = {}): MatrixDocument {
  const cells = inputs.map((i) => cellSummary(i, outDir));
  const dirsOfTests = inputs.map((i) => (i.testDirs ? (t: string) => href(outDir, i.testDirs!.get(t) ?? i.dir) : undefined));
  const rows: ClauseRow[] = [...CLAUSES.values()].map((c) => {
    const loc = specLocation(c);
    return {
      id: c.id,
      level: c.level,
      area: c.area,
      normative: c.normative,
      section: loc.label,
      group: loc.heading ? `${loc.file!.replace(/^spec\//, '')} § ${loc.heading}` : loc.file ? loc.file : `${c.source} § ${c.section}`,
      url: loc.url,
      text: c.text,
      specText: c.specText,
      verdicts: Object.fromEntries(inputs.map((i, k) => [i.label, verdictOf(c.id, i, cells[k]!.dir, dirsOfTests[k])])),
    };
  });
  const doc: MatrixDocument = {
    tool: 'appc-conformance',
    kind: 'matrix',
    version: 1,
    specVersion: SPEC_VERSION,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    cells,
    clauses: rows,
    disagreements: {
      implementations: disagreements(rows, cells, (c) => c.target, implKey),
      targets: disagreements(rows, cells, implKey, (c) => `${c.target}/${c.guest ?? ''}`),
    },
  };
  if (opts.baseline) doc.baseline = diffBaseline(doc, opts.baseline);
  return doc;
}
