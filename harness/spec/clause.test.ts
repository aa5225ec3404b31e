import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../run/paths.js';
import data from './clauses.json' with { type: 'json' };
import { CLAUSES, clause, KNOWN_GAPS, LEVELS, UnknownClauseError } from './clause.js';

describe('clause registry', () => {
  test('holds every catalogued normative statement once, with a known level', () => {
    const ids = data.clauses.map((c) => c.id);
    expect(ids.length).toBeGreaterThanOrEqual(300);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CLAUSES.values()) {
      expect(LEVELS, c.id).toContain(c.level);
      expect(c.text.length, c.id).toBeGreaterThan(10);
    }
  });

  test('refuses unknown IDs', () => {
    expect(() => clause('ACE-NOPE-999')).toThrow(UnknownClauseError);
  });

  test('every clause ID a suite names exists', () => {
    const dir = join(REPO_ROOT, 'suites');
    const used = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/'((?:ACI|ACE|POD|TYPES|DISC|MDS|FN)-[A-Z0-9-]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((id) => !CLAUSES.has(id))).toEqual([]);
  });
});

describe('known gaps', () => {
  test('name registry clauses that are testable and that no suite file declares', () => {
    const dir = join(REPO_ROOT, 'suites');
    const suites = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    for (const id of Object.keys(KNOWN_GAPS)) {
      expect(clause(id).untestable, id).toBeNull();
      expect(suites.some((s) => s.includes(`'${id}'`)), `${id} is declared by a suite: drop it from gaps.json`).toBe(false);
    }
  });
});
