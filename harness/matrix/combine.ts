// A cell run in shards (several jobs, each a part of the suite files) is one column of the
// matrix: its shards' tests together, clause coverage and profile verdicts computed again over
// all of them, each test's evidence in its own shard's report.
import { UsageError } from '../run/errors.js';
import { mustCoverage, profileVerdicts, type ClauseCoverage } from '../report/coverage.js';
import { countResults, type ResultsDocument } from '../report/result.js';
import type { ReportInput } from './inputs.js';

/** Which shard's status of a clause wins: a failure anywhere, then an expected failure, then a pass. */
const RANK: Record<ClauseCoverage['status'], number> = { 'covered-fail': 4, xfail: 3, 'covered-pass': 2, untestable: 1, untested: 0 };

export function combineShards(shards: readonly ReportInput[]): ReportInput {
  const label = shards[0]!.label;
  const counts = new Set(shards.map((s) => s.cell!.shard!.split('/')[1]));
  if (counts.size !== 1) throw new UsageError(`the shards of cell ${label} disagree on how many there are (${[...counts].join(', ')})`);
  const n = Number([...counts][0]);
  const seen = new Map<number, ReportInput>();
  for (const s of shards) {
    const i = Number(s.cell!.shard!.split('/')[0]);
    if (seen.has(i)) throw new UsageError(`${seen.get(i)!.dir} and ${s.dir} are both shard ${i}/${n} of cell ${label}`);
    seen.set(i, s);
  }
  const problems: string[] = [];
  for (let i = 1; i <= n; i++) {
    const s = seen.get(i);
    if (!s) problems.push(`shard ${i}/${n} missing`);
    else if (!s.results) problems.push(`shard ${i}/${n} ${s.cell!.status === 'error' ? 'broke' : 'not run'}: ${s.cell!.reason ?? ''}`);
  }
  const ran = [...seen.entries()].sort(([a], [b]) => a - b).map(([, s]) => s).filter((s) => s.results && s.clauses);
  const first = shards[0]!;
  if (ran.length === 0) return { dir: first.dir, label, cell: { ...first.cell!, shard: undefined, reason: problems.join('; ') } };

  const tests = ran.flatMap((s) => s.results!.tests);
  const testDirs = new Map(ran.flatMap((s) => s.results!.tests.map((t) => [t.id, s.dir] as const)));
  const byId = new Map<string, ClauseCoverage>();
  for (const s of ran) {
    for (const c of s.clauses!) {
      const have = byId.get(c.id);
      if (!have) byId.set(c.id, { ...c, tests: [...c.tests] });
      else {
        const tests = [...new Set([...have.tests, ...c.tests])];
        const better = RANK[c.status] > RANK[have.status];
        const winner = better ? c : have;
        // Of untested reasons, the one that says why beats "not selected" (it is in another shard).
        const reason = winner.status === 'untested' && /not selected/.test(winner.reason ?? '') && c.reason && !/not selected/.test(c.reason) ? c.reason : winner.reason;
        byId.set(c.id, { ...winner, tests, ...(reason !== undefined ? { reason } : {}) });
      }
    }
  }
  const coverage = [...byId.values()];
  const base = ran[0]!.results!;
  const results: ResultsDocument = {
    ...base,
    startedAt: ran.map((s) => s.results!.startedAt).sort()[0]!,
    durationMs: ran.reduce((sum, s) => sum + s.results!.durationMs, 0),
    tests,
    counts: countResults(tests),
    mustCoverage: mustCoverage(coverage),
    profiles: profileVerdicts(coverage),
    harnessErrors: ran.flatMap((s) => s.results!.harnessErrors),
    peerChecks: ran.flatMap((s) => s.results!.peerChecks ?? []),
  };
  return {
    dir: ran[0]!.dir,
    label,
    cell: { ...ran[0]!.cell!, shard: undefined, status: 'ran', ...(problems.length ? { reason: problems.join('; ') } : { reason: undefined }) },
    results,
    clauses: coverage,
    testDirs,
    shardDirs: ran.map((s) => s.dir),
  };
}

/** Inputs with a cell's shards joined into one. */
export function joinShards(inputs: readonly ReportInput[]): ReportInput[] {
  const out: ReportInput[] = [];
  const groups = new Map<string, ReportInput[]>();
  for (const i of inputs) {
    if (!i.cell?.shard) {
      out.push(i);
      continue;
    }
    if (!groups.has(i.label)) {
      groups.set(i.label, []);
      out.push(i); // placeholder keeps the column where the first shard was
    }
    groups.get(i.label)!.push(i);
  }
  return out.map((i) => (i.cell?.shard ? combineShards(groups.get(i.label)!) : i));
}
