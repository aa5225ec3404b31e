// spec/ace.md § App Container Metadata Service (MDS-*) and § Execution Environment (ACE-ENV-003):
// every app asks the metadata service at its own AC_METADATA_URL (the probe expands
// `$AC_METADATA_URL`, and `$FETCHn` in post= bodies chains sign → verify inside the pod).
import { clauses, describe, expect, image, podRun, session, test } from '../harness/run/conformance.js';
import type { BuiltImage, NameValue } from '../harness/aci/index.js';
import type { HttpFetch, ProbeReport } from '../harness/probe/index.js';
import { imageIdProblem, servedImageManifestProblems, servedPodManifestProblems } from '../harness/aci/served.js';
import { probeImage } from '../fixtures/images.js';
import { podManifest } from '../fixtures/pods.js';

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=us-ascii';
const V1 = '$AC_METADATA_URL/acMetadata/v1';

const POD_ANNOTATIONS: NameValue[] = [
  { name: 'example.com/role', value: 'conformance' },
  { name: 'example.com/tier', value: 'test' },
];
const ALPHA_IMAGE_ANNOTATIONS: NameValue[] = [
  { name: 'example.com/shared', value: 'from-image' },
  { name: 'example.com/image-only', value: 'kept' },
];
const ALPHA_POD_ANNOTATIONS: NameValue[] = [
  { name: 'example.com/shared', value: 'from-pod' },
  { name: 'example.com/pod-only', value: 'added' },
];
const BETA_IMAGE_ANNOTATIONS: NameValue[] = [{ name: 'example.com/shared', value: 'beta-image' }];

/** The requests of one app, by key, in the order the probe makes them (fetch index = position).
 *  Spaces in form bodies are written as '+' (form encoding), not %20: a '%' in an exec argument is
 *  an exec matter, not a metadata one, and rkt 1.30 cannot start an app with one (it writes the
 *  argument into a systemd unit unescaped and systemd rejects the unit), which would hide every
 *  metadata check behind a pod that never ends. */
function requests(app: string) {
  const list = [
    ['uuid', `fetch=${V1}/pod/uuid`],
    ['sign', `post=${V1}/pod/hmac/sign:content=hello+pod`],
    ['verify', `post=${V1}/pod/hmac/verify:content=hello+pod&uuid=$FETCH0&signature=$FETCH1`],
    ['verifyOtherContent', `post=${V1}/pod/hmac/verify:content=hello+pot&uuid=$FETCH0&signature=$FETCH1`],
    ['verifyTampered', `post=${V1}/pod/hmac/verify:content=hello+pod&uuid=$FETCH0&signature=AAAA$FETCH1`],
    ['signAgain', `post=${V1}/pod/hmac/sign:content=hello+pod`],
    ['podAnnotations', `fetch=${V1}/pod/annotations`],
    ['podManifest', `fetch=${V1}/pod/manifest`],
    ['appAnnotations', `fetch=${V1}/apps/${app}/annotations`],
    ['imageManifest', `fetch=${V1}/apps/${app}/image/manifest`],
    ['imageId', `fetch=${V1}/apps/${app}/image/id`],
    // The app's own token with a character added: a wrong token (MDS-GEN-006).
    ['tamperedUuid', `fetch=$AC_METADATA_URLx/acMetadata/v1/pod/uuid`],
  ] as const;
  return { args: list.map(([, a]) => a), index: Object.fromEntries(list.map(([k], i) => [k, i])) as Record<(typeof list)[number][0], number> };
}
type Key = keyof ReturnType<typeof requests>['index'];

let images: { alpha: BuiltImage; beta: BuiltImage } | undefined;

/** Two apps from two images, pod and app annotations, every endpoint asked by both. */
const mdsPod = podRun(['pod-manifest', 'multi-app', 'metadata-service'], async () => {
  const alpha = await image(
    // The mountPoint has no volume in the pod manifest: the implementation must supply one.
    await probeImage({
      name: 'mds-alpha',
      annotations: ALPHA_IMAGE_ANNOTATIONS,
      app: { exec: ['/probe', ...requests('alpha').args], mountPoints: [{ name: 'scratch', path: '/scratch' }] },
    }),
  );
  const beta = await image(
    await probeImage({ name: 'mds-beta', annotations: BETA_IMAGE_ANNOTATIONS, app: { exec: ['/probe', ...requests('beta').args] } }),
  );
  images = { alpha, beta };
  return {
    images: [alpha, beta],
    manifest: podManifest(
      [
        { name: 'alpha', image: alpha, annotations: ALPHA_POD_ANNOTATIONS },
        { name: 'beta', image: beta },
      ],
      { annotations: POD_ANNOTATIONS },
    ),
  };
});

/** Without a pod manifest: the implementation makes one up, and the MDS serves that. */
let onlyImage: BuiltImage | undefined;
const imageOnlyPod = podRun(['metadata-service'], async () => {
  onlyImage = await image(
    await probeImage({ name: 'mds-image-only', app: { exec: ['/probe', `fetch=${V1}/pod/manifest`, `fetch=${V1}/pod/uuid`] } }),
  );
  return { images: [onlyImage] };
});

type CheckFn = (ids: string | string[], assertion: () => void) => void;

/**
 * The app's report and its requests by key. Without AC_METADATA_URL nothing else can be asked:
 * that is checked first (ACE-ENV-003), so such an implementation fails on that clause alone.
 */
async function evidence(skip: (note: string) => never, check: CheckFn, app: 'alpha' | 'beta') {
  const pod = await mdsPod(skip);
  const r = pod.report(app);
  check('ACE-ENV-003', () => expect(r.env.AC_METADATA_URL, 'AC_METADATA_URL').toMatch(/^https?:\/\/./));
  const { index } = requests(app);
  const get = (key: Key): HttpFetch => r.fetches[index[key]] ?? { url: key, ok: false, error: 'not made' };
  return { pod, r, get };
}

const ok = (f: HttpFetch) => ({ ok: f.ok, status: f.status, error: f.error });
const parse = (f: HttpFetch): unknown => JSON.parse(f.body ?? '');
const isAnnotations = (v: unknown) =>
  Array.isArray(v) && v.every((a) => typeof a === 'object' && a !== null && typeof a.name === 'string' && typeof a.value === 'string');

function token(r: ProbeReport): string {
  return new URL(r.env.AC_METADATA_URL ?? '').pathname.replace(/^\/+|\/+$/g, '');
}

describe('ACE § Execution Environment: AC_METADATA_URL', () => {
  test(
    'sets AC_METADATA_URL to an HTTP URL of a metadata service that answers',
    clauses('ACE-ENV-003', 'MDS-GEN-001', 'MDS-GEN-002'),
    async ({ skip, check }) => {
      for (const app of ['alpha', 'beta'] as const) {
        const { r, get } = await evidence(skip, check, app);
        check('MDS-GEN-002', () => expect(new URL(r.env.AC_METADATA_URL!).protocol).toMatch(/^https?:$/));
        check(['ACE-ENV-003', 'MDS-GEN-001'], () => expect(ok(get('uuid'))).toEqual({ ok: true, status: 200, error: undefined }));
      }
    },
  );

  test(
    'embeds a hard-to-guess token in the URL, not the pod UUID',
    clauses('ACE-ENV-003', 'MDS-GEN-003', 'MDS-GEN-004', 'MDS-GEN-005'),
    async ({ skip, check }) => {
      const { pod, r } = await evidence(skip, check, 'alpha');
      const t = token(r);
      check('MDS-GEN-003', () => expect(t).not.toBe(''));
      check('MDS-GEN-004', () => expect(/^[0-9a-fA-F]{32,}$/.test(t) || /^[A-Za-z0-9_-]{22,}$/.test(t), t).toBe(true));
      const { uuid } = pod.outcome;
      if (uuid !== undefined) {
        check('MDS-GEN-005', () => {
          expect(t).not.toContain(uuid);
          expect(t).not.toContain(uuid.replaceAll('-', ''));
        });
      }
    },
  );
});

describe('Metadata Service § general: tokens', () => {
  test("does not give a pod's data to a request whose token was tampered with", clauses('ACE-ENV-003', 'MDS-GEN-006'), async ({ skip, check }) => {
    for (const app of ['alpha', 'beta'] as const) {
      const { get } = await evidence(skip, check, app);
      const f = get('tamperedUuid');
      const uuid = get('uuid').body ?? '';
      // The probe's ok only says an answer came; a 2xx status is what would give data away.
      check('MDS-GEN-006', () => expect(f.status !== undefined && f.status >= 200 && f.status < 300, `${app}: the request with its token plus one character answered ${f.status ?? f.error}`).toBe(false));
      if (uuid !== '') check('MDS-GEN-006', () => expect(f.body ?? '', `${app}: the answer to a tampered token`).not.toContain(uuid));
    }
  });
});

describe('Metadata Service § Pod Metadata', () => {
  test('serves the pod UUID as text, equal to the one the implementation reports', clauses('ACE-ENV-003', 'MDS-POD-004', 'MDS-POD-005', 'ACE-UUID-002'), async ({ skip, check }) => {
    const { pod, get } = await evidence(skip, check, 'alpha');
    const f = get('uuid');
    check('MDS-POD-004', () => expect(f.contentType).toBe(TEXT_TYPE));
    check('MDS-POD-005', () => expect(f.body).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/));
    if (pod.outcome.uuid === undefined) skip(`unsupported: the ${session().impl.name} adapter does not report pod UUIDs`);
    check(['MDS-POD-005', 'ACE-UUID-002'], () => expect(f.body).toBe(pod.outcome.uuid));
  });

  test("serves the pod manifest's annotations as JSON", clauses('ACE-ENV-003', 'MDS-POD-001', 'MDS-POD-002', 'MDS-GEN-007', 'POD-ANN-002'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const f = get('podAnnotations');
    check(['MDS-POD-001', 'MDS-GEN-007'], () => expect(f.contentType).toBe(JSON_TYPE));
    check('MDS-POD-002', () => expect(isAnnotations(parse(f))).toBe(true));
    check(['MDS-POD-001', 'POD-ANN-002'], () => expect(parse(f)).toEqual(POD_ANNOTATIONS));
  });

  test('serves the reified pod manifest, apps referencing their images by ID', clauses('ACE-ENV-003', 'MDS-POD-003', 'MDS-GEN-007', 'POD-REIFY-003', 'POD-REIFY-004', 'POD-MAN-001', 'POD-MAN-002', 'POD-MAN-003'),
    async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const f = get('podManifest');
    // The manifest an implementation serves is a pod manifest by the schema's own rules.
    const served = parse(f) as { acVersion?: unknown; acKind?: unknown; apps?: unknown };
    check('POD-MAN-001', () => expect(served.acVersion).toMatch(/^\d+\.\d+\.\d+/));
    check('POD-MAN-002', () => expect(served.acKind).toBe('PodManifest'));
    check('POD-MAN-003', () => expect(Array.isArray(served.apps)).toBe(true));
    check(['MDS-POD-003', 'MDS-GEN-007'], () => expect(f.contentType).toBe(JSON_TYPE));
    check(['MDS-POD-003', 'POD-REIFY-003', 'POD-REIFY-004'], () => {
      const m = parse(f) as { acKind?: string; apps?: { name: string; image?: { id?: string } }[]; annotations?: NameValue[] };
      expect(m.acKind).toBe('PodManifest');
      expect(m.apps?.map((a) => [a.name, a.image?.id])).toEqual([
        ['alpha', images!.alpha.id],
        ['beta', images!.beta.id],
      ]);
      expect(m.annotations).toEqual(POD_ANNOTATIONS);
    });
  });

  test('serves a resolved manifest: a mountPoint the pod left open has a mount and a volume', clauses('ACE-ENV-003', 'MDS-POD-003', 'POD-REIFY-002'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    type Mount = { volume?: string; path?: string; appVolume?: { name?: string } };
    const m = parse(get('podManifest')) as { apps?: { name: string; mounts?: Mount[] }[]; volumes?: { name: string }[] };
    const mount = m.apps?.find((a) => a.name === 'alpha')?.mounts?.find((x) => x.path?.replace(/\/+$/, '') === '/scratch');
    check('POD-REIFY-002', () => expect(mount, 'a mount of app alpha at its mountPoint /scratch').toBeDefined());
    check('POD-REIFY-002', () => expect(mount?.appVolume ?? m.volumes?.find((v) => v.name === mount?.volume), `the volume ${mount?.volume} of that mount`).toBeDefined());
  });

  test('serves a manifest with the image ID for a pod run from an image alone', clauses('ACE-ENV-003', 'MDS-POD-003', 'POD-REIFY-001'), async ({ skip, check }) => {
    const pod = await imageOnlyPod(skip);
    const apps = pod.outcome.apps;
    const r = pod.report(apps[0]?.name ?? 'none');
    check('ACE-ENV-003', () => expect(r.env.AC_METADATA_URL, 'AC_METADATA_URL').toMatch(/^https?:\/\/./));
    // Given images alone, the implementation resolved them into a pod of named apps with image IDs.
    check(['MDS-POD-003', 'POD-REIFY-001'], () => {
      const f = r.fetches[0];
      expect(f?.contentType).toBe(JSON_TYPE);
      const m = parse(f!) as { apps?: { name: string; image?: { id?: string } }[] };
      expect(m.apps?.map((a) => a.image?.id)).toEqual([onlyImage!.id]);
      expect(m.apps?.map((a) => a.name)).toEqual(apps.map((a) => a.name));
    });
  });
  test('gives two pods different UUIDs', clauses('ACE-ENV-003', 'MDS-GEN-008'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const other = await imageOnlyPod(skip);
    const r = other.report(other.outcome.apps[0]?.name ?? 'none');
    check('ACE-ENV-003', () => expect(r.env.AC_METADATA_URL, 'AC_METADATA_URL').toMatch(/^https?:\/\/./));
    check('MDS-GEN-008', () => {
      expect(get('uuid').body).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.fetches[1]?.body).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.fetches[1]?.body).not.toBe(get('uuid').body);
    });
  });
});

describe('Metadata Service: everything served is valid in full', () => {
  test(
    'serves pod and image manifests valid by the schema and the types rules (appc acVersion, full image IDs, AC names)',
    clauses('ACE-ENV-003', 'MDS-POD-003', 'MDS-APP-004', 'MDS-APP-006', 'TYPES-ACVER-001', 'TYPES-IMGID-001'),
    async ({ skip, check }) => {
      for (const app of ['alpha', 'beta'] as const) {
        const { get } = await evidence(skip, check, app);
        check(['MDS-POD-003', 'TYPES-ACVER-001', 'TYPES-IMGID-001'], () => expect(servedPodManifestProblems(parse(get('podManifest'))), `${app}: the pod manifest served`).toEqual([]));
        check(['MDS-APP-004', 'TYPES-ACVER-001'], () => expect(servedImageManifestProblems(parse(get('imageManifest'))), `${app}: its image manifest served`).toEqual([]));
        check(['MDS-APP-006', 'TYPES-IMGID-001'], () => expect(imageIdProblem(get('imageId').body), `${app}: its image ID served`).toBeUndefined());
      }
      const only = await imageOnlyPod(skip);
      const r = only.report(only.outcome.apps[0]?.name ?? 'none');
      check(['MDS-POD-003', 'TYPES-ACVER-001', 'TYPES-IMGID-001'], () => expect(servedPodManifestProblems(parse(r.fetches[0] ?? { url: '', ok: false })), 'the pod manifest served for an image-only run').toEqual([]));
    },
  );
});

describe('Metadata Service § App Metadata', () => {
  test('apps learn their name from AC_APP_NAME', clauses('MDS-APP-001'), async ({ skip, check }) => {
    const pod = await mdsPod(skip);
    for (const app of ['alpha', 'beta']) check('MDS-APP-001', () => expect(pod.report(app).env.AC_APP_NAME).toBe(app));
  });

  test("serves the image's annotations merged with the pod app's, pod values winning", clauses('ACE-ENV-003', 'MDS-APP-002', 'MDS-APP-003', 'MDS-GEN-007', 'POD-APP-012'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const f = get('appAnnotations');
    check(['MDS-APP-002', 'MDS-GEN-007'], () => expect(f.contentType).toBe(JSON_TYPE));
    check('MDS-APP-003', () => expect(isAnnotations(parse(f))).toBe(true));
    check(['MDS-APP-002', 'POD-APP-012'], () => {
      const byName = Object.fromEntries((parse(f) as NameValue[]).map((a) => [a.name, a.value]));
      expect(byName).toEqual({ 'example.com/shared': 'from-pod', 'example.com/image-only': 'kept', 'example.com/pod-only': 'added' });
    });
  });

  test("serves the app's original image manifest", clauses('ACE-ENV-003', 'MDS-APP-004', 'MDS-GEN-007'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const f = get('imageManifest');
    check(['MDS-APP-004', 'MDS-GEN-007'], () => expect(f.contentType).toBe(JSON_TYPE));
    check('MDS-APP-004', () => expect(parse(f)).toEqual(images!.alpha.manifest));
  });

  test("serves the app's image ID as text", clauses('ACE-ENV-003', 'MDS-APP-005', 'MDS-APP-006'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const f = get('imageId');
    check('MDS-APP-005', () => expect(f.contentType).toBe(TEXT_TYPE));
    check('MDS-APP-006', () => expect(f.body).toBe(images!.alpha.id));
  });

  test('answers each app of the pod with its own app data', clauses('ACE-ENV-003', 'MDS-APP-002', 'MDS-APP-004', 'MDS-APP-006'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'beta');
    check('MDS-APP-002', () => expect(parse(get('appAnnotations'))).toEqual(BETA_IMAGE_ANNOTATIONS));
    check('MDS-APP-004', () => expect(parse(get('imageManifest'))).toEqual(images!.beta.manifest));
    check('MDS-APP-006', () => expect(get('imageId').body).toBe(images!.beta.id));
  });
});

describe('Metadata Service § Identity Endpoint', () => {
  test('signs content with a base64 HMAC-SHA512, the same signature each time', clauses('ACE-ENV-003', 'MDS-HMAC-001', 'MDS-HMAC-003'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const sign = get('sign');
    check('MDS-HMAC-001', () => expect(ok(sign)).toEqual({ ok: true, status: 200, error: undefined }));
    check('MDS-HMAC-003', () => {
      expect(sign.contentType).toBe(TEXT_TYPE);
      expect(sign.body).toMatch(/^[A-Za-z0-9+/]{86}==$/);
      expect(Buffer.from(sign.body!, 'base64')).toHaveLength(64);
      expect(get('signAgain').body).toBe(sign.body);
    });
  });

  test('verifies a signature it made (200), as text', clauses('ACE-ENV-003', 'MDS-HMAC-001', 'MDS-HMAC-004', 'MDS-HMAC-007'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    const verify = get('verify');
    check(['MDS-HMAC-001', 'MDS-HMAC-004'], () => expect(ok(verify)).toEqual({ ok: true, status: 200, error: undefined }));
    check('MDS-HMAC-007', () => expect(verify.contentType).toBe(TEXT_TYPE));
  });

  test('rejects a tampered signature or other content with 403', clauses('ACE-ENV-003', 'MDS-HMAC-005', 'MDS-HMAC-007'), async ({ skip, check }) => {
    const { get } = await evidence(skip, check, 'alpha');
    for (const key of ['verifyOtherContent', 'verifyTampered'] as const) {
      check('MDS-HMAC-005', () => expect(ok(get(key)), key).toEqual({ ok: true, status: 403, error: undefined }));
      check('MDS-HMAC-007', () => expect(get(key).contentType, key).toBe(TEXT_TYPE));
    }
  });

  test('verifies signatures made by another app of the pod', clauses('ACE-ENV-003', 'MDS-HMAC-004'), async ({ skip, check }) => {
    const a = await evidence(skip, check, 'alpha');
    const b = await evidence(skip, check, 'beta');
    // Same pod, same key: both apps get the same signature for the same content, and both verify it.
    check('MDS-HMAC-004', () => {
      expect(b.get('sign').body).toBe(a.get('sign').body);
      expect(b.get('verify').status).toBe(200);
    });
  });
});

/** Pod A signs; pod B, started afterwards, asks its own metadata service to verify A's signature. */
const CROSS_CONTENT = 'signed in another pod';
const signerPod = podRun(['metadata-service'], async () => ({
  images: [
    await image(
      await probeImage({
        name: 'mds-signer',
        app: { exec: ['/probe', `post=${V1}/pod/hmac/sign:content=${encodeURIComponent(CROSS_CONTENT)}`, `fetch=${V1}/pod/uuid`] },
      }),
    ),
  ],
}));
let signed: { signature: string; uuid: string } | undefined;
const verifierPod = podRun(['metadata-service'], async () => {
  // `uuid` goes in as given: "$FETCH1" is expanded by the probe (the verifier's own UUID).
  const form = (uuid: string) =>
    `post=${V1}/pod/hmac/verify:content=${encodeURIComponent(CROSS_CONTENT)}&uuid=${uuid}&signature=${encodeURIComponent(signed!.signature)}`;
  return {
    images: [
      await image(
        await probeImage({
          name: 'mds-verifier',
          // The signer's UUID (valid), then this pod's own (the signature is not this pod's).
          app: { exec: ['/probe', form(signed!.uuid), `fetch=${V1}/pod/uuid`, form('$FETCH1')] },
        }),
        { cached: false },
      ),
    ],
  };
});

describe('ACE § App Container Metadata Service: identity across pods', () => {
  test("verifies a signature another pod made, by that pod's UUID", clauses('ACE-ENV-003', 'MDS-HMAC-006'), async ({ skip, check }) => {
    const a = await signerPod(skip);
    const ra = a.report(a.outcome.apps[0]?.name ?? 'none');
    check('ACE-ENV-003', () => expect(ra.env.AC_METADATA_URL, 'AC_METADATA_URL').toMatch(/^https?:\/\/./));
    const [sign, uuid] = ra.fetches;
    check('MDS-HMAC-006', () => expect([sign?.status, uuid?.status], 'the signer got a signature and its UUID').toEqual([200, 200]));
    signed = { signature: sign!.body!, uuid: uuid!.body! };
    const b = await verifierPod(skip);
    const [verify, own, verifyAsOwn] = b.report(b.outcome.apps[0]?.name ?? 'none').fetches;
    check('MDS-HMAC-006', () => expect(own?.body, "the verifier's own UUID").not.toBe(signed!.uuid));
    check('MDS-HMAC-006', () => expect(ok(verify!)).toEqual({ ok: true, status: 200, error: undefined }));
    check('MDS-HMAC-006', () => expect(verifyAsOwn?.status, "the same signature under the verifier's UUID").toBe(403));
  });
});
