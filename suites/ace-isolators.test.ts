// spec/ace.md § Isolators: Linux capabilities, no-new-privileges, memory and CPU limits.
// Evidence from inside the app: /proc/self/status masks and the cgroup limits it can read.
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import { capabilityNames, DEFAULT_CAPABILITY_SET } from '../harness/probe/caps.js';
import type { App, Isolator } from '../harness/aci/index.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const MEMORY_LIMIT = 64 * 1024 * 1024;

/** One app per isolator setting, all from the same image, plus one without isolators. */
const isolatorPod = podRun(
  [
    'pod-manifest',
    'multi-app',
    'isolator/os/linux/capabilities-remove-set',
    'isolator/os/linux/capabilities-retain-set',
    'isolator/os/linux/no-new-privileges',
    'isolator/resource/memory',
    'isolator/resource/cpu',
    'isolator/os/linux/oom-score-adj',
    'isolator/os/linux/cpu-shares',
  ],
  async () => {
    const img = await image(await probeImage({ name: 'isolators' }));
    const app = (isolators: Isolator[]): App => ({ exec: ['/probe'], user: '0', group: '0', isolators });
    return {
      images: [img],
      manifest: podManifest([
        { name: 'no-isolators', image: img, app: app([]) },
        { name: 'cap-remove', image: img, app: app([{ name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW', 'CAP_MKNOD'] } }]) },
        { name: 'cap-retain', image: img, app: app([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'] } }]) },
        { name: 'nnp', image: img, app: app([{ name: 'os/linux/no-new-privileges', value: true }]) },
        { name: 'memory', image: img, app: app([{ name: 'resource/memory', value: { limit: '64Mi' } }]) },
        { name: 'cpu', image: img, app: app([{ name: 'resource/cpu', value: { limit: '500m' } }]) },
        { name: 'oom', image: img, app: app([{ name: 'os/linux/oom-score-adj', value: 345 }]) },
        { name: 'shares', image: img, app: app([{ name: 'os/linux/cpu-shares', value: 123 }]) },
      ]),
    };
  },
);

const bounding = (hex: string) => capabilityNames(hex).sort();

describe('ACE § Linux Isolators: capabilities', () => {
  test('gives an app without capability isolators exactly the default bounding set', clauses('ACE-ISO-CAPRM-002'), async ({ skip, check }) => {
    const r = (await isolatorPod(skip)).report('no-isolators');
    check('ACE-ISO-CAPRM-002', () => expect(bounding(r.capabilities.bounding)).toEqual([...DEFAULT_CAPABILITY_SET].sort()));
  });

  test('drops the capabilities of a remove-set and keeps the rest of the default set', clauses('ACE-ISO-CAPRM-001'), async ({ skip, check }) => {
    const caps = bounding((await isolatorPod(skip)).report('cap-remove').capabilities.bounding);
    check('ACE-ISO-CAPRM-001', () => expect(caps).not.toContain('CAP_NET_RAW'));
    check('ACE-ISO-CAPRM-001', () => expect(caps).not.toContain('CAP_MKNOD'));
    check('ACE-ISO-CAPRM-001', () =>
      expect(caps).toEqual(DEFAULT_CAPABILITY_SET.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD').sort()),
    );
  });

  test('limits the bounding set to exactly a retain-set', clauses('ACE-ISO-CAPRT-001'), async ({ skip, check }) => {
    const caps = bounding((await isolatorPod(skip)).report('cap-retain').capabilities.bounding);
    check('ACE-ISO-CAPRT-001', () => expect(caps).toEqual(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']));
  });
});

describe('ACE § Linux Isolators: no-new-privileges', () => {
  test('sets no_new_privs when the isolator is true', clauses('ACE-ISO-NNP-001'), async ({ skip, check }) => {
    const r = (await isolatorPod(skip)).report('nnp');
    check('ACE-ISO-NNP-001', () => expect(r.noNewPrivs).toBe(1));
  });

  test('leaves no_new_privs unset by default', clauses('ACE-ISO-NNP-002'), async ({ skip, check }) => {
    const r = (await isolatorPod(skip)).report('no-isolators');
    check('ACE-ISO-NNP-002', () => expect(r.noNewPrivs).toBe(0));
  });
});

describe('ACE § Resource Isolators', () => {
  test('limits the memory of the app to resource/memory limit', clauses('ACE-ISO-MEM-002'), async ({ skip, check }) => {
    const limits = (await isolatorPod(skip)).report('memory').cgroupLimits;
    if (limits.memoryLimitBytes === null) skip('host: the app cannot read its memory cgroup, so the limit cannot be observed');
    check('ACE-ISO-MEM-002', () => expect(limits.memoryLimitBytes).toBe(MEMORY_LIMIT));
  });

  test('limits the CPU time of the app to resource/cpu limit', clauses('ACE-ISO-CPU-002'), async ({ skip, check }) => {
    const limits = (await isolatorPod(skip)).report('cpu').cgroupLimits;
    if (limits.cpuPeriodUs === null) skip('host: the app cannot read its cpu cgroup, so the quota cannot be observed');
    check('ACE-ISO-CPU-002', () => expect((limits.cpuQuotaUs ?? Infinity) / limits.cpuPeriodUs!).toBe(0.5));
  });
});

describe('ACE § Linux Isolators: oom-score-adj and cpu-shares (schema code)', () => {
  test("sets the app's oom_score_adj to the isolator value", clauses('ACE-ISO-OOM-002'), async ({ skip, check }) => {
    const pod = await isolatorPod(skip);
    check('ACE-ISO-OOM-002', () => expect(pod.report('oom').oomScoreAdj).toBe(345));
    check('ACE-ISO-OOM-002', () => expect(pod.report('no-isolators').oomScoreAdj).not.toBe(345));
  });

  test("sets the app's cpu.shares to the isolator value", clauses('ACE-ISO-CPUSH-002'), async ({ skip, check }) => {
    const limits = (await isolatorPod(skip)).report('shares').cgroupLimits;
    if (limits.cpuShares === null) skip('host: the app cannot read cpu.shares (no cgroup v1 cpu controller visible)');
    check('ACE-ISO-CPUSH-002', () => expect(limits.cpuShares).toBe(123));
  });
});

/** A pod-level memory limit and an app that sets none of its own. */
const POD_LIMIT = 96 * 1024 * 1024;
const podLevelPod = podRun(['pod-manifest', 'isolator/resource/memory'], async () => {
  const img = await image(await probeImage({ name: 'pod-isolators', app: { exec: ['/probe', 'file=/sys/fs/cgroup/memory/memory.stat'] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'bounded', image: img }], { isolators: [{ name: 'resource/memory', value: { limit: '96Mi' } }] }),
  };
});

describe('ACE § Isolators: pod-level isolators', () => {
  test('bounds an app by the memory limit of its pod', clauses('ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002'), async ({ skip, check }) => {
    const r = (await podLevelPod(skip)).report('bounded');
    const stat = r.files.find((f) => f.path === '/sys/fs/cgroup/memory/memory.stat')?.content;
    const effective = stat?.match(/^hierarchical_memory_limit (\d+)$/m)?.[1];
    if (effective === undefined) skip('host: the app cannot read memory.stat of a cgroup v1 memory controller, so the effective limit cannot be observed');
    // resource/memory at pod scope: ACE-ISO-MEM-002 as much as the pod-level rules.
    check(['ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002'], () => expect(Number(effective)).toBeLessThanOrEqual(POD_LIMIT));
  });
});

/** mkdir blocked with a chosen errno in one app, allowed in the other. */
const seccompPod = podRun(['pod-manifest', 'multi-app', 'isolator/os/linux/seccomp-remove-set'], async () => {
  const img = await image(await probeImage({ name: 'seccomp', app: { exec: ['/probe', 'mkdir=/made-by-app', 'write=/written-by-app'] } }));
  const app = (isolators: Isolator[]): App => ({ exec: ['/probe', 'mkdir=/made-by-app', 'write=/written-by-app'], user: '0', group: '0', isolators });
  return {
    images: [img],
    manifest: podManifest([
      { name: 'filtered', image: img, app: app([{ name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir', 'mkdirat'], errno: 'EXDEV' } }]) },
      { name: 'unfiltered', image: img, app: app([]) },
    ]),
  };
});

describe('ACE § Linux Isolators: seccomp-remove-set', () => {
  test('blocks the listed syscalls with the given errno', clauses('ACE-ISO-SECRM-004', 'ACE-ISO-SECRM-007'), async ({ skip, check }) => {
    const pod = await seccompPod(skip);
    const mkdir = (app: string) => pod.report(app).writes.find((w) => w.path === '/made-by-app');
    // Without the filter the same mkdir succeeds, so the failure comes from the isolator.
    check('ACE-ISO-SECRM-004', () => expect(mkdir('unfiltered')?.ok).toBe(true));
    check('ACE-ISO-SECRM-004', () => expect(mkdir('filtered')?.ok).toBe(false));
    check('ACE-ISO-SECRM-004', () => expect(pod.report('filtered').seccomp, 'Seccomp mode in /proc/self/status').toBe(2));
    check('ACE-ISO-SECRM-007', () => expect(mkdir('filtered')?.error).toBe('EXDEV'));
  });

  test('leaves syscalls outside the set alone', clauses('ACE-ISO-SECRM-006'), async ({ skip, check }) => {
    const r = (await seccompPod(skip)).report('filtered');
    check('ACE-ISO-SECRM-006', () => expect(r.writes.find((w) => w.path === '/written-by-app')?.ok).toBe(true));
  });
});
