// The facts of the machine this code runs on (the host target, or the guest through its agent).
import { readFileSync } from 'node:fs';
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
