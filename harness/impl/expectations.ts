// Expectation files: per implementation (and flavor), which tests or clauses are known to fail or
// must be skipped, each with a reason. A failure they predict is an xfail; a pass they did not
// predict... is fine, but a pass where they predicted a failure is an xpass and fails the run, so
// stale entries get pruned.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { CLAUSES } from '../spec/index.js';
import { UsageError } from '../run/errors.js';
import { REPO_ROOT } from '../run/paths.js';
import { TARGET_KINDS, type TargetKind } from '../target/target.js';

export interface Expectation {
  /** a test ID ("suites/file.test.ts > describe > test") … */
  test?: string;
  /** … or a clause ID: every check of that clause */
  clause?: string;
  expect: 'fail' | 'skip';
  /** what was observed, or why the test cannot run */
  reason: string;
  link?: string;
  /** the targets it was observed on (host, qemu); absent: every target */
  targets?: TargetKind[];
}

export interface ExpectationFile {
  implementation: string;
  flavor?: string;
  entries: Expectation[];
}

const schema = {
  type: 'object',
  required: ['implementation', 'entries'],
  additionalProperties: false,
  properties: {
    implementation: { type: 'string', minLength: 1 },
    flavor: { type: 'string', minLength: 1 },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['expect', 'reason'],
        additionalProperties: false,
        oneOf: [{ required: ['test'] }, { required: ['clause'] }],
        properties: {
          test: { type: 'string', minLength: 1 },
          clause: { type: 'string', minLength: 1 },
          expect: { enum: ['fail', 'skip'] },
          reason: { type: 'string', minLength: 10 },
          link: { type: 'string', pattern: '^https?://' },
          targets: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...TARGET_KINDS] } },
        },
      },
    },
  },
};
const validate = new Ajv({ allErrors: false, strict: true, strictRequired: false }).compile<ExpectationFile>(schema);

export const EXPECTATIONS_DIR = join(REPO_ROOT, 'harness', 'impl', 'expectations');

/** The default file of an implementation: expectations/<impl>[.<flavor>].json, if there is one. */
export function defaultExpectationsPath(impl: string, flavor?: string): string | undefined {
  const path = join(EXPECTATIONS_DIR, `${impl}${flavor ? `.${flavor}` : ''}.json`);
  return existsSync(path) ? path : undefined;
}

/** Reads and checks a file. `knownTests` are the IDs of all tests of the suite (without them, test IDs are not checked). */
export function loadExpectations(path: string, knownTests?: ReadonlySet<string>): ExpectationFile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`expectation file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    throw new UsageError(`expectation file ${path}: ${e?.instancePath || '/'} ${e?.message ?? 'invalid'}`);
  }
  doc.entries.forEach((entry, i) => {
    if (entry.clause !== undefined && !CLAUSES.has(entry.clause)) {
      throw new UsageError(`expectation file ${path}: /entries/${i}: unknown clause ${JSON.stringify(entry.clause)}`);
    }
    if (entry.test !== undefined && knownTests && !knownTests.has(entry.test)) {
      throw new UsageError(`expectation file ${path}: /entries/${i}: no test ${JSON.stringify(entry.test)}`);
    }
  });
  return doc;
}

/** The entries that apply on `target` (an entry without targets applies everywhere). */
export function entriesFor(file: ExpectationFile, target: TargetKind): Expectation[] {
  return file.entries.filter((e) => !e.targets || e.targets.includes(target));
}

export class Expectations {
  constructor(readonly entries: readonly Expectation[] = []) {}

  /** The skip entry that applies to a test, if any. */
  skipOf(testId: string, clauses: readonly string[]): Expectation | undefined {
    return this.entries.find((e) => e.expect === 'skip' && (e.test === testId || (e.clause !== undefined && clauses.includes(e.clause))));
  }

  /** The fail entry naming this test. */
  testFailure(testId: string): Expectation | undefined {
    return this.entries.find((e) => e.expect === 'fail' && e.test === testId);
  }

  /** The fail entry naming this clause. */
  clauseFailure(clauseId: string): Expectation | undefined {
    return this.entries.find((e) => e.expect === 'fail' && e.clause === clauseId);
  }
}
