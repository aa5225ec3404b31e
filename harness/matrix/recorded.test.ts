// Two recorded nights (testdata/README.md) merged as the nightly does: the clause ref's
// wrong-cwd mutant broke shows as a regression, and as a disagreement with rkt and with qemu.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { regressionCount } from './merge.js';
import { writeMatrix } from './write.js';

const TESTDATA = join(import.meta.dirname, 'testdata');
const work = mkdtempSync(join(tmpdir(), 'matrix-recorded-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function night(name: string, layers: string[], baseline?: string) {
  const cells = join(work, name, 'cells');
  for (const l of layers) cpSync(join(TESTDATA, l), cells, { recursive: true });
  return writeMatrix(readdirSync(cells).sort().map((c) => join(cells, c)), join(work, name), baseline).doc;
}

describe('recorded nights', () => {
  const n1 = night('night1', ['night1']);
  const n2 = night('night2', ['night1', 'night2'], join(work, 'night1'));

  it('night 1: every cell, the one that could not run with its reason, and no disagreement', () => {
    expect(n1.cells.map((c) => [c.label, c.status])).toEqual([['ref@host', 'ran'], ['ref@mars', 'not-run'], ['ref@qemu', 'ran'], ['rkt:fly@host', 'ran']]);
    expect(n1.disagreements).toEqual({ implementations: [], targets: [] });
  });

  it('night 2: the flipped clauses are new failures, regressions first', () => {
    const b = n2.baseline!;
    expect(b.newFailures.map((c) => [c.clause, c.label, c.before, c.now])).toEqual([
      ['ACE-WD-001', 'ref@host', 'pass', 'fail'],
      ['ACE-WD-004', 'ref@host', 'pass', 'fail'],
    ]);
    expect(b.mustCoverageDown).toEqual([{ label: 'ref@host', before: 4, now: 2 }]);
    expect(regressionCount(b)).toBe(3);
    expect(b.fixed).toEqual([]);
  });

  it('night 2: ref on host disagrees with rkt on host and with itself in qemu', () => {
    expect(n2.disagreements.implementations.map((d) => d.clause)).toEqual(['ACE-WD-001', 'ACE-WD-004']);
    expect(n2.disagreements.targets.map((d) => [d.clause, d.on])).toEqual([['ACE-WD-001', 'ref'], ['ACE-WD-004', 'ref']]);
  });
});
