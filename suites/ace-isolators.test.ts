// spec/ace.md § Isolators: Linux capabilities, no-new-privileges, memory and CPU limits.
// Evidence from inside the app: /proc/self/status masks and the cgroup limits it can read (cgroup v1
// files, or v2's memory.max, cpu.max, cpu.weight and io.max: harness/probe/cgroup.ts). Where the app
// cannot read them, from outside: the harness finds the app's process on the target and reads its
// cgroups there (harness/target/app-cgroups.ts), and watches the CPU time a busy app gets.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll } from 'vitest';
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import { capabilityNames, DEFAULT_CAPABILITY_SET } from '../harness/probe/caps.js';
import type { App, Isolator } from '../harness/aci/index.js';
import type { Feature } from '../harness/impl/index.js';
import { cpuShare, cpuShareOf, effectiveMemoryLimitV2, memoryLimit, nearestShareRatio, parseIoMax, weightOfShares, type ProbeReport } from '../harness/probe/index.js';
import { probeImage, USER_DB } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';
import { download as downloadFrom, upload as uploadTo } from '../harness/run/tcp.js';
import { cpuFraction, findMarkedApp, outsideCgroups, type OutsideCgroups } from '../harness/target/app-cgroups.js';

const MEMORY_LIMIT = 64 * 1024 * 1024;

/** How long a watched app stays up: time for the harness to find it and sample its CPU use. */
const WATCH_MS = 10_000;
const CPU_WINDOW_MS = 2_000;

/** What the harness saw of one app from outside its pod. */
interface Watched {
  cgroups: OutsideCgroups | null;
  cpu?: { fraction: number; cpuMs: number; wallMs: number } | null;
  /** what was tried, for a skip's reason */
  tried: string;
}

/** Where an outside value came from: the app's pid and the files of one controller. */
const outsideEvidence = (w: Watched, controller: 'memory' | 'cpu') =>
  `read from outside the pod, ${w.tried.split(':')[0]}: ${(w.cgroups?.sources ?? []).filter((s) => s.includes(`/${controller}.`)).join('; ')}`;

/** A marker argument per app (after "--", so the probe ignores it) that finds its process on the target. */
const markerOf = (app: string) => `appc-watch-${app}-${randomUUID().slice(0, 8)}`;

/** While the pod runs: finds each marked app's process on the target, reads its cgroups there and,
 *  for the apps in `sampleCpu`, the share of a CPU it gets over CPU_WINDOW_MS. */
async function watchApps(markers: Record<string, string>, podEnded: AbortSignal, sampleCpu: readonly string[] = []): Promise<Record<string, Watched>> {
  const { target } = session();
  const seen: Record<string, Watched> = {};
  await Promise.all(
    Object.entries(markers).map(async ([app, marker]) => {
      let pid: number | undefined;
      while (pid === undefined && !podEnded.aborted) {
        pid = await findMarkedApp(target, marker);
        if (pid === undefined) await sleep(250);
      }
      if (pid === undefined) {
        seen[app] = { cgroups: null, tried: `no process of app ${app} (argument ${marker}) was found on the target while the pod ran` };
        return;
      }
      const cgroups = await outsideCgroups(target, pid);
      const cpu = sampleCpu.includes(app) ? await cpuFraction(target, pid, CPU_WINDOW_MS, podEnded) : undefined;
      const files = cgroups?.sources.length ? cgroups.sources.join('; ') : 'none of its cgroup limit files could be read';
      seen[app] = { cgroups, cpu, tried: `app ${app} was found on the target as pid ${pid}: ${files}` };
    }),
  );
  return seen;
}

/** Watched apps of one image: each sleeps (or spins) for WATCH_MS with its marker. */
function watchedPod(features: Feature[], name: string, apps: { name: string; isolators: Isolator[]; spin?: boolean }[], podIsolators: Isolator[] = []) {
  const markers = Object.fromEntries(apps.map((a) => [a.name, markerOf(a.name)]));
  return podRun(
    features,
    async () => {
      const img = await image(await probeImage({ name }));
      const app = (a: (typeof apps)[number]): App => ({ exec: ['/probe', `${a.spin ? 'spin' : 'sleep'}=${WATCH_MS}`, '--', markers[a.name]!], user: '0', group: '0', isolators: a.isolators });
      return {
        images: [img],
        manifest: podManifest(apps.map((a) => ({ name: a.name, image: img, app: app(a) })), podIsolators.length > 0 ? { isolators: podIsolators } : {}),
      };
    },
    (podEnded) => watchApps(markers, podEnded, apps.filter((a) => a.spin).map((a) => a.name)),
  );
}

/** A busy app under a CPU limit of half a core. */
const cpuWatchPod = watchedPod(['pod-manifest', 'isolator/resource/cpu'], 'cpu-watch', [{ name: 'busy', spin: true, isolators: [{ name: 'resource/cpu', value: { limit: '500m' } }] }]);

/** One app per isolator setting, all from the same image, plus one without isolators. */
const isolatorPod = podRun(
  [
    'pod-manifest',
    'multi-app',
    'isolator/os/linux/capabilities-remove-set',
    'isolator/os/linux/capabilities-retain-set',
    'isolator/os/linux/no-new-privileges',
    'isolator/resource/memory',
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
        // CAP_SYS_ADMIN is not in the default set: removing it changes nothing.
        { name: 'cap-remove-absent', image: img, app: app([{ name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_SYS_ADMIN'] } }]) },
        { name: 'nnp', image: img, app: app([{ name: 'os/linux/no-new-privileges', value: true }]) },
        { name: 'memory', image: img, app: app([{ name: 'resource/memory', value: { limit: '64Mi' } }]) },
        { name: 'oom', image: img, app: app([{ name: 'os/linux/oom-score-adj', value: 345 }]) },
        { name: 'shares', image: img, app: app([{ name: 'os/linux/cpu-shares', value: 123 }]) },
      ]),
    };
  },
);

const bounding = (hex: string) => capabilityNames(hex).sort();

/** A setuid-root copy of the probe in an image with users: runs it as a given user and group. */
async function setuidImage(name: string) {
  const base = await probeImage({ name, files: USER_DB });
  const probeBytes = base.files.find((f) => f.path === '/probe')!;
  return image({ ...base, files: [...base.files, { ...probeBytes, path: '/probe-suid', mode: 0o4755, uid: 0, gid: 0 }] });
}

/** The defaults of an app without isolators, one pod each for a root and a non-root app (an
 *  implementation may treat them apart), needing nothing but a pod manifest. The app runs the
 *  setuid-root probe, so a non-root app shows whether it can still gain privileges. */
const defaultsPod = Object.fromEntries(
  (['root', 'non-root'] as const).map((user) => [
    user,
    podRun(['pod-manifest'], async () => {
      const img = await setuidImage('defaults');
      const app: App = { exec: ['/probe-suid'], user: user === 'root' ? '0' : '4242', group: user === 'root' ? '0' : '4343' };
      return { images: [img], manifest: podManifest([{ name: `defaults-${user}`, image: img, app }]) };
    }),
  ]),
) as Record<'root' | 'non-root', ReturnType<typeof podRun>>;

describe('ACE § Linux Isolators: capabilities', () => {
  test('gives an app without capability isolators exactly the default bounding set, root or not', clauses('ACE-ISO-CAPRM-002'), async ({ skip, check }) => {
    for (const user of ['root', 'non-root'] as const) {
      const r = (await defaultsPod[user](skip)).report(`defaults-${user}`);
      check('ACE-ISO-CAPRM-002', () => expect(bounding(r.capabilities.bounding), `${user} app`).toEqual([...DEFAULT_CAPABILITY_SET].sort()));
    }
  });

  test('drops the capabilities of a remove-set and keeps the rest of the default set', clauses('ACE-ISO-CAPRM-001'), async ({ skip, check }) => {
    const caps = bounding((await isolatorPod(skip)).report('cap-remove').capabilities.bounding);
    check('ACE-ISO-CAPRM-001', () => expect(caps).not.toContain('CAP_NET_RAW'));
    check('ACE-ISO-CAPRM-001', () => expect(caps).not.toContain('CAP_MKNOD'));
    check('ACE-ISO-CAPRM-001', () =>
      expect(caps).toEqual(DEFAULT_CAPABILITY_SET.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD').sort()),
    );
  });

  test('changes nothing when a remove-set names a capability outside the default set', clauses('ACE-ISO-CAPRM-003'), async ({ skip, check }) => {
    const caps = bounding((await isolatorPod(skip)).report('cap-remove-absent').capabilities.bounding);
    check('ACE-ISO-CAPRM-003', () => expect(caps).toEqual([...DEFAULT_CAPABILITY_SET].sort()));
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

  test('leaves no_new_privs unset by default, so a setuid-root program elevates a non-root app', clauses('ACE-ISO-NNP-002'), async ({ skip, check }) => {
    for (const user of ['root', 'non-root'] as const) {
      const r = (await defaultsPod[user](skip)).report(`defaults-${user}`);
      check('ACE-ISO-NNP-002', () => expect(r.noNewPrivs, `${user} app: NoNewPrivs`).toBe(0));
      // The bit is set on exec of the setuid program; had privileges been barred, euid would stay 4242.
      if (user === 'non-root') check('ACE-ISO-NNP-002', () => expect({ uid: r.uid, euid: r.euid }, 'non-root app running a setuid-root program').toEqual({ uid: 4242, euid: 0 }));
    }
  });
});

describe('ACE § Resource Isolators', () => {
  test('limits the memory of the app to resource/memory limit', clauses('ACE-ISO-MEM-002'), async ({ skip, check }) => {
    // Infinity when the app's memory.max says "max": observed, and unlimited.
    const inside = memoryLimit((await isolatorPod(skip)).report('memory'));
    const outside = inside === null ? (await resourceWatchPod(skip)).during!['memory']! : undefined;
    const limit = inside ?? outside?.cgroups?.memory?.limitBytes ?? null;
    if (limit === null) skip(`host: the app cannot read its memory cgroup (v1 memory.limit_in_bytes or v2 memory.max), and from outside: ${outside!.tried}`);
    check('ACE-ISO-MEM-002', () => expect(limit, inside !== null ? "the app's own cgroup" : outsideEvidence(outside!, 'memory')).toBe(MEMORY_LIMIT));
  });

  test('limits the CPU time of the app to resource/cpu limit', clauses('ACE-ISO-CPU-002'), async ({ skip, check }) => {
    const pod = await cpuWatchPod(skip);
    const limits = pod.report('busy').cgroupLimits;
    const watched = pod.during!['busy']!;
    const outside = watched.cgroups?.cpu;
    // The setting: the app's own files when it can read them, else the target's.
    const quota =
      limits.cpuPeriodUs !== null
        ? { ratio: (limits.cpuQuotaUs ?? Infinity) / limits.cpuPeriodUs, from: "the app's own cpu cgroup" }
        : outside?.periodUs
          ? { ratio: (outside.quotaUs ?? Infinity) / outside.periodUs, from: outsideEvidence(watched, 'cpu') }
          : undefined;
    // The behaviour: the CPU time a busy app got, seen on the target.
    const used = watched.cpu ?? undefined;
    if (quota === undefined && used === undefined) {
      skip(`host: the app cannot read its cpu cgroup (v1 cpu.cfs_*, or v2 cpu.max), and from outside: ${watched.tried}; its CPU time could not be sampled`);
    }
    if (quota) check('ACE-ISO-CPU-002', () => expect(quota.ratio, quota.from).toBe(0.5));
    if (used) {
      if (used.fraction < 0.2) skip(`host: the busy app got only ${used.fraction.toFixed(2)} of a CPU over ${used.wallMs} ms, too little to show a limit of 0.5`);
      // 0.5 of a core, with room for the 10 ms steps of the tick counts and the clock.
      check('ACE-ISO-CPU-002', () => expect(used.fraction, `CPU time of a busy app: ${used.cpuMs} ms in ${used.wallMs} ms, limit 500m`).toBeLessThanOrEqual(0.6));
    }
  });
});

describe('ACE § Linux Isolators: oom-score-adj and cpu-shares (schema code)', () => {
  test("sets the app's oom_score_adj to the isolator value", clauses('ACE-ISO-OOM-002'), async ({ skip, check }) => {
    const pod = await isolatorPod(skip);
    check('ACE-ISO-OOM-002', () => expect(pod.report('oom').oomScoreAdj).toBe(345));
    check('ACE-ISO-OOM-002', () => expect(pod.report('no-isolators').oomScoreAdj).not.toBe(345));
  });

  test("sets the app's cpu.shares to the isolator value", clauses('ACE-ISO-CPUSH-002'), async ({ skip, check }) => {
    const share = cpuShare((await isolatorPod(skip)).report('shares')) ?? (await outsideShare(skip, 'shares'));
    if (share === null) return skip(`host: the app can read neither cpu.shares (cgroup v1) nor cpu.weight (v2), and from outside: ${(await resourceWatchPod(skip)).during!['shares']!.tried}`);
    // v2 has no shares: the runtime sets the weight the shares map to (crun, runc: 123 → 5).
    check('ACE-ISO-CPUSH-002', () => expect(share.value, share.file).toBe(share.file === 'cpu.weight' ? weightOfShares(123) : 123));
  });
});

/** A pod-level memory limit and an app that sets none of its own. */
const POD_LIMIT = 96 * 1024 * 1024;
const V1_MEMORY_STAT = '/sys/fs/cgroup/memory/memory.stat';
const podLevelPod = podRun(['pod-manifest', 'isolator/resource/memory'], async () => {
  const img = await image(await probeImage({ name: 'pod-isolators', app: { exec: ['/probe', `file=${V1_MEMORY_STAT}`] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'bounded', image: img }], { isolators: [{ name: 'resource/memory', value: { limit: '96Mi' } }] }),
  };
});

/** The same pod limit over an app that stays up to be watched, and over one that allocates beyond it. */
const podLevelWatchPod = watchedPod(['pod-manifest', 'isolator/resource/memory'], 'pod-isolators-watch', [{ name: 'bounded', isolators: [] }], [
  { name: 'resource/memory', value: { limit: '96Mi' } },
]);
const podLevelBeyondPod = podRun(['pod-manifest', 'isolator/resource/memory'], async () => {
  const img = await image(await probeImage({ name: 'pod-isolators-beyond', app: { exec: ['/probe', `alloc=${256 * MEBI}`] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'beyond', image: img }], { isolators: [{ name: 'resource/memory', value: { limit: '96Mi' } }] }),
  };
});

describe('ACE § Isolators: pod-level isolators', () => {
  test('bounds an app by the memory limit of its pod', clauses('ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002'), async ({ skip, check }) => {
    const r = (await podLevelPod(skip)).report('bounded');
    const stat = r.files.find((f) => f.path === V1_MEMORY_STAT)?.content;
    const v1 = stat?.match(/^hierarchical_memory_limit (\d+)$/m)?.[1];
    // v2 keeps no hierarchical figure: the smallest memory.max of the app's cgroup and its parents binds it.
    const inside = v1 !== undefined ? Number(v1) : effectiveMemoryLimitV2(r.cgroupV2);
    const outside = inside === null ? (await podLevelWatchPod(skip)).during!['bounded']! : undefined;
    const effective = inside ?? outside?.cgroups?.memory?.effectiveLimitBytes ?? null;
    if (effective === null) skip(`host: the app can read neither memory.stat of a cgroup v1 memory controller nor v2 memory.max of its cgroup's parents, and from outside: ${outside!.tried}`);
    // resource/memory at pod scope: ACE-ISO-MEM-002 as much as the pod-level rules.
    check(['ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002'], () => expect(effective, inside !== null ? "the app's own cgroup" : outsideEvidence(outside!, 'memory')).toBeLessThanOrEqual(POD_LIMIT));
  });

  test('ends an app that allocates beyond the memory limit of its pod', clauses('ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002', 'ACE-ISO-RES-003'), async ({ skip, check }) => {
    const beyond = (await podLevelBeyondPod(skip)).app('beyond');
    // 256 MiB touched under a pod limit of 96 MiB: the kernel's OOM killer ends it.
    check(['ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002', 'ACE-ISO-RES-003'], () =>
      expect({ ranToTheEnd: beyond.report !== undefined, killed: beyond.signal ?? `exit ${beyond.exitCode}` }).toEqual({ ranToTheEnd: false, killed: 'SIGKILL' }),
    );
  });
});

/** mkdir blocked with a chosen errno in one app, allowed in the other. */
/** An isolator no implementation knows, at pod level (where the schema accepts any name). */
const UNKNOWN_ISOLATOR = 'example.com/appc-conformance-unknown';
const unknownIsolatorPod = podRun(['pod-manifest'], async () => {
  const img = await image(await probeImage({ name: 'unknown-isolator' }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'app', image: img }], { isolators: [{ name: UNKNOWN_ISOLATOR, value: { level: 1 } }] }),
  };
});

describe('ACE § Isolators: reporting', () => {
  test('tells the user about an isolator it ignored, or refuses the pod naming it', clauses('ACE-ISO-GEN-003'), async ({ skip, check }) => {
    const pod = await unknownIsolatorPod(skip);
    if (pod.refused) {
      check('ACE-ISO-GEN-003', () => expect(pod.outcome.refusal, 'the refusal').toContain(UNKNOWN_ISOLATOR));
      return;
    }
    const messages = pod.outcome.messages;
    if (messages === undefined) return skip("unsupported: the adapter passes on none of the implementation's own messages (PodOutcome.messages), so what it told its user cannot be seen");
    check('ACE-ISO-GEN-003', () => expect(messages, "the implementation's own output for the run").toContain(UNKNOWN_ISOLATOR));
  });
});

/** One setting of each isolator a feature list can leave out, at a scope the spec allows it. */
const GAP_SETTINGS: readonly { feature: Feature; scope: 'app' | 'pod'; isolator: Isolator }[] = [
  { feature: 'isolator/resource/memory', scope: 'app', isolator: { name: 'resource/memory', value: { limit: '64Mi' } } },
  { feature: 'isolator/resource/cpu', scope: 'app', isolator: { name: 'resource/cpu', value: { limit: '500m' } } },
  { feature: 'isolator/os/linux/capabilities-retain-set', scope: 'app', isolator: { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } } },
  { feature: 'isolator/os/linux/capabilities-remove-set', scope: 'app', isolator: { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW'] } } },
  { feature: 'isolator/os/linux/no-new-privileges', scope: 'app', isolator: { name: 'os/linux/no-new-privileges', value: true } },
  { feature: 'isolator/os/linux/oom-score-adj', scope: 'app', isolator: { name: 'os/linux/oom-score-adj', value: 345 } },
  { feature: 'isolator/os/linux/cpu-shares', scope: 'app', isolator: { name: 'os/linux/cpu-shares', value: 123 } },
  { feature: 'isolator/os/linux/seccomp-remove-set', scope: 'app', isolator: { name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir'], errno: 'EXDEV' } } },
  { feature: 'isolator/os/linux/seccomp-retain-set', scope: 'app', isolator: { name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } } },
  { feature: 'isolator/os/linux/selinux-context', scope: 'app', isolator: { name: 'os/linux/selinux-context', value: { user: 'system_u', role: 'system_r', type: 'unconfined_t', level: 's0' } } },
  { feature: 'isolator/os/linux/apparmor-profile', scope: 'app', isolator: { name: 'os/linux/apparmor-profile', value: { profile: 'unconfined' } } },
  { feature: 'isolator/os/unix/sysctl', scope: 'pod', isolator: { name: 'os/unix/sysctl', value: { 'kernel.msgmax': '12345' } } },
  { feature: 'isolator/resource/block-bandwidth', scope: 'app', isolator: { name: 'resource/block-bandwidth', value: { default: true, limit: '3Mi' } } },
  { feature: 'isolator/resource/block-iops', scope: 'app', isolator: { name: 'resource/block-iops', value: { default: true, limit: '321' } } },
  { feature: 'isolator/resource/network-bandwidth', scope: 'app', isolator: { name: 'resource/network-bandwidth', value: { default: true, limit: '400000' } } },
];

/** A pod setting one isolator the adapter declares unsupported: its gap excuses the isolator's
 *  own tests, never a silent run (ACE-ISO-GEN-003). */
const gapPods = new Map(
  GAP_SETTINGS.map(({ feature, scope, isolator }) => [
    feature,
    podRun(['pod-manifest'], async () => {
      const img = await image(await probeImage({ name: 'declared-gap' }));
      const app: App = { exec: ['/probe'], user: '0', group: '0', isolators: scope === 'app' ? [isolator] : [] };
      return { images: [img], manifest: podManifest([{ name: 'app', image: img, app }], scope === 'pod' ? { isolators: [isolator] } : {}) };
    }),
  ]),
);

describe('ACE § Isolators: reporting what is not supported', () => {
  test('tells the user about each isolator its adapter declares unsupported, or refuses the pod naming it', clauses('ACE-ISO-GEN-003'), async ({ skip, check }) => {
    const { impl } = session();
    const gaps = GAP_SETTINGS.filter((g) => !impl.features.has(g.feature));
    if (gaps.length === 0) return skip(`supported: ${impl.name} declares every isolator the suite sets, and each one's own tests check it`);
    for (const { feature, isolator } of gaps) {
      const pod = await gapPods.get(feature)!(skip);
      if (pod.refused) {
        check('ACE-ISO-GEN-003', () => expect(pod.outcome.refusal, `the refusal of the pod setting ${isolator.name}`).toContain(isolator.name));
        continue;
      }
      const messages = pod.outcome.messages;
      if (messages === undefined) return skip("unsupported: the adapter passes on none of the implementation's own messages (PodOutcome.messages), so what it told its user cannot be seen");
      check('ACE-ISO-GEN-003', () => expect(messages, `the implementation's own output for a pod setting ${isolator.name}, which it declares unsupported`).toContain(isolator.name));
    }
  });
});

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

/** What the probe calls in a run with mkdir= and write= (found with strace on the musl build),
 *  with margin for other libc paths; mkdir and mkdirat are left out so they are blocked. */
const PROBE_SYSCALLS = [
  'access', 'arch_prctl', 'bind', 'brk', 'capget', 'clock_gettime', 'clock_nanosleep', 'close', 'close_range', 'connect', 'dup', 'dup2',
  'dup3', 'execve', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fcntl', 'fstat', 'fstatfs', 'futex', 'getcwd', 'getdents64',
  'getegid', 'geteuid', 'getgid', 'getgroups', 'getpeername', 'getpid', 'getppid', 'getrandom', 'getrlimit', 'getsockname',
  'getsockopt', 'gettid', 'getuid', 'ioctl', 'kill', 'lseek', 'lstat', 'madvise', 'mmap', 'mprotect', 'munmap', 'nanosleep',
  'newfstatat', 'open', 'openat', 'poll', 'ppoll', 'pread64', 'prlimit64', 'read', 'readlink', 'readlinkat', 'readv', 'recvfrom',
  'recvmsg', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'sendmsg', 'sendto', 'set_robust_list', 'set_tid_address',
  'setsockopt', 'sigaltstack', 'socket', 'stat', 'statfs', 'statx', 'uname', 'wait4', 'write', 'writev',
];
const MKDIR = ['mkdir', 'mkdirat'];
/** POSIX.1-2001 / C99 errno names, one per app (EDOM, EILSEQ, ERANGE are the C99 ones). */
const ERRNO_NAMES = ['EACCES', 'EDOM', 'EILSEQ', 'ERANGE', 'ENOSPC'];

const seccompMorePod = podRun(
  ['pod-manifest', 'multi-app', 'isolator/os/linux/seccomp-remove-set', 'isolator/os/linux/seccomp-retain-set'],
  async () => {
    const exec = ['/probe', 'mkdir=/made-by-app', 'write=/written-by-app'];
    const img = await image(await probeImage({ name: 'seccomp-more', app: { exec } }));
    const remove = (value: unknown): App => ({ exec, user: '0', group: '0', isolators: [{ name: 'os/linux/seccomp-remove-set', value }] });
    const retain = (value: unknown): App => ({ exec, user: '0', group: '0', isolators: [{ name: 'os/linux/seccomp-retain-set', value }] });
    return {
      images: [img],
      manifest: podManifest([
        { name: 'remove-sigsys', image: img, app: remove({ set: MKDIR }) },
        { name: 'remove-empty', image: img, app: remove({ set: ['@appc.io/empty', ...MKDIR], errno: 'EXDEV' }) },
        ...ERRNO_NAMES.map((errno) => ({ name: `remove-${errno.toLowerCase()}`, image: img, app: remove({ set: MKDIR, errno }) })),
        { name: 'retain', image: img, app: retain({ set: PROBE_SYSCALLS, errno: 'EXDEV' }) },
        { name: 'retain-sigsys', image: img, app: retain({ set: PROBE_SYSCALLS, errno: '' }) },
        // Listing the probe's calls too: only the wildcard can make mkdir work here.
        { name: 'retain-all', image: img, app: retain({ set: ['@appc.io/all', ...PROBE_SYSCALLS], errno: 'EXDEV' }) },
        ...['EILSEQ', 'ERANGE'].map((errno) => ({ name: `retain-${errno.toLowerCase()}`, image: img, app: retain({ set: PROBE_SYSCALLS, errno }) })),
      ]),
    };
  },
);

describe('ACE § Linux Isolators: seccomp without errno, retain-set, wildcards', () => {
  const mkdirOf = (r: ProbeReport) => r.writes.find((w) => w.path === '/made-by-app');

  test('kills an app with SIGSYS on a call of a remove-set without errno', clauses('ACE-ISO-SECRM-008'), async ({ skip, check }) => {
    const app = (await seccompMorePod(skip)).app('remove-sigsys');
    check('ACE-ISO-SECRM-008', () => expect({ signal: app.signal, report: app.report !== undefined }).toEqual({ signal: 'SIGSYS', report: false }));
  });

  test('returns each POSIX/C99 errno a remove-set names', clauses('ACE-ISO-SECRM-009'), async ({ skip, check }) => {
    const pod = await seccompMorePod(skip);
    for (const errno of ERRNO_NAMES) {
      check('ACE-ISO-SECRM-009', () => expect(mkdirOf(pod.report(`remove-${errno.toLowerCase()}`))?.error, errno).toBe(errno));
    }
  });

  test('treats @appc.io/empty in a remove-set as the empty set, masking the other entries', clauses('ACE-ISO-SECRM-002', 'ACE-ISO-SECRM-015'), async ({ skip, check }) => {
    const r = (await seccompMorePod(skip)).report('remove-empty');
    check(['ACE-ISO-SECRM-002', 'ACE-ISO-SECRM-015'], () => expect(mkdirOf(r)?.ok).toBe(true));
  });

  test('lets an app make the calls of its retain-set', clauses('ACE-ISO-SECRT-004'), async ({ skip, check }) => {
    const r = (await seccompMorePod(skip)).report('retain');
    check('ACE-ISO-SECRT-004', () => expect(r.writes.find((w) => w.path === '/written-by-app')?.ok).toBe(true));
    // Nothing but the left-out mkdir failed: the set covers what the probe needs.
    check('ACE-ISO-SECRT-004', () => expect(r.errors.filter((e) => e.includes('EXDEV'))).toEqual([]));
    check('ACE-ISO-SECRT-004', () => expect(r.seccomp, 'Seccomp mode in /proc/self/status').toBe(2));
  });

  test('blocks a call outside the retain-set with its errno', clauses('ACE-ISO-SECRT-006', 'ACE-ISO-SECRT-007'), async ({ skip, check }) => {
    const r = (await seccompMorePod(skip)).report('retain');
    check('ACE-ISO-SECRT-006', () => expect(mkdirOf(r)?.ok).toBe(false));
    check('ACE-ISO-SECRT-007', () => expect(mkdirOf(r)?.error).toBe('EXDEV'));
  });

  test('kills an app with SIGSYS on a call outside a retain-set whose errno is empty', clauses('ACE-ISO-SECRT-008'), async ({ skip, check }) => {
    const pod = await seccompMorePod(skip);
    // The same set with an errno runs to the end, so the kill comes from the mkdir.
    pod.report('retain');
    const app = pod.app('retain-sigsys');
    check('ACE-ISO-SECRT-008', () => expect({ signal: app.signal, report: app.report !== undefined }).toEqual({ signal: 'SIGSYS', report: false }));
  });

  test('returns POSIX/C99 errnos named by a retain-set', clauses('ACE-ISO-SECRT-009'), async ({ skip, check }) => {
    const pod = await seccompMorePod(skip);
    for (const errno of ['EILSEQ', 'ERANGE']) {
      check('ACE-ISO-SECRT-009', () => expect(mkdirOf(pod.report(`retain-${errno.toLowerCase()}`))?.error, errno).toBe(errno));
    }
  });

  test('treats @appc.io/all in a retain-set as every syscall, masking the other entries', clauses('ACE-ISO-SECRT-002', 'ACE-ISO-SECRT-014'), async ({ skip, check }) => {
    const r = (await seccompMorePod(skip)).report('retain-all');
    check(['ACE-ISO-SECRT-002', 'ACE-ISO-SECRT-014'], () => expect(mkdirOf(r)?.ok).toBe(true));
  });
});

/** An image whose own app section lists isolators, run from the image alone (no pod app object). */
const imageIsolatorsPod = podRun(['isolator/os/linux/capabilities-remove-set', 'isolator/os/linux/no-new-privileges'], async () => ({
  images: [
    await image(
      await probeImage({
        name: 'image-isolators',
        app: {
          isolators: [
            { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW'] } },
            { name: 'os/linux/no-new-privileges', value: true },
          ],
        },
      }),
    ),
  ],
}));

describe('ACE § Isolators: the isolators of an app', () => {
  test("applies the isolators the image manifest lists for its app", clauses('ACE-ISO-GEN-005'), async ({ skip, check }) => {
    const pod = await imageIsolatorsPod(skip);
    check('ACE-ISO-GEN-005', () => expect(bounding(pod.report('image-isolators').capabilities.bounding), 'bounding set under a remove-set of CAP_NET_RAW').not.toContain('CAP_NET_RAW'));
    check('ACE-ISO-GEN-005', () => expect(pod.report('image-isolators').noNewPrivs, 'NoNewPrivs under no-new-privileges: true').toBe(1));
  });
});

/** Linux-specific errno names (not POSIX), with their numbers on Linux's generic ABI (x86-64, arm64):
 *  the probe names only POSIX errnos and reports these as E<number>. */
const LINUX_ERRNOS = { ENOKEY: 126, EHWPOISON: 133 } as const;
const seccompLinuxErrnoPod = podRun(
  ['pod-manifest', 'multi-app', 'isolator/os/linux/seccomp-remove-set', 'isolator/os/linux/seccomp-retain-set'],
  async () => {
    const exec = ['/probe', 'mkdir=/made-by-app'];
    const img = await image(await probeImage({ name: 'seccomp-linux-errno', app: { exec } }));
    const app = (name: string, value: unknown): App => ({ exec, user: '0', group: '0', isolators: [{ name, value }] });
    return {
      images: [img],
      manifest: podManifest([
        { name: 'remove-enokey', image: img, app: app('os/linux/seccomp-remove-set', { set: MKDIR, errno: 'ENOKEY' }) },
        { name: 'retain-ehwpoison', image: img, app: app('os/linux/seccomp-retain-set', { set: PROBE_SYSCALLS, errno: 'EHWPOISON' }) },
      ]),
    };
  },
);

describe('ACE § Linux Isolators: seccomp with Linux-specific errno names', () => {
  const errnoOf = (r: ProbeReport) => r.writes.find((w) => w.path === '/made-by-app')?.error;
  const named = (name: keyof typeof LINUX_ERRNOS) => [name, `E${LINUX_ERRNOS[name]}`];

  test('returns a Linux-specific errno (ENOKEY) a remove-set names', clauses('ACE-ISO-SECRM-010'), async ({ skip, check }) => {
    const pod = await seccompLinuxErrnoPod(skip);
    check('ACE-ISO-SECRM-010', () => expect(pod.refused ? `refused: ${pod.outcome.refusal}` : 'ran').toBe('ran'));
    check('ACE-ISO-SECRM-010', () => expect(named('ENOKEY')).toContain(errnoOf(pod.report('remove-enokey'))));
  });

  test('returns a Linux-specific errno (EHWPOISON) a retain-set names', clauses('ACE-ISO-SECRT-010'), async ({ skip, check }) => {
    const pod = await seccompLinuxErrnoPod(skip);
    check('ACE-ISO-SECRT-010', () => expect(pod.refused ? `refused: ${pod.outcome.refusal}` : 'ran').toBe('ran'));
    check('ACE-ISO-SECRT-010', () => expect(named('EHWPOISON')).toContain(errnoOf(pod.report('retain-ehwpoison'))));
  });
});

/** A setuid-root copy of the probe run by a non-root user, with and without no-new-privileges. */
const setuidPod = podRun(['pod-manifest', 'multi-app', 'isolator/os/linux/no-new-privileges'], async () => {
  const img = await setuidImage('setuid');
  const app = (nnp: boolean): App => ({ exec: ['/probe-suid'], user: '4242', group: '4343', isolators: [{ name: 'os/linux/no-new-privileges', value: nnp }] });
  return { images: [img], manifest: podManifest([{ name: 'nnp', image: img, app: app(true) }, { name: 'privs', image: img, app: app(false) }]) };
});

describe('ACE § Linux Isolators: no-new-privileges and setuid', () => {
  test('keeps a setuid-root program unprivileged under no-new-privileges', clauses('ACE-ISO-NNP-001'), async ({ skip, check }) => {
    const pod = await setuidPod(skip);
    // Without the isolator the same program gains euid 0, so the setuid bit survived the image.
    const privs = pod.report('privs');
    if (privs.euid !== 0) skip(`host: the setuid program did not gain root even without no-new-privileges (euid ${privs.euid}), so the isolator cannot be observed`);
    check('ACE-ISO-NNP-001', () => expect({ uid: pod.report('nnp').uid, euid: pod.report('nnp').euid }).toEqual({ uid: 4242, euid: 4242 }));
  });
});

const MEBI = 1024 * 1024;
/** Memory use beyond the limit, and CPU shares from requests. */
const resourcePod = podRun(['pod-manifest', 'multi-app', 'isolator/resource/memory', 'isolator/resource/cpu'], async () => {
  const img = await image(await probeImage({ name: 'resources' }));
  const app = (exec: string[], isolators: Isolator[]): App => ({ exec: ['/probe', ...exec], user: '0', group: '0', isolators });
  const mem = { name: 'resource/memory', value: { limit: '64Mi' } };
  const cpu = (value: Record<string, string>): Isolator => ({ name: 'resource/cpu', value });
  return {
    images: [img],
    manifest: podManifest([
      { name: 'within', image: img, app: app([`alloc=${16 * MEBI}`], [mem]) },
      { name: 'beyond', image: img, app: app([`alloc=${256 * MEBI}`], [mem]) },
      { name: 'quarter', image: img, app: app([], [cpu({ request: '250m', limit: '2' })]) },
      { name: 'one', image: img, app: app([], [cpu({ request: '1', limit: '2' })]) },
      { name: 'half-limit-only', image: img, app: app([], [cpu({ limit: '500m' })]) },
      { name: 'half-request', image: img, app: app([], [cpu({ request: '500m', limit: '1' })]) },
    ]),
  };
});

/** The resource settings of isolatorPod and resourcePod again, on apps that stay up to be read from outside. */
const resourceWatchPod = watchedPod(['pod-manifest', 'multi-app', 'isolator/resource/memory', 'isolator/resource/cpu', 'isolator/os/linux/cpu-shares'], 'resources-watch', [
  { name: 'memory', isolators: [{ name: 'resource/memory', value: { limit: '64Mi' } }] },
  { name: 'shares', isolators: [{ name: 'os/linux/cpu-shares', value: 123 }] },
  { name: 'quarter', isolators: [{ name: 'resource/cpu', value: { request: '250m', limit: '2' } }] },
  { name: 'one', isolators: [{ name: 'resource/cpu', value: { request: '1', limit: '2' } }] },
  { name: 'half-limit-only', isolators: [{ name: 'resource/cpu', value: { limit: '500m' } }] },
  { name: 'half-request', isolators: [{ name: 'resource/cpu', value: { request: '500m', limit: '1' } }] },
]);

/** An app's CPU weight read from outside, when its own cannot be read. */
async function outsideShare(skip: (note: string) => never, app: string) {
  const cpu = (await resourceWatchPod(skip)).during![app]!.cgroups?.cpu;
  return cpu ? cpuShareOf(cpu.shares, cpu.weight) : null;
}

describe('ACE § Resource Isolators: consumption and requests', () => {
  test('ends an app that allocates beyond its memory limit', clauses('ACE-ISO-RES-003', 'ACE-ISO-MEM-002'), async ({ skip, check }) => {
    const pod = await resourcePod(skip);
    // The same probe under the same limit runs when it stays within it.
    check('ACE-ISO-RES-003', () => expect(pod.report('within').writes).toContainEqual({ path: 'alloc:', ok: true }));
    const beyond = pod.app('beyond');
    check(['ACE-ISO-RES-003', 'ACE-ISO-MEM-002'], () =>
      expect({ ranToTheEnd: beyond.report !== undefined, killed: beyond.signal ?? `exit ${beyond.exitCode}` }).toEqual({ ranToTheEnd: false, killed: 'SIGKILL' }),
    );
  });

  test('gives CPU requests proportional shares', clauses('ACE-ISO-CPU-003'), async ({ skip, check }) => {
    const pod = await resourcePod(skip);
    let [one, quarter] = [cpuShare(pod.report('one')), cpuShare(pod.report('quarter'))];
    if (one === null || quarter === null) [one, quarter] = [await outsideShare(skip, 'one'), await outsideShare(skip, 'quarter')];
    if (one === null || quarter === null) return skip(`host: the app can read neither cpu.shares (cgroup v1) nor cpu.weight (v2), and from outside: ${(await resourceWatchPod(skip)).during!['one']!.tried}`);
    // v1: the ratio of the shares. v2: weights are shares rounded down, so each stands for a range
    // of shares; the ratio nearest 4 within those ranges (a 4:1 split fits, equal weights do not).
    check('ACE-ISO-CPU-003', () => expect(nearestShareRatio(one, quarter, 4), `${one.file} ${one.value} : ${quarter.value}`).toBeCloseTo(4, 1));
  });

  test('takes an omitted CPU request to be the limit', clauses('ACE-ISO-RES-002'), async ({ skip, check }) => {
    const pod = await resourcePod(skip);
    // cpu.shares on v1, cpu.weight on v2: either way the same request gives the same value.
    const insideShares = (name: string) => cpuShare(pod.report(name))?.value ?? null;
    const outside = insideShares('half-request') === null;
    const values = Object.fromEntries(
      await Promise.all(['half-request', 'half-limit-only', 'one'].map(async (n) => [n, outside ? ((await outsideShare(skip, n))?.value ?? null) : insideShares(n)] as const)),
    );
    if (values['half-request'] === null) skip(`host: the app can read neither cpu.shares (cgroup v1) nor cpu.weight (v2), and from outside: ${(await resourceWatchPod(skip)).during!['half-request']!.tried}`);
    const from = outside ? 'read from outside the pod' : "the apps' own cgroups";
    check('ACE-ISO-RES-002', () => expect(values['half-limit-only'], from).toBe(values['half-request']));
    check('ACE-ISO-RES-002', () => expect(values['half-limit-only'], from).not.toBe(values['one']));
  });
});

const BLKIO = '/sys/fs/cgroup/blkio';
const BLOCK_FILES = ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'].map((f) => `${BLKIO}/blkio.throttle.${f}`);
const blockPod = podRun(['pod-manifest', 'isolator/resource/block-bandwidth', 'isolator/resource/block-iops'], async () => {
  const img = await image(await probeImage({ name: 'block-limits' }));
  return {
    images: [img],
    manifest: podManifest([
      {
        name: 'throttled',
        image: img,
        app: {
          exec: ['/probe', ...BLOCK_FILES.map((f) => `file=${f}`)],
          user: '0',
          group: '0',
          isolators: [
            { name: 'resource/block-bandwidth', value: { default: true, limit: '3Mi' } },
            { name: 'resource/block-iops', value: { default: true, limit: '321' } },
          ],
        },
      },
    ]),
  };
});

describe('ACE § Resource Isolators: block-bandwidth and block-iops', () => {
  for (const [clause, files, limit] of [
    ['ACE-ISO-BLKBW-002', BLOCK_FILES.slice(0, 2), 3 * MEBI],
    ['ACE-ISO-BLKIO-002', BLOCK_FILES.slice(2), 321],
  ] as const) {
    test(`caps ${clause === 'ACE-ISO-BLKBW-002' ? 'bytes' : 'operations'} per second on every block device at the limit`, clauses(clause), async ({ skip, check }) => {
      const r = (await blockPod(skip)).report('throttled');
      const v1 = files.map((path) => ({ path, content: r.files.find((f) => f.path === path)?.content }));
      if (v1.every((f) => f.content !== undefined)) {
        for (const { path, content } of v1) {
          const lines = content!.trim().split('\n').filter(Boolean);
          check(clause, () => expect(lines.length, `${path} lists the throttled devices`).toBeGreaterThan(0));
          check(clause, () => expect(lines.map((l) => Number(l.split(' ')[1]))).toEqual(lines.map(() => limit)));
        }
        return;
      }
      // cgroup v2: one io.max line per throttled device, "MAJ:MIN rbps=… wbps=… riops=… wiops=…".
      const devices = parseIoMax(r.cgroupV2?.ioMax);
      if (devices === null) return skip(`host: neither ${v1.find((f) => f.content === undefined)!.path} (cgroup v1 blkio) nor io.max (v2) is readable in the app, so the limit cannot be observed`);
      const keys = clause === 'ACE-ISO-BLKBW-002' ? (['rbps', 'wbps'] as const) : (['riops', 'wiops'] as const);
      check(clause, () => expect(devices.length, 'io.max lists the throttled devices').toBeGreaterThan(0));
      for (const key of keys) check(clause, () => expect(devices.map((d) => d[key]), `io.max ${key}`).toEqual(devices.map(() => limit)));
    });
  }
});

/** resource/network-bandwidth: bytes per second on everything but loopback (ACE-ISO-NETBW-*). */
const NET_LIMIT = 400_000;
const NET_BYTES = 1_000_000;
const LOOP_BYTES = 2_000_000;
/** Both ways through the pod's exposed ports: each transfer takes about NET_BYTES / NET_LIMIT s. */
const NET_MARGIN = 1.5;
let netPorts: { out: number; in: number } | undefined;
const networkPod = podRun(
  ['pod-manifest', 'multi-app', 'ports', 'isolator/resource/network-bandwidth'],
  async () => {
    const base = await session().target.freePorts(2);
    netPorts = { out: base, in: base + 1 };
    const img = await image(await probeImage({ name: 'network-bandwidth' }));
    const ports = [
      { name: 'bulk-out', protocol: 'tcp', port: 8090 },
      { name: 'bulk-in', protocol: 'tcp', port: 8091 },
    ];
    const limited: Isolator[] = [{ name: 'resource/network-bandwidth', value: { default: true, limit: String(NET_LIMIT) } }];
    const window = session().config.podTimeoutMs;
    return {
      images: [img],
      manifest: podManifest(
        [
          // Serves the harness, takes its upload, then serves its neighbour over the pod's loopback.
          { name: 'shaped', image: img, app: { exec: ['/probe', `listen-ms=${window}`, `serve=8090:${NET_BYTES}`, `sink=8091`, `serve=8092:${LOOP_BYTES}`], user: '0', group: '0', ports, isolators: limited } },
          { name: 'neighbour', image: img, app: { exec: ['/probe', `listen-ms=${window}`, 'pull=127.0.0.1:8092'], user: '0', group: '0', isolators: limited } },
        ],
        {
          ports: [
            { name: 'bulk-out', hostPort: netPorts.out, hostIP: '127.0.0.1' },
            { name: 'bulk-in', hostPort: netPorts.in, hostIP: '127.0.0.1' },
          ],
        },
      ),
    };
  },
  async (podEnded) => {
    const { target, config } = session();
    const out = await target.reachable(netPorts!.out);
    const inward = await target.reachable(netPorts!.in);
    const download = await downloadFrom(out.host, out.port, config.podTimeoutMs - 10_000, podEnded);
    const upload = await uploadTo(inward.host, inward.port, NET_BYTES, 20_000, podEnded);
    return { download, upload };
  },
);

const rate = (t: { bytes: number; ms: number }) => (t.ms > 0 ? Math.round((t.bytes * 1000) / t.ms) : Infinity);

describe('ACE § Resource Isolators: network-bandwidth', () => {
  test('limits what the app sends beyond the pod', clauses('ACE-ISO-NETBW-002'), async ({ skip, check }) => {
    const pod = await networkPod(skip);
    pod.report('shaped');
    const t = pod.during!.download;
    check('ACE-ISO-NETBW-002', () => expect(t.bytes, `bytes read from the exposed port (${t.error ?? 'no error'})`).toBe(NET_BYTES));
    check('ACE-ISO-NETBW-002', () => expect(rate(t), `bytes/s seen by the harness, limit ${NET_LIMIT}`).toBeLessThanOrEqual(NET_LIMIT * NET_MARGIN));
  });

  test('limits what the app receives from beyond the pod', clauses('ACE-ISO-NETBW-002'), async ({ skip, check }) => {
    const pod = await networkPod(skip);
    const sink = pod.report('shaped').transfers.find((t) => t.op === 'sink');
    check('ACE-ISO-NETBW-002', () => expect(sink?.bytes, `bytes the app read (harness: ${pod.during!.upload.error ?? 'sent'})`).toBe(NET_BYTES));
    check('ACE-ISO-NETBW-002', () => expect(rate(sink!), `bytes/s seen by the app, limit ${NET_LIMIT}`).toBeLessThanOrEqual(NET_LIMIT * NET_MARGIN));
  });

  test('never limits loopback traffic between the apps of the pod', clauses('ACE-ISO-NETBW-003'), async ({ skip, check }) => {
    const pod = await networkPod(skip);
    const pull = pod.report('neighbour').transfers.find((t) => t.op === 'pull');
    check('ACE-ISO-NETBW-003', () => expect(pull?.bytes, `bytes pulled over loopback (${pull?.error ?? 'no error'})`).toBe(LOOP_BYTES));
    // Far above the limit: unshaped loopback moves this in milliseconds.
    check('ACE-ISO-NETBW-003', () => expect(rate(pull!), `bytes/s over loopback, limit ${NET_LIMIT}`).toBeGreaterThan(NET_LIMIT * 4));
  });
});

/** Kernel parameters of the pod's own namespaces, and one that would change the host. */
let hostOvercommit: string | undefined;
const SYSCTL_FILES = ['/proc/sys/net/ipv4/ip_default_ttl', '/proc/sys/kernel/msgmax'];
const sysctlPod = podRun(['pod-manifest', 'isolator/os/unix/sysctl'], async () => {
  const img = await image(await probeImage({ name: 'sysctl', app: { exec: ['/probe', ...SYSCTL_FILES.map((f) => `file=${f}`)] } }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'tuned', image: img }], {
      isolators: [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_default_ttl': '42', 'kernel.msgmax': '12345' } }],
    }),
  };
});
const hostSysctlPod = podRun(['pod-manifest', 'isolator/os/unix/sysctl'], async () => {
  hostOvercommit = (await session().target.readFile('/proc/sys/vm/overcommit_ratio')).trim();
  const img = await image(await probeImage({ name: 'sysctl-host' }));
  return {
    images: [img],
    manifest: podManifest([{ name: 'host-param', image: img }], {
      isolators: [{ name: 'os/unix/sysctl', value: { 'vm.overcommit_ratio': String(Number(hostOvercommit) + 7) } }],
    }),
  };
}, undefined, { hostChanges: [{ sysctl: 'vm.overcommit_ratio' }] });
afterAll(async () => {
  // Put the host back if an implementation did change it.
  if (hostOvercommit !== undefined) await session().target.exec(['sh', '-c', `echo ${hostOvercommit} > /proc/sys/vm/overcommit_ratio`]);
});

describe('ACE § Isolators: os/unix/sysctl', () => {
  test("sets the listed kernel parameters in the pod's namespaces", clauses('ACE-ISO-SYSCTL-003'), async ({ skip, check }) => {
    const r = (await sysctlPod(skip)).report('tuned');
    const value = (path: string) => r.files.find((f) => f.path === path)?.content?.trim();
    check('ACE-ISO-SYSCTL-003', () => expect(value(SYSCTL_FILES[0]!)).toBe('42'));
    check('ACE-ISO-SYSCTL-003', () => expect(value(SYSCTL_FILES[1]!)).toBe('12345'));
  });

  test('ignores a parameter outside the pod, or refuses the pod', clauses('ACE-ISO-SYSCTL-005'), async ({ skip, check }) => {
    const pod = await hostSysctlPod(skip);
    const now = (await session().target.readFile('/proc/sys/vm/overcommit_ratio')).trim();
    check('ACE-ISO-SYSCTL-005', () => expect(now, "the host's vm.overcommit_ratio after the pod").toBe(hostOvercommit));
    if (!pod.refused) check('ACE-ISO-SYSCTL-005', () => expect(pod.report('host-param').argv[0]).toBe('/probe'));
  });
});

/** The host's Linux security modules, as the target reports them. */
async function hostLsm(): Promise<{ apparmorProfiles: string[]; selinux: string | undefined }> {
  const t = session().target;
  const aa = await t.exec(['sh', '-c', 'test "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y && cat /sys/kernel/security/apparmor/profiles']);
  const se = await t.exec(['sh', '-c', 'test -e /sys/fs/selinux/enforce && cat /proc/self/attr/current']);
  return {
    apparmorProfiles: aa.exitCode === 0 ? aa.stdout.split('\n').map((l) => l.replace(/ \([a-z]+\)$/, '')).filter(Boolean) : [],
    selinux: se.exitCode === 0 ? se.stdout.replace(/\0/g, '').trim() : undefined,
  };
}

const ATTR = '/proc/self/attr/current';
const missingProfilePod = podRun(['pod-manifest', 'isolator/os/linux/apparmor-profile'], async () => {
  const img = await image(await probeImage({ name: 'apparmor-missing' }));
  return {
    images: [img],
    manifest: podManifest([
      { name: 'confined', image: img, app: { exec: ['/probe'], user: '0', group: '0', isolators: [{ name: 'os/linux/apparmor-profile', value: { profile: 'appc-conformance-not-loaded' } }] } },
    ]),
  };
});
const lsmPod = (name: 'apparmor-profile' | 'selinux-context', pod: Isolator, app: Isolator) =>
  podRun(['pod-manifest', 'multi-app', `isolator/os/linux/${name}`], async () => {
    const img = await image(await probeImage({ name: `lsm-${name}`, app: { exec: ['/probe', `file=${ATTR}`] } }));
    return {
      images: [img],
      manifest: podManifest(
        [
          { name: 'pod-level', image: img },
          { name: 'app-level', image: img, app: { exec: ['/probe', `file=${ATTR}`], user: '0', group: '0', isolators: [app] } },
        ],
        { isolators: [pod] },
      ),
    };
  });

describe('ACE § Linux Isolators: apparmor-profile and selinux-context', () => {
  test('refuses an AppArmor profile that is not loaded on the host', clauses('ACE-ISO-AA-006'), async ({ skip, check }) => {
    const pod = await missingProfilePod(skip);
    check('ACE-ISO-AA-006', () => expect(pod.outcome.apps.filter((a) => a.report !== undefined).map((a) => a.name)).toEqual([]));
  });

  test('confines every app with the pod profile; an app profile overrides it', clauses('ACE-ISO-AA-003', 'ACE-ISO-AA-004'), async ({ skip, check }) => {
    const loaded = (await hostLsm()).apparmorProfiles;
    if (loaded.length < 2) skip('host: AppArmor is not enabled here, or fewer than two profiles are loaded, so no profile can be applied and observed');
    // The guests of VM targets load two profiles that allow everything (guest/boot-lib.sh): take
    // those where they are, so the probe runs unhindered; elsewhere any two loaded profiles.
    const ours = ['appc-conformance-pod', 'appc-conformance-app'];
    const [podProfile, appProfile] = (ours.every((p) => loaded.includes(p)) ? ours : loaded) as [string, string];
    const pod = await lsmPod('apparmor-profile', { name: 'os/linux/apparmor-profile', value: { profile: podProfile } }, { name: 'os/linux/apparmor-profile', value: { profile: appProfile } })(skip);
    const label = (app: string) => pod.report(app).files.find((f) => f.path === ATTR)?.content?.replace(/\0/g, '').trim();
    check('ACE-ISO-AA-003', () => expect(label('pod-level')).toMatch(new RegExp(`^${podProfile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(|$)`)));
    check('ACE-ISO-AA-004', () => expect(label('app-level')).toMatch(new RegExp(`^${appProfile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(|$)`)));
  });

  test('labels every app with the pod SELinux context; an app context overrides it', clauses('ACE-ISO-SEL-003', 'ACE-ISO-SEL-004'), async ({ skip, check }) => {
    const current = (await hostLsm()).selinux;
    if (current === undefined) return skip('host: SELinux is not enabled here, so no context can be applied and observed');
    const [user, role, type, ...level] = current.split(':');
    const ctx = (lvl: string): Isolator => ({ name: 'os/linux/selinux-context', value: { user, role, type, level: lvl } });
    const pod = await lsmPod('selinux-context', ctx(level.join(':')), ctx('s0:c1,c2'))(skip);
    const label = (app: string) => pod.report(app).files.find((f) => f.path === ATTR)?.content?.replace(/\0/g, '').trim();
    check('ACE-ISO-SEL-003', () => expect(label('pod-level')).toBe(current));
    check('ACE-ISO-SEL-004', () => expect(label('app-level')).toBe(`${user}:${role}:${type}:s0:c1,c2`));
  });
});
