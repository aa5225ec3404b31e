// spec/aci.md § Image Manifest Schema and spec/types.md: image manifests an implementation must not
// take. Each image is the valid twin below with one manifest rule broken, written by the ACI
// builder's raw mode (the normal builder refuses such manifests); it must be refused at import or
// at run. Where the spec says MUST NOT, the app must not have run either. The twin must import and
// run, or the refusals prove nothing.
import { appcArch, imageEntries, manifestHeader, type ImageManifest } from '../harness/aci/index.js';
import { clauses, describe, expect, image, imageRun, rawImage, test, type ImageRun } from '../harness/run/conformance.js';
import type { Feature } from '../harness/impl/index.js';
import { probeImage } from '../fixtures/images.js';

type Doc = Record<string, unknown> & { app: Record<string, unknown>; labels: Record<string, unknown>[] };

/** The twin uses every part of the manifest the rows below break. */
const twinSpec = () =>
  probeImage({
    name: 'manifest-twin',
    app: {
      workingDirectory: '/',
      environment: [{ name: 'TWIN', value: '1' }],
      mountPoints: [{ name: 'data', path: '/data' }],
      ports: [{ name: 'www', protocol: 'tcp', port: 8080 }],
      isolators: [{ name: 'resource/memory', value: { limit: '256M' } }],
      userAnnotations: { note: 'twin' },
      userLabels: { tier: 'twin' },
    },
    annotations: [
      { name: 'created', value: '2020-01-01T00:00:00Z' },
      { name: 'homepage', value: 'https://example.com/appc-conformance' },
    ],
  });

/** Every image here has the twin's mountPoint and no volume for it: the executor must give it an
 *  empty one (rkt fly cannot: "missing volume for mountpoint"), so each run needs volumes/empty. */
const NEEDS: Feature[] = ['volumes/empty'];

const twin = imageRun(async () => image(await twinSpec()), NEEDS);

/** The twin with its manifest document edited in place (raw mode: nothing is checked). */
function broken(edit: (doc: Doc) => void): ImageRun {
  return imageRun(async () => {
    const spec = await twinSpec();
    const doc = structuredClone(spec.manifest) as unknown as Doc;
    edit(doc);
    const entries = imageEntries(spec).filter((e) => e.header.name !== 'manifest');
    return rawImage([...entries, { header: manifestHeader(), body: JSON.stringify(doc, null, 2) + '\n' }], doc as unknown as ImageManifest);
  }, NEEDS);
}

interface Case {
  title: string;
  clause: string[];
  mustNotRun?: boolean;
  edit: (doc: Doc) => void;
}

function refusals(section: string, cases: Case[]): void {
  describe.concurrent(section, () => {
    for (const c of cases) {
      const pod = broken(c.edit);
      test(`refuses ${c.title}`, clauses(...c.clause), async ({ skip, check }) => {
        const t = await twin(skip);
        if (t.ending !== 'accepted' || t.appsThatRan.length === 0) {
          skip(`the valid twin did not import and run (${t.ending}: ${t.run?.refusal ?? JSON.stringify(t.imported).slice(0, 300)}), so a refusal would prove nothing`);
        }
        const evidence = await pod(skip);
        const why = evidence.imported.status === 'imported' ? (evidence.run?.refusal ?? '') : evidence.imported.status === 'refused' ? evidence.imported.refusal : evidence.imported.message;
        check(c.clause, () => expect(evidence.ending, `what became of ${c.title} (${why.slice(0, 300)})`).toMatch(/^refused at (import|run)$/));
        if (c.mustNotRun) check(c.clause, () => expect(evidence.appsThatRan, `apps that ran from ${c.title}`).toEqual([]));
      });
    }
  });
}

describe('valid twin', () => {
  test('imports and runs the valid image the refusal tests start from', clauses('ACI-MAN-001'), async ({ skip, check }) => {
    const t = await twin(skip);
    check('ACI-MAN-001', () => expect(t.ending).toBe('accepted'));
    check('ACI-MAN-001', () => expect(t.appsThatRan).toHaveLength(1));
  });
});

const label = (name: string, value: unknown) => (d: Doc) => void d.labels.push({ name, value });
const foreignArch = appcArch() === 'amd64' ? 's390x' : 'amd64';

refusals('ACI § Image Manifest Schema: kind, version and name', [
  { title: 'a manifest without acKind', clause: ['ACI-MAN-010'], edit: (d) => void delete d.acKind },
  { title: 'acKind PodManifest', clause: ['ACI-MAN-010', 'TYPES-ACKIND-001'], edit: (d) => void (d.acKind = 'PodManifest') },
  { title: 'acKind in the wrong case', clause: ['ACI-MAN-010', 'TYPES-ACKIND-001'], edit: (d) => void (d.acKind = 'imagemanifest') },
  { title: 'a manifest without acVersion', clause: ['ACI-MAN-011'], edit: (d) => void delete d.acVersion },
  { title: 'an acVersion that is not semver ("1")', clause: ['ACI-MAN-011', 'TYPES-ACVER-003'], edit: (d) => void (d.acVersion = '1') },
  { title: 'an acVersion with a v prefix', clause: ['ACI-MAN-011', 'TYPES-ACVER-003'], edit: (d) => void (d.acVersion = 'v0.8.11') },
  { title: 'a manifest without name', clause: ['ACI-MAN-012'], edit: (d) => void delete d.name },
  { title: 'a name with upper-case letters', clause: ['ACI-MAN-012', 'TYPES-ACID-001', 'TYPES-ACID-002'], edit: (d) => void (d.name = 'example.com/appc-conformance/Manifest-Twin') },
  { title: 'a name with a space', clause: ['ACI-MAN-012', 'TYPES-ACID-001', 'TYPES-ACID-002'], edit: (d) => void (d.name = 'example.com/appc conformance') },
  { title: 'a name ending in a separator', clause: ['TYPES-ACID-001', 'TYPES-ACID-002'], edit: (d) => void (d.name = 'example.com/appc-conformance/') },
]);

refusals('ACI § Image Manifest Schema: labels', [
  { title: 'a label whose name is not an AC Identifier', clause: ['ACI-LBL-001', 'TYPES-ACID-002'], edit: label('Bad Label', 'x') },
  { title: 'a label whose value is not a string', clause: ['ACI-LBL-001'], edit: label('version', 1) },
  { title: 'two labels of the same name', clause: ['ACI-LBL-002'], edit: label('os', 'linux') },
  { title: 'a label named "name"', clause: ['ACI-LBL-003'], mustNotRun: true, edit: label('name', 'twin') },
  { title: 'an os the spec does not know', clause: ['ACI-LBL-006'], edit: (d) => void (d.labels = [{ name: 'os', value: 'plan9' }]) },
  { title: 'an arch that does not go with its os', clause: ['ACI-LBL-006'], edit: (d) => void (d.labels = [{ name: 'os', value: 'linux' }, { name: 'arch', value: 'x86_64' }]) },
  { title: `an image for another arch (linux/${foreignArch})`, clause: ['ACI-LBL-005'], edit: (d) => void (d.labels = [{ name: 'os', value: 'linux' }, { name: 'arch', value: foreignArch }]) },
  { title: 'an image for another os (freebsd/amd64)', clause: ['ACI-LBL-005'], edit: (d) => void (d.labels = [{ name: 'os', value: 'freebsd' }, { name: 'arch', value: 'amd64' }]) },
]);

refusals('ACI § Image Manifest Schema: app', [
  { title: 'an app without group', clause: ['ACI-APP-003'], edit: (d) => void delete d.app.group },
  { title: 'an app with an empty user', clause: ['ACI-APP-003'], edit: (d) => void (d.app.user = '') },
  { title: 'two pre-start handlers', clause: ['ACI-APP-005'], mustNotRun: true, edit: (d) => void (d.app.eventHandlers = [{ name: 'pre-start', exec: ['/probe', 'noreport'] }, { name: 'pre-start', exec: ['/probe', 'noreport'] }]) },
  { title: 'a handler named post-start', clause: ['ACI-APP-006'], edit: (d) => void (d.app.eventHandlers = [{ name: 'post-start', exec: ['/probe'] }]) },
  { title: 'a handler without exec', clause: ['ACI-APP-006'], edit: (d) => void (d.app.eventHandlers = [{ name: 'pre-start' }]) },
  { title: 'a relative workingDirectory', clause: ['ACI-APP-007'], edit: (d) => void (d.app.workingDirectory = 'opt/work') },
  { title: 'an environment entry without value', clause: ['ACI-APP-008'], edit: (d) => void (d.app.environment = [{ name: 'TWIN' }]) },
  // Not a row: an entry with an extra key. Go's JSON decoder (rkt's) ignores unknown keys, so
  // "exactly the keys" is not enforced by the reference code (appc-clauses.md § 10).
  { title: 'an environment name starting with a digit', clause: ['ACI-APP-009'], edit: (d) => void (d.app.environment = [{ name: '1BAD', value: '1' }]) },
  { title: 'an environment name with =', clause: ['ACI-APP-009'], edit: (d) => void (d.app.environment = [{ name: 'A=B', value: '1' }]) },
  { title: 'two environment entries of the same name', clause: ['ACI-APP-009'], edit: (d) => void (d.app.environment = [{ name: 'TWIN', value: '1' }, { name: 'TWIN', value: '2' }]) },
  { title: 'an isolator without name', clause: ['ACI-APP-010', 'TYPES-ISO-001'], edit: (d) => void (d.app.isolators = [{ value: { limit: '256M' } }]) },
  { title: 'an isolator whose name is not an AC Identifier', clause: ['ACI-APP-010', 'TYPES-ISO-001', 'TYPES-ACID-002'], edit: (d) => void (d.app.isolators = [{ name: 'Resource/Memory', value: { limit: '256M' } }]) },
  { title: 'a known isolator with a value of the wrong shape', clause: ['ACI-APP-010'], edit: (d) => void (d.app.isolators = [{ name: 'resource/memory', value: 'lots' }]) },
  { title: 'a mountPoint name that is not an AC Name', clause: ['ACI-APP-011', 'TYPES-ACNAME-001', 'TYPES-ACNAME-002'], edit: (d) => void (d.app.mountPoints = [{ name: 'Data', path: '/data' }]) },
  { title: 'a mountPoint without path', clause: ['ACI-APP-011'], edit: (d) => void (d.app.mountPoints = [{ name: 'data' }]) },
  { title: 'a mountPoint whose readOnly is not a boolean', clause: ['ACI-APP-011'], edit: (d) => void (d.app.mountPoints = [{ name: 'data', path: '/data', readOnly: 'yes' }]) },
  { title: 'a port name that is not an AC Name', clause: ['ACI-APP-012', 'TYPES-ACNAME-001', 'TYPES-ACNAME-002'], edit: (d) => void (d.app.ports = [{ name: 'HTTP', protocol: 'tcp', port: 8080 }]) },
  { title: 'a port without name', clause: ['ACI-APP-012'], edit: (d) => void (d.app.ports = [{ protocol: 'tcp', port: 8080 }]) },
  { title: 'a port without protocol', clause: ['ACI-APP-013'], edit: (d) => void (d.app.ports = [{ name: 'www', port: 8080 }]) },
  { title: 'port 0', clause: ['ACI-APP-015'], edit: (d) => void (d.app.ports = [{ name: 'www', protocol: 'tcp', port: 0 }]) },
  { title: 'port 70000', clause: ['ACI-APP-015'], edit: (d) => void (d.app.ports = [{ name: 'www', protocol: 'tcp', port: 70000 }]) },
  { title: 'a port without port', clause: ['ACI-APP-015'], edit: (d) => void (d.app.ports = [{ name: 'www', protocol: 'tcp' }]) },
  { title: 'a port count of 0', clause: ['ACI-APP-016'], edit: (d) => void (d.app.ports = [{ name: 'www', protocol: 'tcp', port: 8080, count: 0 }]) },
  { title: 'a userAnnotations value that is not a string', clause: ['ACI-APP-018'], edit: (d) => void (d.app.userAnnotations = { note: 1 }) },
  { title: 'a userLabels value that is not a string', clause: ['ACI-APP-019'], edit: (d) => void (d.app.userLabels = { tier: true }) },
]);

refusals('ACI § Image Manifest Schema: pathWhitelist and annotations', [
  { title: 'a relative pathWhitelist entry', clause: ['ACI-PWL-001'], edit: (d) => void (d.pathWhitelist = ['/probe', 'etc/passwd']) },
  { title: 'two annotations of the same name', clause: ['ACI-ANN-001'], edit: (d) => void (d.annotations = [{ name: 'note', value: '1' }, { name: 'note', value: '2' }]) },
  { title: 'an annotation whose name is not an AC Identifier', clause: ['ACI-ANN-001', 'TYPES-ACID-002'], edit: (d) => void (d.annotations = [{ name: 'Note', value: '1' }]) },
  { title: 'an annotation whose value is not a string', clause: ['ACI-ANN-001'], edit: (d) => void (d.annotations = [{ name: 'note', value: 1 }]) },
  { title: 'a created annotation that is not a timestamp', clause: ['ACI-ANN-004', 'TYPES-TS-001'], edit: (d) => void (d.annotations = [{ name: 'created', value: 'yesterday' }]) },
  { title: 'a created timestamp without the T', clause: ['ACI-ANN-004', 'TYPES-TS-001'], edit: (d) => void (d.annotations = [{ name: 'created', value: '2020-01-01 00:00:00Z' }]) },
  { title: 'a homepage with an ftp URL', clause: ['ACI-ANN-005'], edit: (d) => void (d.annotations = [{ name: 'homepage', value: 'ftp://example.com/x' }]) },
  { title: 'a documentation annotation that is not a URL', clause: ['ACI-ANN-005'], edit: (d) => void (d.annotations = [{ name: 'documentation', value: 'see the README' }]) },
]);

/** The same image under each acVersion of the 0.8 series: every one must run (types.md § AC Version). */
const VERSIONS = ['0.8.0', '0.8.4', '0.8.11'];
const versioned = new Map(VERSIONS.map((v) => [v, broken((d) => void (d.acVersion = v))]));

describe('Types § AC Version: compatibility within a major series', () => {
  test.for(VERSIONS)('runs an image of acVersion %s', clauses('TYPES-ACVER-002', 'TYPES-ACVER-004'), async (v, { skip, check }) => {
    const evidence = await versioned.get(v)!(skip);
    check(['TYPES-ACVER-002', 'TYPES-ACVER-004'], () => expect(evidence.ending, JSON.stringify(evidence.imported).slice(0, 300)).toBe('accepted'));
    check(['TYPES-ACVER-002', 'TYPES-ACVER-004'], () => expect(evidence.appsThatRan).toHaveLength(1));
  });
});

const noOsArch = broken((d) => void (d.labels = []));
describe('ACI § Image Manifest Schema: labels', () => {
  test('runs an image without os and arch labels (os- and arch-independent)', clauses('ACI-LBL-005'), async ({ skip, check }) => {
    const evidence = await noOsArch(skip);
    check('ACI-LBL-005', () => expect(evidence.ending, JSON.stringify(evidence.imported).slice(0, 300)).toBe('accepted'));
    check('ACI-LBL-005', () => expect(evidence.appsThatRan).toHaveLength(1));
  });
});

/**
 * userAnnotations and userLabels are for people and tools around the app (spec/aci.md § app): the
 * same app with and without them, the values made to look like settings, must run the same way.
 */
const unlabelled = broken((d) => {
  delete d.app.userAnnotations;
  delete d.app.userLabels;
});
const labelled = broken((d) => {
  d.app.userAnnotations = { user: '0', group: '0', workingDirectory: '/tmp', environment: 'LEAK=1', readOnlyRootFS: 'true' };
  d.app.userLabels = { 'oom-score-adj': '500', path: '/nowhere', tier: 'front' };
});

describe('ACI § Image Manifest Schema: app.userAnnotations and userLabels', () => {
  test('runs the app the same with and without userAnnotations and userLabels', clauses('ACI-APP-020'), async ({ skip, check }) => {
    const [plain, tagged] = [await unlabelled(skip), await labelled(skip)];
    if (plain.ending !== 'accepted' || plain.appsThatRan.length === 0) skip(`the image without them did not run (${plain.ending}), so there is nothing to compare`);
    const seen = (e: typeof plain) => {
      const r = e.run?.apps[0]?.report;
      if (!r) return undefined;
      return {
        environment: Object.keys(r.env).sort(),
        PATH: r.env.PATH,
        user: [r.uid, r.gid, r.groups],
        cwd: r.cwd,
        rootfs: r.mounts.find((m) => m.mountPoint === '/')?.options.includes('ro'),
        capabilities: r.capabilities,
        noNewPrivs: r.noNewPrivs,
        oomScoreAdj: r.oomScoreAdj,
        cgroupLimits: r.cgroupLimits,
      };
    };
    check('ACI-APP-020', () => expect(tagged.ending, 'the image with userAnnotations and userLabels').toBe('accepted'));
    check('ACI-APP-020', () => expect(seen(tagged), 'what the app saw with them').toEqual(seen(plain)));
  });
});
