// Each clause's specText is the spec's own sentence: it occurs, verbatim (whitespace aside), in
// its file of the appc spec at v0.8.11, stored as test data (testdata/appc-spec-v0.8.11). Only the
// spec's prose is kept there: the few clauses quoting a comment of the spec's Go schema code are not
// checked here, since that code is not copied into this repository.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLAUSES } from './clause.js';
import { specLocation, specPlain } from './spec-links.js';

const SPEC_DIR = join(import.meta.dirname, 'testdata', 'appc-spec-v0.8.11');
const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
const specFile = (file: string) => flat(readFileSync(join(SPEC_DIR, file), 'utf8'));

describe('the spec text the clauses quote', () => {
  it('is the v0.8.11 text (the checksums its README records)', () => {
    const readme = readFileSync(join(SPEC_DIR, 'README.md'), 'utf8');
    const sums = [...readme.matchAll(/^([0-9a-f]{64})\s+(\S+)$/gm)];
    expect(sums.length).toBe(6);
    for (const [, sum, file] of sums) expect(createHash('sha256').update(readFileSync(join(SPEC_DIR, file!))).digest('hex'), file).toBe(sum);
  });

  const clauses = [...CLAUSES.values()];
  it.each(clauses.filter((c) => c.specText && specLocation(c).file?.endsWith('.md')).map((c) => [c.id, c] as const))('%s: its sentence occurs in its file of the spec', (_id, c) => {
    const file = specLocation(c).file;
    expect(file, 'a clause with a sentence names a spec file').not.toBeNull();
    expect(specFile(file!)).toContain(flat(c.specText!));
  });

  it('every clause of the spec has one; only the suite\'s own clauses and those absent from v0.8.11 have none', () => {
    const without = clauses.filter((c) => !c.specText).map((c) => c.id);
    const excused = clauses.filter((c) => !c.normative || /absent from tag v0\.8\.11/.test(c.section)).map((c) => c.id);
    expect(without.sort()).toEqual(excused.sort());
  });
});

describe('a spec sentence as a reader sees it', () => {
  it('drops Markdown emphasis, code marks, links, list marks and table pipes', () => {
    expect(specPlain('* **name** (string, restricted to the [AC Name](#ac-name-type) formatting) of `os/linux`')).toBe('name (string, restricted to the AC Name formatting) of os/linux');
    expect(specPlain('It includes a *rootfs* directory, sd\\_notify and &lt;uuid&gt;')).toBe('It includes a rootfs directory, sd_notify and <uuid>');
    expect(specPlain('| /dev/pts | [devpts](https://example.org) | |')).toBe('/dev/pts | devpts');
  });
});
