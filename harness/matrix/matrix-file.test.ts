import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMatrixFile } from './matrix-file.js';

const IMPLS = ['ref', 'rkt', 'generic'];
const dir = mkdtempSync(join(tmpdir(), 'matrix-file-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function load(name: string, text: string) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return () => loadMatrixFile(p, IMPLS);
}

describe('matrix file', () => {
  it('reads cells, per-cell and per-implementation binaries, jobs and common flags (paths relative to the file)', () => {
    const plan = load('m.yaml', 'cells:\n  - ref@host\n  - cell: rkt:fly@host\n    args: ["--pod-timeout=120"]\nimplPaths:\n  rkt: bin/rkt\njobs: 2\nargs: ["-t", "Exit"]\n')();
    expect(plan.jobs).toBe(2);
    expect(plan.args).toEqual(['-t', 'Exit']);
    expect(plan.cells.map((c) => c.label)).toEqual(['ref@host', 'rkt:fly@host']);
    expect(plan.cells[1]).toMatchObject({ implPath: join(dir, 'bin/rkt'), args: ['--pod-timeout=120'] });
    expect(plan.cells[0]!.implPath).toBeUndefined();
  });

  it('accepts JSON', () => {
    expect(load('m.json', '{"cells": ["ref@qemu/lean"]}')().cells[0]!.guest).toBe('lean');
  });

  // Each problem: one line naming the file and the place in it.
  it.each([
    ['no cells', 'jobs: 1\n', /m1\.yaml: top level: missing 'cells'$/],
    ['empty cells', 'cells: []\n', /: cells: must NOT have fewer than 1 items$/],
    ['a typo in a key', 'cells: [ref@host]\nimplpaths: {}\n', /: top level: unknown key 'implpaths'$/],
    ['a typo in a cell object', 'cells:\n  - cell: ref@host\n    arg: [x]\n', /: cells\/0: unknown key 'arg'$/],
    ['a cell object without its cell', 'cells:\n  - implPath: /x\n', /: cells\/0: missing 'cell'$/],
    ['jobs not a whole number', 'cells: [ref@host]\njobs: 1.5\n', /: jobs: must be integer$/],
    ['jobs zero', 'cells: [ref@host]\njobs: 0\n', /: jobs: must be >= 1$/],
    ['args not strings', 'cells: [ref@host]\nargs: [1]\n', /: args\/0: must be string$/],
    ['a malformed cell', 'cells: [ref@host, refhost]\n', /: cells\/1: cell "refhost": expected impl/],
    ['an unknown implementation', 'cells: [runc@host]\n', /: cells\/0: cell runc@host: unknown implementation runc/],
    ['a cell twice', 'cells: [ref@host, ref@host]\n', /cell ref@host is listed twice$/],
    ['an unknown implementation in implPaths', 'cells: [ref@host]\nimplPaths: {runc: /x}\n', /unknown implementation runc in implPaths/],
    ['not YAML', 'cells: [ref@host\n', /: not YAML: /],
  ])('%s', (_name, text, message) => {
    let err: Error | undefined;
    try {
      load('m1.yaml', text)();
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('UsageError');
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
  });

  it('a missing file', () => {
    expect(() => loadMatrixFile(join(dir, 'nope.yaml'), IMPLS)).toThrow(/nope\.yaml: no such file$/);
  });
});
