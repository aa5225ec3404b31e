// Per-clause coverage of one run and the verdict per conformance profile. A clause is covered only
// by checks that ran in a test that ended as pass, fail, xfail or xpass; a skipped test, or one
// the harness broke, covers nothing.
import { CLAUSES, KNOWN_GAPS, type Clause, type Level, type Profile } from '../spec/index.js';
import type { TestRecord } from './result.js';

export type ClauseStatus = 'covered-pass' | 'covered-fail' | 'xfail' | 'untested' | 'untestable';

export interface ClauseCoverage {
  id: string;
  level: Level;
  area: string;
  profile: Profile;
  normative: boolean;
  status: ClauseStatus;
  /** tests whose checks of this clause ran */
  tests: string[];
  /** for untested and untestable clauses: why */
  reason?: string;
}

export type Verdict = 'conformant' | 'not conformant' | 'incomplete';

export interface ProfileVerdict {
  profile: Profile;
  verdict: Verdict;
  /** normative MUST / MUST NOT clauses of the profile that a test can check */
  required: number;
  passed: number;
  failed: number;
  untested: number;
  /** the profile's testable normative SHOULD / SHOULD NOT clauses: reported beside the verdict,
   *  never part of it (a recommendation not followed is visible, not a conformance failure); absent in
   *  reports written before it existed */
  recommended?: LevelFigures;
}

/** How the testable clauses of one group fared. */
export interface LevelFigures {
  testable: number;
  passed: number;
  failed: number;
  untested: number;
}

/** A test known to the suite (from collection), whether or not it ran. */
export interface CatalogEntry {
  id: string;
  clauses: string[];
}

const COUNTED: ReadonlySet<TestRecord['status']> = new Set(['pass', 'fail', 'xfail', 'xpass']);
export const REQUIRED_LEVELS: ReadonlySet<Level> = new Set(['MUST', 'MUST NOT']);
/** Recommendations: reported on their own, never part of a profile verdict. */
export const RECOMMENDED_LEVELS: ReadonlySet<Level> = new Set(['SHOULD', 'SHOULD NOT']);

/** The level a failed test's failure counts at: `MUST` when any failed check names a MUST / MUST NOT
 *  clause (or a clause the registry does not know), else `SHOULD` (only recommendations failed). A
 *  test that failed outside any check is judged by the clauses it declares. */
export function failureLevel(checks: readonly { clauses: readonly string[]; ok: boolean }[], declared: readonly string[] = []): 'MUST' | 'SHOULD' | undefined {
  const fromChecks = checks.filter((c) => !c.ok).flatMap((c) => c.clauses);
  const failed = fromChecks.length > 0 ? fromChecks : declared;
  if (failed.length === 0) return undefined;
  return failed.every((id) => {
    const level = CLAUSES.get(id)?.level;
    return level !== undefined && !REQUIRED_LEVELS.has(level);
  })
    ? 'SHOULD'
    : 'MUST';
}

/** Figures for the testable normative clauses of some levels (e.g. the SHOULDs of a profile). */
export function levelFigures(coverage: readonly ClauseCoverage[], levels: ReadonlySet<Level>, profile?: Profile): LevelFigures {
  const list = coverage.filter((c) => c.normative && levels.has(c.level) && c.status !== 'untestable' && (profile === undefined || c.profile === profile));
  const n = (...s: ClauseStatus[]) => list.filter((c) => s.includes(c.status)).length;
  return { testable: list.length, passed: n('covered-pass'), failed: n('covered-fail', 'xfail'), untested: n('untested') };
}

function untestedReason(clause: Clause, declaring: CatalogEntry[], records: Map<string, TestRecord>): string {
  if (declaring.length === 0) return KNOWN_GAPS[clause.id] ?? 'no test checks it yet';
  const why = declaring.map((t) => {
    const r = records.get(t.id);
    if (!r) return 'not selected in this run';
    if (r.status === 'skip') return `skipped (${r.skipKind}): ${r.reason}`;
    if (r.status === 'error') return `harness error: ${r.reason}`;
    return 'its test ended before checking it';
  });
  return [...new Set(why)].join('; ');
}

export function computeCoverage(records: readonly TestRecord[], catalog: readonly CatalogEntry[]): ClauseCoverage[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const out: ClauseCoverage[] = [];
  for (const clause of CLAUSES.values()) {
    const tests = new Set<string>();
    let failed = false;
    let xfailed = false;
    let passed = false;
    for (const r of records) {
      if (!COUNTED.has(r.status)) continue;
      for (const check of r.checks) {
        if (!check.clauses.includes(clause.id)) continue;
        tests.add(r.id);
        if (check.ok) passed = true;
        else if (r.status === 'xfail') xfailed = true;
        else failed = true;
      }
    }
    const base = { id: clause.id, level: clause.level, area: clause.area, profile: clause.profile, normative: clause.normative, tests: [...tests] };
    if (failed) out.push({ ...base, status: 'covered-fail' });
    else if (xfailed) out.push({ ...base, status: 'xfail' });
    else if (passed) out.push({ ...base, status: 'covered-pass' });
    else if (clause.untestable) out.push({ ...base, status: 'untestable', reason: clause.untestable });
    else {
      const declaring = catalog.filter((t) => t.clauses.includes(clause.id));
      out.push({ ...base, status: 'untested', reason: untestedReason(clause, declaring, byId) });
    }
  }
  return out;
}

const PROFILES: readonly Profile[] = [
  'core-execution',
  'isolators',
  'networking-ports',
  'metadata-service',
  'image-format',
  'discovery-signatures',
];

/** A profile is conformant only when every testable normative MUST/MUST NOT clause in it passed:
 *  a failure (expected or not) makes it not conformant, anything untested keeps it incomplete.
 *  SHOULD / SHOULD NOT clauses never change the verdict: their figures ride along as `recommended`. */
export function profileVerdicts(coverage: readonly ClauseCoverage[]): ProfileVerdict[] {
  return PROFILES.map((profile) => {
    const required = coverage.filter((c) => c.profile === profile && c.normative && REQUIRED_LEVELS.has(c.level) && c.status !== 'untestable');
    const n = (...s: ClauseStatus[]) => required.filter((c) => s.includes(c.status)).length;
    const failed = n('covered-fail', 'xfail');
    const untested = n('untested');
    const verdict: Verdict = failed > 0 ? 'not conformant' : untested > 0 ? 'incomplete' : 'conformant';
    return { profile, verdict, required: required.length, passed: n('covered-pass'), failed, untested, recommended: levelFigures(coverage, RECOMMENDED_LEVELS, profile) };
  });
}

/** How many testable normative MUST/MUST NOT clauses passed, of how many (the ratchet's figure). */
export function mustCoverage(coverage: readonly ClauseCoverage[]): { covered: number; testable: number } {
  const testable = coverage.filter((c) => c.normative && REQUIRED_LEVELS.has(c.level) && c.status !== 'untestable');
  return { covered: testable.filter((c) => c.status === 'covered-pass').length, testable: testable.length };
}
