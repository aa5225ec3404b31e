// The order test files start in. Vitest starts the longest first when its cache (node_modules/.vite)
// knows their durations; on a fresh clone it knows none and starts the largest files first, which left
// the long ones to the end: a full ref run took 41 s instead of 36 s (docs/speed.md). Without the
// cache, the measured order below stands in.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Suite files, slowest first, from a full ref/host run at four jobs (2026-12-06; the time each
 *  file took, waits for pod slots included). Files not listed start first, as vitest runs unknown
 *  files first. */
export const SLOWEST_FIRST: readonly string[] = [
  'suites/ace-isolators.test.ts', // 27.6 s
  'suites/image-discovery.test.ts', // 21.3 s
  'suites/image-manifest.test.ts', // 15.2 s
  'suites/pod-volumes.test.ts', // 13.1 s
  'suites/pod-manifest-schema.test.ts', // 11.6 s
  'suites/image-archive.test.ts', // 8.7 s
  'suites/pod-ports.test.ts', // 4.8 s
  'suites/image-dependencies.test.ts', // 4.5 s
  'suites/pod-isolation.test.ts', // 4.4 s
  'suites/ace-execution-environment.test.ts', // 3.6 s
  'suites/observations.test.ts', // 3.4 s
  'suites/ace-filesystem.test.ts', // 2.9 s
  'suites/ace-validator.test.ts', // 2.4 s
  'suites/metadata-service.test.ts', // 2.3 s
  'suites/ace-exit-status.test.ts', // 2.1 s
  'suites/ace-linux-environment.test.ts', // 1.2 s
  'suites/pod-socket-activation.test.ts', // 1.0 s
  'suites/pod-manifest.test.ts', // 0.9 s
  'suites/ace-lifecycle.test.ts', // 0.9 s
  'suites/reported-manifests.test.ts', // 0.7 s
];

/** Repository-relative paths in the order above, unknown ones first (in the order given). */
export function slowestFirst(files: readonly string[]): string[] {
  const rank = (f: string) => SLOWEST_FIRST.indexOf(f);
  return [...files].sort((a, b) => rank(a) - rank(b));
}

/** Vitest's own order when its cache knows every file (it measured them on this machine, for this
 *  implementation); else the measured order. */
export class SuiteSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const key = (f: TestSpecification) => `${f.project.name}:${relative(root, f.moduleId)}`;
    if (files.every((f) => this.ctx.cache.getFileTestResults(key(f)))) return super.sort(files);
    const byPath = new Map(files.map((f) => [relative(root, f.moduleId), f]));
    return slowestFirst([...byPath.keys()]).map((p) => byPath.get(p)!);
  }
}
