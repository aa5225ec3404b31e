// The rkt adapter's parsing and command lines, on output recorded from a real rkt 1.30.0
// (testdata/rkt/README.md): runs without rkt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { BuiltImage, PodManifest } from '../aci/index.js';
import { parseProbeReport } from '../probe/index.js';
import { REPO_ROOT } from '../run/paths.js';
import {
  appsRan,
  assignStreams,
  demuxConsole,
  dependenciesFirst,
  expectedApps,
  flavorOfStage1Name,
  flyAppStderr,
  globalArgs,
  manifestForRkt,
  parseImageListIds,
  parseList,
  parseStatus,
  rktComplaint,
  rktFetchByNameArgs,
  rktFetchEnv,
  rktImageString,
  rktMessages,
  rktTrustArgs,
  RKT_FEATURES,
  runArgs,
  stage1Args,
} from './rkt-output.js';
import { podScope } from './rkt-run.js';

const data = (name: string) => readFileSync(join(REPO_ROOT, 'harness', 'impl', 'testdata', 'rkt', name), 'utf8');
const ID = 'sha512-20bec02b7c62e9824eeb51a1a06e380a38720cd3c04911013e1c1a5183190dc7';

function image(name: string, app?: BuiltImage['manifest']['app']): BuiltImage {
  return {
    path: `/fixtures/${name}.aci`,
    id: `sha512-${name.padEnd(128, '0')}`,
    name: `example.com/appc-conformance/${name}`,
    manifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name: `example.com/appc-conformance/${name}`, ...(app ? { app } : {}) },
    compression: 'none',
  };
}

describe('rkt command lines', () => {
  test('every call uses the private data dir and config dir, and imports unsigned images', () => {
    expect(globalArgs('/r/data', '/r/config')).toEqual(['--dir=/r/data', '--local-config=/r/config', '--insecure-options=image']);
  });

  test('a flavor picks the stage1 next to the binary, else the one in rkt’s stage1 dir; none: rkt’s default', () => {
    expect(stage1Args('fly', '/bin/stage1-fly.aci')).toEqual(['--stage1-path=/bin/stage1-fly.aci']);
    expect(stage1Args('host', undefined)).toEqual(['--stage1-from-dir=stage1-host.aci']);
    expect(stage1Args(undefined, undefined)).toEqual([]);
  });

  test('runs a pod manifest when there is one, else the images with an app, on the restricted network', () => {
    const a = image('a', { exec: ['/probe'], user: '0', group: '0' });
    const layer = image('layer');
    const base = { global: ['--dir=/d'], stage1: ['--stage1-path=/s.aci'], uuidFile: '/w/uuid', images: [a, layer] };
    expect(runArgs({ ...base, mdsRegister: true, podManifest: '/w/pod.json' })).toEqual([
      '--dir=/d',
      'run',
      '--uuid-file-save=/w/uuid',
      '--stage1-path=/s.aci',
      '--net=default-restricted',
      '--mds-register=true',
      '--pod-manifest=/w/pod.json',
    ]);
    expect(runArgs({ ...base, mdsRegister: false }).slice(-2)).toEqual(['--mds-register=false', a.id]);
  });

  test('fills in a missing app section from the image (rkt status panics without one), keeps given ones', () => {
    const app = { exec: ['/probe'], user: '0', group: '0' };
    const a = image('a', app);
    const manifest: PodManifest = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [
        { name: 'x', image: { id: a.id } },
        { name: 'y', image: { id: a.id }, app: { ...app, exec: ['/probe', 'exit=1'] } },
      ],
    };
    const out = manifestForRkt(manifest, [a]);
    expect(out.apps[0]!.app).toEqual(app);
    expect(out.apps[1]!.app?.exec).toEqual(['/probe', 'exit=1']);
    expect(manifest.apps[0]!.app).toBeUndefined();
  });

  test('passes malformed manifests through for rkt to judge (the schema suite’s refusal tests)', () => {
    const a = image('a', { exec: ['/probe'], user: '0', group: '0' });
    const notAList = { acKind: 'PodManifest', acVersion: '0.8.11', apps: { base: { name: 'base' } } } as unknown as PodManifest;
    expect(manifestForRkt(notAList, [a])).toBe(notAList);
    expect(expectedApps({ images: [a], manifest: notAList })).toEqual([]);
    const noImage = { acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'base' }] } as unknown as PodManifest;
    expect(manifestForRkt(noImage, [a]).apps).toEqual([{ name: 'base' }]);
    expect(expectedApps({ images: [a], manifest: noImage })).toEqual([{ name: 'base', exec: [], handlers: [] }]);
  });

  test('names image-only apps after the image, and knows each app’s handlers', () => {
    const a = image('exit-42', { exec: ['/probe', 'exit=42'], user: '0', group: '0', eventHandlers: [{ name: 'pre-start', exec: ['/probe', 'x'] }] });
    expect(expectedApps({ images: [a, image('layer')] })).toEqual([{ name: 'exit-42', exec: ['/probe', 'exit=42'], handlers: [['/probe', 'x']] }]);
  });

  test('fetches dependencies before the images that need them', () => {
    const base = image('base');
    const mid = { ...image('mid'), manifest: { ...image('mid').manifest, dependencies: [{ imageName: base.name }] } };
    const top = { ...image('top'), manifest: { ...image('top').manifest, dependencies: [{ imageName: mid.name, imageID: mid.id }] } };
    expect(dependenciesFirst([top, mid, base]).map((i) => i.name.split('/').at(-1))).toEqual(['base', 'mid', 'top']);
  });

  test('fetches every image of a dependency’s name first, whichever its labels pick', () => {
    const v1 = { ...image('v1'), name: 'example.com/appc-conformance/dep' };
    const v2 = { ...image('v2'), name: 'example.com/appc-conformance/dep' };
    const top = { ...image('top'), manifest: { ...image('top').manifest, dependencies: [{ imageName: v1.name, labels: [{ name: 'version', value: '2' }] }] } };
    expect(dependenciesFirst([top, v1, v2]).map((i) => i.id.slice(7, 9))).toEqual(['v1', 'v2', 'to']);
  });

  test('names the cgroup scope of a pod as systemd does', () => {
    expect(podScope('43edc310-c985-4147-b0b9-a733097b35d0')).toBe('machine-rkt\\x2d43edc310\\x2dc985\\x2d4147\\x2db0b9\\x2da733097b35d0.scope');
  });

  test('declares fly’s limits and the host flavor’s features', () => {
    for (const f of ['multi-app', 'volumes/empty', 'metadata-service', 'event-handlers'] as const) {
      expect(RKT_FEATURES.fly.has(f)).toBe(false);
      expect(RKT_FEATURES.host.has(f)).toBe(true);
    }
    expect(RKT_FEATURES.kvm.has('app-exit-status')).toBe(false);
  });
});

describe('rkt output (recorded)', () => {
  test('reads per-app exit codes from rkt status --format=json', () => {
    const st = parseStatus(data('host-multi.status.json'));
    expect(st.state).toBe('exited');
    expect(st.apps?.map((a) => [a.name, a.exit_code])).toEqual([
      ['first', 3],
      ['second', 0],
      ['quiet', 0],
    ]);
    // fly records no exit code: the adapter takes rkt's own
    expect(parseStatus(data('fly.status.json')).apps?.[0]?.exit_code).toBeUndefined();
    expect(() => parseStatus('{"nope":1}')).toThrow(/not an rkt pod status/);
    expect(parseList('')).toEqual([]);
  });

  test('demultiplexes a host-flavor console into each app’s output, without its pre-start handler’s', () => {
    const manifest = JSON.parse(data('host-multi.pod.json')) as PodManifest;
    const probe = image('probe', { exec: ['/probe'], user: '0', group: '0' });
    const streams = demuxConsole(data('host-multi.stdout'));
    expect(streams.map((s) => s.ident).sort()).toEqual(['first', 'first', 'quiet', 'second']);
    const out = assignStreams(streams, expectedApps({ images: [{ ...probe, id: ID }], manifest }));

    const first = out.get('first')!;
    expect(first.split('\n').slice(0, 2)).toEqual(['out-first', 'err-first']);
    expect(first).not.toContain('pre-start-ran');
    const report = parseProbeReport(first);
    expect(typeof report === 'string' ? report : report.argv).toEqual(['/probe', 'stdout=out-first', 'stderr=err-first', 'exit=3']);
    expect(typeof report === 'string' ? report : report.env.AC_APP_NAME).toBe('first');

    const second = parseProbeReport(out.get('second')!);
    expect(typeof second === 'string' ? second : second.env.AC_APP_NAME).toBe('second');
    expect(out.get('quiet')).toBe('only-text\n');
  });

  test('fly: the app’s stderr is rkt’s without rkt’s own diagnostics', () => {
    expect(flyAppStderr(data('fly.stderr'))).toBe('err-fly\n');
    const report = parseProbeReport(data('fly.stdout'));
    expect(typeof report === 'string' ? report : report.argv).toContain('exit=42');
  });

  test('rkt’s own messages: its whole stderr, under fly only its diagnostics', () => {
    const stderr = 'err-fly\nrun: disabling overlay support\n  └─details\nstage1: warning\n';
    expect(rktMessages(stderr, false)).toBe(stderr);
    expect(rktMessages(stderr, true)).toBe('run: disabling overlay support\n  └─details\nstage1: warning');
    expect(rktMessages(data('fly.stderr'), true)).not.toContain('err-fly');
  });

  test('a host pod nspawn could not set up ran no app, although rkt status gives the app a started_at', () => {
    const st = parseStatus(data('host-bindfail.status.json'));
    expect(st.apps?.[0]?.started_at).toBeDefined();
    expect(appsRan(st, 'host', data('host-bindfail.stdout'), ['file-target'])).toBe(false);
    expect(rktComplaint(data('host-bindfail.stderr'))).toMatch(/^Cannot bind mount directory .*sharedVolumes\/over on file .*\/datafile\.$/);
    // the same status under fly: started_at is the app's start
    expect(appsRan(st, 'fly', '', ['file-target'])).toBe(true);
    // an app that wrote to the console, or has an exit code, ran
    expect(appsRan(parseStatus(data('host-multi.status.json')), 'host', '', ['first'])).toBe(true);
    expect(appsRan(st, 'host', '[   1.234] file-target[7]: hello\n', ['file-target'])).toBe(true);
  });

  test('error text drops rkt’s harmless warnings', () => {
    expect(rktComplaint(data('host-multi.stderr'))).toBe('');
    expect(rktComplaint('run: group "rkt" not found\nprepare: volume "data" missing\n')).toBe('prepare: volume "data" missing');
  });

  test('tells the flavor from the stage1 image name', () => {
    expect(flavorOfStage1Name('coreos.com/rkt/stage1-host:1.30.0')).toBe('host');
    expect(flavorOfStage1Name('coreos.com/rkt/stage1-fly')).toBe('fly');
    expect(flavorOfStage1Name('example.com/other')).toBeUndefined();
  });
});

describe('fetch by name command lines', () => {
  test('the image string carries the labels in rkt\'s name,label=value form, sorted', () => {
    expect(rktImageString('a.appc.test/app', { version: '1.0.0', os: 'linux', arch: 'amd64' })).toBe('a.appc.test/app,arch=amd64,os=linux,version=1.0.0');
    expect(rktImageString('a.appc.test/app', {})).toBe('a.appc.test/app');
  });

  test('trust goes into the fetch\'s own local config, for a prefix or as root, with or without a key file', () => {
    expect(rktTrustArgs('/w/data', '/w/config', 'a.appc.test', '/w/key-0.asc')).toEqual([
      '--dir=/w/data', '--local-config=/w/config', 'trust', '--skip-fingerprint-review', '--prefix=a.appc.test', '/w/key-0.asc',
    ]);
    expect(rktTrustArgs('/w/data', '/w/config', 'root', '/w/k.asc')).toEqual(['--dir=/w/data', '--local-config=/w/config', 'trust', '--skip-fingerprint-review', '--root', '/w/k.asc']);
    expect(rktTrustArgs('/w/data', '/w/config', 'a.appc.test/app')).toEqual(['--dir=/w/data', '--local-config=/w/config', 'trust', '--skip-fingerprint-review', '--prefix=a.appc.test/app']);
  });

  test('a fetch by name never turns signature or TLS checks off', () => {
    const args = rktFetchByNameArgs('/w/data', '/w/config', 'a.appc.test/app', { version: '1.0.0' });
    expect(args).toEqual(['--dir=/w/data', '--local-config=/w/config', 'fetch', '--full', '--pull-policy=update', 'a.appc.test/app,version=1.0.0']);
    expect(args.join(' ')).not.toMatch(/insecure/);
    expect(rktTrustArgs('/d', '/c', 'root', '/k').join(' ')).not.toMatch(/insecure/);
  });

  test('the run\'s CA reaches rkt through SSL_CERT_FILE', () => {
    expect(rktFetchEnv('/tmp/appc-disc-x/run-ca.pem')).toEqual(['env', 'SSL_CERT_FILE=/tmp/appc-disc-x/run-ca.pem']);
  });

  test('every flavor declares image-fetch', () => {
    for (const f of Object.values(RKT_FEATURES)) expect(f.has('image-fetch')).toBe(true);
  });
});

describe('rkt image list (reported image IDs)', () => {
  test('takes each entry’s id as rkt printed it, full or not', () => {
    const full = `sha512-${'a'.repeat(128)}`;
    const short = `sha512-${'b'.repeat(64)}`;
    const out = JSON.stringify([
      { id: full, name: 'example.com/a:1.0.0', import_time: 1, last_used_time: 2, size: 3 },
      { id: short, name: 'example.com/b', import_time: 1, last_used_time: 2, size: 3 },
    ]);
    expect(parseImageListIds(out)).toEqual([full, short]);
  });
  test('refuses output that is not a JSON list', () => {
    expect(() => parseImageListIds('{"id":"x"}')).toThrow(/not a list/);
    expect(() => parseImageListIds('ID NAME')).toThrow();
  });
});
