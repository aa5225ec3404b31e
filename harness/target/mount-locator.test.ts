import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HostTarget } from './host-target.js';
import { locateMount, parseMountinfo, targetPathsOf } from './mount-locator.js';

describe('targetPathsOf', () => {
  const host = parseMountinfo(
    [
      '26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 26 8:1 /srv/data /data rw,relatime shared:9 - ext4 /dev/sda1 rw',
      '41 26 0:50 / /tmp rw,relatime shared:10 - tmpfs tmpfs rw',
      '42 26 0:51 / /with\\040space rw - tmpfs tmpfs rw',
    ].join('\n'),
  );

  test('maps a bind of a directory of the root device to its path, closest root first', () => {
    const [entry] = parseMountinfo('300 200 8:1 /srv/data/pods/x/vol /keep rw - ext4 /dev/sda1 rw');
    expect(targetPathsOf(entry!, host)).toEqual(['/data/pods/x/vol', '/srv/data/pods/x/vol']);
  });

  test('maps a directory of a tmpfs mounted on the target', () => {
    const [entry] = parseMountinfo('300 200 0:50 /appc-run/vol /keep rw - tmpfs tmpfs rw');
    expect(targetPathsOf(entry!, host)).toEqual(['/tmp/appc-run/vol']);
  });

  test('unescapes mountinfo paths', () => {
    const [entry] = parseMountinfo('300 200 0:51 /a\\040b /keep rw - tmpfs tmpfs rw');
    expect(targetPathsOf(entry!, host)).toEqual(['/with space/a b']);
  });

  test('finds nothing for a device the target does not mount', () => {
    const [entry] = parseMountinfo('300 200 0:99 /vol /keep rw - tmpfs tmpfs rw');
    expect(targetPathsOf(entry!, host)).toEqual([]);
  });
});

describe.runIf(process.getuid?.() === 0 && existsSync('/usr/bin/unshare'))('locateMount', () => {
  test('finds the host directory bound into another mount namespace by its marker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appc-locate-'));
    const marker = `marker-${process.pid}`;
    await writeFile(join(dir, marker), 'x');
    // A process in its own mount namespace that sees `dir` at /mnt (the host's /mnt is left alone).
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind "${dir}" /mnt && echo ready && exec sleep 30`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const target = new HostTarget();
      expect(await locateMount(target, '/mnt', marker)).toBe(dir);
      expect(await locateMount(target, '/mnt', 'no-such-marker')).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
