// The CLI's exit codes (README § exit codes).
import type { ResultsDocument } from '../report/result.js';
import type { Selection } from './config.js';

export const EXIT = { ok: 0, failures: 1, usage: 2, harness: 3 } as const;

/**
 * Exit code of a run without harness errors: 1 on a failure or an unexpected pass. Under `--level
 * must` a test that failed only on SHOULD / SHOULD NOT checks (one that also checks a MUST clause)
 * is reported but does not fail the run: the implementer asked to be held to the MUSTs alone.
 */
export function failureExit(doc: Pick<ResultsDocument, 'tests' | 'counts'>, level: Selection['level']): number {
  const failures = doc.tests.filter((t) => t.status === 'fail' && !(level === 'must' && t.failedLevel === 'SHOULD')).length;
  return failures + doc.counts.xpass > 0 ? EXIT.failures : EXIT.ok;
}
