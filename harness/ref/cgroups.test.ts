import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPodResources, hierarchies, podResourceWrites, unifiedOnly, weightOfShares, type Hierarchy } from './cgroups.js';

const HYBRID = `25 1 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
`;
const UNIFIED = `25 1 0:22 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
`;

describe('hierarchies', () => {
  it('tells a hybrid host from a unified-only one', () => {
    expect(unifiedOnly(hierarchies(HYBRID))).toBeUndefined();
    expect(unifiedOnly(hierarchies(UNIFIED))).toEqual({ mountPoint: '/sys/fs/cgroup', version: 2, controllers: [] });
    // a named v1 hierarchy without controllers (systemd's) does not make limits v1
    expect(unifiedOnly(hierarchies(UNIFIED + '27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n'))?.version).toBe(2);
  });
});

describe('podResourceWrites', () => {
  const res = { memoryLimit: 100663296, cpuQuota: 50000, cpuShares: 1024 };
  it('v1: limit_in_bytes, cfs period and quota, shares', () => {
    expect(podResourceWrites(res, 1)).toEqual([
      { controller: 'memory', file: 'memory.limit_in_bytes', value: '100663296' },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '100000' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '50000' },
      { controller: 'cpu', file: 'cpu.shares', value: '1024' },
    ]);
  });
  it("v2: memory.max, cpu.max, and cpu.weight as crun maps shares", () => {
    expect(podResourceWrites(res, 2)).toEqual([
      { controller: 'memory', file: 'memory.max', value: '100663296' },
      { controller: 'cpu', file: 'cpu.max', value: '50000 100000' },
      { controller: 'cpu', file: 'cpu.weight', value: '39' },
    ]);
    expect(weightOfShares(123)).toBe(5);
    expect(podResourceWrites({}, 2)).toEqual([]);
  });
});

describe('applyPodResources on a unified hierarchy', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A stand-in for /sys/fs/cgroup with the three levels ref uses (plain files, no kernel). */
  function fakeUnified(offered: string): { h: Hierarchy; pod: string } {
    root = mkdtempSync(join(tmpdir(), 'appc-cg-'));
    const pod = join(root, 'appc-ref', 'u');
    mkdirSync(pod, { recursive: true });
    for (const d of [root, join(root, 'appc-ref'), pod]) {
      writeFileSync(join(d, 'cgroup.controllers'), `${offered}\n`);
      writeFileSync(join(d, 'cgroup.subtree_control'), '');
    }
    return { h: { mountPoint: root, version: 2, controllers: [] }, pod };
  }

  it('enables the controllers at every level, then writes the limits at the pod level', async () => {
    const { h, pod } = fakeUnified('cpuset cpu io memory pids');
    const skipped = await applyPodResources('u', { memoryLimit: 100663296, cpuQuota: 50000 }, [h]);
    expect(skipped).toEqual([]);
    // one controller per write, as the kernel takes them; the fake file keeps the last one
    for (const d of [h.mountPoint, join(h.mountPoint, 'appc-ref'), pod]) expect(readFileSync(join(d, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu');
    expect(readFileSync(join(pod, 'memory.max'), 'utf8')).toBe('100663296');
    expect(readFileSync(join(pod, 'cpu.max'), 'utf8')).toBe('50000 100000');
  });

  it('reports the files of a controller the hierarchy does not offer', async () => {
    const { h } = fakeUnified('cpuset cpu pids');
    expect(await applyPodResources('u', { memoryLimit: 1, cpuShares: 1024 }, [h])).toEqual(['memory.max']);
  });

  it('leaves a hybrid host to v1', async () => {
    const { h } = fakeUnified('cpu memory');
    const v1: Hierarchy = { mountPoint: join(h.mountPoint, 'v1-memory'), version: 1, controllers: ['memory'] };
    expect(await applyPodResources('u', { memoryLimit: 5 }, [h, v1])).toEqual([]);
    expect(readFileSync(join(v1.mountPoint, 'appc-ref', 'u', 'memory.limit_in_bytes'), 'utf8')).toBe('5');
  });
});
