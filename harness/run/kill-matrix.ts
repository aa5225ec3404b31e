// `npm run mutants`: runs the tests that check each ref mutant's clauses against that mutant and
// prints the kill matrix. A mutant is killed when checks of the clauses it breaks fail, and nothing
// else does; killed only by unrelated failures (a crash, another clause) it counts as survived by
// accident. Any mutant not killed makes the command exit 1. Writes mutants.json and mutants.md.
// By default only the tests of the broken clauses run (--clause); --full runs their whole suite
// files, which also catches collateral damage to other clauses. --sample runs one mutant per suite
// file (CI's fast subset, which still touches every area); the whole matrix takes ~7–8 min on 2 cores.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MUTANTS, type Mutant } from '../ref/mutants.js';
import type { ResultsDocument } from '../report/result.js';
import { REPO_ROOT } from './paths.js';

export type KillStatus = 'killed' | 'survived' | 'survived by accident' | 'harness error';

export interface KillResult {
  mutant: string;
  clauses: string[];
  suites: string[];
  status: KillStatus;
  /** tests whose checks of the broken clauses failed */
  killedBy: string[];
  /** failures that have nothing to do with the broken clauses */
  unrelated: string[];
  note?: string;
}

const MAIN = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');

/** The suite files that check any of these clauses. */
export function suitesChecking(clauseIds: readonly string[]): string[] {
  const dir = join(REPO_ROOT, 'suites');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => clauseIds.some((id) => readFileSync(join(dir, f), 'utf8').includes(`'${id}'`)))
    .sort()
    .map((f) => `suites/${f}`);
}

export function judge(mutant: Mutant, doc: ResultsDocument): Omit<KillResult, 'mutant' | 'clauses' | 'suites'> {
  if (doc.counts.error > 0 || doc.harnessErrors.length > 0) {
    return { status: 'harness error', killedBy: [], unrelated: [], note: doc.tests.find((t) => t.status === 'error')?.reason ?? doc.harnessErrors[0] };
  }
  const broken = new Set(mutant.clauses);
  const killedBy = doc.tests.filter((t) => t.checks.some((c) => !c.ok && c.clauses.some((id) => broken.has(id)))).map((t) => t.id);
  const unrelated = doc.tests
    .filter((t) => t.status === 'fail' && (t.checks.every((c) => c.ok) || t.checks.some((c) => !c.ok && !c.clauses.some((id) => broken.has(id)))))
    .map((t) => `${t.id}: ${t.reason ?? ''}`);
  if (killedBy.length === 0) return { status: unrelated.length > 0 ? 'survived by accident' : 'survived', killedBy, unrelated };
  return { status: unrelated.length > 0 ? 'survived by accident' : 'killed', killedBy, unrelated };
}

function runMutant(mutant: Mutant, reportRoot: string, full: boolean): Promise<KillResult> {
  const suites = suitesChecking(mutant.clauses);
  const base = { mutant: mutant.name, clauses: mutant.clauses, suites };
  if (suites.length === 0) return Promise.resolve({ ...base, status: 'survived', killedBy: [], unrelated: [], note: 'no suite checks its clauses' });
  const reportDir = join(reportRoot, mutant.name);
  return new Promise((resolve) => {
    const selection = full ? suites : [...suites, ...mutant.clauses.flatMap((id) => ['--clause', id])];
    // Several mutant runs go side by side already: each keeps to two pods at once.
    execFile(process.execPath, [MAIN, '--mutant', mutant.name, '--report-dir', reportDir, '--jobs', '2', ...selection], { cwd: REPO_ROOT, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      let doc: ResultsDocument;
      try {
        doc = JSON.parse(readFileSync(join(reportDir, 'results.json'), 'utf8')) as ResultsDocument;
      } catch {
        resolve({ ...base, status: 'harness error', killedBy: [], unrelated: [], note: `no results (${err?.message.split('\n')[0]}): ${stderr.trim().split('\n').at(-1) ?? ''}` });
        return;
      }
      resolve({ ...base, ...judge(mutant, doc) });
    });
  });
}

/** Runs the mutants, a few at a time, in table order. */
export async function killMatrix(mutants: readonly Mutant[], reportRoot: string, options: { full?: boolean; concurrency?: number } = {}): Promise<KillResult[]> {
  const concurrency = options.concurrency ?? 3;
  const results: KillResult[] = new Array(mutants.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < mutants.length; i = next++) results[i] = await runMutant(mutants[i]!, reportRoot, options.full ?? false);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, mutants.length) }, worker));
  return results;
}

/** One mutant per suite file, the first in table order that a suite's checks should kill. */
export function sampleMutants(mutants: readonly Mutant[]): Mutant[] {
  const covered = new Set<string>();
  return mutants.filter((m) => {
    const suites = suitesChecking(m.clauses);
    if (suites.every((s) => covered.has(s))) return false;
    suites.forEach((s) => covered.add(s));
    return true;
  });
}

export function renderMatrix(results: readonly KillResult[]): string {
  const lines = ['| mutant | breaks | result | killed by | suites |', '|---|---|---|---|---|'];
  for (const r of results) {
    const by = r.status === 'killed' ? `${r.killedBy.length} test(s): ${r.killedBy.map((t) => t.split(' > ').at(-1)).join('; ')}` : [...r.unrelated, r.note ?? ''].filter(Boolean).join('; ');
    lines.push(`| ${r.mutant} | ${r.clauses.join(', ')} | ${r.status} | ${by.replace(/\|/g, '\\|')} | ${r.suites.map((s) => s.replace(/^suites\//, '')).join(', ')} |`);
  }
  const killed = results.filter((r) => r.status === 'killed').length;
  lines.push('', `${killed} of ${results.length} mutants killed`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'report-dir': { type: 'string' },
        only: { type: 'string', multiple: true },
        full: { type: 'boolean' },
        sample: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`mutants: ${(err as Error).message.split('\n')[0]}`);
    return 2;
  }
  const only = values.only ?? [];
  const unknown = only.filter((n) => !MUTANTS.some((m) => m.name === n));
  if (unknown.length > 0) {
    console.error(`mutants: unknown mutant ${unknown.join(', ')} (known: ${MUTANTS.map((m) => m.name).join(', ')})`);
    return 2;
  }
  const reportDir = values['report-dir'] ?? join(REPO_ROOT, 'reports');
  const chosen = only.length > 0 ? MUTANTS.filter((m) => only.includes(m.name)) : MUTANTS;
  const mutants = values.sample ? sampleMutants(chosen) : chosen;
  const started = performance.now();
  const results = await killMatrix(mutants, join(reportDir, 'mutants'), { full: values.full ?? false });
  const table = renderMatrix(results);
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(join(reportDir, 'mutants.json'), JSON.stringify(results, null, 2) + '\n');
  const mode = `${values.full ? 'whole suite files (--full)' : 'the tests of the broken clauses'}${values.sample ? ', one mutant per suite file (--sample)' : ''}`;
  writeFileSync(join(reportDir, 'mutants.md'), `# Kill matrix of ref's mutants\n\nEach mutant ran against ${mode}.\n\n${table}\n`);
  console.log(table);
  console.log(`(${((performance.now() - started) / 1000).toFixed(0)}s; ${join(reportDir, 'mutants.md')})`);
  return results.every((r) => r.status === 'killed') ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main());
