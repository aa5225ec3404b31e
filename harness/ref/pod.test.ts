import { describe, expect, it } from 'vitest';
import type { ImageManifest } from '../aci/manifest.js';
import { RefusalError } from './errors.js';
import type { LoadedImage } from './image.js';
import { appNameFromImage, synthesizePod } from './pod.js';
import { checkImageManifest, checkPodManifest } from './validate.js';

function img(name: string, extra: Partial<ImageManifest> = {}): LoadedImage {
  return { file: `${name}.aci`, tarPath: '', id: `sha512-${name.replace(/\W/g, '')}`, manifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name, ...extra } };
}
const app = { user: '0', group: '0', exec: ['/x'] };

describe('pods without a pod manifest', () => {
  it('names apps after the last segment of the image name, as AC Names', () => {
    expect(appNameFromImage('example.com/My_App.v2')).toBe('my-app-v2');
    expect(appNameFromImage('probe')).toBe('probe');
    expect(appNameFromImage('example.com/__')).toBe('app');
  });

  it('runs images with an app that no other given image depends on', () => {
    const base = img('example.com/base', { app });
    const top = img('example.com/top', { app, dependencies: [{ imageName: 'example.com/base' }] });
    const other = img('example.com/other', { app });
    const layer = img('example.com/layer');
    const pod = synthesizePod([base, top, other, layer]);
    expect(pod.apps.map((a) => [a.name, a.image.id])).toEqual([
      ['top', top.id],
      ['other', other.id],
    ]);
  });

  it('keeps names unique and refuses when nothing can run', () => {
    const a = img('a.com/probe', { app });
    const b = img('b.com/probe', { app });
    expect(synthesizePod([a, b]).apps.map((x) => x.name)).toEqual(['probe', 'probe-2']);
    expect(() => synthesizePod([img('example.com/layer')])).toThrow(RefusalError);
  });
});

describe('manifest checks', () => {
  const id = 'sha512-' + 'a'.repeat(128);
  const pod = (extra: object) => ({ acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'a', image: { id } }], ...extra });

  it('accepts a minimal pod and a minimal image', () => {
    expect(() => checkPodManifest(pod({}))).not.toThrow();
    expect(() => checkImageManifest({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/x' }, 'x')).not.toThrow();
  });

  it.each([
    ['wrong kind', { acKind: 'ImageManifest' }, /acKind/],
    ['bad app name', { apps: [{ name: 'A_B', image: { id } }] }, /apps\/0\/name/],
    ['duplicate apps', { apps: [{ name: 'a', image: { id } }, { name: 'a', image: { id } }] }, /duplicate/],
    ['missing image id', { apps: [{ name: 'a', image: {} }] }, /apps\/0\/image/],
    ['unknown volume', { apps: [{ name: 'a', image: { id }, mounts: [{ volume: 'v', path: '/v' }] }] }, /no volume named/],
    ['bad volume kind', { volumes: [{ name: 'v', kind: 'tmpfs' }] }, /kind/],
    ['relative host source', { volumes: [{ name: 'v', kind: 'host', source: 'rel' }] }, /volumes\/0\/source/],
    ['mode on a host volume', { volumes: [{ name: 'v', kind: 'host', source: '/x', mode: '0700' }] }, /volumes\/0/],
    ['handler name', { apps: [{ name: 'a', image: { id }, app: { ...app, eventHandlers: [{ name: 'pre-stop', exec: ['/x'] }] } }] }, /eventHandlers\/0\/name/],
    ['relative workingDirectory', { apps: [{ name: 'a', image: { id }, app: { ...app, workingDirectory: 'rel' } }] }, /workingDirectory/],
    ['no apps', { apps: [] }, /nothing to run/],
  ])('refuses a pod with %s', (_what, extra, message) => {
    expect(() => checkPodManifest(pod(extra))).toThrow(message);
  });

  it.each([
    ['a foreign os', { labels: [{ name: 'os', value: 'freebsd' }] }, /os freebsd/],
    ['a foreign arch', { labels: [{ name: 'os', value: 'linux' }, { name: 'arch', value: 's390x-nope' }] }, /arch/],
    ['an app without group', { app: { user: '0', exec: ['/x'] } }, /group/],
    ['a bad environment name', { app: { ...app, environment: [{ name: '1BAD', value: '' }] } }, /environment\/0\/name/],
    ['an upper-case name', { name: 'Example.com/X' }, /\/name/],
  ])('refuses an image with %s', (_what, extra, message) => {
    expect(() => checkImageManifest({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/x', ...extra }, 'x')).toThrow(message);
  });
});
