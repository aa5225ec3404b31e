// The pod's App Container Metadata Service (spec/ace.md § App Container Metadata Service, MDS-*):
// an HTTP server reachable only on the pod's own loopback (127.0.0.1:MDS_PORT inside the pod's
// network namespace), so nothing of it is reachable from outside the pod. Each app gets its own
// random token in AC_METADATA_URL, which tells the server which app of the pod asks.
// ref serves it from its own process, which lives as long as the pod, on a unix socket in the pod
// dir; socat, entered into the pod's namespace with util-linux `nsenter`, relays the pod's loopback
// port to that socket. (A node process of its own per pod cost ~150 ms of CPU and of pod start.)
// A pod's HMAC key is derived from a host secret and the pod's UUID, so the service of any pod on
// this host can verify the signatures of another (MDS-HMAC-006) without a registry of running pods.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImageManifest, NameValue, PodManifest } from '../aci/manifest.js';
import { InfraError, messageOf } from './errors.js';
import { isMutant } from './mutants.js';
import { isAlive, procRef, type ProcRef } from './procs.js';

/** The MDS port on the pod's private loopback. */
export const MDS_PORT = 2375;
const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=us-ascii';

export interface MdsApp {
  name: string;
  token: string;
  imageId: string;
  imageManifest: ImageManifest;
  /** the image's annotations merged with the pod app's (pod values win) */
  annotations: NameValue[];
}

export interface MdsConfig {
  uuid: string;
  /** the reified pod manifest: every app references its image by ID */
  podManifest: PodManifest;
  apps: MdsApp[];
  /** the host's signing secret, hex (see hostSecret) */
  secret: string;
  /** ref's mutant, so that the server process breaks the same clause */
  mutant?: string;
}

/** Where ref keeps the machine's signing secret (the machine's, not the repository's, which a VM
 *  target shares read-only), readable by root only. */
export const MDS_SECRET_FILE = '/var/lib/appc-ref/mds-secret';

/** The host's signing secret, made on first use (64 random bytes, hex). */
export function hostSecret(file = MDS_SECRET_FILE): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, randomBytes(64).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another pod made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(file, 'utf8').trim();
}

/** A fresh token of 128 bits (MDS-GEN-004), in hex. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

export function metadataUrl(token: string): string {
  return `http://127.0.0.1:${MDS_PORT}/${token}`;
}

/** The image's annotations with the pod app's merged over them: pod values win, new ones appended. */
export function mergeAnnotations(image: readonly NameValue[] | undefined, pod: readonly NameValue[] | undefined): NameValue[] {
  const out = (image ?? []).map((a) => ({ ...a }));
  for (const a of pod ?? []) {
    const i = out.findIndex((o) => o.name === a.name);
    if (i >= 0) out[i] = { ...a };
    else out.push({ ...a });
  }
  return out;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const json = (res: ServerResponse, value: unknown) => send(res, 200, JSON_TYPE, JSON.stringify(value));
const text = (res: ServerResponse, value: string) => send(res, 200, TEXT_TYPE, value);

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > 1 << 20) throw new Error('body too large');
  }
  return new URLSearchParams(body);
}

/**
 * The request handler: `/<token>/acMetadata/v1/…`. An unknown token gets 401; an unknown path
 * 404; a wrong method 405.
 */
export function mdsHandler(config: MdsConfig) {
  const byToken = new Map(config.apps.map((a) => [a.token, a]));
  // The key of pod `uuid`; a mutant keys every pod alike by its own UUID, so others' signatures fail.
  const keyOf = (uuid: string) => createHmac('sha512', Buffer.from(config.secret, 'hex')).update(uuid).digest();
  const signAs = (uuid: string, content: string) => createHmac('sha512', keyOf(uuid)).update(content).digest('base64');
  const sign = (content: string) => signAs(config.uuid, content);
  const podAnnotations = (): NameValue[] => {
    const list = (config.podManifest.annotations ?? []).map((a) => ({ ...a }));
    if (isMutant('mds-wrong-annotations') && list[0]) list[0].value += '-wrong';
    return list;
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://mds').pathname;
    const m = /^\/([^/]+)\/acMetadata\/v1\/(.*)$/.exec(path);
    // MDS-GEN-006: only a pod's exact token is its token; the mutant takes anything that starts with one.
    const known = (t: string) => byToken.has(t) || (isMutant('mds-token-prefix') && [...byToken.keys()].some((k) => t.startsWith(k)));
    if (!m || !known(m[1]!)) return send(res, 401, TEXT_TYPE, 'unknown token\n');
    const rest = m[2]!.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const get = (handle: () => void) => (method === 'GET' ? handle() : send(res, 405, TEXT_TYPE, 'method not allowed\n'));
    const post = async (handle: (form: URLSearchParams) => void) => {
      if (method !== 'POST') return send(res, 405, TEXT_TYPE, 'method not allowed\n');
      handle(await formOf(req));
    };

    if (rest === 'pod/annotations') return get(() => json(res, podAnnotations()));
    const ann = /^pod\/annotations\/(.+)$/.exec(rest);
    if (ann) {
      const found = podAnnotations().find((a) => a.name === decodeURIComponent(ann[1]!));
      return get(() => (found ? text(res, found.value) : send(res, 404, TEXT_TYPE, 'no such annotation\n')));
    }
    if (rest === 'pod/manifest') return get(() => json(res, isMutant('mds-bad-ac-version') ? { ...config.podManifest, acVersion: '1.0.0' } : config.podManifest));
    if (rest === 'pod/uuid') return get(() => text(res, config.uuid));
    if (rest === 'pod/hmac/sign') {
      return post((form) => {
        const content = form.get('content');
        if (content === null) return send(res, 400, TEXT_TYPE, 'content missing\n');
        text(res, sign(content));
      });
    }
    if (rest === 'pod/hmac/verify') {
      return post((form) => {
        const [content, signature, uuid] = [form.get('content'), form.get('signature'), form.get('uuid')];
        if (content === null || signature === null || uuid === null) return send(res, 400, TEXT_TYPE, 'content, signature and uuid needed\n');
        const want = Buffer.from(signAs(uuid, content));
        const got = Buffer.from(signature);
        const ownPodOnly = isMutant('mds-verify-own-pod-only') && uuid !== config.uuid;
        const valid = !ownPodOnly && want.length === got.length && timingSafeEqual(want, got);
        if (valid || isMutant('mds-verify-accepts-anything')) return text(res, 'OK');
        send(res, 403, TEXT_TYPE, 'signature not valid\n');
      });
    }
    const app = /^apps\/([^/]+)\/(annotations|image\/manifest|image\/id)$/.exec(rest);
    if (app) {
      const a = config.apps.find((x) => x.name === decodeURIComponent(app[1]!));
      if (!a) return send(res, 404, TEXT_TYPE, 'no such app\n');
      if (app[2] === 'annotations') return get(() => json(res, a.annotations));
      if (app[2] === 'image/manifest') return get(() => json(res, a.imageManifest));
      return get(() => text(res, isMutant('mds-wrong-image-id') ? a.imageId.replace(/.$/, (c) => (c === '0' ? '1' : '0')) : a.imageId));
    }
    send(res, 404, TEXT_TYPE, 'not found\n');
  };
}

/** The longest path a unix socket address holds (sun_path, with its NUL). */
const SUN_PATH_MAX = 107;

/** Listens on `dir/name`; a path too long for a socket address is bound relative to `dir`. */
async function listenUnix(server: Server, dir: string, name: string): Promise<void> {
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const path = join(dir, name);
  if (Buffer.byteLength(path) <= SUN_PATH_MAX) server.listen(path);
  else {
    // A unix socket is bound at once, within listen(): the working directory is back before any
    // other code of ref runs.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      server.listen(name);
    } finally {
      process.chdir(cwd);
    }
  }
  await listening;
}

/** Whether the process `pid` is in `netns` and a socket of that namespace listens on 127.0.0.1:`port`. */
function listensIn(pid: number, netns: string, port: number): boolean {
  try {
    if (statSync(`/proc/${pid}/ns/net`).ino !== statSync(netns).ino) return false;
    // /proc/PID/net/tcp lists the sockets of the process's network namespace: local address as
    // hex IP (host byte order) and port, state 0A = LISTEN.
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const local = new Set([`0100007F:${hexPort}`, `7F000001:${hexPort}`]);
    return readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
      .split('\n')
      .slice(1)
      .some((line) => {
        const f = line.trim().split(/\s+/);
        return local.has(f[1] ?? '') && f[3] === '0A';
      });
  } catch {
    return false;
  }
}

/**
 * Serves the pod's metadata on a unix socket in `podDir` and starts the relay from 127.0.0.1:MDS_PORT
 * in `netns` (a /proc/<pid>/ns/net path) to it. `record` runs as soon as the relay's pid is known.
 * Resolves once the relay listens, with the function that stops ref's own serving (idempotent); the
 * relay is killed with the pod's other processes. The socket's name carries the pod's UUID, so the
 * relay's command line names the pod (ps, leftover checks).
 */
export async function startMds(
  netns: string,
  podDir: string,
  config: MdsConfig,
  record: (p: ProcRef) => Promise<void>,
  // A start of the relay and a first request took seconds in a VM under TCG, and more on a busy machine.
  timeoutMs = 30_000,
): Promise<() => Promise<void>> {
  const handle = mdsHandler(config);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': TEXT_TYPE });
      res.end(`${messageOf(err)}\n`);
    });
  });
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  const socket = `mds-${config.uuid}.sock`;
  const log = join(podDir, 'mds-relay.log');
  try {
    await listenUnix(server, podDir, socket);
    // Answer one request before the pod's first, so that one does not pay for warming up (the
    // spec's ACE validator gives each request 100 ms).
    await new Promise<void>((resolve) => {
      const warm = request({ socketPath: join(podDir, socket), path: '/warm-up/acMetadata/v1/pod/uuid' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      warm.on('error', () => resolve());
      warm.end();
    });

    const logFd = openSync(log, 'w');
    // nsenter with only --net execs socat itself: the pid is the relay's. Its cwd is the pod dir,
    // so the socket's path is short whatever the data dir.
    const child = spawn('nsenter', [`--net=${netns}`, 'socat', `TCP-LISTEN:${MDS_PORT},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socket}`], {
      cwd: podDir,
      detached: true,
      stdio: ['ignore', 'ignore', logFd],
    });
    closeSync(logFd);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (err) => reject(new InfraError(`cannot start the metadata service's relay (nsenter): ${err.message}`)));
    });
    child.unref();
    const relay = procRef(pid);
    if (!relay) throw new InfraError(`the metadata service's relay ended at once: ${readFileSync(log, 'utf8').trim()}`);
    await record(relay);
    // Connections are relayed by socat's children: ahead of the pod's own apps, as clients may give
    // the service little time while the apps keep the CPUs busy.
    try {
      setPriority(pid, -10);
    } catch {
      // not permitted (not root): normal priority still works, only with less margin
    }
    const deadline = Date.now() + timeoutMs;
    while (!listensIn(pid, netns, MDS_PORT)) {
      if (!isAlive(relay) || Date.now() > deadline) {
        const why = readFileSync(log, 'utf8').trim() || (isAlive(relay) ? `not listening after ${timeoutMs / 1000} s` : 'it ended');
        throw new InfraError(`the metadata service's relay (socat) did not start: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return close;
  } catch (err) {
    await close();
    throw err;
  }
}
