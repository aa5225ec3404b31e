// `node dist/harness/report/compare-verdicts.js A/results.json B/results.json`: are two runs'
// verdicts the same, test by test? CI uses it to show that the generic adapter driving ref's CLI
// judges exactly as the ref adapter does, and that a VM target judges as the host does. With
// --subset, only the tests B ran are compared (B ran a selection of A's tests: CI's smoke run in a
// VM). One line per difference; a test only the second run's machine could observe (a `host` skip in
// the first) is listed apart and is no difference. Exit 0 same, 1 different, 2 bad input.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ResultsDocument, TestRecord } from './result.js';

type Verdicts = Pick<ResultsDocument, 'tests' | 'harnessErrors'>;

/** A test's verdict: its status, and for a skip why (unsupported and host skips are different verdicts). */
function verdict(t: Pick<TestRecord, 'status' | 'skipKind'>): string {
  return t.status === 'skip' && t.skipKind ? `skip (${t.skipKind})` : t.status;
}

/**
 * A test the first run had to skip because its machine could not give the evidence (a `host` skip:
 * AppArmor off on the host, say) and the second ran (a guest that has it) is no disagreement: the
 * second machine saw more. The opposite (the second could not observe what the first did) is one.
 */
function observedOnlyBySecond(x: TestRecord, y: TestRecord): boolean {
  return x.status === 'skip' && x.skipKind === 'host' && y.status !== 'skip';
}

/** The tests only the second run could observe (see observedOnlyBySecond), one line each. */
export function seenOnlyBySecond(a: Verdicts, b: Verdicts, names: [string, string] = ['A', 'B']): string[] {
  const tb = new Map(b.tests.map((t) => [t.id, t]));
  return a.tests.flatMap((x) => {
    const y = tb.get(x.id);
    return y && observedOnlyBySecond(x, y) ? [`${x.id}: ${names[0]} ${verdict(x)}, ${names[1]} ${verdict(y)} (observed only by ${names[1]})`] : [];
  });
}

export function compareVerdicts(a: Verdicts, b: Verdicts, names: [string, string] = ['A', 'B'], subset = false): string[] {
  const [na, nb] = names;
  const byId = (doc: Verdicts) => new Map(doc.tests.map((t) => [t.id, t]));
  const tb0 = byId(b);
  const ta = new Map([...byId(a)].filter(([id]) => !subset || tb0.has(id)));
  const tb = byId(b);
  const diffs: string[] = [];
  for (const [id, x] of ta) {
    const y = tb.get(id);
    const vx = verdict(x);
    const vy = y ? verdict(y) : 'absent';
    if (vx !== vy && !(y && observedOnlyBySecond(x, y))) diffs.push(`${id}: ${na} ${vx}, ${nb} ${vy}`);
  }
  for (const [id, y] of tb) if (!ta.has(id)) diffs.push(`${id}: ${na} absent, ${nb} ${verdict(y)}`);
  const ha = a.harnessErrors?.length ?? 0;
  const hb = b.harnessErrors?.length ?? 0;
  if (ha !== hb) diffs.push(`run-level harness errors: ${na} ${ha}, ${nb} ${hb}`);
  return diffs;
}

function load(path: string): Verdicts {
  let doc: Partial<Verdicts>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<Verdicts>;
  } catch (err) {
    throw new Error(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc.tests)) throw new Error(`${path}: not a results.json (no tests list)`);
  return { tests: doc.tests, harnessErrors: doc.harnessErrors ?? [] };
}

export function main(args: readonly string[]): number {
  const subset = args.includes('--subset');
  const argv = args.filter((a) => a !== '--subset');
  if (argv.length !== 2) {
    console.error('usage: compare-verdicts.js [--subset] A/results.json B/results.json');
    return 2;
  }
  const [pa, pb] = argv as [string, string];
  let a: Verdicts, b: Verdicts;
  try {
    a = load(pa);
    b = load(pb);
  } catch (err) {
    console.error(`compare-verdicts: ${(err as Error).message}`);
    return 2;
  }
  if (subset && b.tests.length === 0) {
    console.error(`compare-verdicts: ${pb} ran no test`);
    return 1;
  }
  const diffs = compareVerdicts(a, b, [pa, pb], subset);
  for (const d of diffs) console.log(d);
  for (const n of seenOnlyBySecond(a, b, [pa, pb])) console.log(`not a difference: ${n}`);
  console.log(diffs.length === 0 ? `same verdicts: ${subset ? b.tests.length : a.tests.length} tests` : `${diffs.length} difference(s) in verdicts`);
  return diffs.length === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
