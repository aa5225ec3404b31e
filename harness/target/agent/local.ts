// What the machine this code runs on offers as a target, with Node's built-ins only: the host
// target uses it directly, a guest through its agent.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { release } from 'node:os';
import type { TargetFacts } from './protocol.js';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function localFacts(): TargetFacts {
  const osRelease = read('/etc/os-release');
  const distribution = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown';
  const mounts = read('/proc/self/mountinfo');
  const v1 = / - cgroup /.test(mounts);
  const v2 = / - cgroup2 /.test(mounts);
  const cgroup = v1 && v2 ? 'hybrid' : v2 ? '2' : '1';
  return { distribution, kernel: release(), cgroup, init: read('/proc/1/comm').trim() || 'unknown' };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive TCP ports free on this machine's 127.0.0.1 right now. */
export async function freeLocalPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (60000 - 20000 - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}
