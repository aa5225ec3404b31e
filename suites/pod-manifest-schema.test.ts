// spec/pods.md § Pod Manifest Schema and spec/ace.md § Isolators (value formats, how many of each):
// what an executor must not run. Each test hands the implementation a pod manifest that breaks one
// rule and expects a refusal; a valid twin of the same pod must run, or the refusals prove nothing.
import type { Isolator, PodManifest } from '../harness/aci/index.js';
import type { Feature } from '../harness/impl/index.js';
import { clauses, describe, expect, image, podRun, test, type PodRun } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

type Doc = Record<string, unknown> & { apps: Record<string, unknown>[] };

async function baseImage() {
  return image(await probeImage({ name: 'schema-base', app: { ports: [{ name: 'www', protocol: 'tcp', port: 8080 }] } }));
}

/** The valid twin: one app, one volume, annotations; every variant below breaks one rule of it. */
async function validPod(): Promise<{ images: Awaited<ReturnType<typeof baseImage>>[]; manifest: PodManifest }> {
  const img = await baseImage();
  return {
    images: [img],
    manifest: podManifest([{ name: 'base', image: img, mounts: [{ volume: 'data', path: '/data' }], annotations: [{ name: 'a', value: '1' }] }], {
      volumes: [{ name: 'data', kind: 'empty' }],
      annotations: [{ name: 'p', value: '1' }],
    }),
  };
}

const twin = podRun(['pod-manifest', 'volumes/empty'], validPod);

/** A pod made from the valid twin by `breakIt`, which edits the JSON document in place. */
function variant(features: Feature[], breakIt: (doc: Doc) => void): PodRun {
  return podRun(['pod-manifest', 'volumes/empty', ...features], async () => {
    const { images, manifest } = await validPod();
    const doc = structuredClone(manifest) as unknown as Doc;
    breakIt(doc);
    return { images, manifest: doc as unknown as PodManifest };
  });
}

const app0 = (doc: Doc) => doc.apps[0]!;
/** The first app's own app section with these isolators (a pod-level override of the image's app). */
const withAppIsolators = (isolators: Isolator[]) => (doc: Doc) => {
  app0(doc).app = { exec: ['/probe'], user: '0', group: '0', isolators };
};

interface Case {
  title: string;
  clause: string[];
  features?: Feature[];
  breakIt: (doc: Doc) => void;
}

function refusals(section: string, cases: Case[]): void {
  // Each case is its own short pod: run them side by side.
  describe.concurrent(section, () => {
    for (const c of cases) {
      const pod = variant(c.features ?? [], c.breakIt);
      test(`refuses ${c.title}`, clauses(...c.clause), async ({ skip, check }) => {
        const valid = await twin(skip);
        if (valid.refused || valid.outcome.apps.some((a) => a.exitCode !== 0)) {
          skip(`the valid twin of this pod did not run (${valid.outcome.refusal ?? 'an app failed'}), so a refusal would prove nothing`);
        }
        const evidence = await pod(skip);
        const ran = evidence.outcome.apps.filter((a) => a.report !== undefined).map((a) => a.name);
        check(c.clause, () => expect(ran, `apps that ran from the invalid manifest (${c.title})`).toEqual([]));
      });
    }
  });
}

describe('valid twin', () => {
  test('runs the valid pod the refusal tests start from', clauses('POD-CTX-008'), async ({ skip, check }) => {
    const pod = await twin(skip);
    check('POD-CTX-008', () => expect(pod.report('base').argv[0]).toBe('/probe'));
  });
});

refusals('Pods § Pod Manifest Schema', [
  { title: 'a manifest without acVersion', clause: ['POD-MAN-001'], breakIt: (d) => void delete d.acVersion },
  { title: 'an acVersion that is not semver', clause: ['POD-MAN-001'], breakIt: (d) => void (d.acVersion = 'latest') },
  { title: 'an acKind other than PodManifest', clause: ['POD-MAN-002'], breakIt: (d) => void (d.acKind = 'ImageManifest') },
  { title: 'a manifest without acKind', clause: ['POD-MAN-002'], breakIt: (d) => void delete d.acKind },
  {
    title: 'apps that is not a list',
    clause: ['POD-MAN-003'],
    breakIt: (d) => void ((d as Record<string, unknown>).apps = { base: d.apps[0] }),
  },
  { title: 'an app without a name', clause: ['POD-APP-001'], breakIt: (d) => void delete app0(d).name },
  { title: 'an app name that is not an AC Name', clause: ['POD-APP-001'], breakIt: (d) => void (app0(d).name = 'Base_App') },
  { title: 'two apps with the same name', clause: ['POD-APP-002'], breakIt: (d) => void d.apps.push(structuredClone(app0(d))) },
  { title: 'an app whose image has no id', clause: ['POD-APP-004'], breakIt: (d) => void delete (app0(d).image as Record<string, unknown>).id },
  { title: 'an app without an image', clause: ['POD-APP-004'], breakIt: (d) => void delete app0(d).image },
  { title: 'a mount without a path', clause: ['POD-APP-008'], breakIt: (d) => void delete (app0(d).mounts as Record<string, unknown>[])[0]!.path },
  {
    title: 'a mount naming a volume the pod does not have',
    clause: ['POD-APP-008'],
    breakIt: (d) => void ((app0(d).mounts as Record<string, unknown>[])[0]!.volume = 'nowhere'),
  },
  {
    title: 'app annotations with a repeated name',
    clause: ['POD-APP-011'],
    breakIt: (d) => void (app0(d).annotations = [{ name: 'a', value: '1' }, { name: 'a', value: '2' }]),
  },
  { title: 'an app annotation whose value is not a string', clause: ['POD-APP-011'], breakIt: (d) => void (app0(d).annotations = [{ name: 'a', value: 1 }]) },
  { title: 'a volume without a name', clause: ['POD-VOL-001'], breakIt: (d) => void delete (d.volumes as Record<string, unknown>[])[0]!.name },
  {
    title: 'two volumes with the same name',
    clause: ['POD-VOL-001'],
    breakIt: (d) => void (d.volumes as unknown[]).push({ name: 'data', kind: 'empty' }),
  },
  { title: 'a volume without a kind', clause: ['POD-VOL-003'], breakIt: (d) => void delete (d.volumes as Record<string, unknown>[])[0]!.kind },
  { title: 'a volume of an unknown kind', clause: ['POD-VOL-003'], breakIt: (d) => void ((d.volumes as Record<string, unknown>[])[0]!.kind = 'tmpfs') },
  {
    title: 'a host volume without a source',
    clause: ['POD-VOL-007'],
    features: ['volumes/host'],
    breakIt: (d) => void ((d.volumes as unknown[])[0] = { name: 'data', kind: 'host' }),
  },
  {
    title: 'a host volume with a relative source',
    clause: ['POD-VOL-007'],
    features: ['volumes/host'],
    breakIt: (d) => void ((d.volumes as unknown[])[0] = { name: 'data', kind: 'host', source: 'tmp' }),
  },
  {
    title: 'a host volume with mode, uid and gid',
    clause: ['POD-VOL-012'],
    features: ['volumes/host'],
    breakIt: (d) => void ((d.volumes as unknown[])[0] = { name: 'data', kind: 'host', source: '/', mode: '0755', uid: 0, gid: 0 }),
  },
  {
    title: 'pod annotations with a repeated name',
    clause: ['POD-ANN-001'],
    breakIt: (d) => void (d.annotations = [{ name: 'p', value: '1' }, { name: 'p', value: '2' }]),
  },
  { title: 'a pod annotation whose value is not a string', clause: ['POD-ANN-001'], breakIt: (d) => void (d.annotations = [{ name: 'p', value: true }]) },
  {
    title: 'a port name used by two apps of the pod',
    clause: ['POD-PORT-003'],
    features: ['multi-app'],
    breakIt: (d) => void d.apps.push({ ...structuredClone(app0(d)), name: 'second' }),
  },
  { title: 'a port forward without hostPort', clause: ['POD-PORT-004'], features: ['ports'], breakIt: (d) => void (d.ports = [{ name: 'www' }]) },
  {
    title: 'a hostPort that is not an integer',
    clause: ['POD-PORT-004'],
    features: ['ports'],
    breakIt: (d) => void (d.ports = [{ name: 'www', hostPort: '8080' }]),
  },
  {
    title: 'a hostIP that is not a dotted-quad IPv4 address',
    clause: ['POD-PORT-005'],
    features: ['ports'],
    breakIt: (d) => void (d.ports = [{ name: 'www', hostPort: 8080, hostIP: 'localhost' }]),
  },
  { title: 'userAnnotations with a value that is not a string', clause: ['POD-USR-001'], breakIt: (d) => void (d.userAnnotations = { owner: 42 }) },
  { title: 'userLabels with a value that is not a string', clause: ['POD-USR-003'], breakIt: (d) => void (d.userLabels = { tier: ['a'] }) },
]);

const seccompRm = (value: unknown): Isolator => ({ name: 'os/linux/seccomp-remove-set', value });
const seccompRt = (value: unknown): Isolator => ({ name: 'os/linux/seccomp-retain-set', value });
const REMOVE: Feature = 'isolator/os/linux/seccomp-remove-set';
const RETAIN: Feature = 'isolator/os/linux/seccomp-retain-set';

refusals('ACE § Isolators: values and how many', [
  { title: 'a seccomp-remove-set with an empty set', clause: ['ACE-ISO-SECRM-003'], features: [REMOVE], breakIt: withAppIsolators([seccompRm({ set: [] })]) },
  {
    title: 'two seccomp-remove-sets on one app',
    clause: ['ACE-ISO-SECRM-011'],
    features: [REMOVE],
    breakIt: withAppIsolators([seccompRm({ set: ['mkdir'] }), seccompRm({ set: ['rmdir'] })]),
  },
  {
    title: 'a seccomp-remove-set together with a seccomp-retain-set',
    clause: ['ACE-ISO-SECRM-012', 'ACE-ISO-SECRT-011'],
    features: [REMOVE, RETAIN],
    breakIt: withAppIsolators([seccompRm({ set: ['mkdir'] }), seccompRt({ set: ['@appc.io/all'] })]),
  },
  {
    title: 'a seccomp-remove-set with a wildcard the spec does not define in @appc.io/',
    clause: ['ACE-ISO-SECRM-014'],
    features: [REMOVE],
    breakIt: withAppIsolators([seccompRm({ set: ['@appc.io/not-a-wildcard'] })]),
  },
  { title: 'a seccomp-retain-set with an empty set', clause: ['ACE-ISO-SECRT-003'], features: [RETAIN], breakIt: withAppIsolators([seccompRt({ set: [] })]) },
  {
    title: 'two seccomp-retain-sets on one app',
    clause: ['ACE-ISO-SECRT-011'],
    features: [RETAIN],
    breakIt: withAppIsolators([seccompRt({ set: ['@appc.io/all'] }), seccompRt({ set: ['@appc.io/all'] })]),
  },
  {
    title: 'a seccomp-retain-set with a wildcard the spec does not define in @appc.io/',
    clause: ['ACE-ISO-SECRT-013'],
    features: [RETAIN],
    breakIt: withAppIsolators([seccompRt({ set: ['@appc.io/everything'] })]),
  },
  {
    title: 'a selinux-context without a level',
    clause: ['ACE-ISO-SEL-001'],
    features: ['isolator/os/linux/selinux-context'],
    breakIt: withAppIsolators([{ name: 'os/linux/selinux-context', value: { user: 'system_u', role: 'system_r', type: 'svirt_lxc_net_t' } }]),
  },
  {
    title: 'a selinux-context with ":" in its user',
    clause: ['ACE-ISO-SEL-001'],
    features: ['isolator/os/linux/selinux-context'],
    breakIt: withAppIsolators([{ name: 'os/linux/selinux-context', value: { user: 'a:b', role: 'system_r', type: 't', level: 's0' } }]),
  },
  {
    title: 'two selinux-contexts on one app',
    clause: ['ACE-ISO-SEL-002'],
    features: ['isolator/os/linux/selinux-context'],
    breakIt: withAppIsolators([1, 2].map(() => ({ name: 'os/linux/selinux-context', value: { user: 'system_u', role: 'system_r', type: 't', level: 's0' } }))),
  },
  {
    title: 'two selinux-contexts on the pod',
    clause: ['ACE-ISO-SEL-002'],
    features: ['isolator/os/linux/selinux-context'],
    breakIt: (d) =>
      void (d.isolators = [1, 2].map(() => ({ name: 'os/linux/selinux-context', value: { user: 'system_u', role: 'system_r', type: 't', level: 's0' } }))),
  },
  {
    title: 'an apparmor-profile with an empty profile name',
    clause: ['ACE-ISO-AA-001'],
    features: ['isolator/os/linux/apparmor-profile'],
    breakIt: withAppIsolators([{ name: 'os/linux/apparmor-profile', value: { profile: '' } }]),
  },
  {
    title: 'two apparmor-profiles on one app',
    clause: ['ACE-ISO-AA-002'],
    features: ['isolator/os/linux/apparmor-profile'],
    breakIt: withAppIsolators([1, 2].map(() => ({ name: 'os/linux/apparmor-profile', value: { profile: 'unconfined' } }))),
  },
  {
    title: 'a capabilities-remove-set with an empty set',
    clause: ['ACE-ISO-CAPRM-004'],
    features: ['isolator/os/linux/capabilities-remove-set'],
    breakIt: withAppIsolators([{ name: 'os/linux/capabilities-remove-set', value: { set: [] } }]),
  },
  {
    title: 'a capabilities-retain-set with an empty set',
    clause: ['ACE-ISO-CAPRT-003'],
    features: ['isolator/os/linux/capabilities-retain-set'],
    breakIt: withAppIsolators([{ name: 'os/linux/capabilities-retain-set', value: { set: [] } }]),
  },
  {
    title: 'a capabilities-retain-set together with a capabilities-remove-set',
    clause: ['ACE-ISO-CAPRT-002'],
    features: ['isolator/os/linux/capabilities-retain-set', 'isolator/os/linux/capabilities-remove-set'],
    breakIt: withAppIsolators([
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } },
      { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW'] } },
    ]),
  },
  {
    title: 'a no-new-privileges value that is not a boolean',
    clause: ['ACE-ISO-NNP-003'],
    features: ['isolator/os/linux/no-new-privileges'],
    breakIt: withAppIsolators([{ name: 'os/linux/no-new-privileges', value: 'true' }]),
  },
  {
    title: 'a resource/memory isolator with default true',
    clause: ['ACE-ISO-MEM-001'],
    features: ['isolator/resource/memory'],
    breakIt: withAppIsolators([{ name: 'resource/memory', value: { default: true, limit: '64Mi' } }]),
  },
  {
    title: 'a resource/memory limit that is not a quantity',
    clause: ['ACE-ISO-MEM-001'],
    features: ['isolator/resource/memory'],
    breakIt: withAppIsolators([{ name: 'resource/memory', value: { limit: 'a lot' } }]),
  },
  {
    title: 'a resource/cpu isolator with default true',
    clause: ['ACE-ISO-CPU-001'],
    features: ['isolator/resource/cpu'],
    breakIt: withAppIsolators([{ name: 'resource/cpu', value: { default: true, limit: '1' } }]),
  },
  {
    title: 'a resource/block-bandwidth isolator with default false',
    clause: ['ACE-ISO-BLKBW-001'],
    features: ['isolator/resource/block-bandwidth'],
    breakIt: withAppIsolators([{ name: 'resource/block-bandwidth', value: { default: false, limit: '1M' } }]),
  },
  {
    title: 'a resource/block-iops isolator with a request',
    clause: ['ACE-ISO-BLKIO-001'],
    features: ['isolator/resource/block-iops'],
    breakIt: withAppIsolators([{ name: 'resource/block-iops', value: { default: true, request: '10', limit: '100' } }]),
  },
  {
    title: 'a resource/network-bandwidth isolator with default false',
    clause: ['ACE-ISO-NETBW-001'],
    features: ['isolator/resource/network-bandwidth'],
    breakIt: withAppIsolators([{ name: 'resource/network-bandwidth', value: { default: false, limit: '1M' } }]),
  },
  {
    title: 'a sysctl isolator whose value is not a string',
    clause: ['ACE-ISO-SYSCTL-001'],
    features: ['isolator/os/unix/sysctl'],
    breakIt: (d) => void (d.isolators = [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_default_ttl': 42 } }]),
  },
  {
    title: 'two sysctl isolators on the pod',
    clause: ['ACE-ISO-SYSCTL-002'],
    features: ['isolator/os/unix/sysctl'],
    breakIt: (d) =>
      void (d.isolators = [
        { name: 'os/unix/sysctl', value: { 'net.ipv4.ip_default_ttl': '42' } },
        { name: 'os/unix/sysctl', value: { 'net.ipv4.ip_default_ttl': '43' } },
      ]),
  },
  {
    title: 'an oom-score-adj outside -1000..1000',
    clause: ['ACE-ISO-OOM-001'],
    features: ['isolator/os/linux/oom-score-adj'],
    breakIt: withAppIsolators([{ name: 'os/linux/oom-score-adj', value: 1001 }]),
  },
  {
    title: 'two oom-score-adj isolators on one app',
    clause: ['ACE-ISO-OOM-001'],
    features: ['isolator/os/linux/oom-score-adj'],
    breakIt: withAppIsolators([
      { name: 'os/linux/oom-score-adj', value: 1 },
      { name: 'os/linux/oom-score-adj', value: 2 },
    ]),
  },
  {
    title: 'a cpu-shares value below 2',
    clause: ['ACE-ISO-CPUSH-001'],
    features: ['isolator/os/linux/cpu-shares'],
    breakIt: withAppIsolators([{ name: 'os/linux/cpu-shares', value: 1 }]),
  },
  {
    title: 'two cpu-shares isolators on one app',
    clause: ['ACE-ISO-CPUSH-001'],
    features: ['isolator/os/linux/cpu-shares'],
    breakIt: withAppIsolators([
      { name: 'os/linux/cpu-shares', value: 100 },
      { name: 'os/linux/cpu-shares', value: 200 },
    ]),
  },
]);
