import { describe, expect, test } from 'vitest';
import { AC_VERSION, type ImageManifest, type PodManifest } from './manifest.js';
import { acVersionProblem, imageIdProblem, servedImageManifestProblems, servedPodManifestProblems } from './served.js';

const ID = `sha512-${'ab'.repeat(64)}`;
const pod = (over: Partial<PodManifest> = {}): PodManifest => ({
  acKind: 'PodManifest',
  acVersion: AC_VERSION,
  apps: [{ name: 'alpha', image: { id: ID } }],
  ...over,
});
const img: ImageManifest = { acKind: 'ImageManifest', acVersion: AC_VERSION, name: 'example.com/served' };

describe('what an implementation serves, checked in full', () => {
  test('acVersion: a SemVer of the 0.x series no newer than 0.8.11', () => {
    for (const v of ['0.8.11', '0.8.0', '0.5.2', '0.8.11+git', '0.8.11-rc.1']) expect(acVersionProblem(v), v).toBeUndefined();
    for (const v of ['1.0.0', '0.8.12', '0.9.0', '0.8', 'v0.8.11', '', 8]) expect(acVersionProblem(v), String(v)).toBeDefined();
  });

  test('a served pod manifest: schema, acVersion and full image IDs', () => {
    expect(servedPodManifestProblems(pod())).toEqual([]);
    expect(servedPodManifestProblems(pod({ acVersion: '1.0.0' }))).toEqual([expect.stringMatching(/^pod manifest \/acVersion: .*newer|outside/)]);
    expect(servedPodManifestProblems(pod({ apps: [{ name: 'alpha', image: { id: ID.slice(0, 71) } }] }))).toEqual([expect.stringMatching(/\/apps\/0\/image\/id: .* not a full image ID/)]);
    expect(servedPodManifestProblems(pod({ apps: [{ name: 'Alpha', image: { id: ID } }] })).length).toBeGreaterThan(0);
    expect(servedPodManifestProblems('not a manifest').length).toBeGreaterThan(0);
  });

  test('a served image manifest and a reported image ID', () => {
    expect(servedImageManifestProblems(img)).toEqual([]);
    expect(servedImageManifestProblems({ ...img, acVersion: '0.9.0' })).toEqual([expect.stringMatching(/^image manifest \/acVersion/)]);
    expect(servedImageManifestProblems({ ...img, name: 'Not An Identifier' }).length).toBeGreaterThan(0);
    expect(imageIdProblem(ID)).toBeUndefined();
    expect(imageIdProblem(ID.slice(0, 71))).toMatch(/not a full image ID/);
    expect(imageIdProblem(`sha256-${'ab'.repeat(32)}`)).toBeDefined();
  });
});
