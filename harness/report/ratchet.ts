// `node dist/harness/report/ratchet.js RESULTS BASELINE`: fails when a run's MUST coverage (testable
// MUST / MUST NOT clauses that passed) drops below the committed baseline. CI runs it after the
// ref run so that coverage can only grow.
import { readFileSync } from 'node:fs';
import type { ResultsDocument } from './result.js';

interface Baseline {
  /** testable normative MUST / MUST NOT clauses a clean ref run passes */
  mustCovered: number;
}

export function ratchet(results: Pick<ResultsDocument, 'mustCoverage'>, baseline: Baseline): { ok: boolean; message: string } {
  const { covered, testable } = results.mustCoverage;
  if (covered < baseline.mustCovered) {
    return { ok: false, message: `MUST coverage dropped: ${covered} of ${testable} clauses passed, the baseline is ${baseline.mustCovered}` };
  }
  const raise = covered > baseline.mustCovered ? ` (above the baseline ${baseline.mustCovered}: raise it in the baseline file)` : '';
  return { ok: true, message: `MUST coverage ${covered} of ${testable} clauses, baseline ${baseline.mustCovered}${raise}` };
}

function main(argv: string[]): number {
  const [resultsPath, baselinePath] = argv;
  if (!resultsPath || !baselinePath) {
    console.error('usage: ratchet.js RESULTS.json BASELINE.json');
    return 2;
  }
  try {
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as ResultsDocument;
    const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Baseline;
    if (!Number.isInteger(baseline.mustCovered)) throw new Error(`${baselinePath}: mustCovered must be an integer`);
    const { ok, message } = ratchet(results, baseline);
    console.log(`coverage ratchet: ${message}`);
    return ok ? 0 : 1;
  } catch (err) {
    console.error(`coverage ratchet: ${(err as Error).message.split('\n')[0]}`);
    return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
