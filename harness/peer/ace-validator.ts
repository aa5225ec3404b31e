// Reads what the appc spec's ACE validator printed (suites/ace-validator.test.ts runs it) and turns
// it into findings that name clauses. Each mode prints "<mode> OK" or "<mode> FAIL" on stdout and,
// when it fails, one line per problem on stderr starting "==> ". The main app's captured output
// holds three modes (pre-start handler, main, post-stop handler); the sidekick app's holds one.
// Lines may carry a console prefix (rkt: "[ts] ace-validator-main[pid]: main OK"), so stage lines
// are matched at the end of a line and error lines after the first "==> ".

export type Stage = 'prestart' | 'main' | 'sidekick' | 'poststop';
export type StageStatus = 'OK' | 'FAIL' | 'missing';
export const STAGES: readonly Stage[] = ['prestart', 'main', 'sidekick', 'poststop'];

export interface AppOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

/** Something the validator (or its silence) says is wrong, with the clauses it concerns. */
export interface Finding {
  clauses: string[];
  /** the validator's own line, or what is missing */
  evidence: string;
  /** mapped: the line names a specific clause; fallback: only its stage is known; missing: no stage line */
  how: 'mapped' | 'fallback' | 'missing';
}

export interface ValidatorVerdict {
  stages: Record<Stage, StageStatus>;
  findings: Finding[];
}

/** What each stage needs to have run (its absence fails these) and what it checks (an error line
 *  we cannot place more precisely falls back to these). */
export const STAGE_CLAUSES: Record<Stage, { app: 'main' | 'sidekick'; requires: string[]; covers: string[] }> = {
  prestart: { app: 'main', requires: ['ACE-LIFE-001'], covers: ['ACE-LIFE-001', 'ACE-FS-010', 'ACE-FS-002'] },
  main: {
    app: 'main',
    requires: ['POD-CTX-008'],
    covers: ['ACE-LIFE-001', 'ACE-LIFE-005', 'ACE-FS-010', 'ACE-FS-002', 'ACE-ENV-001', 'ACE-WD-001', 'ACE-ENV-007', 'ACE-ENV-002', 'ACE-VOL-001', 'ACE-ENV-003', 'POD-VOL-004'],
  },
  sidekick: { app: 'sidekick', requires: ['POD-CTX-008'], covers: ['POD-VOL-004'] },
  poststop: { app: 'main', requires: ['ACE-LIFE-002'], covers: ['ACE-LIFE-002', 'ACE-LIFE-005', 'ACE-FS-002'] },
};

const STAGE_LINE = /(?:^|[\s:])(prestart|main|sidekick|poststop) (OK|FAIL)\s*$/i;

/** The stage lines of one app's stdout; a stage seen twice keeps its worst status. */
export function parseStageLines(stdout: string): Map<Stage, 'OK' | 'FAIL'> {
  const out = new Map<Stage, 'OK' | 'FAIL'>();
  for (const line of stdout.split('\n')) {
    const m = STAGE_LINE.exec(line);
    if (!m) continue;
    const stage = m[1]!.toLowerCase() as Stage;
    const status = m[2]!.toUpperCase() as 'OK' | 'FAIL';
    if (out.get(stage) !== 'FAIL') out.set(stage, status);
  }
  return out;
}

/** The validator's error lines ("==> …") of one app's stderr, without the marker. */
export function parseErrorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => {
      const i = line.indexOf('==> ');
      return i < 0 ? undefined : line.slice(i + 4).trim();
    })
    .filter((l): l is string => l !== undefined && l !== '');
}

/** Metadata endpoints (as they appear in request errors) and the clauses each answers to:
 *  [reachable with status 200 and a usable body, right Content-Type]. */
const MDS_ENDPOINTS: [RegExp, string[], string[]][] = [
  [/\/pod\/manifest\b/, ['MDS-POD-003', 'POD-REIFY-004'], ['MDS-POD-003', 'MDS-GEN-007']],
  [/\/pod\/uuid\b/, ['ACE-UUID-002'], ['MDS-POD-004']],
  [/\/pod\/annotations\b/, ['MDS-POD-001', 'POD-ANN-002'], ['MDS-POD-001', 'MDS-GEN-007']],
  [/\/apps\/[^/]+\/image\/manifest\b/, ['MDS-APP-004'], ['MDS-APP-004', 'MDS-GEN-007']],
  [/\/apps\/[^/]+\/image\/id\b/, ['MDS-APP-006'], ['MDS-APP-005']],
  [/\/apps\/[^/]+\/annotations\b/, ['MDS-APP-002', 'POD-APP-012'], ['MDS-APP-002', 'MDS-GEN-007']],
  [/\/pod\/hmac\/sign\b/, ['MDS-HMAC-001', 'MDS-HMAC-003'], ['MDS-HMAC-003']],
  [/\/pod\/hmac\/verify\b/, ['MDS-HMAC-004'], ['MDS-HMAC-007']],
];

/**
 * The clauses one error line concerns, or undefined when it cannot be placed. `seen` is what the
 * other stage lines say, so that a consequence is blamed on its cause (e.g. main timing out
 * waiting for a sidekick that never ran is the sidekick's launch, not the shared volume).
 */
export function clausesOfError(text: string, seen: Record<Stage, StageStatus>): string[] | undefined {
  const ran = (s: Stage) => seen[s] !== 'missing';
  // Marker files in the rootfs: who ran before whom, and in which filesystem.
  if (/^file "\/prestart" does not exist as expected$/.test(text)) {
    // The handler said it ran: then it ran somewhere else than the app's rootfs.
    return ran('prestart') ? ['ACE-LIFE-005'] : ['ACE-LIFE-001'];
  }
  if (/^file "\/main" does not exist as expected$/.test(text)) {
    return ran('main') ? ['ACE-LIFE-002', 'ACE-LIFE-005'] : STAGE_CLAUSES.main.requires;
  }
  if (/^file "\/prestart" exists unexpectedly$/.test(text)) return ['ACE-FS-010'];
  if (/^file "\/main" exists unexpectedly$/.test(text)) return ['ACE-FS-010', 'ACE-LIFE-001'];
  if (/^file "\/poststop" exists unexpectedly$/.test(text)) return ['ACE-FS-010', 'ACE-LIFE-002'];
  if (/^error touching file "\/(prestart|main|poststop)"/.test(text)) return ['ACE-FS-002'];
  // The shared empty volume and the two apps running together.
  if (/^file "\/db\/(main|sidekick)" exists unexpectedly$/.test(text)) return ['POD-VOL-004'];
  if (/^error touching file "\/db\//.test(text)) return ['POD-VOL-004'];
  const waited = /^timed out waiting for \/db\/(main|sidekick)$/.exec(text);
  if (waited) {
    const other: Stage = waited[1] === 'main' ? 'main' : 'sidekick';
    return ran(other) ? ['POD-VOL-004'] : STAGE_CLAUSES[other].requires;
  }
  // The main app's environment.
  if (/^PATH not set appropriately/.test(text)) return ['ACE-ENV-001'];
  if (/^(working directory not set appropriately|error getting working directory)/.test(text)) return ['ACE-WD-001'];
  if (/^environment variable "IN_ACE_VALIDATOR" not set appropriately/.test(text)) return ['ACE-ENV-007'];
  if (/^AC_APP_NAME not set appropriately/.test(text)) return ['ACE-ENV-002'];
  if (/^"\/db" (is not a mount point|mounted ro=)/.test(text)) return ['ACE-VOL-001'];
  if (/^AC_METADATA_URL is not set$/.test(text)) return ['ACE-ENV-003'];
  // The metadata service: answers compared with each other.
  if (/^failed to JSON-decode pod manifest/.test(text)) return ['MDS-POD-003'];
  if (/^malformed UUID returned/.test(text)) return ['ACE-UUID-002'];
  if (/^pod annotations mismatch/.test(text)) return ['MDS-POD-001', 'POD-ANN-002'];
  if (/^failed to JSON-decode ".*" manifest/.test(text)) return ['MDS-APP-004'];
  if (/^".*"'s image id mismatch/.test(text)) return ['MDS-APP-006'];
  if (/^[a-z0-9-]+ annotations mismatch/.test(text)) return ['MDS-APP-002', 'POD-APP-012'];
  if (/acMetadata\/v1\//.test(text)) {
    const contentType = /Content-Type/.test(text);
    for (const [path, reach, type] of MDS_ENDPOINTS) if (path.test(text)) return contentType ? type : reach;
  }
  return undefined;
}

/** Every clause a finding can name: the suite must declare each of them in some test. */
export function findingClauses(): Set<string> {
  const all = new Set<string>();
  for (const s of STAGES) [...STAGE_CLAUSES[s].requires, ...STAGE_CLAUSES[s].covers].forEach((c) => all.add(c));
  for (const [, reach, type] of MDS_ENDPOINTS) [...reach, ...type].forEach((c) => all.add(c));
  ['ACE-LIFE-005', 'ACE-LIFE-002', 'ACE-FS-010', 'MDS-POD-001', 'POD-ANN-002', 'MDS-APP-002', 'POD-APP-012', 'MDS-APP-006', 'ACE-UUID-002'].forEach((c) => all.add(c));
  return all;
}

const tail = (s: string) => s.trim().split('\n').slice(-5).join(' | ').slice(-600);

/** Findings of one validator pod from both apps' captured output. */
export function judgeValidator(main: AppOutput, sidekick: AppOutput): ValidatorVerdict {
  const mainLines = parseStageLines(main.stdout);
  const sideLines = parseStageLines(sidekick.stdout);
  const stages = {} as Record<Stage, StageStatus>;
  for (const s of STAGES) stages[s] = (STAGE_CLAUSES[s].app === 'main' ? mainLines : sideLines).get(s) ?? 'missing';

  const findings: Finding[] = [];
  for (const s of STAGES) {
    if (stages[s] !== 'missing') continue;
    const out = STAGE_CLAUSES[s].app === 'main' ? main : sidekick;
    const status = out.exitCode !== null ? `exit ${out.exitCode}` : out.signal ? `signal ${out.signal}` : 'never ran';
    findings.push({
      clauses: STAGE_CLAUSES[s].requires,
      evidence: `no "${s} OK/FAIL" line from app ${STAGE_CLAUSES[s].app === 'main' ? 'ace-validator-main' : 'ace-validator-sidekick'} (${status}; stdout: ${tail(out.stdout) || 'empty'}; stderr: ${tail(out.stderr) || 'empty'})`,
      how: 'missing',
    });
  }
  for (const [app, out] of [['main', main], ['sidekick', sidekick]] as const) {
    const failed = STAGES.filter((s) => STAGE_CLAUSES[s].app === app && stages[s] === 'FAIL');
    // An error line we cannot place belongs to whichever of the app's stages failed (all of them when none said so).
    const fallback = [...new Set((failed.length > 0 ? failed : STAGES.filter((s) => STAGE_CLAUSES[s].app === app)).flatMap((s) => STAGE_CLAUSES[s].covers))];
    for (const text of parseErrorLines(out.stderr)) {
      const mapped = clausesOfError(text, stages);
      findings.push(mapped ? { clauses: mapped, evidence: text, how: 'mapped' } : { clauses: fallback, evidence: text, how: 'fallback' });
    }
  }
  // A stage that says FAIL without a single error line still failed: blame the stage.
  for (const s of STAGES) {
    if (stages[s] !== 'FAIL') continue;
    const app = STAGE_CLAUSES[s].app;
    const out = app === 'main' ? main : sidekick;
    if (parseErrorLines(out.stderr).length === 0) findings.push({ clauses: STAGE_CLAUSES[s].covers, evidence: `${s} FAIL without an error line (stderr: ${tail(out.stderr) || 'empty'})`, how: 'fallback' });
  }
  return { stages, findings };
}

/** The findings that concern one clause. */
export function findingsFor(verdict: ValidatorVerdict, clause: string): Finding[] {
  return verdict.findings.filter((f) => f.clauses.includes(clause));
}
