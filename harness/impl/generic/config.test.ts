import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../run/paths.js';
import { UsageError } from '../../run/errors.js';
import { loadGenericConfig } from './config.js';
import { appNames, expandArgv, importOrder } from './adapter.js';
import { resolvePointer } from './pointer.js';

const dir = mkdtempSync(join(tmpdir(), 'generic-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL = `name: x
features: [multi-app]
run:
  images: [impl, run, "{work}", [--image, "{image}"]]
result: { file: "{work}/r.json" }
apps:
  exitCode: { pointer: "/apps/{app}/code" }
  stdout: { file: "{work}/{app}.out" }
  stderr: { run: stderr }
`;

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problem(text: string, name = 'impl-config.yaml'): string {
  try {
    loadGenericConfig(write(name, text));
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('loaded');
}

describe('generic adapter config', () => {
  test('the shipped examples load', () => {
    const ref = loadGenericConfig(join(REPO_ROOT, 'examples/impl-config/ref.yaml'));
    expect(ref.config.name).toBe('ref');
    expect(ref.config.features).toContain('pod-manifest');
    const rkt = loadGenericConfig(join(REPO_ROOT, 'examples/impl-config/rkt.yaml')).config;
    expect(rkt.name).toBe('rkt');
    // Both fetch by name with signature checks on.
    for (const c of [ref.config, rkt]) expect(c.imageFetch && !JSON.stringify(c.imageFetch).includes('insecure')).toBe(true);
  });

  test('JSON works as well as YAML', () => {
    const yaml = loadGenericConfig(write('a.yaml', MINIMAL)).config;
    const json = loadGenericConfig(write('a.json', JSON.stringify(yaml))).config;
    expect(json).toEqual(yaml);
  });

  test('says whether its pods can run side by side (concurrentPods, default true)', () => {
    expect(loadGenericConfig(write('c.yaml', MINIMAL + 'concurrentPods: false\n')).config.concurrentPods).toBe(false);
    expect(loadGenericConfig(write('d.yaml', MINIMAL)).config.concurrentPods).toBeUndefined();
    expect(problem(MINIMAL + 'concurrentPods: 2\n')).toBe('impl-config.yaml: /concurrentPods: must be boolean');
  });

  test.each([
    [MINIMAL.replace('"{work}", [', '"{work}", 3, ['), 'impl-config.yaml: /run/images/3: must be string'],
    [MINIMAL.replace('[multi-app]', '[multi-app, teleport]'), 'impl-config.yaml: /features/1: must be one of pod-manifest,'],
    [MINIMAL + 'colour: blue\n', 'impl-config.yaml: /: unknown field "colour"'],
    ['just a line of text\n', "impl-config.yaml: /: must be a mapping of the config's fields (name, features, run, apps, …: see examples/impl-config/), not a string"],
    [MINIMAL.replace('name: x\n', ''), "impl-config.yaml: /: must have required property 'name'"],
    [MINIMAL.replace('{work}/r.json', '{wrok}/r.json'), 'impl-config.yaml: /result/file: unknown placeholder {wrok}'],
    [MINIMAL.replace('[multi-app]', '[pod-manifest]'), 'impl-config.yaml: /run/podManifest: needed when features include pod-manifest'],
    [MINIMAL.replace('{ run: stderr }', '{ run: stderr, file: x }'), 'impl-config.yaml: /apps/stderr: needs exactly one of pointer, run, file, argv'],
    [MINIMAL.replace('{ run: stderr }', '{ run: output }'), 'impl-config.yaml: /apps/stderr/run: must be one of exitCode, signal, stdout, stderr'],
    [MINIMAL.replace('result: { file: "{work}/r.json" }\n', ''), 'impl-config.yaml: /apps/exitCode/pointer: needs a /result document to point into'],
    [MINIMAL.replace('{ run: stderr }', '{ run: stderr, match: "(" }'), 'impl-config.yaml: /apps/stderr/match: not a regular expression'],
    ['name: [unclosed', 'impl-config.yaml: not valid YAML:'],
    [MINIMAL.replace('[multi-app]', '[image-import]'), 'impl-config.yaml: /imageImport: needed when features include image-import'],
    [MINIMAL + 'imageImport: { argv: [impl, import, "{image}"] }\n', "impl-config.yaml: /imageImport: must have required property 'imageId'"],
    [MINIMAL + 'imageImport: { argv: [impl, import, "{image}"], imageId: { pointer: /id } }\n', 'impl-config.yaml: /imageImport/imageId/pointer: an import has no result document'],
    [MINIMAL + 'imageImport: { argv: [impl, "{imageId}"], imageId: { run: stdout } }\n', 'impl-config.yaml: /imageImport: only {image}, {work}, {binary} and {config} have values'],
    [MINIMAL + 'imageImport: { argv: [impl, "{image}"], imageId: { run: stdout }, refusedExitCodes: [0] }\n', 'impl-config.yaml: /imageImport/refusedExitCodes/0: must be >= 1'],
    [MINIMAL.replace('[multi-app]', '[image-fetch]'), 'impl-config.yaml: /imageFetch: needed when features include image-fetch'],
    [MINIMAL + 'imageFetch: { argv: [impl, fetch, "{name}"], imageId: { run: stdout } }\n', "impl-config.yaml: /imageFetch: must have required property 'trust'"],
    [MINIMAL + 'imageFetch: { trust: { key: [impl, trust, "{prefix}", "{keyFile}"] }, argv: [impl, fetch, "{name},{labels}", "{caFile}"], imageId: { run: stdout } }\n'.replace('run: stdout', 'pointer: /id'), 'impl-config.yaml: /imageFetch/imageId/pointer: a fetch has no result document'],
    [MINIMAL + 'imageFetch: { trust: { key: [impl, trust, "{prefix}", "{keyFile}"] }, argv: [impl, fetch, "{name},{labels}", "{caFile}"], imageId: { run: stdout } }\n'.replace('{caFile}', '{uuid}'), 'impl-config.yaml: /imageFetch: {uuid} has no value during a fetch'],
    [MINIMAL + 'imageFetch: { trust: { key: [impl, trust, "{prefix}", "{keyFile}"] }, argv: [impl, fetch, "{name},{labels}", "{caFile}"], imageId: { run: stdout } }\n'.replace('"{name},{labels}"', '"{keyFile}"'), 'impl-config.yaml: /imageFetch: {prefix} and {keyFile} have values only in /imageFetch/trust'],
    [MINIMAL.replace('{work}/r.json', '{name}/r.json'), 'impl-config.yaml: {name} has a value only in /imageFetch'],
    [MINIMAL + 'imageFetch: { trust: { key: [impl, trust, "{prefix}", "{keyFile}"] }, argv: [impl, fetch, "{name},{labels}", "{caFile}"], imageId: { run: stdout } }\n'.replace('trust: { key', 'trust: { keys'), 'impl-config.yaml: /imageFetch/trust: must have required property'],
    [MINIMAL.replace('[multi-app]', '[reported-manifests]'), 'impl-config.yaml: /reported: needed when features include reported-manifests'],
    [MINIMAL + 'reported: { podManifest: { argv: [impl, cat, "{uuid}"] } }\n', "impl-config.yaml: /reported: must have required property 'imageManifest'"],
    [MINIMAL + 'reported: { podManifest: { argv: [impl, cat, "{uuid}"] }, imageManifest: { argv: [impl, image, "{image}"] } }\n', 'impl-config.yaml: /reported: {app} and {image} have no value there'],
    [MINIMAL + 'reported: { podManifest: { argv: [impl, cat] }, imageManifest: { argv: [impl, image, "{imageId}"], run: stdout } }\n', 'impl-config.yaml: /reported/imageManifest: needs exactly one of pointer, run, file, argv'],
  ])('rejects a bad config with one line naming the field (%#)', (text, message) => {
    const got = problem(text);
    expect(got.startsWith(message)).toBe(true);
    expect(got).not.toContain('\n');
  });

  test('a missing file is one line too', () => {
    expect(() => loadGenericConfig(join(dir, 'nope.yaml'))).toThrow(/^nope\.yaml: cannot read .*ENOENT$/);
  });
});

describe('argv expansion and app names', () => {
  const img = (name: string, extra: object = {}) =>
    ({ path: `/x/${name}.aci`, id: `sha512-${name}`, name, compression: 'none', manifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name, app: { exec: ['/probe'], user: '0', group: '0' }, ...extra } }) as never;

  test('an item or group naming an image placeholder repeats per image', () => {
    const images = [
      { path: '/w/a.aci', image: img('example.com/a') },
      { path: '/w/b.aci', image: img('example.com/b') },
    ];
    expect(expandArgv(['run', '--dir={work}', ['--image', '{image}'], '--id={imageId}'], { work: '/w' }, images)).toEqual([
      'run', '--dir=/w', '--image', '/w/a.aci', '--image', '/w/b.aci', '--id=sha512-example.com/a', '--id=sha512-example.com/b',
    ]);
  });

  test('a placeholder without a value is a harness error, not an empty argument', () => {
    expect(() => expandArgv(['run', '{podManifest}'], { work: '/w' })).toThrow(/\{podManifest\} has no value/);
  });

  test('imports dependencies before the images that need them', () => {
    const top = { image: img('example.com/top', { dependencies: [{ imageName: 'example.com/mid' }] }) };
    const mid = { image: img('example.com/mid', { dependencies: [{ imageName: 'example.com/base' }] }) };
    const base = { image: img('example.com/base') };
    expect(importOrder([top, mid, base])).toEqual([base, mid, top]);
  });

  test('image-only pods name their apps as ref and rkt do; dependencies are not apps', () => {
    const layer = { ...(img('example.com/layer') as object), manifest: { name: 'example.com/layer', acKind: 'ImageManifest', acVersion: '0.8.11' } } as never;
    const app = img('example.com/My_App', { dependencies: [{ imageName: 'example.com/layer' }] });
    expect(appNames([app, layer])).toEqual(['my-app']);
    expect(appNames([img('a/p'), img('b/p')])).toEqual(['p', 'p-2']);
  });
});

describe('result pointers', () => {
  const doc = { apps: [{ name: 'a', exitCode: 0 }, { name: 'b', exitCode: 7 }], byName: { 'a/b': { code: 1 } } };
  test('select list elements by a field, object keys, indices, escapes', () => {
    expect(resolvePointer(doc, '/apps/[name=b]/exitCode')).toEqual({ ok: true, value: 7 });
    expect(resolvePointer(doc, '/apps/0/name')).toEqual({ ok: true, value: 'a' });
    expect(resolvePointer(doc, '/byName/a~1b/code')).toEqual({ ok: true, value: 1 });
  });
  test('say where a pointer stops matching', () => {
    expect(resolvePointer(doc, '/apps/[name=c]/exitCode')).toEqual({ ok: false, problem: '/apps/[name=c]: no element with name=c' });
    expect(resolvePointer(doc, '/apps/[name=a]/exit_code')).toEqual({ ok: false, problem: '/apps/[name=a]/exit_code: no such field' });
    expect(resolvePointer(doc, '/byName/[name=a]')).toEqual({ ok: false, problem: '/byName/[name=a]: not a list' });
  });
});

describe('--impl-config on the command line', () => {
  test('is resolved to an absolute path in the run config', async () => {
    const { parseCli } = await import('../../run/config.js');
    expect(parseCli(['--impl=generic', '--impl-config', 'examples/impl-config/ref.yaml']).config.implConfig).toBe(
      join(process.cwd(), 'examples/impl-config/ref.yaml'),
    );
  });

  test('applies to --impl=generic only, and generic needs it', async () => {
    const { createImplementation, preflight } = await import('../registry.js');
    const { defaultConfig } = await import('../../run/config.js');
    const { HostTarget } = await import('../../target/host-target.js');
    const t = new HostTarget();
    expect(() => createImplementation(t, { ...defaultConfig(), implConfig: '/x.yaml' })).toThrow(/--impl-config applies to --impl=generic only/);
    await expect(preflight(t, { ...defaultConfig(), impl: 'generic' })).rejects.toThrow(/^generic: needs --impl-config FILE/);
    await expect(preflight(t, { ...defaultConfig(), impl: 'generic', implConfig: write('nobin.yaml', MINIMAL) })).rejects.toThrow(
      /^generic: nobin\.yaml: \/run\/images\/0: command not found: impl$/,
    );
  });
});

describe('the shipped ref example', () => {
  test("declares exactly the features of the ref adapter, so the verdict comparison compares like with like", async () => {
    const { RefImplementation } = await import('../ref-implementation.js');
    const { defaultConfig } = await import('../../run/config.js');
    const { config } = loadGenericConfig(join(REPO_ROOT, 'examples', 'impl-config', 'ref.yaml'));
    const ref = new RefImplementation(undefined as never, defaultConfig());
    expect([...config.features].sort()).toEqual([...ref.features].sort());
  });
});
