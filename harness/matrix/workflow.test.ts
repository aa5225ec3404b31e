// The nightly workflow calls only scripts that exist, with cells this harness reads, each
// uploaded under the directory name the matrix gives it. (Its syntax is actionlint's: .ci/run.)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { IMPLEMENTATION_NAMES } from '../impl/registry.js';
import { REPO_ROOT } from '../run/paths.js';
import { cellDirName, parseCell } from './cell.js';
import { parseShard } from './shard.js';
import { traitsOf, whyNotRunnable } from './targets.js';
import { DEFAULT_RELEASE } from '../target/guest/guest-image.js';

const WORKFLOW = join(REPO_ROOT, '.github', 'workflows', 'nightly.yml');
const text = readFileSync(WORKFLOW, 'utf8');

describe('nightly workflow', () => {
  it('calls scripts in ci/ that exist', () => {
    const scripts = [...text.matchAll(/bash (ci\/[\w.-]+\.sh)/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const s of scripts) expect(existsSync(join(REPO_ROOT, s)), s).toBe(true);
  });

  it('runs cells the matrix reads, each uploaded under its report directory name', () => {
    const wf = YAML.parse(text) as { jobs: { cell: { strategy: { matrix: { include: { cell: string; shard: string; dir: string }[] } } } } };
    const include = wf.jobs.cell.strategy.matrix.include;
    expect(include.length).toBeGreaterThanOrEqual(4);
    for (const { cell, shard, dir } of include) {
      expect(() => parseCell(cell, IMPLEMENTATION_NAMES)).not.toThrow();
      expect(dir).toBe(cellDirName(cell) + (shard ? `.shard-${parseShard(shard).index}-of-${parseShard(shard).count}` : ''));
    }
    // A sharded cell has all its shards.
    const sharded = include.filter((x) => x.shard);
    for (const x of sharded) {
      const n = parseShard(x.shard).count;
      expect(sharded.filter((y) => y.cell === x.cell).map((y) => y.shard).sort()).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}/${n}`));
    }
  });

  it('runs VM cells in guests of at least two Debian releases, each a guest this harness builds', () => {
    const wf = YAML.parse(text) as { jobs: { cell: { strategy: { matrix: { include: { cell: string }[] } } } } };
    const vmCells = wf.jobs.cell.strategy.matrix.include.map((x) => parseCell(x.cell, IMPLEMENTATION_NAMES)).filter((c) => c.target === 'qemu');
    const releases = new Set(vmCells.map((c) => c.guest?.split('/').find((w) => traitsOf('qemu').releases?.includes(w)) ?? DEFAULT_RELEASE));
    expect(releases.size).toBeGreaterThanOrEqual(2);
    for (const c of vmCells) expect(whyNotRunnable(c, ['qemu']) ?? '', c.label).not.toMatch(/guest/);
  });

  it('npm scripts it relies on exist', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['matrix', 'merge-reports', 'setup']) expect(pkg.scripts[s], s).toBeDefined();
  });
});
