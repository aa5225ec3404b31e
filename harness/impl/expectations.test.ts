import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../run/errors.js';
import { entriesFor, loadExpectations } from './expectations.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appc-expectations-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const known = new Set(['suites/a.test.ts > x > y']);
async function load(content: string) {
  const path = join(dir, `${Math.random()}.json`);
  await writeFile(path, content);
  return () => loadExpectations(path, known);
}

describe('expectation files', () => {
  test('accepts entries by test and by clause', async () => {
    const doc = (
      await load(
        JSON.stringify({
          implementation: 'rkt',
          flavor: 'fly',
          entries: [
            { test: 'suites/a.test.ts > x > y', expect: 'fail', reason: 'observed: PATH unset in fly', link: 'https://github.com/rkt/rkt/issues/1' },
            { clause: 'ACE-ENV-003', expect: 'skip', reason: 'fly has no metadata service' },
          ],
        }),
      )
    )();
    expect(doc.entries).toHaveLength(2);
  });

  test('an entry with targets applies on those targets only', async () => {
    const doc = (
      await load(
        JSON.stringify({
          implementation: 'rkt',
          entries: [
            { clause: 'ACE-ENV-001', expect: 'fail', reason: 'observed on the host only', targets: ['host'] },
            { clause: 'ACE-ENV-002', expect: 'fail', reason: 'observed everywhere so far' },
          ],
        }),
      )
    )();
    expect(entriesFor(doc, 'host').map((e) => e.clause)).toEqual(['ACE-ENV-001', 'ACE-ENV-002']);
    expect(entriesFor(doc, 'qemu').map((e) => e.clause)).toEqual(['ACE-ENV-002']);
  });

  test.each([
    ['not JSON', '{', /expectation file .*: /],
    ['no entries', '{"implementation":"ref"}', /must have required property 'entries'/],
    ['unknown expect', '{"implementation":"ref","entries":[{"clause":"ACE-ENV-001","expect":"maybe","reason":"long enough reason"}]}', /\/entries\/0\/expect/],
    ['no reason', '{"implementation":"ref","entries":[{"clause":"ACE-ENV-001","expect":"fail"}]}', /reason/],
    ['both test and clause', '{"implementation":"ref","entries":[{"clause":"ACE-ENV-001","test":"suites/a.test.ts > x > y","expect":"fail","reason":"long enough reason"}]}', /\/entries\/0/],
    ['an unknown clause', '{"implementation":"ref","entries":[{"clause":"ACE-NOPE-1","expect":"fail","reason":"long enough reason"}]}', /unknown clause "ACE-NOPE-1"/],
    ['an unknown test', '{"implementation":"ref","entries":[{"test":"suites/a.test.ts > nope","expect":"fail","reason":"long enough reason"}]}', /no test "suites\/a.test.ts > nope"/],
    ['an extra field', '{"implementation":"ref","entries":[],"extra":1}', /additional properties/],
    ['an unknown target', '{"implementation":"ref","entries":[{"clause":"ACE-ENV-001","expect":"fail","reason":"long enough reason","targets":["moon"]}]}', /\/entries\/0\/targets\/0/],
  ])('refuses %s with one line', async (_what, content, message) => {
    const fn = await load(content);
    expect(fn).toThrow(UsageError);
    try {
      fn();
    } catch (err) {
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
