// The metadata service's request handler on a host loopback port (127.0.0.1 only), and the
// AC_METADATA_URL the apps get.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AC_VERSION, DEFAULT_PATH, type ImageManifest } from '../aci/manifest.js';
import { hostSecret, mdsHandler, mergeAnnotations, MDS_PORT, metadataUrl, newToken, type MdsConfig } from './mds.js';
import { setMutant } from './mutants.js';
import { appEnvironment } from './oci.js';

const UUID = '0b6d3c6e-8f7a-4c1e-9a3b-2f1e0d9c8b7a';
const manifest = (name: string): ImageManifest => ({ acKind: 'ImageManifest', acVersion: AC_VERSION, name, annotations: [{ name: 'k', value: 'img' }] });
const SECRET = 'ab'.repeat(64);
const config: MdsConfig = {
  uuid: UUID,
  secret: SECRET,
  podManifest: {
    acKind: 'PodManifest',
    acVersion: AC_VERSION,
    apps: [{ name: 'a', image: { id: 'sha512-aa' } }],
    annotations: [{ name: 'role', value: 'web' }, { name: 'x/y', value: 'z' }],
  },
  apps: [
    { name: 'a', token: 'a'.repeat(32), imageId: 'sha512-aa', imageManifest: manifest('example.com/a'), annotations: [{ name: 'k', value: 'pod' }] },
    { name: 'b', token: 'b'.repeat(32), imageId: 'sha512-bb', imageManifest: manifest('example.com/b'), annotations: [] },
  ],
};

let server: Server;
let base = '';
beforeAll(async () => {
  const handle = mdsHandler(config);
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => setMutant(undefined));

async function get(path: string, token = 'a'.repeat(32)) {
  const res = await fetch(`${base}/${token}/acMetadata/v1/${path}`, { headers: { 'Metadata-Flavor': 'AppContainer' } });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}
async function post(path: string, form: Record<string, string>) {
  const res = await fetch(`${base}/${'b'.repeat(32)}/acMetadata/v1/${path}`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('metadata service endpoints', () => {
  it('serves pod data with the media types of the spec', async () => {
    expect(await get('pod/uuid')).toEqual({ status: 200, type: 'text/plain; charset=us-ascii', body: UUID });
    const ann = await get('pod/annotations');
    expect([ann.type, JSON.parse(ann.body)]).toEqual(['application/json', config.podManifest.annotations]);
    expect((await get('pod/annotations/x%2Fy')).body).toBe('z');
    expect((await get('pod/annotations/nope')).status).toBe(404);
    expect(JSON.parse((await get('pod/manifest')).body)).toEqual(config.podManifest);
  });

  it('serves app data for any app of the pod, 404 for others', async () => {
    expect(JSON.parse((await get('apps/a/annotations')).body)).toEqual([{ name: 'k', value: 'pod' }]);
    expect(JSON.parse((await get('apps/b/image/manifest')).body)).toEqual(manifest('example.com/b'));
    expect(await get('apps/b/image/id', 'b'.repeat(32))).toEqual({ status: 200, type: 'text/plain; charset=us-ascii', body: 'sha512-bb' });
    expect((await get('apps/c/image/id')).status).toBe(404);
    expect((await get('pod/nothing')).status).toBe(404);
  });

  it('refuses an unknown or missing token with 401', async () => {
    expect((await get('pod/uuid', 'c'.repeat(32))).status).toBe(401);
    expect((await fetch(`${base}/acMetadata/v1/pod/uuid`)).status).toBe(401);
  });

  it('signs with HMAC-SHA512 and verifies: 200 when valid, 403 otherwise', async () => {
    const sig = await post('pod/hmac/sign', { content: 'hello' });
    expect(sig.type).toBe('text/plain; charset=us-ascii');
    expect(Buffer.from(sig.body, 'base64')).toHaveLength(64);
    expect((await post('pod/hmac/sign', { content: 'hello' })).body).toBe(sig.body);
    expect(await post('pod/hmac/verify', { content: 'hello', uuid: UUID, signature: sig.body })).toMatchObject({ status: 200, type: 'text/plain; charset=us-ascii' });
    expect((await post('pod/hmac/verify', { content: 'hellx', uuid: UUID, signature: sig.body })).status).toBe(403);
    const tampered = (sig.body.startsWith('A') ? 'B' : 'A') + sig.body.slice(1);
    expect((await post('pod/hmac/verify', { content: 'hello', uuid: UUID, signature: tampered })).status).toBe(403);
    expect((await post('pod/hmac/verify', { content: 'hello', uuid: '1' + UUID.slice(1), signature: sig.body })).status).toBe(403);
    expect((await post('pod/hmac/verify', { content: 'hello' })).status).toBe(400);
    expect((await get('pod/hmac/sign')).status).toBe(405);
  });

  it("verifies another pod's signature made with the same host secret, and only with that pod's UUID", async () => {
    const OTHER = '1' + UUID.slice(1);
    const other = mdsHandler({ ...config, uuid: OTHER });
    const otherServer = createServer((req, res) => void other(req, res));
    await new Promise<void>((r) => otherServer.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(otherServer.address() as AddressInfo).port}/${'a'.repeat(32)}/acMetadata/v1/pod/hmac/sign`;
      const signature = await (await fetch(url, { method: 'POST', body: new URLSearchParams({ content: 'from the other pod' }) })).text();
      expect((await post('pod/hmac/verify', { content: 'from the other pod', uuid: OTHER, signature })).status).toBe(200);
      expect((await post('pod/hmac/verify', { content: 'from the other pod', uuid: UUID, signature })).status).toBe(403);
    } finally {
      await new Promise<void>((r) => otherServer.close(() => r()));
    }
  });

  it('keeps the host secret in a file of its own, made once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appc-mds-secret-'));
    try {
      const first = hostSecret(join(dir, 'ref', 'secret'));
      expect(first).toMatch(/^[0-9a-f]{128}$/);
      expect(hostSecret(join(dir, 'ref', 'secret'))).toBe(first);
      expect((await stat(join(dir, 'ref', 'secret'))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('mutants break their clause', async () => {
    setMutant('mds-wrong-annotations');
    expect(JSON.parse((await get('pod/annotations')).body)[0]).toEqual({ name: 'role', value: 'web-wrong' });
    setMutant('mds-wrong-image-id');
    expect((await get('apps/a/image/id')).body).not.toBe('sha512-aa');
    setMutant('mds-verify-accepts-anything');
    expect((await post('pod/hmac/verify', { content: 'x', uuid: UUID, signature: 'bogus' })).status).toBe(200);
  });
});

describe('AC_METADATA_URL', () => {
  it('is a per-app token URL on the pod loopback, set after container', () => {
    const t = newToken();
    expect(t).toMatch(/^[0-9a-f]{32}$/);
    expect(newToken()).not.toBe(t);
    expect(metadataUrl(t)).toBe(`http://127.0.0.1:${MDS_PORT}/${t}`);
    expect([...appEnvironment([{ name: 'A', value: '1' }], 'web', 'i', metadataUrl(t))]).toEqual([
      ['PATH', DEFAULT_PATH],
      ['A', '1'],
      ['AC_APP_NAME', 'web'],
      ['container', 'appc-ref'],
      ['AC_METADATA_URL', metadataUrl(t)],
    ]);
    setMutant('no-metadata-url');
    expect(appEnvironment([], 'web', 'i', metadataUrl(t)).has('AC_METADATA_URL')).toBe(false);
  });

  it('merges image and pod app annotations, pod values winning', () => {
    expect(
      mergeAnnotations(
        [{ name: 'k', value: 'img' }, { name: 'i', value: '1' }],
        [{ name: 'p', value: '2' }, { name: 'k', value: 'pod' }],
      ),
    ).toEqual([{ name: 'k', value: 'pod' }, { name: 'i', value: '1' }, { name: 'p', value: '2' }]);
    expect(mergeAnnotations(undefined, undefined)).toEqual([]);
  });
});
