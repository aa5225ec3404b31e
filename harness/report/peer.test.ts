import { describe, expect, test } from 'vitest';
import { peerChecks, renderPeerChecks } from './peer.js';
import type { TestRecord } from './result.js';

const rec = (id: string, checks: [string, boolean, string?][], extra: Partial<TestRecord> = {}): TestRecord => ({
  id,
  name: id,
  file: 'suites/x.test.ts',
  clauses: checks.map(([c]) => c),
  checks: checks.map(([c, ok, message]) => ({ clauses: [c], ok, ...(message ? { message } : {}) })),
  status: checks.every(([, ok]) => ok) ? 'pass' : 'fail',
  durationMs: 1,
  ...extra,
});

describe('peer check', () => {
  test('compares per clause, lists disagreements with the failing side’s evidence and what only the peer checked', () => {
    const tests = [
      rec('own cwd', [['ACE-WD-001', true]]),
      rec('own path', [['ACE-ENV-001', false, 'PATH was /bin']]),
      rec('own env', [['ACE-ENV-007', true]]),
      rec('peer cwd', [['ACE-WD-001', false, 'working directory not set']], { peer: 'ace-validator' }),
      rec('peer path', [['ACE-ENV-001', false, 'PATH not set']], { peer: 'ace-validator' }),
      rec('peer env', [['ACE-ENV-007', true]], { peer: 'ace-validator' }),
      rec('peer mds', [['MDS-POD-003', true]], { peer: 'ace-validator' }),
      // A skipped or broken test says nothing either way.
      rec('own skipped', [['MDS-POD-003', false]], { status: 'skip' }),
    ];
    const [c] = peerChecks(tests);
    expect(c).toEqual({
      peer: 'ace-validator',
      compared: 3,
      agree: 2,
      disagreements: [{ clause: 'ACE-WD-001', peer: 'fail', own: 'pass', peerTests: ['peer cwd'], ownTests: ['own cwd'], evidence: 'working directory not set' }],
      peerOnly: [{ clause: 'MDS-POD-003', verdict: 'pass' }],
    });
    const text = renderPeerChecks([c!]).join('\n');
    expect(text).toContain('3 clauses checked by both: 2 agree, 1 disagree');
    expect(text).toContain('| ACE-WD-001 | fail | pass | working directory not set |');
    expect(text).toContain('Checked only by ace-validator: MDS-POD-003');
  });

  test('no peer test, no section', () => {
    expect(peerChecks([rec('own', [['ACE-WD-001', true]])])).toEqual([]);
    expect(renderPeerChecks([])).toEqual([]);
    expect(renderPeerChecks(undefined)).toEqual([]);
  });
});
