// The harness's side of the guest agent: a Target whose commands and files go over one TCP
// connection to an agent (reached through a forward on 127.0.0.1), and whose guest ports reach
// the host through local forwarders that tunnel each connection to the agent.
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { HarnessError } from '../../run/errors.js';
import { NoResultError, TargetUnavailableError, type ExecOptions, type ExecResult, type Target, type TargetKind } from '../target.js';
import type { Answer, ExecAnswer, Hello, Request, TargetFacts } from './protocol.js';

/** How to reach an agent: plain JSON, handed from the run's main process to its test workers. */
export interface AgentEndpoint {
  host: '127.0.0.1';
  port: number;
  token: string;
}

/** Slack beyond a command's own timeout (and its kill grace) before "no result came back". */
const ANSWER_SLACK_MS = 30_000;
const FILE_OP_MS = 60_000;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export class AgentClient {
  private socket?: Promise<Socket>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(readonly endpoint: AgentEndpoint) {}

  /** Opens a connection to the agent in `mode`; resolves once the hello is sent. */
  open(mode: Hello['mode'], port?: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      // Half-open only for tunnels (a client may finish sending before the answer comes back).
      const s = connect({ host: this.endpoint.host, port: this.endpoint.port, allowHalfOpen: mode === 'connect' });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        const hello: Hello = { token: this.endpoint.token, mode, ...(port !== undefined ? { port } : {}) };
        s.write(JSON.stringify(hello) + '\n');
        resolve(s);
      });
    });
  }

  private connection(): Promise<Socket> {
    this.socket ??= this.open('rpc').then((s) => {
      let buffer = '';
      s.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          this.settle(JSON.parse(buffer.slice(0, nl)) as Answer);
          buffer = buffer.slice(nl + 1);
        }
      });
      const lost = (why: string) => {
        this.socket = undefined;
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(new NoResultError(`no result came back from the target: ${why}`));
        }
      };
      s.on('error', (e) => lost(e.message));
      s.on('close', () => lost('the connection to its agent closed'));
      return s;
    });
    return this.socket;
  }

  private settle(a: Answer): void {
    const p = this.pending.get(a.id);
    if (!p) return;
    this.pending.delete(a.id);
    clearTimeout(p.timer);
    if (a.ok) p.resolve(a.result);
    else if (a.kind === 'fs') p.reject(new HarnessError(`on the target: ${a.message}`));
    else p.reject(new TargetUnavailableError(`the target could not run it: ${a.message}`));
  }

  /** Sends `body` and waits for its answer. An exec given an aborted (or aborting) `signal` is
   *  stopped on the target, which then answers with how it ended. */
  async call<T>(body: RequestBody, answerWithinMs: number, signal?: AbortSignal): Promise<T> {
    if (this.closed) throw new TargetUnavailableError('the target is closed');
    let socket: Socket;
    try {
      socket = await this.connection();
    } catch (e) {
      this.socket = undefined;
      throw new TargetUnavailableError(`cannot reach the target's agent: ${(e as Error).message}`);
    }
    const id = this.nextId++;
    const cancel = () => {
      if (!socket.destroyed) socket.write(JSON.stringify({ op: 'cancel', exec: id, id: this.nextId++ }) + '\n');
    };
    return new Promise<T>((resolve, reject) => {
      const done = () => signal?.removeEventListener('abort', cancel);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        done();
        reject(new NoResultError(`no result came back from the target within ${Math.round(answerWithinMs / 1000)} s (${body.op})`));
      }, answerWithinMs);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        timer,
      });
      socket.write(JSON.stringify({ ...body, id }) + '\n');
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    void this.socket?.then((s) => s.destroy(), () => undefined);
  }
}

/** A Target driven through an agent. The VM or container behind it is started and stopped by its owner. */
export class AgentTarget implements Target {
  private readonly client: AgentClient;
  private readonly forwards = new Map<number, Promise<{ server: Server; port: number }>>();
  private readonly tunnels = new Set<Socket>();

  constructor(
    readonly kind: TargetKind,
    endpoint: AgentEndpoint,
  ) {
    this.client = new AgentClient(endpoint);
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new Error('exec: empty command');
    const within = (opts.timeoutMs ?? 30 * 60_000) + ANSWER_SLACK_MS;
    const a = await this.client.call<ExecAnswer>({ op: 'exec', argv: [...argv], cwd: opts.cwd, env: opts.env, timeoutMs: opts.timeoutMs }, within, opts.signal);
    return { ...a, stdout: Buffer.from(a.stdout, 'base64').toString('utf8'), stderr: Buffer.from(a.stderr, 'base64').toString('utf8') };
  }

  makeTempDir(prefix: string): Promise<string> {
    return this.client.call<string>({ op: 'mkdtemp', prefix }, FILE_OP_MS);
  }

  async copyIn(localPath: string, remotePath: string): Promise<void> {
    const data = (await readFile(localPath)).toString('base64');
    await this.client.call({ op: 'writeFile', path: remotePath, data }, FILE_OP_MS);
  }

  async copyOut(remotePath: string, localPath: string): Promise<void> {
    const data = await this.client.call<string>({ op: 'readFile', path: remotePath }, FILE_OP_MS);
    await writeFile(localPath, Buffer.from(data, 'base64'));
  }

  async writeFile(remotePath: string, content: string): Promise<void> {
    await this.client.call({ op: 'writeFile', path: remotePath, data: Buffer.from(content).toString('base64') }, FILE_OP_MS);
  }

  async readFile(remotePath: string): Promise<string> {
    return Buffer.from(await this.client.call<string>({ op: 'readFile', path: remotePath }, FILE_OP_MS), 'base64').toString('utf8');
  }

  async remove(remotePath: string): Promise<void> {
    await this.client.call({ op: 'remove', path: remotePath }, FILE_OP_MS);
  }

  freePorts(count: number): Promise<number> {
    return this.client.call<number>({ op: 'freePorts', count }, FILE_OP_MS);
  }

  facts(): Promise<TargetFacts> {
    return this.client.call<TargetFacts>({ op: 'facts' }, FILE_OP_MS);
  }

  /**
   * A port on 127.0.0.1 of the host whose connections reach `port` on the guest's loopback: each is
   * tunnelled through the agent. When nothing listens there, the connection is closed without a
   * byte (as QEMU's own port forwards do).
   */
  async reachable(port: number): Promise<{ host: string; port: number }> {
    let forward = this.forwards.get(port);
    if (!forward) {
      forward = new Promise((resolve, reject) => {
        const server = createServer({ allowHalfOpen: true }, (outer) => {
          this.tunnels.add(outer);
          outer.on('close', () => this.tunnels.delete(outer));
          outer.pause();
          this.client.open('connect', port).then(
            (inner) => {
              this.tunnels.add(inner);
              inner.on('close', () => this.tunnels.delete(inner));
              const close = () => {
                outer.destroy();
                inner.destroy();
              };
              outer.pipe(inner);
              inner.pipe(outer);
              outer.resume();
              for (const s of [outer, inner]) {
                s.on('error', close);
                s.on('close', close);
              }
            },
            () => outer.destroy(),
          );
        });
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
      });
      this.forwards.set(port, forward);
    }
    return { host: '127.0.0.1', port: (await forward).port };
  }

  async dispose(): Promise<void> {
    for (const s of this.tunnels) s.destroy();
    const servers = await Promise.allSettled(this.forwards.values());
    await Promise.all(
      servers.map((r) => (r.status === 'fulfilled' ? new Promise<void>((done) => r.value.server.close(() => done())) : undefined)),
    );
    this.forwards.clear();
    this.client.close();
  }
}
