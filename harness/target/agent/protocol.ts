// The guest agent's wire protocol: one TCP connection per client, whose first line says what it
// is for. `rpc`: newline-delimited JSON requests and answers, matched by id, many at a time.
// `connect`: the agent joins the connection to a TCP port on the guest's loopback (how a guest
// port reaches 127.0.0.1 on the host). File contents and command output travel base64-encoded.
import type { ExecResult } from '../target.js';

export interface Hello {
  token: string;
  mode: 'rpc' | 'connect';
  /** connect: the guest port on 127.0.0.1 */
  port?: number;
}

export type Request =
  | { id: number; op: 'exec'; argv: string[]; cwd?: string; env?: Record<string, string>; timeoutMs?: number }
  /** stops the command of the connection's exec request `exec` as a timeout does (SIGTERM, then
   *  SIGKILL); that exec still answers, once the command has ended */
  | { id: number; op: 'cancel'; exec: number }
  | { id: number; op: 'mkdtemp'; prefix: string }
  | { id: number; op: 'writeFile'; path: string; data: string }
  | { id: number; op: 'readFile'; path: string }
  | { id: number; op: 'remove'; path: string }
  | { id: number; op: 'freePorts'; count: number }
  | { id: number; op: 'facts' };

/** An exec's outcome as the target gives it, with stdout and stderr base64-encoded on the wire. */
export type ExecAnswer = ExecResult;

/** `spawn`: the command could not be started; `fs`: a file operation failed; `protocol`: a bad request. */
export type ErrorKind = 'spawn' | 'fs' | 'protocol';

export type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; kind: ErrorKind; message: string };

/** What the target is, for reports. */
export interface TargetFacts {
  /** e.g. Debian GNU/Linux 12 (bookworm) */
  distribution: string;
  /** uname -r */
  kernel: string;
  /** 1, 2, or 'hybrid' (v1 controllers with a v2 hierarchy beside them) */
  cgroup: '1' | '2' | 'hybrid';
  /** the command name of PID 1 (systemd, tini, …) */
  init: string;
}
