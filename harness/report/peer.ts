// The peer check: per clause, the verdict of a peer suite (another party's checks run through our
// harness, e.g. the spec's own ACE validator) beside the verdict of our own suites. A disagreement
// is worth a look (one side may check something the other misses, or be wrong), not a failure.
import type { TestRecord } from './result.js';

export type SideVerdict = 'pass' | 'fail';

export interface PeerDisagreement {
  clause: string;
  peer: SideVerdict;
  own: SideVerdict;
  /** tests of each side whose checks of the clause ran */
  peerTests: string[];
  ownTests: string[];
  /** the first failure message on the failing side */
  evidence?: string;
}

export interface PeerCheck {
  peer: string;
  /** clauses both sides checked */
  compared: number;
  agree: number;
  disagreements: PeerDisagreement[];
  /** clauses only the peer checked, with its verdict */
  peerOnly: { clause: string; verdict: SideVerdict }[];
}

/** Tests whose checks count (as in coverage): a skip or a harness error says nothing either way. */
const COUNTED: ReadonlySet<TestRecord['status']> = new Set(['pass', 'fail', 'xfail', 'xpass']);

interface Side {
  verdict: SideVerdict;
  tests: Set<string>;
  evidence?: string;
}

function verdicts(tests: readonly TestRecord[]): Map<string, Side> {
  const out = new Map<string, Side>();
  for (const t of tests) {
    if (!COUNTED.has(t.status)) continue;
    for (const c of t.checks) {
      for (const id of c.clauses) {
        const side = out.get(id) ?? { verdict: 'pass', tests: new Set<string>() };
        side.tests.add(t.id);
        if (!c.ok && side.verdict === 'pass') {
          side.verdict = 'fail';
          side.evidence = c.message ?? t.reason;
        }
        out.set(id, side);
      }
    }
  }
  return out;
}

/** One comparison per peer present in the run; none when no peer test ran. */
export function peerChecks(tests: readonly TestRecord[]): PeerCheck[] {
  const own = verdicts(tests.filter((t) => t.peer === undefined));
  const peers = [...new Set(tests.flatMap((t) => (t.peer ? [t.peer] : [])))].sort();
  return peers.map((peer) => {
    const theirs = verdicts(tests.filter((t) => t.peer === peer));
    const result: PeerCheck = { peer, compared: 0, agree: 0, disagreements: [], peerOnly: [] };
    for (const [clause, p] of [...theirs].sort(([a], [b]) => a.localeCompare(b))) {
      const o = own.get(clause);
      if (!o) {
        result.peerOnly.push({ clause, verdict: p.verdict });
        continue;
      }
      result.compared++;
      if (o.verdict === p.verdict) {
        result.agree++;
        continue;
      }
      const failing = p.verdict === 'fail' ? p : o;
      result.disagreements.push({
        clause,
        peer: p.verdict,
        own: o.verdict,
        peerTests: [...p.tests],
        ownTests: [...o.tests],
        ...(failing.evidence ? { evidence: failing.evidence } : {}),
      });
    }
    return result;
  });
}

/** The summary's section (Markdown lines); empty when no peer ran. */
export function renderPeerChecks(checks: readonly PeerCheck[] | undefined): string[] {
  const lines: string[] = [];
  for (const c of checks ?? []) {
    lines.push('', `### Peer check: ${c.peer} (its verdict per clause beside our own suites')`, '');
    lines.push(`${c.compared} clauses checked by both: ${c.agree} agree, ${c.disagreements.length} disagree (worth a look, not a failure by itself).`);
    if (c.disagreements.length > 0) {
      lines.push('', `| clause | ${c.peer} | our suites | evidence |`, '|---|---|---|---|');
      for (const d of c.disagreements) lines.push(`| ${d.clause} | ${d.peer} | ${d.own} | ${(d.evidence ?? '').replace(/\|/g, '\\|').slice(0, 300)} |`);
    }
    if (c.peerOnly.length > 0) {
      lines.push(`Checked only by ${c.peer}: ${c.peerOnly.map((p) => `${p.clause}${p.verdict === 'fail' ? ' (fail)' : ''}`).join(' ')}`);
    }
  }
  return lines;
}
