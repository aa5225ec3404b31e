import { describe, expect, it } from 'vitest';
import { parseMatrixArgs } from './matrix-main.js';

describe('npm run matrix: flags', () => {
  it('reads cells, jobs, binaries and the flags after -- for every cell', async () => {
    const req = await parseMatrixArgs(['--cells', 'ref@host,rkt:fly@host', '--jobs', '2', '--impl-path', 'rkt=/opt/rkt/rkt', '--out', '/tmp/m', '--', '-t', 'Exit', 'suites/ace-exit-status']);
    expect(req).not.toBe('help');
    if (req === 'help') return;
    expect(req.cells.map((c) => [c.label, c.implPath])).toEqual([['ref@host', undefined], ['rkt:fly@host', '/opt/rkt/rkt']]);
    expect(req.jobs).toBe(2);
    expect(req.common).toEqual(['-t', 'Exit', 'suites/ace-exit-status']);
    expect(req.outDir).toBe('/tmp/m');
  });

  it('--shard: every cell gets shard i of n of the suite files its filters select, as vitest would split them', async () => {
    const parts = await Promise.all([1, 2, 3].map((i) => parseMatrixArgs(['--cells', 'ref@host', '--shard', `${i}/3`, '--', '-t', 'x', '--level', 'must'])));
    const files = parts.map((p) => (p === 'help' ? [] : p.common.filter((a) => a.startsWith('suites/'))));
    for (const p of parts) expect(p !== 'help' && p.common.slice(0, 4)).toEqual(['-t', 'x', '--level', 'must']);
    const all = files.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(files.every((f) => f.length > 0)).toBe(true);
    expect(parts[0] !== 'help' && parts[0]!.shard).toBe('1/3');
  });

  it.each([
    [[], /^give the cells: --cells LIST or --file FILE/],
    [['--cells', 'ref@host', '--file', 'm.yaml'], /^give the cells/],
    [['--cells', 'ref@host', '--jobs', '0'], /^--jobs must be a whole number of at least 1$/],
    [['--cells', 'ref@host', '--impl-path', '/opt/rkt'], /^--impl-path "\/opt\/rkt": expected IMPL=PATH$/],
    [['--cells', 'ref@host', '--impl-path', 'runc=/x'], /unknown implementation runc/],
    [['--cells', 'ref@host', '--', '--target=qemu'], /^--target after --: not for a matrix cell/],
    [['--cells', 'ref@host', '--', '--report-dir', 'x'], /^--report-dir after --: not for a matrix cell/],
    [['--cells', 'ref@host', '--', '--bogus'], /^Unknown option '--bogus'/],
    [['--cells', 'ref@host', '--', '--level', 'often'], /^unknown --level "often"/],
    [['--cells', 'ref@host', 'suites/x'], /^Unexpected argument 'suites\/x' \(npm test flags and file filters go after --\)$/],
    [['--cells', 'ref@host', '--baseline', '/nonexistent'], /^--baseline \/nonexistent: no matrix\.json there$/],
    [['--cells', 'ref@host', '--shard', '3/2'], /^--shard "3\/2": expected i\/n with 1 <= i <= n/],
    [['--cells', 'ref@host', '--shard', '1/3', '--', 'suites/ace-exit-status'], /^--shard 1\/3: only 1 suite file\(s\) selected, fewer than 3 shards$/],
  ])('%j: one line before any cell runs', async (argv, message) => {
    let err: Error | undefined;
    try {
      await parseMatrixArgs(argv);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('UsageError');
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
  });
});
