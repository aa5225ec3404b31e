// Assertions that carry clauses: a check names the clause(s) it proves and is recorded in the
// test's meta when it runs, so coverage counts only assertions that ran.
import type { TaskMeta } from 'vitest';
import { clause } from '../spec/index.js';

export interface CheckRecord {
  clauses: string[];
  ok: boolean;
  message?: string;
}

export type Check = (clauseIds: string | string[], assertion: () => void) => void;

/** One thing an implementation did where the spec says nothing: recorded in the report, never judged. */
export interface Observation {
  topic: string;
  value: string;
}

export type Observe = (topic: string, value: unknown) => void;

export function makeObserve(meta: TaskMeta): Observe {
  return (topic, value) => {
    (meta.observations ??= []).push({ topic, value: typeof value === 'string' ? value : JSON.stringify(value) });
  };
}

/** Test options that declare the clauses a test checks; unknown IDs fail at collection. */
export function clauses(...ids: string[]): { meta: TaskMeta } {
  if (ids.length === 0) throw new Error('clauses(): name at least one clause');
  for (const id of ids) clause(id);
  return { meta: { clauses: ids } };
}

/** Like clauses(), for a peer suite: the checks of another party (e.g. the spec's own ACE
 *  validator) run through our harness. The report keeps their verdicts apart from our own suites'
 *  to compare them (the "peer check"). */
export function peerClauses(peer: string, ...ids: string[]): { meta: TaskMeta } {
  const { meta } = clauses(...ids);
  return { meta: { ...meta, peer } };
}

export function makeCheck(meta: TaskMeta): Check {
  return (clauseIds, assertion) => {
    const ids = typeof clauseIds === 'string' ? [clauseIds] : clauseIds;
    for (const id of ids) {
      clause(id);
      if (!meta.clauses?.includes(id)) throw new Error(`check on ${id}, which the test does not declare in clauses()`);
    }
    const record: CheckRecord = { clauses: ids, ok: true };
    (meta.checks ??= []).push(record);
    try {
      assertion();
    } catch (err) {
      record.ok = false;
      record.message = (err as Error).message.split('\n')[0];
      throw err;
    }
  };
}
