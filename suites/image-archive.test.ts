// spec/aci.md § Image Layout, § Image Archives, § Image ID: what an implementation must take and
// what it must not. Each hostile image is the valid twin below with one thing broken, written by the
// ACI builder's raw mode; it must be refused at import or at run (the spec allows either), and where
// the spec says it is not a valid image, its app must not run. The twin must import and run, or the
// refusals prove nothing.
import { randomBytes } from 'node:crypto';
import { imageEntries, imageIdOf, manifestHeader, renderTar, writeTar, type Compression, type ImageSpec, type RawEntry } from '../harness/aci/index.js';
import { clauses, describe, expect, image, imageRun, rawImage, session, test, type ImageRun } from '../harness/run/conformance.js';
import { probeImage } from '../fixtures/images.js';

const twinSpec = () => probeImage({ name: 'archive-twin', files: [{ type: 'file', path: '/etc/twin', content: 'twin\n' }] });
const twin = imageRun(async () => image(await twinSpec()));

/** The twin's entries with `edit` applied (raw mode: nothing is checked). */
function hostile(edit: (entries: RawEntry[]) => RawEntry[]): ImageRun {
  return imageRun(async () => {
    const spec = await twinSpec();
    return rawImage(edit(imageEntries(spec)), spec.manifest);
  });
}

const entry = (name: string, body?: string): RawEntry =>
  body === undefined
    ? { header: { name, type: 'directory', mode: 0o755, uid: 0, gid: 0 } }
    : { header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0 }, body };
const without = (name: string) => (es: RawEntry[]) => es.filter((e) => e.header.name !== name);
const before = (name: string, ...added: RawEntry[]) => (es: RawEntry[]) => {
  const i = es.findIndex((e) => e.header.name === name);
  return [...es.slice(0, i), ...added, ...es.slice(i)];
};
const manifestOf = (es: RawEntry[]) => es.find((e) => e.header.name === 'manifest')!;

async function twinRuns(skip: (note: string) => never): Promise<void> {
  const t = await twin(skip);
  if (t.ending !== 'accepted' || t.appsThatRan.length === 0) {
    skip(`the valid twin did not import and run (${t.ending}: ${t.imported.status === 'imported' ? (t.run?.refusal ?? 'its app gave no report') : JSON.stringify(t.imported)}), so a refusal would prove nothing`);
  }
}

interface Case {
  title: string;
  clause: string[];
  /** the spec says the archive is not an image: besides the refusal, its app must not have run */
  mustNotRun?: boolean;
  pod: ImageRun;
}

function refusals(section: string, cases: Case[]): void {
  describe.concurrent(section, () => {
    for (const c of cases) {
      test(`refuses ${c.title}`, clauses(...c.clause), async ({ skip, check }) => {
        await twinRuns(skip);
        const evidence = await c.pod(skip);
        const why = evidence.imported.status === 'imported' ? (evidence.run?.refusal ?? '') : evidence.imported.status === 'refused' ? evidence.imported.refusal : evidence.imported.message;
        check(c.clause, () => expect(evidence.ending, `what became of ${c.title} (${why.slice(0, 300)})`).toMatch(/^refused at (import|run)$/));
        if (c.mustNotRun) check(c.clause, () => expect(evidence.appsThatRan, `apps that ran from ${c.title}`).toEqual([]));
      });
    }
  });
}

describe('valid twin', () => {
  test('imports and runs the valid image the refusal tests start from', clauses('ACI-LAYOUT-001', 'ACI-LAYOUT-002'), async ({ skip, check }) => {
    const t = await twin(skip);
    check('ACI-LAYOUT-001', () => expect(t.ending).toBe('accepted'));
    check('ACI-LAYOUT-002', () => expect(t.appsThatRan).toHaveLength(1));
  });
});

refusals('ACI § Image Layout and § Image Archives: archives that are not images', [
  { title: 'a file that is not a tar archive', clause: ['ACI-ARCH-002'], mustNotRun: true, pod: imageRun(async () => rawImage(Buffer.from('PK\u0003\u0004 this is not a tar archive\n'.repeat(40)), (await twinSpec()).manifest)) },
  // The manifest first (order is free), then the tar breaks off inside its last entry: a reader that
  // takes what it got has a manifest and a rootfs.
  { title: 'a tar that breaks off in the middle of an entry', clause: ['ACI-ARCH-002'], mustNotRun: true, pod: imageRun(async () => {
    const spec = await twinSpec();
    const es = imageEntries(spec);
    // …and a last entry after the probe, so that what comes before the break is a whole image.
    const padding = entry('rootfs/padding', 'x'.repeat(64 * 1024));
    const tar = await writeTar([manifestOf(es), ...without('manifest')(es), padding]);
    return rawImage(tar.subarray(0, tar.length - 32 * 1024), spec.manifest);
  }) },
  { title: 'an archive holding the same rootfs path twice', clause: ['ACI-ARCH-003'], mustNotRun: true, pod: hostile(before('manifest', entry('rootfs/etc/twin', 'second copy\n'))) },
  { title: 'an archive holding the same path twice once spelled ./', clause: ['ACI-ARCH-003'], mustNotRun: true, pod: hostile(before('manifest', entry('./rootfs/etc/twin', 'second copy\n'))) },
  { title: 'an extra top-level file', clause: ['ACI-ARCH-004', 'ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', entry('README', 'not part of an image\n'))) },
  { title: 'a top-level name that merely starts with rootfs', clause: ['ACI-ARCH-004', 'ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', entry('rootfsX', 'not part of an image\n'))) },
  { title: 'manifest as a directory', clause: ['ACI-ARCH-004', 'ACI-LAYOUT-001'], mustNotRun: true, pod: hostile((es) => [...without('manifest')(es), entry('manifest')]) },
  { title: 'rootfs as a regular file', clause: ['ACI-ARCH-004', 'ACI-LAYOUT-001'], mustNotRun: true, pod: hostile((es) => [entry('rootfs', 'a file\n'), ...es.filter((e) => !e.header.name.startsWith('rootfs'))]) },
  { title: 'an archive without rootfs', clause: ['ACI-LAYOUT-001'], mustNotRun: true, pod: hostile((es) => es.filter((e) => !e.header.name.startsWith('rootfs'))) },
  { title: 'an archive without manifest', clause: ['ACI-LAYOUT-001', 'ACI-MAN-001'], mustNotRun: true, pod: hostile(without('manifest')) },
  { title: 'a manifest truncated in the middle', clause: ['ACI-MAN-001'], mustNotRun: true, pod: hostile((es) => {
    const m = manifestOf(es);
    return [...without('manifest')(es), { header: manifestHeader(), body: String(m.body).slice(0, 60) }];
  }) },
  { title: 'a manifest that is not JSON', clause: ['ACI-MAN-001'], mustNotRun: true, pod: hostile((es) => [...without('manifest')(es), { header: manifestHeader(), body: 'acKind: ImageManifest\n' }]) },
]);

// A `..` entry or an absolute one would write outside the image; a hard link may name any file
// of the host. None of them is under rootfs/, so the archive is not an image (ACI-ARCH-005).
refusals('ACI § Image Archives: entries that leave the rootfs', [
  { title: 'an entry whose path climbs out with ../', clause: ['ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', entry('rootfs/../../../../../../tmp/appc-escape-dotdot', 'escaped\n'))) },
  { title: 'an entry with an absolute path', clause: ['ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', entry('/tmp/appc-escape-absolute', 'escaped\n'))) },
  { title: 'a hard link to a file outside the archive', clause: ['ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', { header: { name: 'rootfs/passwd', type: 'link', linkname: '../../../../../../etc/passwd', mode: 0o644 } })) },
  { title: 'a hard link to the manifest, outside rootfs/', clause: ['ACI-ARCH-005'], mustNotRun: true, pod: hostile(before('manifest', { header: { name: 'rootfs/manifest-link', type: 'link', linkname: 'manifest', mode: 0o644 } })) },
]);

// A symlink may point anywhere: it resolves inside the app's root at run time. What must not happen
// is writing through it while the rootfs is extracted (ACE-FS-007): a later entry below the link
// makes a real directory in its place (ACE-FS-008), or the image is refused.
const escapeDir = `/tmp/appc-escape-${randomBytes(6).toString('hex')}`;
function symlinkEscape(target: string): ImageRun {
  return imageRun(async () => {
    const spec = await probeImage({ name: 'archive-symlink', app: { exec: ['/probe', 'file=/esc', 'file=/esc/planted'] } });
    const es = imageEntries(spec);
    return rawImage(
      before('manifest', { header: { name: 'rootfs/esc', type: 'symlink', linkname: target, mode: 0o777 } }, entry('rootfs/esc/planted', 'planted\n'))(es),
      spec.manifest,
      'none',
      { cached: false },
    );
  });
}
const escapes = [
  { title: 'an absolute symlink', target: escapeDir },
  { title: 'a relative symlink climbing out', target: `../../../../../../..${escapeDir}` },
].map((e) => ({ ...e, pod: symlinkEscape(e.target) }));

describe('ACE § Filesystem Setup: symlinks in an image are never followed while extracting', () => {
  for (const e of escapes) {
    test(`writes nothing through ${e.title} that points out of the rootfs`, clauses('ACE-FS-007', 'ACE-FS-008'), async ({ skip, check }) => {
      await twinRuns(skip);
      const { target } = session();
      // The place the link points to exists, so that an implementation following it would write there.
      await target.exec(['mkdir', '-p', escapeDir], { timeoutMs: 10_000 });
      try {
        const evidence = await e.pod(skip);
        const planted = await target.exec(['test', '-e', `${escapeDir}/planted`], { timeoutMs: 10_000 });
        check('ACE-FS-007', () => expect(planted.exitCode, `${escapeDir}/planted on the machine (0 = it is there)`).not.toBe(0));
        if (evidence.ending === 'accepted') {
          const r = evidence.run?.apps[0]?.report;
          check('ACE-FS-008', () => expect(r?.files.find((f) => f.path === '/esc')?.type, 'what /esc is in the app').toBe('dir'));
          check('ACE-FS-008', () => expect(r?.files.find((f) => f.path === '/esc/planted')?.content).toBe('planted\n'));
        }
      } finally {
        await target.exec(['rm', '-rf', escapeDir], { timeoutMs: 10_000 });
      }
    });
  }
});

/** One image per compression, from the same tree: each must run, and be known by the ID of its tar. */
const COMPRESSIONS: Compression[] = ['none', 'gzip', 'bzip2', 'xz'];
const compressed = new Map(
  COMPRESSIONS.map((c) => [c, imageRun(async () => image({ ...(await probeImage({ name: 'archive-compression' })), compression: c } as ImageSpec))]),
);

describe('ACI § Image Archives and § Image ID: compressed and uncompressed archives', () => {
  test.for(COMPRESSIONS)('runs an image archive compressed with %s (a file named .aci)', clauses('ACI-ARCH-001', 'ACI-ARCH-002'), async (c, { skip, check }) => {
    const evidence = await compressed.get(c)!(skip);
    check(['ACI-ARCH-001', 'ACI-ARCH-002'], () => expect(evidence.ending, JSON.stringify(evidence.imported)).toBe('accepted'));
    check('ACI-ARCH-002', () => expect(evidence.appsThatRan).toHaveLength(1));
  });

  test.for(COMPRESSIONS)('reports the sha512 of the uncompressed tar as the ID of a %s archive', clauses('ACI-ID-001', 'ACI-ID-002'), async (c, { skip, check }) => {
    const evidence = await compressed.get(c)!(skip);
    const expected = imageIdOf(await renderTar(await probeImage({ name: 'archive-compression' })));
    const got = evidence.imported.status === 'imported' ? evidence.imported.imageId : `(${evidence.imported.status})`;
    check('ACI-ID-002', () => expect(got).toMatch(/^sha512-[0-9a-f]{128}$/));
    check('ACI-ID-001', () => expect(got).toBe(expected));
  });
});

// PAX SCHILY.xattr records (the form GNU tar and bsdtar write) on a file and a directory: user.*
// attributes, which any file system the app's rootfs may live on takes from root.
const xattrPod = imageRun(async () =>
  image(
    await probeImage({
      name: 'archive-xattrs',
      files: [
        { type: 'file', path: '/etc/xattr-file', content: 'has attributes\n', xattrs: { 'user.appc.test': '1', 'user.appc.note': 'kept as text' } },
        { type: 'dir', path: '/xattr-dir', xattrs: { 'user.appc.dir': 'yes' } },
      ],
      app: { exec: ['/probe', 'file=/etc/xattr-file', 'file=/xattr-dir'] },
    }),
  ),
);

describe('ACI § Image Archives: extended attributes', () => {
  test("keeps the extended attributes of a file and a directory", clauses('ACI-ARCH-006'), async ({ skip, check }) => {
    const evidence = await xattrPod(skip);
    const r = evidence.run?.apps[0]?.report;
    if (!r) throw new Error(`the image with extended attributes did not run: ${evidence.ending} ${JSON.stringify(evidence.imported).slice(0, 300)}`);
    const file = r.files.find((f) => f.path === '/etc/xattr-file');
    const dir = r.files.find((f) => f.path === '/xattr-dir');
    check('ACI-ARCH-006', () => expect(file?.xattrs ?? {}, 'the attributes of /etc/xattr-file in the app').toMatchObject({ 'user.appc.test': '1', 'user.appc.note': 'kept as text' }));
    check('ACI-ARCH-006', () => expect(dir?.xattrs ?? {}, 'the attributes of /xattr-dir in the app').toMatchObject({ 'user.appc.dir': 'yes' }));
  });
});
