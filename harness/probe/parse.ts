import { PROBE_PROTOCOL, type ProbeReport } from './report.js';

/** The probe's report: the last line of its stdout. Returns an explanation instead when there is none. */
export function parseProbeReport(stdout: string): ProbeReport | string {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) return 'no output on stdout';
  let doc: unknown;
  try {
    doc = JSON.parse(last);
  } catch {
    return `last stdout line is not JSON: ${last.slice(0, 200)}`;
  }
  const r = doc as Partial<ProbeReport>;
  if (r.probe !== 'appc-probe') return 'last stdout line is not a probe report';
  if (r.protocol !== PROBE_PROTOCOL) return `probe protocol ${r.protocol}, expected ${PROBE_PROTOCOL} (rebuild the fixtures)`;
  return doc as ProbeReport;
}
