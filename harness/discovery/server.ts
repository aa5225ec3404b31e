// One run's discovery server, as suites use it: a network namespace with the run's names, the
// server process inside it on 443 and 80, the run's CA and OpenPGP keys, and helpers that publish
// images the way a discovery site does. Everything is released by stop(), and by a process 'exit'
// hook when the worker ends without it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISCOVERY_SERVER } from '../run/paths.js';
import { makeRunKey, type RunKey } from './keys.js';
import { NETNS_PREFIX, RunNetns, sweepDeadRuns } from './netns.js';
import { makeRunPki, type RunPki } from './pki.js';
import { discoveryPage, type HostSpec, type MetaTag, type Route, type SeenRequest, type ServerConfig, type SiteTable } from './site.js';

/** The run's domain: `.test` is reserved (RFC 2606), so it can never be a real site. */
export const RUN_DOMAIN = 'appc.test';

/** What an implementation's fetch needs to reach the server: run inside the namespace, trust the CA. */
export interface DiscoveryNetwork {
  /** the run's network namespace */
  netns: string;
  /** argv made to run inside the namespace */
  wrap(argv: readonly string[]): string[];
  /** PEM file of the run's CA (the implementation trusts it as the operator would configure) */
  caFile: string;
}

export interface Publication {
  /** the key that signs the image; none: no signature is served */
  signWith?: RunKey | 'none';
  /** a signature over other bytes than the image's (a bad signature) */
  badSignature?: boolean;
  /** how the image URL answers instead of with the image */
  imageRoute?: (file: string) => Route;
}

export class DiscoveryServer {
  private readonly table: SiteTable = { hosts: {}, routes: {} };
  private child?: ChildProcess;
  private stopped = false;
  private readonly onExit = () => this.stopSync();

  private constructor(
    readonly dir: string,
    private readonly netns: RunNetns,
    readonly pki: RunPki,
    /** the key the implementation is told to trust */
    readonly trustedKey: RunKey,
    /** a key nobody trusts */
    readonly strangerKey: RunKey,
  ) {}

  static async start(): Promise<DiscoveryServer> {
    await sweepDeadRuns(tmpdir());
    // Named after this process, so that a later run can tell what a killed one left.
    const dir = await mkdtemp(join(tmpdir(), `${NETNS_PREFIX}${process.pid}-`));
    let netns: RunNetns | undefined;
    try {
      const [pki, trusted, stranger] = await Promise.all([makeRunPki(dir, RUN_DOMAIN), makeRunKey('trusted'), makeRunKey('stranger')]);
      netns = await RunNetns.create();
      const server = new DiscoveryServer(dir, netns, pki, trusted, stranger);
      process.once('exit', server.onExit);
      await server.launch();
      return server;
    } catch (err) {
      netns?.release();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async launch(): Promise<void> {
    const config: ServerConfig = {
      siteFile: join(this.dir, 'site.json'),
      logFile: join(this.dir, 'requests.jsonl'),
      readyFile: join(this.dir, 'ready'),
      server: this.pki.server,
      untrusted: this.pki.untrusted,
      address: '127.0.0.1',
      httpsPort: 443,
      httpPort: 80,
    };
    await this.save();
    await writeFile(join(this.dir, 'server.json'), JSON.stringify(config));
    let stderr = '';
    // `ip netns exec` execs the command itself: the child is the server, and its stdin is our pipe.
    const [cmd, ...args] = this.netns.wrap([process.execPath, DISCOVERY_SERVER, join(this.dir, 'server.json')]);
    const child = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!existsSync(config.readyFile)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        this.stopSync();
        throw new Error(`the discovery server did not start: ${stderr.trim() || `exit ${child.exitCode}`}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get network(): DiscoveryNetwork {
    return { netns: this.netns.name, wrap: (argv) => this.netns.wrap(argv), caFile: this.pki.caFile };
  }

  private signatures = 0;
  private saving: Promise<void> = Promise.resolve();
  /** The whole table, replaced at once (the server reads it per request). Saves run one after
   *  another, each writing the table as it is then: concurrent sites must not undo each other. */
  private save(): Promise<void> {
    const next = this.saving.then(async () => {
      const tmp = join(this.dir, 'site.json.tmp');
      await writeFile(tmp, JSON.stringify(this.table));
      await rename(tmp, join(this.dir, 'site.json'));
    });
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** A host of the run's domain (`label.appc.test`), resolving inside the namespace. */
  async host(label: string, spec: HostSpec = {}): Promise<string> {
    const host = label === '' ? RUN_DOMAIN : `${label}.${RUN_DOMAIN}`;
    this.table.hosts[host] = spec;
    this.netns.setHosts(Object.keys(this.table.hosts));
    await this.save();
    return host;
  }

  async route(url: string, route: Route): Promise<void> {
    this.table.routes[url] = route;
    await this.save();
  }

  /** A discovery page at `https://<at>?ac-discovery=1`. */
  async discoveryPage(at: string, tags: readonly MetaTag[]): Promise<void> {
    await this.route(`${at}?ac-discovery=1`, { kind: 'body', text: discoveryPage(tags) });
  }

  /** Serves `file` (and its signature, per `p`) at `url` and `url + '.asc'`. */
  async publishFile(url: string, file: string, p: Publication = {}): Promise<void> {
    await this.route(url, p.imageRoute ? p.imageRoute(file) : { kind: 'body', file, contentType: 'application/octet-stream' });
    const key = p.signWith ?? this.trustedKey;
    if (key === 'none') return;
    const bytes = await readFile(file);
    const signed = p.badSignature ? Buffer.concat([bytes, Buffer.from('tampered')]) : bytes;
    // Numbered by a counter of its own: sites are published concurrently.
    const sigFile = join(this.dir, `sig-${++this.signatures}.asc`);
    await writeFile(sigFile, await key.sign(signed));
    await this.route(`${url}.asc`, { kind: 'body', file: sigFile, contentType: 'application/pgp-signature' });
  }

  /** The file a route serves (to serve the same bytes elsewhere). */
  async servedFile(url: string): Promise<string> {
    const r = this.table.routes[url];
    if (!r || !('file' in r) || r.file === undefined) throw new Error(`no file is served at ${url}`);
    return r.file;
  }

  private readonly keyFiles = new Map<string, Promise<string>>();
  /** The key's armored public key as a file, written once: sites ask for it concurrently, and a
   *  rewrite would truncate it under a fetch that is reading it. */
  publicKeyFile(key: RunKey): Promise<string> {
    let file = this.keyFiles.get(key.fingerprint);
    if (!file) {
      const path = join(this.dir, `${key.fingerprint}.pub.asc`);
      file = writeFile(path, key.publicKey).then(() => path);
      this.keyFiles.set(key.fingerprint, file);
    }
    return file;
  }

  /** Every request the server saw so far for `host`. */
  requests(host?: string): SeenRequest[] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'requests.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const all = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as SeenRequest);
    return host === undefined ? all : all.filter((r) => r.host === host);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('close', () => r()));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    }
    this.stopSync();
  }

  private stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.onExit);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.netns.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
