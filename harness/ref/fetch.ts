// Fetching an image by name (spec/discovery.md): meta discovery over HTTPS, walking up the name,
// template rendering, the image and its detached signature, verification against the operator's
// trust store, and the name and labels of what came back. Every failure is a refusal: ref never
// falls back to plain HTTP and never takes a key it was not told to trust.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import * as openpgp from 'openpgp';
import { loadImage } from './image.js';
import { messageOf, refuse, RefusalError } from './errors.js';
import { isMutant } from './mutants.js';

export interface FetchOptions {
  name: string;
  labels: Record<string, string>;
  trustDir: string;
  /** extra CA the operator trusts (PEM), besides the system's */
  caFile?: string;
  scratchDir: string;
  /** a request that sends nothing for this long is given up */
  idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 10;
const MAX_BODY = 1 << 30;

interface Answer {
  status: number;
  location?: string;
  body: Buffer;
  url: string;
}

let caPem: Buffer | undefined;

/** One GET, no redirects followed. A TLS failure is the end (never a retry over HTTP), but for the mutant. */
async function getOnce(url: string, idleMs: number): Promise<Answer> {
  const u = new URL(url);
  if (u.protocol !== 'https:' && !isMutant('http-fallback')) refuse(`${url}: discovery, images and signatures are fetched over HTTPS only`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const opts = { method: 'GET', timeout: idleMs, headers: { 'user-agent': 'appc-conformance-ref' }, ...(u.protocol === 'https:' && caPem ? { ca: [...caRoots(), caPem] } : {}), ...(isMutant('trust-any-certificate') ? { rejectUnauthorized: false } : {}) };
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let stalled = false;
        res.setTimeout(idleMs, () => {
          stalled = true;
          res.destroy(new Error(`no data for ${idleMs / 1000}s`));
        });
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) res.destroy(new Error('body too large'));
          else chunks.push(c);
        });
        const brokeOff = () => new Error(stalled ? `the body stalled: no data for ${idleMs / 1000}s` : 'the body broke off');
        res.on('end', () => {
          if (!res.complete) return reject(brokeOff());
          resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), body: Buffer.concat(chunks), url });
        });
        res.on('aborted', () => reject(brokeOff()));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer for ${idleMs / 1000}s`)));
      req.on('error', reject);
      req.end();
    });
  } catch (err) {
    if (err instanceof RefusalError) throw err;
    // The mutant retries a failed HTTPS request over plain HTTP, as an insecure client would.
    if (isMutant('http-fallback') && u.protocol === 'https:') {
      u.protocol = 'http:';
      return getOnce(u.toString(), idleMs);
    }
    refuse(`GET ${url}: ${messageOf(err)}`);
  }
}

/** The system's roots stay trusted beside the operator's CA (Node's `ca` option replaces them). */
const caRoots = (): readonly string[] => rootCertificates;

/** GET following redirects (DISC-REDIR-001), at most MAX_REDIRECTS of them. */
async function get(url: string, idleMs: number): Promise<Answer> {
  let at = url;
  for (let hops = 0; ; hops++) {
    const a = await getOnce(at, idleMs);
    if (a.status < 300 || a.status >= 400 || isMutant('ignore-redirects')) return a;
    if (!a.location) refuse(`GET ${at}: ${a.status} without a Location`);
    if (hops >= MAX_REDIRECTS) refuse(`GET ${url}: more than ${MAX_REDIRECTS} redirects (a loop?)`);
    at = new URL(a.location, at).toString();
  }
}

export interface MetaTag {
  name: string;
  prefix: string;
  url: string;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The ac-discovery and ac-discovery-pubkeys meta tags of a page (DISC-URL-002). */
export function metaTags(html: string): MetaTag[] {
  const tags: MetaTag[] = [];
  for (const m of html.matchAll(/<meta\b([^>]*)>/gi)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([a-zA-Z][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) attrs[a[1]!.toLowerCase()] = unescape(a[2] ?? a[3] ?? a[4] ?? '');
    const name = attrs['name'];
    if (name !== 'ac-discovery' && name !== 'ac-discovery-pubkeys') continue;
    const [prefix, url, ...rest] = (attrs['content'] ?? '').trim().split(/\s+/);
    if (prefix && url && rest.length === 0) tags.push({ name, prefix, url });
  }
  return tags;
}

/** Discovery for `name` (DISC-URL-001, DISC-WALK-001): `https://{prefix}?ac-discovery=1` for the
 *  name and then each parent, until a page has tags of `kind` whose prefix-match fits the name. */
async function discover(name: string, kind: 'ac-discovery' | 'ac-discovery-pubkeys', idleMs: number): Promise<MetaTag[]> {
  const parts = name.split('/');
  const tried: string[] = [];
  for (let end = parts.length; end >= 1; end--) {
    const prefix = parts.slice(0, end).join('/');
    const url = `https://${prefix}?ac-discovery=1`;
    let why: string;
    try {
      const a = await get(url, idleMs);
      if (a.status === 200) {
        const tags = metaTags(a.body.toString('utf8')).filter((t) => t.name === kind && (isMutant('ignore-prefix-match') || name.startsWith(t.prefix)));
        if (tags.length > 0) return tags;
        why = `no ${kind} tag for ${name}`;
      } else why = `HTTP ${a.status}`;
    } catch (err) {
      if (!(err instanceof RefusalError)) throw err;
      why = err.message;
    }
    tried.push(`${url}: ${why}`);
    if (isMutant('no-prefix-walk')) break;
  }
  refuse(`discovery of ${name} found no ${kind}: ${tried.join('; ')}`);
}

/** Plain substitution (DISC-MATCH-002); undefined when a placeholder is left (DISC-TPL-001). */
export function renderTemplate(template: string, name: string, labels: Record<string, string>, ext: string): string | undefined {
  const values: Record<string, string> = { ...labels, name, ext };
  const out = template.replace(/\{([a-z]+)\}/g, (whole, key: string) => values[key] ?? whole);
  return /\{[^}]*\}/.test(out) ? undefined : out;
}

const encodePrefix = (prefix: string) => prefix.replace(/\//g, ',');

async function keysIn(dir: string): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(files.filter((f) => f.endsWith('.asc')).map((f) => readFile(join(dir, f), 'utf8')));
}

/** The keys trusted for `name`: the root keys and those of every prefix of it. */
async function trustedKeys(trustDir: string, name: string): Promise<string[]> {
  const keys = await keysIn(join(trustDir, 'root.d'));
  const prefixes = await readdir(join(trustDir, 'prefix.d')).catch(() => [] as string[]);
  for (const p of prefixes) {
    const prefix = p.replace(/,/g, '/');
    if (name === prefix || name.startsWith(`${prefix}/`)) keys.push(...(await keysIn(join(trustDir, 'prefix.d', p))));
  }
  return keys;
}

/** Adds keys to the trust store, for a prefix or as root keys. */
export async function trust(trustDir: string, armoredKeys: string[], prefix: string | undefined): Promise<string[]> {
  const dir = prefix === undefined ? join(trustDir, 'root.d') : join(trustDir, 'prefix.d', encodePrefix(prefix));
  await mkdir(dir, { recursive: true });
  const fingerprints: string[] = [];
  for (const armored of armoredKeys) {
    let key;
    try {
      key = await openpgp.readKey({ armoredKey: armored });
    } catch (err) {
      refuse(`not an OpenPGP public key: ${messageOf(err)}`);
    }
    const fp = key.getFingerprint();
    await writeFile(join(dir, `${fp}.asc`), key.armor());
    fingerprints.push(fp);
  }
  return fingerprints;
}

/** Pubkeys discovery for `prefix` (ac-discovery-pubkeys): the URLs are fetched as given (DISC-TPL-003). */
export async function discoverKeys(prefix: string, caFile: string | undefined, idleMs = 10_000): Promise<string[]> {
  if (caFile) caPem = await readFile(caFile);
  const tags = await discover(prefix, 'ac-discovery-pubkeys', idleMs);
  const keys: string[] = [];
  for (const t of tags) {
    const url = isMutant('template-pubkeys') ? (renderTemplate(t.url, prefix, {}, '') ?? t.url.replace(/\{[^}]*\}/g, '')) : t.url;
    const a = await get(url, idleMs);
    if (a.status !== 200) refuse(`GET ${url}: HTTP ${a.status}`);
    keys.push(a.body.toString('utf8'));
  }
  return keys;
}

async function verify(image: Buffer, armoredSignature: string, keys: string[], what: string): Promise<void> {
  let signature;
  try {
    // The mutant reads the .asc as a binary signature, as if armor were not the format (ACI-ARCH-010).
    signature = isMutant('binary-signatures-only')
      ? await openpgp.readSignature({ binarySignature: Buffer.from(armoredSignature, 'utf8') })
      : await openpgp.readSignature({ armoredSignature });
  } catch (err) {
    refuse(`${what}: the signature is not an armored OpenPGP signature: ${messageOf(err)}`);
  }
  if (keys.length === 0) refuse(`${what}: no key is trusted for this name`);
  const verificationKeys = await Promise.all(keys.map((armoredKey) => openpgp.readKey({ armoredKey })));
  try {
    await openpgp.verify({ message: await openpgp.createMessage({ binary: image }), signature, verificationKeys, expectSigned: true });
  } catch (err) {
    refuse(`${what}: signature verification failed: ${messageOf(err)}`);
  }
}

export interface Fetched {
  id: string;
  name: string;
  url: string;
}

export async function fetchImage(o: FetchOptions): Promise<Fetched> {
  const idleMs = o.idleTimeoutMs ?? 10_000;
  if (o.caFile) caPem = await readFile(o.caFile);
  const tags = await discover(o.name, 'ac-discovery', idleMs);
  // A template without {ext} cannot name both the image and its signature (DISC-TPL-001): passed over.
  const usable = isMutant('templates-without-ext') ? tags : tags.filter((t) => t.url.includes('{ext}'));
  const rendered = usable.map((t) => ({ image: renderTemplate(t.url, o.name, o.labels, 'aci'), sig: renderTemplate(t.url, o.name, o.labels, 'aci.asc') }));
  const chosen = rendered.find((r) => r.image?.startsWith('https://') && r.sig) ?? (isMutant('http-fallback') ? rendered.find((r) => r.image && r.sig) : undefined);
  if (!chosen) refuse(`discovery of ${o.name} gave no HTTPS template that renders with the labels given (${tags.map((t) => t.url).join(', ')})`);
  const imageUrl = chosen.image!;
  const img = await get(imageUrl, idleMs);
  if (img.status !== 200 && !isMutant('ignore-http-status')) refuse(`GET ${imageUrl}: HTTP ${img.status}`);

  // The trust store's policy: a signature by a trusted key (DISC-VAL-001). The mutants skip it, or
  // trust whatever keys the site itself announces.
  if (!isMutant('skip-signature-check')) {
    const sig = await get(chosen.sig!, idleMs);
    if (sig.status !== 200 && !isMutant('ignore-http-status')) refuse(`GET ${chosen.sig!}: HTTP ${sig.status} (no signature)`);
    const keys = await trustedKeys(o.trustDir, o.name);
    if (isMutant('trust-discovered-keys')) keys.push(...(await discoverKeys(o.name, o.caFile, idleMs).catch(() => [])));
    await verify(img.body, sig.body.toString('utf8'), keys, imageUrl);
  }

  const file = join(o.scratchDir, 'fetched.aci');
  await writeFile(file, img.body);
  const loaded = await loadImage(file, o.scratchDir, 0);
  // What came back must be what was asked for (DISC-VAL-002, DISC-VAL-003).
  const m = loaded.manifest;
  if (m.name !== o.name && !isMutant('ignore-name-mismatch')) refuse(`${imageUrl}: the image is named ${m.name}, not ${o.name}`);
  if (!isMutant('ignore-label-mismatch')) {
    for (const [label, value] of Object.entries(o.labels)) {
      const has = (m.labels ?? []).find((l) => l.name === label);
      if (has === undefined) {
        if (!isMutant('missing-label-matches')) refuse(`${imageUrl}: the image has no ${label} label (asked for ${value})`);
      } else if (has.value !== value) refuse(`${imageUrl}: the image's ${label} is ${has.value}, not ${value}`);
    }
    // A label not asked for matches whatever its value; the mutant wants every label asked for.
    const extra = (m.labels ?? []).find((l) => !(l.name in o.labels));
    if (extra && isMutant('strict-labels')) refuse(`${imageUrl}: the image has a label not asked for: ${extra.name}`);
  }
  return { id: loaded.id, name: m.name, url: imageUrl };
}
