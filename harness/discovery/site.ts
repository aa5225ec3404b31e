// What the discovery server serves: a table of routes keyed by host and path (with the query), which
// the harness writes and the server reads on each request, so tests add hosts while it runs.

/** How the server answers one URL. */
export type Route =
  /** a body (from a file, or text) with a status and content type */
  | { kind: 'body'; status?: number; contentType?: string; file?: string; text?: string }
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** announces the whole body's length, sends half of it, then cuts the connection */
  | { kind: 'truncate'; file: string; contentType?: string }
  /** sends the headers and the first bytes, then nothing more while the connection stays open */
  | { kind: 'stall'; file: string; contentType?: string };

export interface HostSpec {
  /** the TLS handshake for this host presents a certificate of the untrusted CA */
  tls?: 'run-ca' | 'untrusted' | 'none';
}

export interface SiteTable {
  hosts: Record<string, HostSpec>;
  /** key: `${host}${path}` with the query, e.g. `a.appc.test/app?ac-discovery=1` */
  routes: Record<string, Route>;
}

/** One request the server saw. */
export interface SeenRequest {
  scheme: 'https' | 'http';
  host: string;
  /** path with the query, as requested */
  path: string;
  status: number;
}

export interface ServerConfig {
  siteFile: string;
  logFile: string;
  /** the file the server writes once it listens */
  readyFile: string;
  server: { key: string; cert: string };
  untrusted: { key: string; cert: string };
  address: string;
  httpsPort: number;
  httpPort: number;
}

export interface MetaTag {
  name: 'ac-discovery' | 'ac-discovery-pubkeys';
  prefix: string;
  url: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** A discovery page: the tags mixed into other HTML, as a real site would have them (DISC-URL-002). */
export function discoveryPage(tags: readonly MetaTag[]): string {
  const metas = tags.map((t) => `    <meta name="${t.name}" content="${esc(`${t.prefix} ${t.url}`)}">`).join('\n');
  return `<!DOCTYPE html>\n<html>\n  <head>\n    <title>appc-conformance discovery</title>\n    <meta charset="utf-8">\n${metas}\n    <link rel="stylesheet" href="/style.css">\n  </head>\n  <body><p>images live here</p></body>\n</html>\n`;
}
