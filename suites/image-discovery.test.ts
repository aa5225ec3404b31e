// spec/discovery.md: an image found by its name. The harness runs a discovery site of its own (HTTPS
// with the run's CA, OpenPGP keys of the run) in a network namespace where the run's names resolve,
// and the implementation fetches by name with the run's key in its trust store. Each site has its
// own host, so the requests it logs are the evidence of one fetch. First what must work, then what
// must be refused; the faults of the server end in a refusal (or are recorded where the spec is
// silent), never in a hang: each fetch is bounded by FETCH_TIMEOUT_MS.
import { AC_VERSION, appcArch, type NameValue } from '../harness/aci/index.js';
import type { DiscoveryServer, Publication } from '../harness/discovery/server.js';
import { discoveryPage, type Route } from '../harness/discovery/site.js';
import type { TrustEntry } from '../harness/impl/index.js';
import { clauses, describe, expect, fetchRun, image, test, type FetchEvidence, type FetchRun } from '../harness/run/conformance.js';

const FETCH_TIMEOUT_MS = 90_000;
/** A stalled body is only observed: what the implementation does within this long is the record
 *  (rkt waits for ever, so under rkt this bound is the test's length). */
const STALL_OBSERVED_MS = 20_000;
const VERSION = '1.0.0';
const asked = (): Record<string, string> => ({ version: VERSION, os: 'linux', arch: appcArch() });
const labelsOf = (l: Record<string, string>): NameValue[] => Object.entries(l).map(([name, value]) => ({ name, value }));
/** The image path a site serves, as {name}-{version}-{os}-{arch}.{ext} renders it. */
const rendered = (name: string, ext: string) => `/images/${name}-${VERSION}-linux-${appcArch()}.${ext}`;
const TEMPLATE = (host: string) => `https://${host}/images/{name}-{version}-{os}-{arch}.{ext}`;

interface SiteOptions {
  /** the site's host is `<label>.appc.test`; the image is named `<host><path>` */
  label: string;
  /** default /app */
  path?: string;
  /** the manifest's name and labels, if they differ from what is asked */
  manifestName?: (name: string) => string;
  manifestLabels?: Record<string, string>;
  publication?: (server: DiscoveryServer) => Publication;
  /** the discovery page(s); default: one page at the image name with one matching template */
  pages?: (server: DiscoveryServer, host: string, name: string) => Promise<void>;
  tls?: 'run-ca' | 'untrusted' | 'none';
  /** the operator's trust store; default: the run's key for the site's host */
  trust?: (server: DiscoveryServer, host: string) => Promise<TrustEntry[]>;
  /** the bound on the fetch; default FETCH_TIMEOUT_MS */
  timeoutMs?: number;
}

/** A site publishing one image at the rendered template, signed by the run's trusted key unless told otherwise. */
function site(o: SiteOptions): FetchRun {
  return fetchRun(async (server) => {
    const host = await server.host(o.label, { tls: o.tls ?? 'run-ca' });
    const name = `${host}${o.path ?? '/app'}`;
    const img = await image({
      manifest: { acKind: 'ImageManifest', acVersion: AC_VERSION, name: o.manifestName?.(name) ?? name, labels: labelsOf(o.manifestLabels ?? asked()) },
      files: [{ type: 'file', path: '/etc/discovered', content: `${o.label}\n` }],
    });
    await server.publishFile(`${host}${rendered(name, 'aci')}`, img.path, o.publication?.(server) ?? {});
    if (o.pages) await o.pages(server, host, name);
    else await server.discoveryPage(`${host}/app`, [{ name: 'ac-discovery', prefix: name, url: TEMPLATE(host) }]);
    const trust = o.trust ? await o.trust(server, host) : [{ prefix: host, keyFile: await server.publicKeyFile(server.trustedKey) }];
    return { host, request: { name, labels: asked(), trust, timeoutMs: o.timeoutMs ?? FETCH_TIMEOUT_MS }, published: img.id };
  });
}

/** The outcome must be a refusal: not a fetch, a crash or a hang. */
const refusedIn = (e: FetchEvidence, note?: string) =>
  expect(e.outcome.status, `what became of the fetch (${e.why.slice(0, 400)})${note ? ` [closest clause only: ${note}]` : ''}`).toBe('refused');
const fetchedIn = (e: FetchEvidence) => expect(e.outcome.status, `what became of the fetch (${e.why.slice(0, 400)})`).toBe('fetched');

// ─── What must work ────────────────────────────────────────────────────────────────────────────

// A decoy tag (another prefix, listed first) points at a trap, and a template without {ext} comes
// before the real one: the client must pass over both. Both traps serve the signed image, so a client
// that used them would succeed, and only the requests tell.
const simple = site({
  label: 'simple',
  pages: async (server, host, name) => {
    await server.discoveryPage(`${host}/app`, [
      { name: 'ac-discovery', prefix: `${host}/other`, url: `https://${host}/trap/{name}-{version}-{os}-{arch}.{ext}` },
      { name: 'ac-discovery', prefix: name, url: `https://${host}/noext/{name}-{version}-{os}-{arch}.aci` },
      { name: 'ac-discovery', prefix: name, url: TEMPLATE(host) },
    ]);
    const file = await server.servedFile(`${host}${rendered(name, 'aci')}`);
    await server.publishFile(`${host}${rendered(name, 'aci').replace('/images/', '/trap/')}`, file);
    await server.route(`${host}${rendered(name, 'aci').replace('/images/', '/noext/')}`, { kind: 'body', file, contentType: 'application/octet-stream' });
  },
});

describe('Discovery § Discovery URL: meta discovery', () => {
  test('fetches the image its name discovers, over HTTPS, with an armoured detached signature by a trusted key', clauses('DISC-URL-001', 'DISC-URL-002', 'DISC-VAL-001', 'ACI-ARCH-010', 'ACI-ID-001'), async ({ skip, check }) => {
    const e = await simple(skip);
    check(['DISC-URL-002', 'DISC-VAL-001', 'ACI-ARCH-010'], () => fetchedIn(e));
    check('ACI-ID-001', () => expect(e.outcome.status === 'fetched' ? e.outcome.imageId : e.why, 'the image ID reported').toBe(e.published));
    check('DISC-URL-001', () => expect(e.asked[0], 'the first request of the fetch').toBe('https /app?ac-discovery=1'));
    check('DISC-URL-001', () => expect(e.requests.filter((r) => r.scheme !== 'https'), 'requests over plain HTTP').toEqual([]));
  });

  test('renders {name}, {version}, {os}, {arch} and {ext} by plain substitution, aci and aci.asc', clauses('DISC-MATCH-002', 'DISC-TPL-002', 'ACI-ARCH-011'), async ({ skip, check }) => {
    const e = await simple(skip);
    const name = `${e.requests[0]?.host ?? 'simple.appc.test'}/app`;
    check(['DISC-MATCH-002', 'DISC-TPL-002'], () => expect(e.asked).toContain(`https ${rendered(name, 'aci')}`));
    check(['DISC-TPL-002', 'ACI-ARCH-011'], () => expect(e.asked).toContain(`https ${rendered(name, 'aci.asc')}`));
  });

  test('uses only tags whose prefix-match is a prefix of the name', clauses('DISC-MATCH-001'), async ({ skip, check }) => {
    const e = await simple(skip);
    check('DISC-MATCH-001', () => expect(e.asked.filter((a) => a.includes('/trap/')), 'requests for the decoy tag’s trap').toEqual([]));
    check('DISC-MATCH-001', () => fetchedIn(e));
  });

  test('passes over a template without {ext}', clauses('DISC-TPL-001'), async ({ skip, check }) => {
    const e = await simple(skip);
    check('DISC-TPL-001', () => expect(e.asked.filter((a) => a.includes('/noext/')), 'requests from the template without {ext}').toEqual([]));
  });
});

// The image is <host>/app/b/c: /app/b/c answers 404, /app/b has a page without tags, /app has the tags.
const walk = site({
  label: 'walk',
  path: '/app/b/c',
  pages: async (server, host) => {
    await server.route(`${host}/app/b?ac-discovery=1`, { kind: 'body', text: '<html><head><title>no tags here</title></head></html>\n' });
    await server.discoveryPage(`${host}/app`, [{ name: 'ac-discovery', prefix: `${host}/app`, url: TEMPLATE(host) }]);
  },
});

describe('Discovery § Discovery URL: walking up the name', () => {
  test('after a 4xx and a page without tags, retries with each parent path until tags are found', clauses('DISC-WALK-001'), async ({ skip, check }) => {
    const e = await walk(skip);
    const discovery = e.asked.filter((a) => a.endsWith('?ac-discovery=1'));
    check('DISC-WALK-001', () => expect(discovery.slice(0, 3)).toEqual(['https /app/b/c?ac-discovery=1', 'https /app/b?ac-discovery=1', 'https /app?ac-discovery=1']));
    check('DISC-WALK-001', () => fetchedIn(e));
  });
});

// 301, 302 and 307 in a chain before the page.
const redirects = site({
  label: 'redirects',
  pages: async (server, host, name) => {
    await server.route(`${host}/app?ac-discovery=1`, { kind: 'redirect', status: 301, location: `https://${host}/moved-1` });
    await server.route(`${host}/moved-1`, { kind: 'redirect', status: 302, location: '/moved-2' });
    await server.route(`${host}/moved-2`, { kind: 'redirect', status: 307, location: `https://${host}/page` });
    await server.route(`${host}/page`, { kind: 'body', text: discoveryPage([{ name: 'ac-discovery', prefix: name, url: TEMPLATE(host) }]) });
  },
});

describe('Discovery § Discovery URL: redirects', () => {
  test('follows 301, 302 and 307 redirects from the discovery URL to the tags', clauses('DISC-REDIR-001'), async ({ skip, check }) => {
    const e = await redirects(skip);
    check('DISC-REDIR-001', () => expect(e.asked).toContain('https /page'));
    check('DISC-REDIR-001', () => fetchedIn(e));
  });
});

// The pubkeys URL holds "{name}" literally: it is a plain URL, and the key is served there.
const PUBKEYS_PATH = '/pubkeys/{name}.asc';
const pubkeys = site({
  label: 'pubkeys',
  pages: async (server, host, name) => {
    await server.discoveryPage(`${host}/app`, [
      { name: 'ac-discovery', prefix: name, url: TEMPLATE(host) },
      { name: 'ac-discovery-pubkeys', prefix: name, url: `https://${host}${PUBKEYS_PATH}` },
    ]);
    await server.route(`${host}${encodeURI(PUBKEYS_PATH)}`, { kind: 'body', text: server.trustedKey.publicKey, contentType: 'application/pgp-keys' });
  },
  trust: async (_server, host) => [{ prefix: `${host}/app`, discover: true }],
});

describe('Discovery § Discovery Templates: public keys', () => {
  test('fetches public keys from ac-discovery-pubkeys as a plain URL, not a template, and verifies with them', clauses('DISC-TPL-003', 'DISC-META-002', 'ACI-ARCH-013'), async ({ skip, check }) => {
    const e = await pubkeys(skip);
    check('DISC-TPL-003', () => expect(e.asked).toContain(`https ${PUBKEYS_PATH}`));
    check(['DISC-META-002', 'ACI-ARCH-013'], () => fetchedIn(e));
  });
});

// ─── Validation: what must be refused ─────────────────────────────────────────────────────────

interface Refusal {
  title: string;
  clause: string[];
  /** why no MUST clause of its own covers it, when the clause named is only the closest */
  note?: string;
  run: FetchRun;
  also?: (e: FetchEvidence, check: (ids: string | string[], fn: () => void) => void) => void;
}

function refusals(section: string, cases: Refusal[]): void {
  describe.concurrent(section, () => {
    for (const c of cases) {
      test(`refuses ${c.title}`, clauses(...c.clause), async ({ skip, check }) => {
        const e = await c.run(skip);
        check(c.clause, () => refusedIn(e, c.note));
        c.also?.(e, check);
      });
    }
  });
}

refusals('Discovery § Validation: signatures and the trust store', [
  { title: 'an image whose signature does not match it', clause: ['DISC-VAL-001'], run: site({ label: 'badsig', publication: () => ({ badSignature: true }) }) },
  {
    title: 'an image signed by a key the operator does not trust, even when its site announces that key',
    clause: ['ACI-ARCH-013', 'DISC-VAL-001'],
    run: site({
      label: 'stranger',
      publication: (server) => ({ signWith: server.strangerKey }),
      pages: async (server, host, name) => {
        await server.discoveryPage(`${host}/app`, [
          { name: 'ac-discovery', prefix: name, url: TEMPLATE(host) },
          { name: 'ac-discovery-pubkeys', prefix: host, url: `https://${host}/stranger.asc` },
        ]);
        await server.route(`${host}/stranger.asc`, { kind: 'body', text: server.strangerKey.publicKey, contentType: 'application/pgp-keys' });
      },
    }),
  },
  { title: 'an image served without a signature', clause: ['DISC-VAL-001'], run: site({ label: 'unsigned', publication: () => ({ signWith: 'none' }) }) },
]);

refusals('Discovery § Validation: the image is the one asked for', [
  { title: 'an image whose manifest name differs from the name discovered', clause: ['DISC-VAL-002', 'ACI-MAN-014'], run: site({ label: 'othername', manifestName: (n) => `${n}-impostor` }) },
  { title: 'an image whose version label differs from the one asked for', clause: ['DISC-VAL-002', 'DISC-VAL-003'], run: site({ label: 'otherversion', manifestLabels: { ...asked(), version: '2.0.0' } }) },
  {
    title: 'an image that lacks a label asked for',
    clause: ['DISC-VAL-003'],
    run: site({ label: 'noversion', manifestLabels: { os: 'linux', arch: appcArch() } }),
  },
]);

const extraLabel = site({ label: 'extralabel', manifestLabels: { ...asked(), channel: 'stable' } });
describe('Discovery § Validation: labels not asked for', () => {
  test('takes an image with a label that was not asked for, whatever its value', clauses('DISC-VAL-003'), async ({ skip, check }) => {
    const e = await extraLabel(skip);
    check('DISC-VAL-003', () => fetchedIn(e));
  });
});

// ─── Faults of the server ─────────────────────────────────────────────────────────────────────

/** The image's own bytes, signed, but answered with an error status. */
const statusFault = (label: string, status: number) =>
  site({ label, publication: () => ({ imageRoute: (file): Route => ({ kind: 'body', status, file, contentType: 'application/octet-stream' }) }) });

refusals('Faults: what the server answers instead of the image', [
  {
    title: 'an image URL that answers 404 (with the signed image as its body)',
    clause: ['DISC-TPL-002'],
    note: 'no MUST clause speaks of HTTP status; the image is what the rendered .aci URL serves (DISC-TPL-002), and a 404 serves none',
    run: statusFault('status404', 404),
  },
  {
    title: 'an image URL that answers 500 (with the signed image as its body)',
    clause: ['DISC-TPL-002'],
    note: 'as for 404',
    run: statusFault('status500', 500),
  },
  {
    title: 'a body cut off half-way (the signature covers the whole image)',
    clause: ['DISC-VAL-001'],
    note: 'no clause on transfers; what arrived is not what was signed',
    run: site({ label: 'truncated', publication: () => ({ imageRoute: (file): Route => ({ kind: 'truncate', file }) }) }),
  },
  {
    title: 'a discovery URL whose redirects loop, within a bounded time',
    clause: ['DISC-REDIR-001'],
    note: 'the spec says redirects are followed; a loop must still end',
    run: site({
      label: 'loop',
      pages: async (server, host) => {
        await server.route(`${host}/app?ac-discovery=1`, { kind: 'redirect', status: 302, location: `https://${host}/around` });
        await server.route(`${host}/around`, { kind: 'redirect', status: 302, location: `https://${host}/app?ac-discovery=1` });
      },
    }),
  },
]);

refusals('Faults: HTTPS required', [
  {
    title: 'to fall back to plain HTTP when the HTTPS handshake fails',
    clause: ['DISC-URL-001'],
    // The site answers everything over plain HTTP on port 80, so a client that falls back succeeds.
    run: site({ label: 'plainhttp', tls: 'none' }),
    also: (e, check) => check('DISC-URL-001', () => expect(e.requests.filter((r) => r.scheme === 'http').map((r) => r.path), 'requests over plain HTTP').toEqual([])),
  },
  {
    title: 'a site whose certificate no trusted CA signed',
    clause: ['DISC-URL-001'],
    note: 'the spec names HTTPS; a certificate nobody trusts authenticates nothing',
    run: site({ label: 'untrustedcert', tls: 'untrusted' }),
  },
]);

// Where the spec is silent: recorded, not judged. Each fetch is still bounded by FETCH_TIMEOUT_MS.
const wrongType = site({
  label: 'wrongtype',
  publication: () => ({ imageRoute: (file): Route => ({ kind: 'body', file, contentType: 'text/html; charset=utf-8' }) }),
});
const stalled = site({ label: 'stalled', timeoutMs: STALL_OBSERVED_MS, publication: () => ({ imageRoute: (file): Route => ({ kind: 'stall', file }) }) });

const ending = (e: FetchEvidence) => `${e.outcome.status} after ${(e.outcome.durationMs / 1000).toFixed(1)}s: ${e.why.slice(0, 300)}`;

describe('Observations: faults the spec says nothing about', () => {
  test('an image served as text/html', async ({ skip, observe }) => {
    observe('image with content-type text/html', ending(await wrongType(skip)));
  });

  test('an image body that stalls after its first kilobyte', async ({ skip, observe }) => {
    observe(`stalled body (harness gives up after ${STALL_OBSERVED_MS / 1000}s)`, ending(await stalled(skip)));
  });
});
