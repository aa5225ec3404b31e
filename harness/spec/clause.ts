// The clause registry: every normative statement of appc 0.8.11 with a stable ID and its RFC 2119
// level (data in clauses.json, paraphrased in our own words), plus the few functional requirements
// this suite adds where the spec is silent (marked normative: false).
import data from './clauses.json' with { type: 'json' };
import gaps from './gaps.json' with { type: 'json' };

export type Level = 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'MAY';
export const LEVELS: readonly Level[] = ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY'];
export type CheckMethod = 'a' | 'b' | 'c' | 'd';

export interface Clause {
  id: string;
  level: Level;
  /** spec area, e.g. "execution" */
  area: string;
  /** spec file, e.g. "ace.md" */
  source: string;
  section: string;
  /** the clause in the registry's words */
  text: string;
  /** the sentence of the spec at v0.8.11 (its Markdown, or the schema code's line) the clause
   *  comes from, verbatim; null for the suite's own clauses and for clauses not in that text */
  specText: string | null;
  /** a static, b probe inside the container, c harness outside, d not practical */
  check: CheckMethod[];
  how: string;
  /** false for the suite's own functional requirements (not spec text) */
  normative: boolean;
  /** the conformance profile an implementer opts into by supporting the feature */
  profile: Profile;
  /** why no test can fail on this clause, or null when it is testable */
  untestable: string | null;
}

export type Profile =
  | 'core-execution'
  | 'isolators'
  | 'networking-ports'
  | 'metadata-service'
  | 'image-format'
  | 'discovery-signatures';

interface RawClause {
  id: string;
  level: string;
  area: string;
  source: string;
  section: string;
  text: string;
  specText: string | null;
  check: string[];
  how: string;
  profile: string;
  untestable: string | null;
}

/** Where the spec is silent but a test suite must still say what it checks. */
const FUNCTIONAL: Clause[] = [
  {
    id: 'FN-EXIT-001',
    level: 'MUST',
    area: 'execution',
    source: 'suite',
    section: 'Exit status',
    text: "The executor reports an app's exit status as the exit code of the app's main process.",
    specText: null,
    check: ['c'],
    how: 'Probe exits with 0, 1, 42, 255; the adapter returns that code for the app.',
    normative: false,
    profile: 'core-execution',
    untestable: null,
  },
  {
    id: 'FN-EXIT-002',
    level: 'MUST',
    area: 'execution',
    source: 'suite',
    section: 'Exit status',
    text: 'In a pod of several apps, each app is reported with its own exit status.',
    specText: null,
    check: ['c'],
    how: 'Apps of one pod exit with different codes; each comes back with its own.',
    normative: false,
    profile: 'core-execution',
    untestable: null,
  },
];

function load(): Map<string, Clause> {
  const map = new Map<string, Clause>();
  for (const raw of (data as { clauses: RawClause[] }).clauses) {
    if (!LEVELS.includes(raw.level as Level)) throw new Error(`clause ${raw.id}: unknown level ${raw.level}`);
    map.set(raw.id, { ...raw, level: raw.level as Level, check: raw.check as CheckMethod[], profile: raw.profile as Profile, normative: true });
  }
  for (const c of FUNCTIONAL) map.set(c.id, c);
  return map;
}

export const SPEC_VERSION: string = (data as { specVersion: string }).specVersion;
export const CLAUSES: ReadonlyMap<string, Clause> = load();

export class UnknownClauseError extends Error {
  override name = 'UnknownClauseError';
}

export function clause(id: string): Clause {
  const c = CLAUSES.get(id);
  if (!c) throw new UnknownClauseError(`unknown clause ID ${JSON.stringify(id)} (see harness/spec/clauses.json)`);
  return c;
}

/** Why a testable clause has no test yet (harness/spec/gaps.json), by clause ID. */
export const KNOWN_GAPS: Readonly<Record<string, string>> = (() => {
  const out = (gaps as { gaps: Record<string, string> }).gaps;
  for (const id of Object.keys(out)) clause(id);
  return out;
})();
