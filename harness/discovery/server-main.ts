#!/usr/bin/env node
// The discovery server process: started by the harness inside the run's network namespace (so port
// 443 and 80 on that namespace's loopback are free and nothing else sees them). It answers from the
// site table (site.ts), logs each request as a JSON line, and exits when its stdin closes (the
// harness went away) or on SIGTERM.
//   node server-main.js CONFIG.json
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Route, SeenRequest, ServerConfig, SiteTable } from './site.js';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ServerConfig;
const contexts = {
  'run-ca': createSecureContext({ key: readFileSync(config.server.key), cert: readFileSync(config.server.cert) }),
  untrusted: createSecureContext({ key: readFileSync(config.untrusted.key), cert: readFileSync(config.untrusted.cert) }),
};

function site(): SiteTable {
  try {
    return JSON.parse(readFileSync(config.siteFile, 'utf8')) as SiteTable;
  } catch {
    return { hosts: {}, routes: {} };
  }
}

function log(seen: SeenRequest): void {
  appendFileSync(config.logFile, JSON.stringify(seen) + '\n');
}

const sockets = new Set<Socket>();
function track(socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
}

function answer(scheme: 'https' | 'http') {
  return (req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = req.url ?? '/';
    const route: Route | undefined = site().routes[`${host}${path}`];
    const status = !route ? 404 : route.kind === 'body' ? (route.status ?? 200) : route.kind === 'redirect' ? route.status : 200;
    log({ scheme, host, path, status });
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    switch (route.kind) {
      case 'body': {
        const body = route.file !== undefined ? readFileSync(route.file) : Buffer.from(route.text ?? '');
        res.writeHead(status, { 'content-type': route.contentType ?? 'text/html; charset=utf-8', 'content-length': body.length }).end(body);
        return;
      }
      case 'redirect':
        res.writeHead(route.status, { location: route.location, 'content-length': 0 }).end();
        return;
      case 'truncate': {
        const body = readFileSync(route.file);
        res.writeHead(200, { 'content-type': route.contentType ?? 'application/octet-stream', 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      }
      case 'stall': {
        const body = readFileSync(route.file);
        res.writeHead(200, { 'content-type': route.contentType ?? 'application/octet-stream', 'content-length': body.length });
        res.write(body.subarray(0, Math.min(1024, body.length)));
        // nothing more: the connection stays open until the client gives up or the server stops
        return;
      }
    }
  };
}

const https = createHttps(
  {
    ...{ key: readFileSync(config.server.key), cert: readFileSync(config.server.cert) },
    SNICallback: (servername, cb) => {
      const tls = site().hosts[servername.toLowerCase()]?.tls ?? 'run-ca';
      if (tls === 'none') return cb(new Error(`no TLS for ${servername}`));
      cb(null, contexts[tls]);
    },
  },
  answer('https'),
);
const http = createHttp(answer('http'));
for (const s of [https, http]) s.on('connection', track);
https.on('tlsClientError', () => undefined);

function stop(): void {
  for (const s of sockets) s.destroy();
  https.close();
  http.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

await Promise.all([
  new Promise<void>((r) => https.listen(config.httpsPort, config.address, r)),
  new Promise<void>((r) => http.listen(config.httpPort, config.address, r)),
]);
writeFileSync(config.readyFile, 'ready\n');
