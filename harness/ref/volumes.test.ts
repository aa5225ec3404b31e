import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MountPoint, Volume } from '../aci/manifest.js';
import { RefusalError } from './errors.js';
import { setMutant } from './mutants.js';
import { ensureDirIn, ensureFileIn, resolveIn } from './paths.js';
import { checkHostSource, createEmptyVolume, planMounts } from './volumes.js';

afterEach(() => setMutant(undefined));

const vols: Volume[] = [
  { name: 'data', kind: 'host', source: '/srv/data' },
  { name: 'ro-data', kind: 'host', source: '/srv/ro', readOnly: true },
  { name: 'flat', kind: 'host', source: '/srv/flat', recursive: false },
  { name: 'scratch', kind: 'empty' },
];

describe('mount planning (POD-VOL-002, ACE-MNT-001, POD-REIFY-002)', () => {
  it('is read-only when the volume or the mountPoint at that path says so', () => {
    const mps: MountPoint[] = [{ name: 'a', path: '/a', readOnly: true }, { name: 'b', path: '/b/' }];
    const plan = planMounts(
      {
        name: 'app',
        mounts: [
          { volume: 'data', path: '/a' },
          { volume: 'ro-data', path: '/b' },
          { volume: 'data', path: '/c' },
        ],
      },
      mps,
      vols,
    );
    expect(plan.map((p) => [p.target, p.readOnly, p.origin])).toEqual([
      ['/a', true, 'pod'],
      ['/b', true, 'pod'],
      ['/c', false, 'pod'],
    ]);
  });

  it('ignore-readonly mutant mounts everything read-write', () => {
    setMutant('ignore-readonly');
    const plan = planMounts({ name: 'app', mounts: [{ volume: 'ro-data', path: '/b' }] }, [{ name: 'x', path: '/x', readOnly: true }], vols);
    expect(plan.every((p) => !p.readOnly)).toBe(true);
  });

  it('recursive binds host volumes unless recursive:false', () => {
    const plan = planMounts(
      { name: 'app', mounts: [{ volume: 'data', path: '/d' }, { volume: 'flat', path: '/f' }, { volume: 'scratch', path: '/s' }] },
      [],
      vols,
    );
    expect(plan.map((p) => [p.target, p.recursive])).toEqual([
      ['/d', true],
      ['/f', false],
      ['/s', true],
    ]);
  });

  it('fulfils unmet mountPoints with an automatic empty volume', () => {
    const plan = planMounts({ name: 'app', mounts: [] }, [{ name: 'cache', path: '/var/cache', readOnly: true }], vols);
    expect(plan).toEqual([
      {
        target: '/var/cache',
        volume: { name: 'cache', kind: 'empty', mode: '0755', uid: 0, gid: 0 },
        origin: 'auto',
        readOnly: true,
        recursive: true,
      },
    ]);
  });

  it('uses an inline appVolume instead of a pod volume', () => {
    const plan = planMounts(
      { name: 'app', mounts: [{ volume: 'own', path: '/own', appVolume: { name: 'own', kind: 'empty', readOnly: true } }] },
      [],
      [],
    );
    expect(plan[0]).toMatchObject({ origin: 'inline', readOnly: true });
  });

  it('refuses unknown volumes and overlapping targets (ACE-VOL-006)', () => {
    expect(() => planMounts({ name: 'app', mounts: [{ volume: 'nope', path: '/x' }] }, [], vols)).toThrow(RefusalError);
    expect(() =>
      planMounts({ name: 'app', mounts: [{ volume: 'data', path: '/a' }, { volume: 'scratch', path: '/a/b' }] }, [], vols),
    ).toThrow(/overlap/);
  });

  it('the mutants: nested targets accepted, a mountPoint fulfilled by the volume of its name (ACE-VOL-006, POD-APP-009)', () => {
    setMutant('accept-nested-targets');
    expect(planMounts({ name: 'app', mounts: [{ volume: 'data', path: '/a' }, { volume: 'scratch', path: '/a/b' }] }, [], vols).map((p) => p.target)).toEqual(['/a', '/a/b']);
    const byPath = () => planMounts({ name: 'app', mounts: [{ volume: 'data', path: '/x' }] }, [{ name: 'scratch', path: '/x' }], vols)[0]!.volume.name;
    setMutant(undefined);
    expect(byPath()).toBe('data');
    setMutant('mount-by-mountpoint-name');
    expect(byPath()).toBe('scratch');
  });
});

describe('host volume sources and mount targets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ref-vol-'));
    await mkdir(join(dir, 'real/sub'), { recursive: true });
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await writeFile(join(dir, 'real/file'), 'x');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts directories and files, refuses missing sources and symlinks (ACE-VOL-010/013/015)', async () => {
    expect(await checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'real') })).toEqual({ isFile: false });
    expect(await checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'real/file') })).toEqual({ isFile: true });
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'missing') })).rejects.toThrow(/does not exist/);
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link') })).rejects.toThrow(/is a symlink/);
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link/sub') })).rejects.toThrow(
      /passes through a symlink/,
    );
  });

  it('the mutants: a symlinked source or parent followed, a missing source made on the host (ACE-VOL-009/013/015)', async () => {
    setMutant('follow-symlinked-source');
    expect(await checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link') })).toEqual({ isFile: false });
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link/sub') })).rejects.toThrow(/passes through/);
    setMutant('follow-symlinked-parent');
    expect(await checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link/sub') })).toEqual({ isFile: false });
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'link') })).rejects.toThrow(/is a symlink/);
    setMutant('create-missing-source');
    await expect(checkHostSource({ name: 'v', kind: 'host', source: join(dir, 'made/here') })).rejects.toThrow(/does not exist/);
    expect((await stat(join(dir, 'made/here'))).isDirectory()).toBe(true);
  });

  it('creates empty volumes with mode and owner (POD-VOL-010/011)', async () => {
    const target = join(dir, 'empty-vol');
    await createEmptyVolume({ name: 'e', kind: 'empty', mode: '0770', uid: 1234, gid: 5678 }, target);
    const st = await stat(target);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o770, 1234, 5678]);
  });

  it('creates missing targets 0755 0:0, replaces a file, stays inside the rootfs (ACE-VOL-002/004/007)', async () => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc/data'), 'a file');
    // An absolute symlink in the image points at the app's own /target, not the host's.
    await symlink('/target', join(rootfs, 'jump'));
    expect(await ensureDirIn(rootfs, '/new/a/b')).toBe('/new/a/b');
    const st = await stat(join(rootfs, 'new/a'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o755, 0, 0]);
    expect(await ensureDirIn(rootfs, '/etc/data')).toBe('/etc/data');
    expect((await stat(join(rootfs, 'etc/data'))).isDirectory()).toBe(true);
    expect(await ensureDirIn(rootfs, '/jump/x')).toBe('/target/x');
    expect((await stat(join(rootfs, 'target/x'))).isDirectory()).toBe(true);
    expect(await ensureFileIn(rootfs, '/files/one')).toBe('/files/one');
    expect((await stat(join(rootfs, 'files/one'))).isFile()).toBe(true);
  });

  it('resolves .. and absolute links without leaving the rootfs', async () => {
    const rootfs = join(dir, 'rootfs2');
    await mkdir(join(rootfs, 'a'), { recursive: true });
    await symlink('../../../../../../etc', join(rootfs, 'a/up'));
    const r = await resolveIn({ rootfs }, '/a/up/passwd');
    expect(r.path).toBe('/etc/passwd');
    expect(r.host).toBe(join(rootfs, 'etc/passwd'));
    expect(r.stat).toBeUndefined();
  });
});
