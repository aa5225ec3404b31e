// The inputs of a merge: report directories of `npm test` (results.json, clauses.json), each maybe
// with the matrix's cell.json; or a cell that did not run (cell.json alone). Anything else, or
// reports that cannot be compared (another spec version, a clause this registry does not know),
// is refused with one line.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { UsageError } from '../run/errors.js';
import type { ClauseCoverage } from '../report/coverage.js';
import type { ResultsDocument } from '../report/result.js';
import { CLAUSES, SPEC_VERSION } from '../spec/index.js';
import { schemaError } from './matrix-file.js';
import type { CellRecord } from './runner.js';

export interface ReportInput {
  dir: string;
  /** the column's name: the cell's label, else impl[:flavor]@target[/guest] from results.json */
  label: string;
  cell?: CellRecord;
  results?: ResultsDocument;
  clauses?: ClauseCoverage[];
  /** a cell joined from shards: the directory of each test's shard, and every shard's */
  testDirs?: Map<string, string>;
  shardDirs?: string[];
}

const STATUSES = ['pass', 'fail', 'skip', 'error', 'xfail', 'xpass', 'observed'];
const RESULTS_SCHEMA = {
  type: 'object',
  required: ['implementation', 'target', 'specVersion', 'counts', 'mustCoverage', 'profiles', 'tests', 'harnessErrors'],
  properties: {
    implementation: { type: 'object', required: ['name', 'version', 'details'], properties: { name: { type: 'string' }, version: { type: 'string' }, details: { type: 'object' } } },
    target: { type: 'string' },
    specVersion: { type: 'string' },
    counts: { type: 'object' },
    mustCoverage: { type: 'object', required: ['covered', 'testable'] },
    profiles: { type: 'array' },
    tests: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'status', 'clauses', 'checks'],
        properties: { id: { type: 'string' }, status: { enum: STATUSES }, clauses: { type: 'array', items: { type: 'string' } }, checks: { type: 'array' } },
      },
    },
    harnessErrors: { type: 'array' },
  },
};
const CLAUSES_SCHEMA = {
  type: 'object',
  required: ['specVersion', 'clauses'],
  properties: {
    specVersion: { type: 'string' },
    clauses: { type: 'array', items: { type: 'object', required: ['id', 'status', 'tests'], properties: { id: { type: 'string' }, status: { type: 'string' }, tests: { type: 'array' } } } },
  },
};
const CELL_SCHEMA = {
  type: 'object',
  required: ['tool', 'kind', 'label', 'impl', 'target', 'status'],
  properties: { tool: { const: 'appc-conformance' }, kind: { const: 'matrix-cell' }, label: { type: 'string' }, status: { enum: ['ran', 'not-run', 'error'] }, shard: { type: 'string', pattern: '^[1-9][0-9]*/[1-9][0-9]*$' } },
};
const ajv = new Ajv({ allErrors: false, strict: false });
const validResults = ajv.compile(RESULTS_SCHEMA);
const validClauses = ajv.compile(CLAUSES_SCHEMA);
const validCell = ajv.compile(CELL_SCHEMA);

export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

/** The column name a results.json stands for: "rkt:fly@host", "ref@qemu/lean". */
export function labelOf(doc: Pick<ResultsDocument, 'implementation' | 'target' | 'targetInfo'>): string {
  const flavor = doc.implementation.details?.flavor;
  const guest = doc.targetInfo?.guest;
  return `${doc.implementation.name}${flavor ? `:${flavor}` : ''}@${doc.target}${guest && guest !== 'user image' ? `/${guest}` : ''}`;
}

export function loadReportDir(dir: string): ReportInput {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such directory`);
  const cellPath = join(dir, 'cell.json');
  const resultsPath = join(dir, 'results.json');
  const clausesPath = join(dir, 'clauses.json');
  let cell: CellRecord | undefined;
  if (existsSync(cellPath)) {
    const data = readJson(cellPath);
    if (!validCell(data)) throw new UsageError(`${cellPath}: not a cell.json of appc-conformance's matrix (${schemaError(validCell.errors?.[0])})`);
    cell = data as unknown as CellRecord;
  }
  if (!existsSync(resultsPath)) {
    if (cell && cell.status !== 'ran') return { dir, label: cell.label, cell };
    throw new UsageError(`${dir}: not a report directory (no results.json)`);
  }
  const results = readJson(resultsPath);
  if (!validResults(results)) throw new UsageError(`${resultsPath}: not a results.json of appc-conformance (${schemaError(validResults.errors?.[0])})`);
  const doc = results as unknown as ResultsDocument;
  if (!existsSync(clausesPath)) throw new UsageError(`${dir}: results.json without clauses.json`);
  const cov = readJson(clausesPath);
  if (!validClauses(cov)) throw new UsageError(`${clausesPath}: not a clauses.json of appc-conformance (${schemaError(validClauses.errors?.[0])})`);
  const clauses = cov as unknown as { specVersion: string; clauses: ClauseCoverage[] };
  if (clauses.specVersion !== doc.specVersion) throw new UsageError(`${dir}: results.json is of spec ${doc.specVersion}, clauses.json of ${clauses.specVersion}`);
  return { dir, label: cell?.label ?? labelOf(doc), cell, results: doc, clauses: clauses.clauses };
}

/** Checks that inputs can share one grid: one spec version (this suite's), clauses this registry
 *  knows, and each column once. */
export function checkComparable(inputs: readonly ReportInput[]): void {
  const versions = inputs.filter((i) => i.results).map((i) => [i.dir, i.results!.specVersion] as const);
  const first = versions[0];
  for (const v of versions) {
    if (first && v[1] !== first[1]) throw new UsageError(`spec versions differ: ${first[0]} is of appc ${first[1]}, ${v[0]} of appc ${v[1]}`);
  }
  if (first && first[1] !== SPEC_VERSION) throw new UsageError(`${first[0]}: a report of appc ${first[1]}; this suite's registry is of appc ${SPEC_VERSION}`);
  for (const i of inputs) {
    const unknown = i.clauses?.find((c) => !CLAUSES.has(c.id));
    if (unknown) throw new UsageError(`${i.dir}/clauses.json: clause ${unknown.id} is not in this suite's registry (a report of another suite version?)`);
  }
  const seen = new Map<string, string>();
  for (const i of inputs) {
    const other = seen.get(i.label);
    if (other) throw new UsageError(`${other} and ${i.dir} are both cell ${i.label}`);
    seen.set(i.label, i.dir);
  }
}
