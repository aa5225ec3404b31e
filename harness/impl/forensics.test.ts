// Forensics of a hanging pod: taken while it still hangs, then the command is stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { newEvidence, recordingInto } from '../run/evidence.js';
import { HostTarget } from '../target/index.js';
import { execWithForensics } from './forensics.js';

const work = mkdtempSync(join(tmpdir(), 'appc-forensics-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('execWithForensics', () => {
  test('on the timeout, records the process running in the work dir and the status, then stops it', async () => {
    const t = new HostTarget();
    const evidence = newEvidence('t1', { images: [] });
    const started = performance.now();
    const { res, hung } = await recordingInto(evidence, () =>
      execWithForensics(t, (opts) => t.exec(['sleep', '30'], { ...opts, cwd: work }), {
        marker: work,
        timeoutMs: 500,
        status: async () => 'pod state: running',
      }),
    );
    expect(hung).toBe(true);
    expect(res.exitCode).not.toBe(0);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(evidence.forensics).toMatch(/sleep 30/);
    expect(evidence.forensics).toMatch(/wchan: /);
    expect(evidence.forensics).toContain('pod state: running');
  });

  test('a command that ends in time is not hung and leaves no forensics', async () => {
    const t = new HostTarget();
    const evidence = newEvidence('t2', { images: [] });
    const { res, hung } = await recordingInto(evidence, () => execWithForensics(t, (opts) => t.exec(['true'], opts), { marker: work, timeoutMs: 5_000 }));
    expect(hung).toBe(false);
    expect(res.exitCode).toBe(0);
    expect(evidence.forensics).toBeUndefined();
  });

  test('an interrupted run stops the command at once, without forensics', async () => {
    const t = new HostTarget();
    const evidence = newEvidence('t3', { images: [] });
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 200);
    const { hung } = await recordingInto(evidence, () =>
      execWithForensics(t, (opts) => t.exec(['sleep', '30'], opts), { marker: work, timeoutMs: 60_000, interrupt: interrupt.signal }),
    );
    expect(hung).toBe(false);
    expect(evidence.forensics).toBeUndefined();
  });
});
