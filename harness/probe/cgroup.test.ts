import { describe, expect, test } from 'vitest';
import {
  cpuShare,
  effectiveMemoryLimitV2,
  memoryLimit,
  nearestShareRatio,
  parseCpuMax,
  parseIoMax,
  parseMax,
  sharesOfWeight,
  weightOfShares,
} from './cgroup.js';
import type { CgroupV2View, ProbeReport } from './report.js';

const v2 = (over: Partial<CgroupV2View> = {}): CgroupV2View => ({
  path: '/appc-ref/u/app',
  dir: '/sys/fs/cgroup/appc-ref/u/app',
  memoryMax: 'max\n',
  cpuMax: 'max 100000\n',
  cpuWeight: '100\n',
  ioMax: '',
  ancestors: [],
  ...over,
});

const report = (limits: Partial<ProbeReport['cgroupLimits']>, view?: CgroupV2View | null): ProbeReport =>
  ({
    cgroupLimits: { memoryLimitBytes: null, cpuQuotaUs: null, cpuPeriodUs: null, cpuShares: null, ...limits },
    ...(view !== undefined ? { cgroupV2: view } : {}),
  }) as ProbeReport;

describe('parseMax', () => {
  test('numbers, max, unreadable, junk', () => {
    expect(parseMax('67108864\n')).toBe(67108864);
    expect(parseMax('max\n')).toBe(Infinity);
    expect(parseMax(null)).toBeNull();
    expect(parseMax(undefined)).toBeNull();
    expect(parseMax('')).toBeNull();
    expect(parseMax('-1')).toBeNull();
    expect(parseMax('12 34')).toBeNull();
  });
});

describe('parseCpuMax', () => {
  test('quota and period; max as Infinity', () => {
    expect(parseCpuMax('50000 100000\n')).toEqual({ quotaUs: 50000, periodUs: 100000 });
    expect(parseCpuMax('max 100000\n')).toEqual({ quotaUs: Infinity, periodUs: 100000 });
  });
  test('unreadable or malformed', () => {
    expect(parseCpuMax(null)).toBeNull();
    expect(parseCpuMax('50000')).toBeNull();
    expect(parseCpuMax('max max')).toBeNull();
  });
});

describe('parseIoMax', () => {
  test('a line per device, as the kernel writes it', () => {
    expect(parseIoMax('254:0 rbps=3145728 wbps=3145728 riops=321 wiops=321\n8:16 rbps=max wbps=10 riops=max wiops=max\n')).toEqual([
      { device: '254:0', rbps: 3145728, wbps: 3145728, riops: 321, wiops: 321 },
      { device: '8:16', rbps: Infinity, wbps: 10, riops: Infinity, wiops: Infinity },
    ]);
  });
  test('keys not listed are unlimited; unknown keys are ignored', () => {
    expect(parseIoMax('254:0 rbps=5 foo=7')).toEqual([{ device: '254:0', rbps: 5, wbps: Infinity, riops: Infinity, wiops: Infinity }]);
  });
  test('empty file: no device throttled; unreadable or malformed: null', () => {
    expect(parseIoMax('')).toEqual([]);
    expect(parseIoMax('\n')).toEqual([]);
    expect(parseIoMax(null)).toBeNull();
    expect(parseIoMax('vda rbps=5')).toBeNull();
  });
});

describe('cpu.shares and cpu.weight (crun 1.8.1)', () => {
  test('values seen in a cgroup v2 guest', () => {
    // os/linux/cpu-shares 123 → 5; resource/cpu 500m (512 shares) → 20
    expect(weightOfShares(123)).toBe(5);
    expect(weightOfShares(512)).toBe(20);
    expect(weightOfShares(2)).toBe(1);
    expect(weightOfShares(262144)).toBe(10000);
  });
  test('sharesOfWeight is exactly the inverse image of weightOfShares', () => {
    const byWeight = new Map<number, number[]>();
    for (let s = 2; s <= 262144; s++) {
      const w = weightOfShares(s);
      const r = byWeight.get(w);
      if (r) r[1] = s;
      else byWeight.set(w, [s, s]);
    }
    for (let w = 1; w <= 10000; w++) {
      const r = byWeight.get(w);
      expect(sharesOfWeight(w), `weight ${w}`).toEqual(r ? { min: r[0], max: r[1] } : null);
    }
    expect(sharesOfWeight(0)).toBeNull();
    expect(sharesOfWeight(10001)).toBeNull();
  });
});

describe('limits from a report', () => {
  test('memory: v1 number first, else v2 memory.max with max as Infinity, else null', () => {
    expect(memoryLimit(report({ memoryLimitBytes: 64 }, null))).toBe(64);
    expect(memoryLimit(report({}, v2({ memoryMax: '67108864\n' })))).toBe(67108864);
    expect(memoryLimit(report({}, v2()))).toBe(Infinity);
    expect(memoryLimit(report({}, v2({ memoryMax: null })))).toBeNull();
    expect(memoryLimit(report({}))).toBeNull();
  });
  test('effective v2 memory limit: the smallest of the cgroup and its parents', () => {
    const anc = (...m: (string | null)[]) => m.map((memoryMax, i) => ({ dir: `/d${i}`, memoryMax }));
    expect(effectiveMemoryLimitV2(v2({ ancestors: anc('100663296\n', 'max\n', null) }))).toBe(100663296);
    expect(effectiveMemoryLimitV2(v2({ memoryMax: '5', ancestors: anc('100663296\n') }))).toBe(5);
    expect(effectiveMemoryLimitV2(v2({ ancestors: anc('max\n', null) }))).toBe(Infinity);
    expect(effectiveMemoryLimitV2(v2({ memoryMax: null, ancestors: anc(null) }))).toBeNull();
    expect(effectiveMemoryLimitV2(null)).toBeNull();
  });
  test('cpu share: exact on v1, a range of shares on v2', () => {
    expect(cpuShare(report({ cpuShares: 123 }))).toEqual({ file: 'cpu.shares', value: 123, shares: { min: 123, max: 123 } });
    expect(cpuShare(report({}, v2({ cpuWeight: '5\n' })))).toEqual({ file: 'cpu.weight', value: 5, shares: sharesOfWeight(5) });
    expect(cpuShare(report({}, v2({ cpuWeight: null })))).toBeNull();
    expect(cpuShare(report({}, null))).toBeNull();
  });
  test('nearest share ratio: the plain ratio on v1; within what the weights allow on v2', () => {
    const v1 = (n: number) => cpuShare(report({ cpuShares: n }))!;
    expect(nearestShareRatio(v1(1024), v1(256), 4)).toBe(4);
    expect(nearestShareRatio(v1(1024), v1(512), 4)).toBe(2);
    const w = (n: number) => cpuShare(report({}, v2({ cpuWeight: String(weightOfShares(n)) })))!;
    expect(nearestShareRatio(w(1024), w(256), 4)).toBe(4);
    // equal weights (a request ignored) cannot stand for a 4:1 ratio
    expect(nearestShareRatio(w(1024), w(1024), 4)).toBeLessThan(1.1);
    expect(nearestShareRatio(w(1024), w(512), 4)).toBeLessThan(2.2);
  });
});
