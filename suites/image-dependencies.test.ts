// spec/aci.md § Image Manifest Schema (dependencies, pathWhitelist) and § Dependency Matching: which
// image satisfies a dependency, and what of a dependency reaches the app. Rendering order and the
// whitelist across dependencies are in ace-filesystem.test.ts (ACE-FS-003..009, ACI-MAN-005).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { imageEntries, manifestHeader, type Dependency, type ImageManifest } from '../harness/aci/index.js';
import { clauses, describe, expect, image, podRun, rawImage, test, type PodRun } from '../harness/run/conformance.js';
import { layerImage, probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const file = (path: string, content: string) => ({ type: 'file' as const, path, content });

/** A dependency with an app section of its own: its environment and exec must not reach the app. */
const depAppPod = podRun(['pod-manifest'], async () => {
  const dep = await image(
    layerImage('deps-with-app', [file('/from-dep', 'dep\n')], { app: { exec: ['/not-there'], user: '0', group: '0', environment: [{ name: 'DEP_ONLY', value: '1' }] } }),
  );
  const top = await image(await probeImage({ name: 'deps-app-top', app: { exec: ['/probe', 'file=/from-dep'] }, dependencies: [{ imageName: dep.name }] }));
  return { images: [top, dep], manifest: podManifest([{ name: 'top', image: top }]) };
});

/** Two images of one name told apart by a label; the dependency asks for version 2 (listed second). */
const labelledPod = podRun(['pod-manifest'], async () => {
  const v1 = await image(layerImage('deps-labelled', [file('/version', '1\n')], { labels: [{ name: 'version', value: '1' }] }));
  const v2 = await image(layerImage('deps-labelled', [file('/version', '2\n')], { labels: [{ name: 'version', value: '2' }] }));
  const top = await image(
    await probeImage({ name: 'deps-labels-top', app: { exec: ['/probe', 'file=/version'] }, dependencies: [{ imageName: v1.name, labels: [{ name: 'version', value: '2' }] }] }),
  );
  return { images: [top, v1, v2], manifest: podManifest([{ name: 'top', image: top }]) };
});

/** A dependency pinned by image ID: the right ID runs, a wrong one must be refused. */
function pinnedPod(right: boolean) {
  return podRun(['pod-manifest'], async () => {
    const dep = await image(layerImage('deps-pinned', [file('/pinned', 'pinned\n')]));
    const wrong = 'sha512-' + createHash('sha512').update('not the dependency').digest('hex');
    const top = await image(
      await probeImage({ name: `deps-pinned-${right ? 'right' : 'wrong'}`, app: { exec: ['/probe', 'file=/pinned'] }, dependencies: [{ imageName: dep.name, imageID: right ? dep.id : wrong }] }),
    );
    return { images: [top, dep], manifest: podManifest([{ name: 'top', image: top }]) };
  });
}
const pinnedRight = pinnedPod(true);
const pinnedWrong = pinnedPod(false);

/** pathWhitelist: [] is no whitelist: every file of the image and of its dependency is there. */
const emptyWhitelistPod = podRun(['pod-manifest'], async () => {
  const dep = await image(layerImage('deps-wl-empty-dep', [file('/dep-file', 'dep\n')]));
  const spec = await probeImage({ name: 'deps-wl-empty', app: { exec: ['/probe', 'file=/own-file', 'file=/dep-file'] }, files: [file('/own-file', 'own\n')], dependencies: [{ imageName: dep.name }] });
  const top = await image({ ...spec, manifest: { ...spec.manifest, pathWhitelist: [] } });
  return { images: [top, dep], manifest: podManifest([{ name: 'top', image: top }]) };
});

describe('ACI § Image Manifest Schema: dependencies', () => {
  test("ignores the app section of a dependency", clauses('ACI-MAN-004'), async ({ skip, check }) => {
    const pod = await depAppPod(skip);
    const r = pod.report('top');
    check('ACI-MAN-004', () => expect(r.files.find((f) => f.path === '/from-dep')?.content, 'the dependency was extracted').toBe('dep\n'));
    check('ACI-MAN-004', () => expect(r.env.DEP_ONLY, "the dependency's environment").toBeUndefined());
    check('ACI-MAN-004', () => expect(pod.outcome.apps.map((a) => a.name)).toEqual(['top']));
  });

  test('takes the image whose labels match those the dependency asks for', clauses('ACI-DEPM-001'), async ({ skip, check }) => {
    const r = (await labelledPod(skip)).report('top');
    check('ACI-DEPM-001', () => expect(r.files.find((f) => f.path === '/version')?.content).toBe('2\n'));
  });

  test('runs an image whose dependency has the pinned image ID', clauses('ACI-DEPM-002'), async ({ skip, check }) => {
    const r = (await pinnedRight(skip)).report('top');
    check('ACI-DEPM-002', () => expect(r.files.find((f) => f.path === '/pinned')?.content).toBe('pinned\n'));
  });

  test('refuses an image whose dependency does not have the pinned image ID', clauses('ACI-DEPM-002'), async ({ skip, check }) => {
    const right = await pinnedRight(skip);
    if (right.refused) skip(`the same pod with the right ID was refused too (${right.outcome.refusal}), so this refusal proves nothing`);
    const pod = await pinnedWrong(skip);
    check('ACI-DEPM-002', () => expect(pod.outcome.status, 'a pod whose only dependency has another ID').toBe('refused'));
  });
});

/**
 * Dependency entries the schema forbids (spec/aci.md § dependencies, types.md § Image ID). The valid
 * twin pins its dependency every way the schema allows (name, image ID, a label, size) and must run;
 * each row breaks one rule of the entry but leaves enough for a lax executor to find the dependency
 * anyway (the image ID stays pinned), so running it is a failure the test can see.
 */
type DepEdit = (dep: Record<string, unknown>, real: { id: string; sha256: string }) => void;

function dependencyPod(tag: string, edit?: DepEdit): PodRun {
  return podRun(['pod-manifest'], async () => {
    const dep = await image(layerImage('deps-entry', [file('/dep-entry', 'dep\n')], { labels: [{ name: 'version', value: '1' }] }));
    const tar = await readFile(dep.path);
    const entry: Record<string, unknown> = { imageName: dep.name, imageID: dep.id, labels: [{ name: 'version', value: '1' }], size: tar.length };
    const spec = await probeImage({ name: `deps-entry-${tag}`, app: { exec: ['/probe', 'file=/dep-entry'] }, dependencies: [entry as unknown as Dependency] });
    if (!edit) {
      const top = await image(spec);
      return { images: [top, dep], manifest: podManifest([{ name: 'top', image: top }]) };
    }
    edit(entry, { id: dep.id, sha256: `sha256-${createHash('sha256').update(tar).digest('hex')}` });
    const doc = { ...spec.manifest, dependencies: [entry] } as unknown as ImageManifest;
    const entries = imageEntries(spec).filter((e) => e.header.name !== 'manifest');
    const top = await rawImage([...entries, { header: manifestHeader(), body: JSON.stringify(doc, null, 2) + '\n' }], doc);
    return { images: [top, dep], manifest: podManifest([{ name: 'top', image: top }]) };
  });
}

const entryTwin = dependencyPod('twin');
const ENTRY_ROWS: { title: string; clause: string[]; edit: DepEdit }[] = [
  { title: 'a dependency without imageName', clause: ['ACI-DEP-001'], edit: (d) => void delete d.imageName },
  { title: 'a dependency whose imageName is not an AC Identifier', clause: ['ACI-DEP-001', 'TYPES-ACID-002'], edit: (d) => void (d.imageName = String(d.imageName).toUpperCase()) },
  { title: 'a dependency imageID cut to 64 hex digits', clause: ['ACI-DEP-002'], edit: (d, real) => void (d.imageID = real.id.slice(0, 'sha512-'.length + 64)) },
  { title: 'a dependency imageID of another hash algorithm (sha256)', clause: ['ACI-DEP-002', 'TYPES-IMGID-002'], edit: (d, real) => void (d.imageID = real.sha256) },
  { title: 'two dependency labels of the same name', clause: ['ACI-DEP-003', 'ACI-LBL-002'], edit: (d) => void (d.labels = [{ name: 'version', value: '1' }, { name: 'version', value: '1' }]) },
  { title: 'a dependency label whose value is not a string', clause: ['ACI-DEP-003'], edit: (d) => void (d.labels = [{ name: 'version', value: 1 }]) },
  { title: 'a dependency size that is a string', clause: ['ACI-DEP-003'], edit: (d) => void (d.size = String(d.size)) },
  { title: 'a dependency size that is not a whole number', clause: ['ACI-DEP-003'], edit: (d) => void (d.size = Number(d.size) + 0.5) },
];

describe('ACI § Image Manifest Schema: dependency entries', () => {
  test('runs an image whose dependency names, pins, labels and sizes what it needs', clauses('ACI-DEP-001', 'ACI-DEP-002', 'ACI-DEP-003'), async ({ skip, check }) => {
    const r = (await entryTwin(skip)).report('top');
    check(['ACI-DEP-001', 'ACI-DEP-002', 'ACI-DEP-003'], () => expect(r.files.find((f) => f.path === '/dep-entry')?.content).toBe('dep\n'));
  });

  describe.concurrent('refuses the image, and runs no app, for', () => {
    for (const [i, row] of ENTRY_ROWS.entries()) {
      const pod = dependencyPod(`row${i}`, row.edit);
      test(row.title, clauses(...row.clause), async ({ skip, check }) => {
        const twin = await entryTwin(skip);
        if (twin.refused) skip(`the valid twin was refused too (${twin.outcome.refusal}), so a refusal would prove nothing`);
        const evidence = await pod(skip);
        check(row.clause, () => expect(evidence.outcome.status, `what became of ${row.title}`).toBe('refused'));
        check(row.clause, () => expect(evidence.outcome.apps.filter((a) => a.report !== undefined).map((a) => a.name), 'apps that ran').toEqual([]));
      });
    }
  });
});

/** A dependency whose stated size is not its own: larger data than announced is what the check guards against. */
const wrongSize = dependencyPod('size', (d) => void (d.size = Number(d.size) - 512));

describe('ACI § Image Manifest Schema: dependencies.size', () => {
  test('refuses a dependency whose size is not the size the manifest states', clauses('ACI-DEPM-003'), async ({ skip, check }) => {
    const twin = await entryTwin(skip);
    if (twin.refused) skip(`the same pod with the stated size right was refused too (${twin.outcome.refusal}), so a refusal would prove nothing`);
    const pod = await wrongSize(skip);
    check('ACI-DEPM-003', () => expect(pod.outcome.status, 'a pod whose dependency is 512 bytes larger than stated').toBe('refused'));
  });
});

describe('ACI § Image Manifest Schema: pathWhitelist', () => {
  test('keeps every file when pathWhitelist is empty', clauses('ACI-PWL-002'), async ({ skip, check }) => {
    const r = (await emptyWhitelistPod(skip)).report('top');
    const exists = (p: string) => r.files.find((f) => f.path === p)?.exists;
    check('ACI-PWL-002', () => expect({ own: exists('/own-file'), dep: exists('/dep-file') }).toEqual({ own: true, dep: true }));
  });
});
