// spec/OS-SPEC.md (Linux) § Devices and File Systems: what every app of a linux image finds; § Common
// Files: /etc/hosts.
import { randomBytes } from 'node:crypto';
import { clauses, describe, expect, image, podRun, test } from '../harness/run/conformance.js';
import type { ProbeReport } from '../harness/probe/index.js';
import { probeImage } from '../fixtures/images.js';

const DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx'];

const linuxPod = podRun([], async () => ({
  images: [
    await image(
      await probeImage({
        name: 'linux-env',
        app: { exec: ['/probe', ...DEVICES.map((d) => `file=${d}`), 'write=/dev/null:x', 'write=/dev/full:x', 'write=/dev/shm/probe'] },
      }),
    ),
  ],
}));

const mountAt = (r: ProbeReport, path: string) => r.mounts.filter((m) => m.mountPoint === path).at(-1);
const file = (r: ProbeReport, path: string) => r.files.find((f) => f.path === path);
const write = (r: ProbeReport, path: string) => r.writes.find((w) => w.path === path);

describe('OS-SPEC § Devices and File Systems: file systems', () => {
  test('mounts procfs at /proc', clauses('ACE-LNX-001'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    check('ACE-LNX-001', () => expect(mountAt(r, '/proc')?.fsType).toBe('proc'));
  });

  test('mounts sysfs at /sys', clauses('ACE-LNX-002'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    check('ACE-LNX-002', () => expect(mountAt(r, '/sys')?.fsType).toBe('sysfs'));
  });

  test('mounts devpts at /dev/pts', clauses('ACE-LNX-010'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    check('ACE-LNX-010', () => expect(mountAt(r, '/dev/pts')?.fsType).toBe('devpts'));
  });

  test('mounts a writable tmpfs at /dev/shm', clauses('ACE-LNX-012'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    check('ACE-LNX-012', () => expect(mountAt(r, '/dev/shm')?.fsType).toBe('tmpfs'));
    check('ACE-LNX-012', () => expect(write(r, '/dev/shm/probe')?.ok).toBe(true));
  });
});

describe('OS-SPEC § Devices and File Systems: devices', () => {
  const charDevice = (clause: string, path: string, major: number, minor: number) =>
    test(`provides ${path} as character device ${major}:${minor}`, clauses(clause), async ({ skip, check }) => {
      const f = file((await linuxPod(skip)).report('linux-env'), path);
      check(clause, () => expect(f).toMatchObject({ exists: true, type: 'char', rdev: { major, minor } }));
    });
  charDevice('ACE-LNX-003', '/dev/null', 1, 3);
  charDevice('ACE-LNX-004', '/dev/zero', 1, 5);
  charDevice('ACE-LNX-005', '/dev/full', 1, 7);
  charDevice('ACE-LNX-006', '/dev/random', 1, 8);
  charDevice('ACE-LNX-007', '/dev/urandom', 1, 9);
  charDevice('ACE-LNX-008', '/dev/tty', 5, 0);

  test('accepts writes to /dev/null and refuses them on /dev/full with ENOSPC', clauses('ACE-LNX-003', 'ACE-LNX-005'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    check('ACE-LNX-003', () => expect(write(r, '/dev/null')?.ok).toBe(true));
    check('ACE-LNX-005', () => expect(write(r, '/dev/full')).toMatchObject({ ok: false, error: 'ENOSPC' }));
  });

  test('provides /dev/console as a character device', clauses('ACE-LNX-009'), async ({ skip, check }) => {
    const f = file((await linuxPod(skip)).report('linux-env'), '/dev/console');
    check('ACE-LNX-009', () => expect(f).toMatchObject({ exists: true, type: 'char' }));
  });

  test('provides /dev/ptmx as a link to, or the device of, /dev/pts/ptmx', clauses('ACE-LNX-011'), async ({ skip, check }) => {
    const f = file((await linuxPod(skip)).report('linux-env'), '/dev/ptmx');
    check('ACE-LNX-011', () => {
      const ok =
        (f?.type === 'symlink' && ['pts/ptmx', '/dev/pts/ptmx'].includes(f.linkTarget ?? '')) ||
        (f?.type === 'char' && f.rdev?.major === 5 && f.rdev.minor === 2);
      expect(ok, JSON.stringify(f)).toBe(true);
    });
  });
});

describe('OS-SPEC § Linux: by default', () => {
  test('gives an os=linux image that asks for nothing the Linux file systems and devices', clauses('ACE-LNX-016'), async ({ skip, check }) => {
    const r = (await linuxPod(skip)).report('linux-env');
    // The image's manifest names no isolator, mount point or device: only its os label.
    check('ACE-LNX-016', () => expect(['/proc', '/sys', '/dev/pts', '/dev/shm'].filter((p) => !mountAt(r, p))).toEqual([]));
    check('ACE-LNX-016', () => expect(DEVICES.filter((d) => !file(r, d)?.exists)).toEqual([]));
  });
});

/** An image without /etc/hosts, and one that ships its own with a nonce line: one pod each. */
const HOSTS_NONCE = `192.0.2.7 appc-${randomBytes(6).toString('hex')}.example\n`;
const noHostsPod = podRun([], async () => ({
  images: [await image(await probeImage({ name: 'no-etc-hosts', app: { exec: ['/probe', 'file=/etc/hosts'] } }))],
}));
const ownHostsPod = podRun([], async () => ({
  images: [
    await image(
      await probeImage({ name: 'own-etc-hosts', app: { exec: ['/probe', 'file=/etc/hosts'] }, files: [{ type: 'file', path: '/etc/hosts', content: HOSTS_NONCE, mode: 0o644 }] }),
      { cached: false },
    ),
  ],
}));

describe('OS-SPEC § Common Files: /etc/hosts', () => {
  test('puts a localhost loopback entry in an /etc/hosts it provides', clauses('ACE-LNX-014'), async ({ skip, check }) => {
    const f = file((await noHostsPod(skip)).report('no-etc-hosts'), '/etc/hosts');
    // The clause is about an /etc/hosts the implementation provides: with none, there is nothing to judge.
    if (!f?.exists) return skip('unsupported: the implementation provides no /etc/hosts to an image without one (ACE-LNX-014 concerns one it provides)');
    const entries = (f.content ?? '').split('\n').map((l) => l.replace(/#.*/, '').trim().split(/\s+/));
    check('ACE-LNX-014', () => expect(entries.some(([addr, ...names]) => (addr === '127.0.0.1' || addr === '::1') && names.includes('localhost')), f.content).toBe(true));
  });

  test("leaves the image's own /etc/hosts unmodified", clauses('ACE-LNX-015'), async ({ skip, check }) => {
    const f = file((await ownHostsPod(skip)).report('own-etc-hosts'), '/etc/hosts');
    check('ACE-LNX-015', () => expect(f?.content).toBe(HOSTS_NONCE));
  });
});
