import { describe, expect, test } from 'vitest';
import { AC_VERSION, type ImageManifest, type PodManifest } from './manifest.js';
import { imageManifestProblems, podManifestProblems } from './validate.js';

const image = (extra: Partial<ImageManifest> = {}): ImageManifest => ({
  acKind: 'ImageManifest',
  acVersion: AC_VERSION,
  name: 'example.com/app',
  labels: [
    { name: 'os', value: 'linux' },
    { name: 'arch', value: 'amd64' },
  ],
  app: { exec: ['/x'], user: '0', group: '0' },
  ...extra,
});
const ID = 'sha512-' + 'a'.repeat(128);
const pod = (extra: Partial<PodManifest> = {}): PodManifest => ({
  acKind: 'PodManifest',
  acVersion: AC_VERSION,
  apps: [{ name: 'one', image: { id: ID } }],
  ...extra,
});

describe('image manifest validation', () => {
  test('accepts a valid manifest', () => {
    expect(imageManifestProblems(image())).toEqual([]);
  });

  test.each<[string, Partial<ImageManifest> | Record<string, unknown>, RegExp]>([
    ['wrong acKind', { acKind: 'PodManifest' }, /\/acKind/],
    ['non-semver acVersion', { acVersion: '1.0' }, /\/acVersion/],
    ['upper-case name', { name: 'Example.com/app' }, /\/name/],
    ['name ending in a separator', { name: 'example.com/app/' }, /\/name/],
    ['unknown os', { labels: [{ name: 'os', value: 'plan9' }] }, /unknown os/],
    ['arch not valid for the os', { labels: [{ name: 'os', value: 'linux' }, { name: 'arch', value: 'x86_64' }] }, /arch/],
    ['duplicate env names', { app: { user: '0', group: '0', environment: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] } }, /duplicate/],
    ['bad env name', { app: { user: '0', group: '0', environment: [{ name: '1A', value: '1' }] } }, /environment/],
    ['app without user', { app: { group: '0' } }, /user/],
    ['memory isolator with a bad quantity', { app: { user: '0', group: '0', isolators: [{ name: 'resource/memory', value: { limit: '1K' } }] } }, /quantity/],
    ['no-new-privileges not boolean', { app: { user: '0', group: '0', isolators: [{ name: 'os/linux/no-new-privileges', value: 'yes' }] } }, /boolean/],
    ['retain and remove capability sets together', { app: { user: '0', group: '0', isolators: [{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } }, { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_KILL'] } }] } }, /exclusive/],
    ['a dependency with two labels of one name', { dependencies: [{ imageName: 'example.com/dep', labels: [{ name: 'version', value: '1' }, { name: 'version', value: '1' }] }] }, /dependencies\/0\/labels/],
    ['a dependency imageID of another algorithm', { dependencies: [{ imageName: 'example.com/dep', imageID: 'sha256-abcd' }] }, /imageID/],
    ['a dependency size that is not an integer', { dependencies: [{ imageName: 'example.com/dep', size: 1.5 }] }, /size/],
    ['port range past 65535', { app: { user: '0', group: '0', ports: [{ name: 'p', protocol: 'tcp', port: 65535, count: 2 }] } }, /65535/],
  ])('refuses %s', (_what, change, where) => {
    const problems = imageManifestProblems({ ...image(), ...change });
    expect(problems.join('; ')).toMatch(where);
  });

  test('accepts quantities the reference parser accepts', () => {
    for (const q of ['128Mi', '1G', '500m', '1.5', 1024, '1e3', '2k']) {
      expect(imageManifestProblems(image({ app: { user: '0', group: '0', isolators: [{ name: 'resource/memory', value: { limit: q } }] } }))).toEqual([]);
    }
  });
});

describe('pod manifest validation', () => {
  test('accepts a valid manifest', () => {
    expect(podManifestProblems(pod())).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['duplicate app names', { apps: [{ name: 'a', image: { id: ID } }, { name: 'a', image: { id: ID } }] }, /duplicate app name/],
    ['app without image id', { apps: [{ name: 'a', image: {} }] }, /image/],
    ['unknown volume kind', { volumes: [{ name: 'v', kind: 'nfs' }] }, /kind/],
    ['host volume without source', { volumes: [{ name: 'v', kind: 'host' }] }, /source/],
    ['host volume with mode', { volumes: [{ name: 'v', kind: 'host', source: '/x', mode: '0755' }] }, /volumes/],
    ['mount of an unknown volume', { apps: [{ name: 'a', image: { id: ID }, mounts: [{ volume: 'nope', path: '/x' }] }] }, /no volume named/],
    ['hostIP that is not IPv4', { ports: [{ name: 'p', hostPort: 80, hostIP: 'localhost' }] }, /hostIP/],
  ])('refuses %s', (_what, change, where) => {
    expect(podManifestProblems({ ...pod(), ...change }).join('; ')).toMatch(where);
  });
});

describe('isolator rules across a list', () => {
  const appWith = (isolators: { name: string; value: unknown }[]) =>
    pod({ apps: [{ name: 'a', image: { id: 'sha512-' + 'a'.repeat(128) }, app: { exec: ['/x'], user: '0', group: '0', isolators } }] });

  test('allows one of each single-valued isolator per list', () => {
    expect(podManifestProblems(appWith([{ name: 'os/linux/oom-score-adj', value: 1 }, { name: 'os/linux/oom-score-adj', value: 2 }])).join()).toMatch(/at most one os\/linux\/oom-score-adj/);
    expect(podManifestProblems(appWith([{ name: 'resource/memory', value: { limit: '1M' } }, { name: 'resource/memory', value: { limit: '2M' } }]))).toEqual([]);
  });

  test('reserves @appc.io/ for the wildcards the spec defines', () => {
    const seccomp = (set: string[]) => appWith([{ name: 'os/linux/seccomp-retain-set', value: { set } }]);
    expect(podManifestProblems(seccomp(['@appc.io/all']))).toEqual([]);
    expect(podManifestProblems(seccomp(['@appc.io/empty', 'read']))).toEqual([]);
    expect(podManifestProblems(seccomp(['@appc.io/everything'])).join()).toMatch(/reserved/);
    expect(podManifestProblems(seccomp(['@example.com/mine']))).toEqual([]);
  });

  test('checks pod-level isolators and pod port names', () => {
    expect(podManifestProblems(pod({ isolators: [{ name: 'os/unix/sysctl', value: { 'net.x': 1 } }] })).join()).toMatch(/sysctl/);
    expect(podManifestProblems(pod({ ports: [{ name: 'www', hostPort: 1 }, { name: 'www', hostPort: 2 }] })).join()).toMatch(/duplicate name "www"/);
  });
});
