// The suite's test catalog (collected without running anything) and the selection of what to run:
// file filters, a name pattern, clause globs and a level threshold.
import { join, relative } from 'node:path';
import { createVitest } from 'vitest/node';
import { CLAUSES, type Level } from '../spec/index.js';
import type { RunConfig, Selection } from './config.js';
import { HarnessError, UsageError } from './errors.js';
import { REPO_ROOT } from './paths.js';

export interface TestEntry {
  /** vitest's task ID, used to run exactly this test */
  vitestId: string;
  moduleId: string;
  /** our stable ID: "suites/file.test.ts > describe > test" */
  id: string;
  file: string;
  name: string;
  clauses: string[];
}

/** Collects every conformance test with its clauses; imports the suite files, runs nothing. */
export async function collectTests(config: RunConfig): Promise<TestEntry[]> {
  const vitest = await createVitest('test', {
    root: REPO_ROOT,
    config: join(REPO_ROOT, 'vitest.config.ts'),
    watch: false,
    provide: { config },
    reporters: [],
    // Collecting runs no test: the files may share one module cache (isolate: false), which spares
    // importing the harness once per file.
    isolate: false,
  });
  try {
    const { testModules, unhandledErrors } = await vitest.collect();
    const broken = testModules.filter((m) => m.errors().length > 0);
    if (broken.length > 0 || unhandledErrors.length > 0) {
      const first = broken[0];
      const what = first ? `${relative(REPO_ROOT, first.moduleId)}: ${first.errors()[0]?.message}` : String(unhandledErrors[0]);
      throw new HarnessError(`a suite file failed to load: ${what.split('\n')[0]}`);
    }
    const byPath = [...testModules].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    return byPath.flatMap((m) =>
      [...m.children.allTests()].map((t) => {
        const file = relative(REPO_ROOT, m.moduleId);
        return { vitestId: t.id, moduleId: m.moduleId, id: `${file} > ${t.fullName}`, file, name: t.fullName, clauses: t.meta().clauses ?? [] };
      }),
    );
  } finally {
    await vitest.close();
  }
}

/** Shell-style glob: * any run, ? one character, [..] a character class. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  try {
    return new RegExp(`^${body}$`);
  } catch {
    throw new UsageError(`--clause ${glob}: not a valid pattern`);
  }
}

const LEVELS_AT: Record<NonNullable<Selection['level']>, readonly Level[]> = {
  must: ['MUST', 'MUST NOT'],
  should: ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT'],
  may: ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY'],
};

export function selectTests(catalog: readonly TestEntry[], selection: Selection): TestEntry[] {
  const globs = selection.clauseGlobs.map((g) => {
    const re = globToRegExp(g);
    if (![...CLAUSES.keys()].some((id) => re.test(id))) throw new UsageError(`--clause ${g} matches no clause of the registry`);
    return re;
  });
  const name = selection.testNamePattern !== undefined ? new RegExp(selection.testNamePattern) : undefined;
  const levels = selection.level ? LEVELS_AT[selection.level] : undefined;
  const ids = selection.testIds ? new Set(selection.testIds) : undefined;
  return catalog.filter(
    (t) =>
      (!ids || ids.has(t.id)) &&
      (selection.fileFilters.length === 0 || selection.fileFilters.some((f) => t.file.includes(f))) &&
      (!name || name.test(t.name)) &&
      (globs.length === 0 || t.clauses.some((id) => globs.some((re) => re.test(id)))) &&
      (!levels || t.clauses.some((id) => levels.includes(CLAUSES.get(id)!.level))),
  );
}
