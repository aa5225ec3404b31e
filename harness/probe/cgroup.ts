// What a probe report says about the app's cgroup limits, on cgroup v1 and v2 alike. v1 values come
// from the probe as numbers (cgroupLimits); v2 files come raw (cgroupV2) and are parsed here, with
// "max" as Infinity so that an unlimited value fails a check instead of looking unobservable.
import type { CgroupV2View, ProbeReport } from './report.js';

/** A v2 file holding "max" or a number: Infinity for "max", null when unreadable or malformed. */
export function parseMax(text: string | null | undefined): number | null {
  const t = text?.trim();
  if (t === undefined) return null;
  if (t === 'max') return Infinity;
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** cpu.max: "QUOTA PERIOD" with QUOTA "max" when unlimited. */
export function parseCpuMax(text: string | null | undefined): { quotaUs: number; periodUs: number } | null {
  const m = text?.trim().match(/^(max|\d+) (\d+)$/);
  if (!m) return null;
  return { quotaUs: m[1] === 'max' ? Infinity : Number(m[1]), periodUs: Number(m[2]) };
}

export interface IoMaxEntry {
  /** MAJ:MIN */
  device: string;
  /** bytes and operations per second; Infinity when "max" or not listed */
  rbps: number;
  wbps: number;
  riops: number;
  wiops: number;
}

/** io.max: one line per throttled device, "MAJ:MIN rbps=… wbps=… riops=… wiops=…". Null when unreadable or malformed. */
export function parseIoMax(text: string | null | undefined): IoMaxEntry[] | null {
  if (text === null || text === undefined) return null;
  const out: IoMaxEntry[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [device, ...pairs] = line.split(/\s+/);
    if (!device || !/^\d+:\d+$/.test(device)) return null;
    const e: IoMaxEntry = { device, rbps: Infinity, wbps: Infinity, riops: Infinity, wiops: Infinity };
    for (const pair of pairs) {
      const m = pair.match(/^(rbps|wbps|riops|wiops)=(max|\d+)$/);
      // Newer kernels may add keys; only the four throttles matter here.
      if (!m) continue;
      e[m[1] as 'rbps' | 'wbps' | 'riops' | 'wiops'] = m[2] === 'max' ? Infinity : Number(m[2]);
    }
    out.push(e);
  }
  return out;
}

const SHARES_MIN = 2;
const SHARES_MAX = 262144;

/** crun's mapping of OCI cpu.shares to cgroup v2 cpu.weight (crun 1.8.1; integer arithmetic). */
export function weightOfShares(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The cpu.shares values crun maps to `weight` (inclusive), or null when none does. */
export function sharesOfWeight(weight: number): { min: number; max: number } | null {
  if (!Number.isInteger(weight) || weight < 1) return null;
  const min = Math.max(SHARES_MIN, 2 + Math.ceil(((weight - 1) * 262142) / 9999));
  const max = Math.min(SHARES_MAX, 2 + Math.floor((weight * 262142 - 1) / 9999));
  return min <= max ? { min, max } : null;
}

/** The app's memory limit in bytes (Infinity: unlimited); null when the app cannot read it. */
export function memoryLimit(r: ProbeReport): number | null {
  return r.cgroupLimits.memoryLimitBytes ?? parseMax(r.cgroupV2?.memoryMax);
}

/** v2: the smallest memory.max of the app's cgroup and its visible parents (the limit that binds it). */
export function effectiveMemoryLimitV2(v: CgroupV2View | null | undefined): number | null {
  const limits = [v?.memoryMax, ...(v?.ancestors ?? []).map((a) => a.memoryMax)].map(parseMax).filter((x): x is number => x !== null);
  return limits.length > 0 ? Math.min(...limits) : null;
}

/** The app's CPU weight: cpu.shares on v1; cpu.weight on v2 with the shares it stands for. */
export interface CpuShare {
  file: 'cpu.shares' | 'cpu.weight';
  value: number;
  /** the cpu.shares this value can come from: exact on v1, a range on v2 */
  shares: { min: number; max: number };
}

export function cpuShare(r: ProbeReport): CpuShare | null {
  return cpuShareOf(r.cgroupLimits.cpuShares, parseMax(r.cgroupV2?.cpuWeight));
}

/** The CPU weight from a v1 cpu.shares or, without one, a v2 cpu.weight (wherever they were read). */
export function cpuShareOf(v1: number | null, weight: number | null): CpuShare | null {
  if (v1 !== null) return { file: 'cpu.shares', value: v1, shares: { min: v1, max: v1 } };
  if (weight === null || !Number.isFinite(weight)) return null;
  // A weight no shares map to (set by something else) stands for no shares at all.
  return { file: 'cpu.weight', value: weight, shares: sharesOfWeight(weight) ?? { min: NaN, max: NaN } };
}

/** The ratio of a's shares to b's that is nearest `target` among those their values allow. */
export function nearestShareRatio(a: CpuShare, b: CpuShare, target: number): number {
  const lo = a.shares.min / b.shares.max;
  const hi = a.shares.max / b.shares.min;
  return Math.min(hi, Math.max(lo, target));
}
