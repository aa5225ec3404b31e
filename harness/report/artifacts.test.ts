import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fetchEvidence, STAGING_DIR, writeEvidence, writeFixtureBuilds } from '../run/evidence.js';
import { fixtureBuildStats, imageOperationStats, podStats, stagedEvidence, writeArtifacts } from './artifacts.js';
import type { TestRecord } from './result.js';

const dir = mkdtempSync(join(tmpdir(), 'appc-artifacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (name: string, status: TestRecord['status']): TestRecord => ({ id: `suites/x.test.ts > ${name}`, name, file: 'suites/x.test.ts', clauses: ['ACE-WD-001'], checks: [], status, durationMs: 1 });

describe('artifact folders', () => {
  test('hold, per failed or errored test, its pod runs, the fingerprint and the rerun command; passing tests get none', () => {
    mkdirSync(join(dir, STAGING_DIR));
    writeFileSync(join(dir, STAGING_DIR, '1-1.json'), JSON.stringify({ runId: '1-1', request: { images: [] }, commands: [{ argv: ['ref', 'run'] }], outcome: { durationMs: 120 } }));
    writeFileSync(join(dir, STAGING_DIR, '1-2.json'), JSON.stringify({ runId: '1-2', request: { images: [] }, commands: [], outcome: { durationMs: 80 } }));
    writeEvidence(dir, { runId: '1-3', operation: 'import', request: { image: { name: 'x', id: 'sha512-0', file: 'x.aci', manifest: {} } }, commands: [{ argv: ['ref', 'import'], startedAt: '', durationMs: 70, exitCode: 0, signal: null, timedOut: false, stdout: '', stderr: '' }], outcome: { status: 'imported', imageId: 'sha512-0', durationMs: 70.4 } });
    const fetch = fetchEvidence('1-4', { name: 'example.com/app', labels: {}, trust: [], network: { netns: 'n', wrap: (a) => [...a], caFile: 'ca.pem' } });
    writeEvidence(dir, { ...fetch, outcome: { status: 'refused', refusal: 'no signature', durationMs: 300 }, serverSaw: ['https://example.com/app?ac-discovery=1 → 200'] });
    // The image operations are counted apart: they are no pod runs.
    expect(podStats(stagedEvidence(dir))).toEqual({ runs: 2, implementationMs: 200 });
    expect(imageOperationStats(stagedEvidence(dir))).toEqual({ count: 2, implementationMs: 370, imports: { count: 1, implementationMs: 70 }, fetches: { count: 1, implementationMs: 300 } });
    // Each worker's figures are rewritten as they grow: the last file of an instance counts, once.
    writeFixtureBuilds(dir, { instance: 'a', builds: 3, written: 1, ms: 10.2 });
    writeFixtureBuilds(dir, { instance: 'a', builds: 5, written: 2, ms: 20.4 });
    writeFixtureBuilds(dir, { instance: 'b', builds: 4, written: 0, ms: 5 });
    expect(fixtureBuildStats(dir)).toEqual({ builds: 9, written: 2, buildMs: 25 });
    expect(podStats(stagedEvidence(dir))).toEqual({ runs: 2, implementationMs: 200 });
    const tests = [record('fails (a)', 'fail'), record('passes', 'pass'), record('errs', 'error')];
    const out = writeArtifacts({
      reportDir: dir,
      tests,
      podRuns: new Map([
        [tests[0]!.id, ['1-1']],
        [tests[1]!.id, ['1-2']],
        [tests[2]!.id, ['1-1', '1-2', '1-3', '1-4']],
      ]),
      run: { implementation: { name: 'ref', version: '0', details: {} }, target: 'host', specVersion: '0.8.11', startedAt: 'now' },
      repro: (t) => `npm test -- -t '^${t.name}$'`,
    });
    expect(out.map((t) => t.artifacts)).toEqual(['artifacts/001-x-fails-a', undefined, 'artifacts/002-x-errs']);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/001-x-fails-a/pod-1.json'), 'utf8')).commands[0].argv).toEqual(['ref', 'run']);
    expect(existsSync(join(dir, 'artifacts/002-x-errs/pod-2.json'))).toBe(true);
    // An image handed over on its own is numbered apart from the pods, by what was done with it.
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/002-x-errs/import-1.json'), 'utf8')).request.image.id).toBe('sha512-0');
    const fetched = JSON.parse(readFileSync(join(dir, 'artifacts/002-x-errs/fetch-1.json'), 'utf8'));
    expect(fetched.request.fetch).toEqual({ name: 'example.com/app', labels: {}, trust: [] });
    expect(fetched.serverSaw).toEqual(['https://example.com/app?ac-discovery=1 → 200']);
    expect(readFileSync(join(dir, 'artifacts/001-x-fails-a/repro.txt'), 'utf8')).toBe("npm test -- -t '^fails (a)$'\n");
    expect(JSON.parse(readFileSync(join(dir, 'artifacts/001-x-fails-a/fingerprint.json'), 'utf8')).harness.hostKernel).toBeTruthy();
    // The staged evidence is gone once sorted.
    expect(existsSync(join(dir, STAGING_DIR))).toBe(false);
  });
});
