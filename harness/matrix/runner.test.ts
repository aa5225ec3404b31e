// The runner with a stand-in for npm test (no suite runs): cells that cannot run are reported
// and the others go on; how a run's end is classified; two host cells never overlap.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCell } from './cell.js';
import { classify, reasonFromLog, runCells } from './runner.js';

const IMPLS = ['ref', 'rkt', 'generic'];
const root = mkdtempSync(join(tmpdir(), 'matrix-runner-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Stands in for `node dist/harness/run/main.js`: --fake=ok writes a results.json, --fake=refuse
// exits 2 as a failed preflight does, --fake=crash dies without a report. Notes start and end.
const FAKE = join(root, 'fake-npm-test.mjs');
writeFileSync(
  FAKE,
  `import { appendFileSync, writeFileSync } from 'node:fs';
const arg = (n) => process.argv.find((a) => a.startsWith('--' + n + '='))?.split('=')[1];
const dir = arg('report-dir'); const mode = arg('fake') ?? 'ok';
appendFileSync(${JSON.stringify(join(root, 'timeline'))}, 'start ' + dir + '\\n');
await new Promise((r) => setTimeout(r, 300));
appendFileSync(${JSON.stringify(join(root, 'timeline'))}, 'end ' + dir + '\\n');
if (mode === 'refuse') { console.error('appc-conformance: rkt: the host flavor needs systemd-nspawn on the target'); process.exit(2); }
if (mode === 'crash') { console.error('Segmentation fault'); process.exit(139); }
writeFileSync(dir + '/results.json', '{}'); console.log('1 passed, 0 failed, 0 skipped'); process.exit(0);
`,
);

const cell = (label: string, fake?: string) => ({ ...parseCell(label, IMPLS), args: fake ? [`--fake=${fake}`] : [] });

describe('matrix runner', () => {
  it('runs what it can, reports the rest as not run or broken with the reason, and never overlaps two host cells', async () => {
    const out = join(root, 'm');
    const lines: string[] = [];
    const { records } = await runCells([cell('ref@host'), cell('ref@mars'), cell('rkt:host@host', 'refuse'), cell('generic@host'), cell('ref@qemu/trixie')].map((c) => (c.impl === 'generic' ? { ...c, implConfig: '/x.yaml', args: ['--fake=crash'] } : c)), {
      outDir: out,
      jobs: 4,
      common: [],
      command: [process.execPath, FAKE],
      log: (l) => lines.push(l),
    });
    expect(records.map((r) => [r.label, r.status])).toEqual([
      ['ref@host', 'ran'],
      ['ref@mars', 'not-run'],
      ['rkt:host@host', expect.stringMatching(/not-run/)],
      ['generic@host', 'error'],
      ['ref@qemu/trixie', 'not-run'],
    ]);
    expect(records[1]!.reason).toMatch(/^unknown target mars in this harness/);
    // rkt without a binary on PATH is refused by the matrix; with one, by the run's preflight (exit 2).
    expect(records[2]!.reason).toMatch(/no rkt binary|needs systemd-nspawn/);
    expect(records[3]!.reason).toBe('exit 139 without results.json: Segmentation fault');
    expect(JSON.parse(readFileSync(join(out, 'cells', 'ref@mars', 'cell.json'), 'utf8'))).toMatchObject({ kind: 'matrix-cell', status: 'not-run' });
    expect(lines).toContain('[ref@mars] not run: unknown target mars in this harness (known: host, qemu, container, vagrant)');
    // Host cells one after the other: every start follows the previous end.
    const timeline = readFileSync(join(root, 'timeline'), 'utf8').trim().split('\n');
    for (let i = 0; i < timeline.length; i += 2) {
      expect(timeline[i]).toMatch(/^start /);
      expect(timeline[i + 1]).toBe(timeline[i]!.replace('start', 'end'));
    }
  });

  it('on Ctrl-C hands the signal to the running cell, starts no other, and reports both', async () => {
    const out = join(root, 'int');
    const slow = join(root, 'slow.mjs');
    writeFileSync(slow, `process.on('SIGINT', () => { console.log('cleaning up'); setTimeout(() => process.exit(130), 100); }); setTimeout(() => process.exit(0), 20000);`);
    const pending = runCells([cell('ref@host'), { ...cell('generic@host'), implConfig: '/x.yaml' }], { outDir: out, jobs: 1, common: [], command: [process.execPath, slow], log: () => undefined });
    await new Promise((r) => setTimeout(r, 500));
    process.emit('SIGINT', 'SIGINT');
    const { records, interrupted } = await pending;
    expect(interrupted).toBe('SIGINT');
    expect(records.map((r) => [r.label, r.status, r.reason])).toEqual([
      ['ref@host', 'not-run', 'interrupted (SIGINT) while running'],
      ['generic@host', 'not-run', 'the matrix was interrupted (SIGINT) before this cell started'],
    ]);
    expect(readFileSync(join(out, 'cells', 'ref@host', 'cell.log'), 'utf8')).toContain('cleaning up');
    expect(records[0]!.exitCode).toBe(130);
  });

  it('classifies a run by its exit code and report', () => {
    expect(classify(0, true, '')).toEqual({ status: 'ran' });
    expect(classify(1, true, '')).toEqual({ status: 'ran' });
    expect(classify(3, true, '')).toEqual({ status: 'ran' });
    expect(classify(2, false, 'x\nappc-conformance: rkt: no rkt on PATH\n(see --help)\n')).toEqual({ status: 'not-run', reason: 'rkt: no rkt on PATH' });
    expect(classify(null, false, 'booting\n')).toEqual({ status: 'error', reason: 'killed without results.json: booting' });
    expect(reasonFromLog('')).toBe('no output');
  });
});
