// What an implementation tells its user about a pod it ran and its images (for rkt: `rkt
// cat-manifest`, `rkt image cat-manifest`, `rkt image list`) obeys the same rules as any manifest:
// spec/types.md (AC Version, Image ID), spec/pods.md § Pod Manifest Schema, spec/aci.md § Image
// Manifest Schema and § Image ID. Users and tools act on these reports, so a report that breaks
// the types rules (a truncated image ID, an acVersion no appc release has) or names an image by an
// ID whose manifest is not that image's, is a violation even when the pod ran well.
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import type { BuiltImage } from '../harness/aci/index.js';
import { imageIdProblem, servedImageManifestProblems, servedPodManifestProblems } from '../harness/aci/served.js';
import type { ReportedManifests } from '../harness/impl/implementation.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

let built: { alpha: BuiltImage; beta: BuiltImage } | undefined;

/** Two apps from two images (one with labels and annotations of its own), from a pod manifest. */
const manifestPod = podRun(['reported-manifests', 'pod-manifest', 'multi-app'], async () => {
  const alpha = await image(
    await probeImage({
      name: 'reported-alpha',
      labels: [{ name: 'version', value: '1.2.3' }],
      annotations: [{ name: 'example.com/reported', value: 'yes' }],
    }),
  );
  const beta = await image(await probeImage({ name: 'reported-beta' }));
  built = { alpha, beta };
  return {
    images: [alpha, beta],
    manifest: podManifest([
      { name: 'alpha', image: alpha },
      { name: 'beta', image: beta },
    ]),
    inspect: true,
  };
});

/** From an image alone: the pod manifest the implementation reports is one it made up. */
let onlyImage: BuiltImage | undefined;
const imageOnlyPod = podRun(['reported-manifests'], async () => {
  onlyImage = await image(await probeImage({ name: 'reported-image-only' }));
  return { images: [onlyImage], inspect: true };
});

type Skip = (note: string) => never;

/** The report of a pod whose apps ran (each app's probe report is the proof): a pod that did not
 *  run has nothing worth reporting, and fails the test on that alone. */
async function reportOf(run: typeof manifestPod, skip: Skip): Promise<ReportedManifests> {
  const pod = await run(skip);
  if (pod.outcome.apps.length === 0) pod.app('any');
  for (const app of pod.outcome.apps) pod.report(app.name);
  if (!pod.outcome.reported) throw new Error('the adapter brought back no report of the pod');
  return pod.outcome.reported;
}

const labelsOf = (m: unknown) =>
  [...((m as { labels?: { name: string; value: string }[] } | null)?.labels ?? [])].sort((a, b) => a.name.localeCompare(b.name));

describe('Types § AC Version, § Image ID: the pod manifest an implementation reports', () => {
  test(
    'is valid by the schema and the types rules (an appc acVersion, apps naming full image IDs)',
    clauses('POD-MAN-001', 'POD-MAN-002', 'POD-MAN-003', 'TYPES-ACVER-001', 'TYPES-ACVER-003', 'TYPES-IMGID-001', 'TYPES-IMGID-002'),
    async ({ skip, check }) => {
      const withManifest = await reportOf(manifestPod, skip);
      check(['POD-MAN-001', 'POD-MAN-002', 'POD-MAN-003', 'TYPES-ACVER-001', 'TYPES-ACVER-003', 'TYPES-IMGID-001', 'TYPES-IMGID-002'], () =>
        expect(servedPodManifestProblems(withManifest.podManifest), 'the pod manifest reported for a pod run from a pod manifest').toEqual([]),
      );
      const fromImage = await reportOf(imageOnlyPod, skip);
      check(['POD-MAN-001', 'POD-MAN-002', 'POD-MAN-003', 'TYPES-ACVER-001', 'TYPES-ACVER-003', 'TYPES-IMGID-001', 'TYPES-IMGID-002'], () =>
        expect(servedPodManifestProblems(fromImage.podManifest), 'the pod manifest reported for a pod run from an image alone').toEqual([]),
      );
    },
  );

  test('names each app’s image by the ID of the image it ran', clauses('POD-REIFY-003', 'ACI-ID-001', 'TYPES-IMGID-001'), async ({ skip, check }) => {
    const reported = await reportOf(manifestPod, skip);
    const apps = (reported.podManifest as { apps?: { name?: string; image?: { id?: unknown } }[] } | null)?.apps ?? [];
    for (const [name, img] of [['alpha', built!.alpha], ['beta', built!.beta]] as const) {
      check(['POD-REIFY-003', 'ACI-ID-001', 'TYPES-IMGID-001'], () => expect(apps.find((a) => a.name === name)?.image?.id, `app ${name}`).toBe(img.id));
    }
    const only = await reportOf(imageOnlyPod, skip);
    const onlyApps = (only.podManifest as { apps?: { image?: { id?: unknown } }[] } | null)?.apps ?? [];
    check(['POD-REIFY-003', 'ACI-ID-001', 'TYPES-IMGID-001'], () => expect(onlyApps.map((a) => a.image?.id), 'the app of a pod run from an image alone').toEqual([onlyImage!.id]));
  });
});

describe('ACI § Image ID, § Image Manifest Schema: the images an implementation reports', () => {
  test('lists every image of the pod by its full image ID', clauses('ACI-ID-001', 'ACI-ID-002', 'TYPES-IMGID-001', 'TYPES-IMGID-002'), async ({ skip, check }) => {
    // The image-only pod first: it runs even where image IDs go wrong, and a pod manifest naming
    // full IDs may then be refused.
    const pods: [string, typeof manifestPod, () => BuiltImage[]][] = [
      ['a pod run from an image alone', imageOnlyPod, () => [onlyImage!]],
      ['a pod run from a pod manifest', manifestPod, () => [built!.alpha, built!.beta]],
    ];
    for (const [what, run, imagesOf] of pods) {
      const reported = await reportOf(run, skip);
      if (reported.listedImageIds === undefined) skip('the implementation keeps no list of its images');
      const listed = reported.listedImageIds ?? [];
      for (const id of listed) check(['ACI-ID-002', 'TYPES-IMGID-001', 'TYPES-IMGID-002'], () => expect(imageIdProblem(id), `${what}: an image ID listed`).toBeUndefined());
      for (const img of imagesOf()) check(['ACI-ID-001', 'TYPES-IMGID-001'], () => expect(listed, `${what}: ${img.name} listed by its ID`).toContain(img.id));
    }
  });

  test(
    'gives each image’s manifest valid in full, and the manifest of the image that ID names',
    clauses('ACI-ID-001', 'ACI-MAN-001', 'TYPES-ACVER-001', 'TYPES-ACVER-003'),
    async ({ skip, check }) => {
      const reported = await reportOf(manifestPod, skip);
      for (const img of [built!.alpha, built!.beta]) {
        const entry = reported.images.find((i) => i.id === img.id);
        check(['ACI-ID-001'], () => expect(entry, `a manifest reported for ${img.name} under its image ID`).toBeDefined());
        check(['ACI-MAN-001', 'TYPES-ACVER-001', 'TYPES-ACVER-003'], () => expect(servedImageManifestProblems(entry?.manifest), `${img.name}: the manifest reported`).toEqual([]));
        // The ID identifies the image: the manifest reported under it is that image's own.
        check(['ACI-ID-001'], () => {
          const m = entry?.manifest as { name?: unknown } | undefined;
          expect({ name: m?.name, labels: labelsOf(m) }, `${img.name}: the manifest reported under its ID`).toEqual({ name: img.manifest.name, labels: labelsOf(img.manifest) });
        });
      }
    },
  );
});
