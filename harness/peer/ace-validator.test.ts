// The ACE validator's output parser and clause mapping, on output recorded from real runs
// (ace-validator.recorded.json: the validator pod through ref, plain and under ref's mutants).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../run/paths.js';
import { clause } from '../spec/index.js';
import { findingClauses, findingsFor, judgeValidator, parseErrorLines, parseStageLines, STAGES, type AppOutput, type Stage, type StageStatus } from './ace-validator.js';

interface RecordedApp extends AppOutput {
  name: string;
}
const recorded = JSON.parse(readFileSync(join(REPO_ROOT, 'harness', 'peer', 'ace-validator.recorded.json'), 'utf8')) as { runs: Record<string, RecordedApp[]> };

const never: AppOutput = { stdout: '', stderr: '', exitCode: null, signal: null };
function judgeRun(name: string) {
  const apps = recorded.runs[name];
  if (!apps) throw new Error(`no recorded run ${name}`);
  const app = (n: string) => apps.find((a) => a.name === n) ?? never;
  return judgeValidator(app('ace-validator-main'), app('ace-validator-sidekick'));
}
/** clause → evidence of each finding, for compact expectations */
const summary = (v: ReturnType<typeof judgeValidator>) => v.findings.map((f) => [f.how, f.clauses.join(','), f.evidence.slice(0, 60)]);
const allOk: Record<Stage, StageStatus> = { prestart: 'OK', main: 'OK', sidekick: 'OK', poststop: 'OK' };

describe('parseStageLines', () => {
  test('reads the stage lines of plain output', () => {
    expect([...parseStageLines('prestart OK\nmain FAIL\npoststop OK\n')]).toEqual([
      ['prestart', 'OK'],
      ['main', 'FAIL'],
      ['poststop', 'OK'],
    ]);
  });

  test("reads them behind a console prefix (rkt's journal form) and ignores other lines", () => {
    const out = '[  12.3] ace-validator-main[7]: prestart OK\nsome other line\n[  13.0] ace-validator-main[9]: main OK\nnot a main OK line either\n';
    expect([...parseStageLines(out)]).toEqual([
      ['prestart', 'OK'],
      ['main', 'OK'],
    ]);
  });

  test('keeps FAIL when a stage reports twice', () => {
    expect(parseStageLines('main FAIL\nmain OK\n').get('main')).toBe('FAIL');
  });
});

describe('parseErrorLines', () => {
  test('takes what follows the marker, with or without a prefix, and nothing else', () => {
    expect(parseErrorLines('==> PATH not set appropriately\nusage: x\n[1.0] app[3]: ==> AC_METADATA_URL is not set\n==> \n')).toEqual([
      'PATH not set appropriately',
      'AC_METADATA_URL is not set',
    ]);
  });
});

describe('judgeValidator on recorded runs', () => {
  test('a clean run has every stage OK and no finding', () => {
    const v = judgeRun('ok');
    expect(v.stages).toEqual(allOk);
    expect(v.findings).toEqual([]);
  });

  test('wrong-cwd: the working directory and (a slow metadata service) each name their clause', () => {
    const v = judgeRun('wrong-cwd');
    expect(v.stages).toEqual({ ...allOk, main: 'FAIL' });
    expect(summary(v)).toEqual([
      ['mapped', 'ACE-WD-001', 'working directory not set appropriately (need "/opt/acvalida'],
      ['mapped', 'MDS-POD-003,POD-REIFY-004', 'Get "http://127.0.0.1:2375/14b8739038da72fb21831b52081ecfb0/'],
    ]);
  });

  test('skip-pre-start: the missing stage and the missing marker are pre-start failures', () => {
    const v = judgeRun('skip-pre-start');
    expect(v.stages).toEqual({ prestart: 'missing', main: 'FAIL', sidekick: 'OK', poststop: 'FAIL' });
    expect(v.findings.map((f) => [f.how, f.clauses])).toEqual([
      ['missing', ['ACE-LIFE-001']],
      ['mapped', ['ACE-LIFE-001']],
      ['mapped', ['ACE-LIFE-001']],
    ]);
    expect(v.findings[0]!.evidence).toMatch(/^no "prestart OK\/FAIL" line from app ace-validator-main \(exit 1; stdout: main FAIL \| poststop FAIL/);
  });

  test('skip-post-stop: only the missing post-stop stage', () => {
    expect(judgeRun('skip-post-stop').findings.map((f) => [f.how, f.clauses])).toEqual([['missing', ['ACE-LIFE-002']]]);
  });

  test('drop-last-app: the sidekick never ran, and main waiting for it is blamed on that, not on the volume', () => {
    const v = judgeRun('drop-last-app');
    expect(v.stages.sidekick).toBe('missing');
    expect(v.findings.map((f) => [f.how, f.clauses])).toEqual([
      ['missing', ['POD-CTX-008']],
      ['mapped', ['POD-CTX-008']],
    ]);
    expect(v.findings[0]!.evidence).toContain('never ran');
  });

  test('metadata mutants name the endpoint clauses', () => {
    expect(judgeRun('mds-wrong-image-id').findings.map((f) => f.clauses)).toEqual([['MDS-APP-006'], ['MDS-APP-006']]);
    expect(judgeRun('mds-wrong-annotations').findings.map((f) => f.clauses)).toEqual([['MDS-POD-001', 'POD-ANN-002']]);
    expect(judgeRun('separate-netns').findings.map((f) => f.clauses)).toEqual([['MDS-POD-003', 'POD-REIFY-004']]);
  });

  test('an error line that names nothing known falls back to the clauses of the stages that failed', () => {
    const v = judgeValidator({ stdout: 'prestart OK\nmain OK\npoststop FAIL\n', stderr: '==> something new\n', exitCode: 1, signal: null }, { stdout: 'sidekick OK\n', stderr: '', exitCode: 0, signal: null });
    expect(v.findings).toEqual([{ how: 'fallback', clauses: ['ACE-LIFE-002', 'ACE-LIFE-005', 'ACE-FS-002'], evidence: 'something new' }]);
  });

  test('a FAIL without an error line still fails its stage; a killed app is shown as such', () => {
    const v = judgeValidator({ stdout: 'prestart OK\nmain OK\npoststop OK\n', stderr: '', exitCode: 0, signal: null }, { stdout: 'sidekick FAIL\n', stderr: '', exitCode: null, signal: 'SIGKILL' });
    expect(v.findings.map((f) => [f.how, f.clauses])).toEqual([['fallback', ['POD-VOL-004']]]);
    const killed = judgeValidator(never, { stdout: '', stderr: '', exitCode: null, signal: 'SIGKILL' });
    expect(killed.findings.find((f) => f.evidence.includes('ace-validator-sidekick'))?.evidence).toContain('signal SIGKILL');
    expect(killed.findings.filter((f) => f.how === 'missing')).toHaveLength(STAGES.length);
  });

  test('Content-Type errors name the media-type clause, other request errors the endpoint', () => {
    // The form of the validator's own message (ace/validator.go metadataRequest).
    const ct = '`http://127.0.0.1:2375/t/acMetadata/v1/apps/ace-validator-main/image/id` did not respond with expected Content-Type header.  Expected text/plain; charset=us-ascii, received text/plain';
    const v = judgeValidator({ stdout: 'prestart OK\nmain FAIL\npoststop OK\n', stderr: `==> ${ct}\n==> Get http://127.0.0.1:2375/t/acMetadata/v1/pod/hmac/verify failed with 403\n`, exitCode: 1, signal: null }, { stdout: 'sidekick OK\n', stderr: '', exitCode: 0, signal: null });
    expect(v.findings.map((f) => f.clauses)).toEqual([['MDS-APP-005'], ['MDS-HMAC-004']]);
    expect(findingsFor(v, 'MDS-HMAC-004')).toHaveLength(1);
  });
});

describe('the suite declares every clause a finding can name', () => {
  test('each is a registered clause and appears in suites/ace-validator.test.ts', () => {
    const suite = readFileSync(join(REPO_ROOT, 'suites', 'ace-validator.test.ts'), 'utf8');
    for (const id of findingClauses()) {
      expect(() => clause(id)).not.toThrow();
      expect(suite.includes(`'${id}'`), `${id} is not declared by the suite`).toBe(true);
    }
  });
});
