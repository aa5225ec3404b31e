import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { cgroupMounts, controllerDir, cpuFraction, cpuTicks, findMarkedApp, outsideCgroups, parseProcCgroup, readLimits, splitFiles } from './app-cgroups.js';
import { HostTarget } from './host-target.js';

// A hybrid host (v1 controllers, v2 unified beside them), as this machine's.
const HYBRID_MOUNTS = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_CGROUP = '9:name=systemd:/machine.slice/app\n4:memory:/machine.slice/app\n1:cpu:/machine.slice/app\n0::/machine.slice/app\n';

// A pure v2 host (Debian 12's default).
const V2_MOUNTS = '25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
const V2_CGROUP = '0::/pod/app\n';

describe('reading an app cgroup from outside', () => {
  test('parses /proc/PID/cgroup lines, v1 controllers and the v2 line', () => {
    expect(parseProcCgroup(HYBRID_CGROUP)).toEqual([
      { id: '9', controllers: ['name=systemd'], path: '/machine.slice/app' },
      { id: '4', controllers: ['memory'], path: '/machine.slice/app' },
      { id: '1', controllers: ['cpu'], path: '/machine.slice/app' },
      { id: '0', controllers: [], path: '/machine.slice/app' },
    ]);
  });

  test('finds the cgroup mounts and their controllers, not other file systems', () => {
    const mounts = cgroupMounts(HYBRID_MOUNTS);
    expect(mounts.map((m) => [m.version, m.controllers.join(','), m.mountPoint])).toEqual([
      [1, 'cpu', '/sys/fs/cgroup/cpu'],
      [1, 'cpuacct', '/sys/fs/cgroup/cpuacct'],
      [1, 'memory', '/sys/fs/cgroup/memory'],
      [1, '', '/sys/fs/cgroup/systemd'],
      [2, '', '/sys/fs/cgroup/unified'],
    ]);
  });

  test('prefers the v1 hierarchy of a controller, else the v2 cgroup', () => {
    const lines = parseProcCgroup(HYBRID_CGROUP);
    const mounts = cgroupMounts(HYBRID_MOUNTS);
    expect(controllerDir('cpu', lines, mounts)).toEqual({ version: 1, dir: '/sys/fs/cgroup/cpu/machine.slice/app', mountPoint: '/sys/fs/cgroup/cpu' });
    expect(controllerDir('memory', parseProcCgroup(V2_CGROUP), cgroupMounts(V2_MOUNTS))).toEqual({ version: 2, dir: '/sys/fs/cgroup/pod/app', mountPoint: '/sys/fs/cgroup' });
  });

  test('reads v1 limits: quota, period, shares, the own and the hierarchical memory limit', () => {
    const files = splitFiles(
      [
        '@@/sys/fs/cgroup/memory/machine.slice/app/memory.stat',
        'cache 0\nhierarchical_memory_limit 100663296',
        '@@/sys/fs/cgroup/memory/machine.slice/app/memory.limit_in_bytes',
        '9223372036854771712',
        '@@/sys/fs/cgroup/cpu/machine.slice/app/cpu.cfs_quota_us',
        '50000',
        '@@/sys/fs/cgroup/cpu/machine.slice/app/cpu.cfs_period_us',
        '100000',
        '@@/sys/fs/cgroup/cpu/machine.slice/app/cpu.shares',
        '123',
        '',
      ].join('\n'),
    );
    const seen = readLimits(7, parseProcCgroup(HYBRID_CGROUP), cgroupMounts(HYBRID_MOUNTS), files);
    expect(seen.memory).toEqual({ version: 1, limitBytes: Infinity, effectiveLimitBytes: 100663296 });
    expect(seen.cpu).toEqual({ version: 1, quotaUs: 50000, periodUs: 100000, shares: 123, weight: null });
    expect(seen.sources).toContain('/sys/fs/cgroup/cpu/machine.slice/app/cpu.shares: 123');
  });

  test('reads v2 limits: cpu.max, cpu.weight, and the smallest memory.max up the tree', () => {
    const files = splitFiles(
      [
        '@@/sys/fs/cgroup/pod/app/memory.max',
        'max',
        '@@/sys/fs/cgroup/pod/memory.max',
        '100663296',
        '@@/sys/fs/cgroup/memory.max',
        '@@/sys/fs/cgroup/pod/app/cpu.max',
        'max 100000',
        '@@/sys/fs/cgroup/pod/app/cpu.weight',
        '5',
        '',
      ].join('\n'),
    );
    const seen = readLimits(7, parseProcCgroup(V2_CGROUP), cgroupMounts(V2_MOUNTS), files);
    expect(seen.memory).toEqual({ version: 2, limitBytes: Infinity, effectiveLimitBytes: 100663296 });
    expect(seen.cpu).toEqual({ version: 2, quotaUs: Infinity, periodUs: 100000, shares: null, weight: 5 });
  });

  test('reads nothing where no file could be read', () => {
    const seen = readLimits(7, parseProcCgroup(V2_CGROUP), cgroupMounts(V2_MOUNTS), splitFiles(''));
    expect(seen.memory).toEqual({ version: 2, limitBytes: null, effectiveLimitBytes: null });
    expect(seen.cpu).toEqual({ version: 2, quotaUs: null, periodUs: null, shares: null, weight: null });
    expect(seen.sources).toEqual([]);
  });

  test('adds user and system time of /proc/PID/stat, whatever the command name holds', () => {
    expect(cpuTicks('42 (a b) c) R 1 42 42 0 -1 4194304 100 0 0 0 250 17 0 0 20 0 1 0 100 1000 10')).toBe(267);
    expect(cpuTicks('')).toBeNull();
  });
});

describe.runIf(process.getuid?.() === 0 && existsSync('/usr/bin/unshare'))('the app of a marker on the host target', () => {
  test('is found in another mount namespace, and its cgroups and CPU time are read', async () => {
    const marker = `appc-watch-test-${process.pid}`;
    // Busy in its own mount namespace, with the marker as an argument.
    const child = spawn('unshare', ['--mount', 'sh', '-c', 'echo ready; while :; do :; done', 'sh', marker], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const target = new HostTarget();
      const pid = await findMarkedApp(target, marker);
      expect(pid).toBeGreaterThan(0);
      expect(await findMarkedApp(target, `${marker}-absent`)).toBeUndefined();
      const seen = await outsideCgroups(target, pid!);
      expect(seen?.cpu?.periodUs ?? seen?.cpu?.weight).toBeGreaterThan(0);
      const used = await cpuFraction(target, pid!, 300);
      expect(used?.wallMs).toBeGreaterThan(0);
      expect(used?.cpuMs).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
