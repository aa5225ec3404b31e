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
    /** set for a peer suite's tests (peerClauses()): whose checks they are */
    peer?: string;
    /** what the implementation did where the spec is silent (recorded, not judged) */
    observations?: Observation[];
    /** the pod runs whose evidence the test used (evidence.ts), for its artifact folder */
    podRuns?: string[];
  }
}
