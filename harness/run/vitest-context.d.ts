import type { RunConfig } from './config.js';
import type { CheckRecord, Observation } from './check.js';

declare module 'vitest' {
  interface ProvidedContext {
    config: RunConfig;
  }
  interface TaskMeta {
    /** clause IDs the test checks (declared with clauses()) */
    clauses?: string[];
    /** checks that actually ran, in order */
    checks?: CheckRecord[];
    /** what the implementation did where the spec is silent (recorded, not judged) */
    observations?: Observation[];
  }
}
