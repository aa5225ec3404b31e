import { mkdir, mkdtemp, rm, symlink, writeFile, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusalError } from './errors.js';
import { parseIdFile, resolveGroup, resolveUser } from './users.js';

describe('user and group resolution (ACE-USER-001..004)', () => {
  let rootfs: string;
  beforeAll(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'ref-users-'));
    await mkdir(join(rootfs, 'etc'));
    await writeFile(
      join(rootfs, 'etc/passwd'),
      '# comment\nroot:x:0:0:root:/root:/bin/sh\nappcuser:x:4242:4343::/:/bin/sh\n1000:x:4444:4444::/:/bin/sh\nbroken line\nappcuser:x:9999:9999::/:/bin/sh\n',
    );
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nappcgrp:x:4343:appcuser\n');
    await writeFile(join(rootfs, 'owned'), '');
    await chown(join(rootfs, 'owned'), 3333, 4444);
    await symlink('/owned', join(rootfs, 'link-to-owned'));
    // An absolute link that would leave the rootfs on the host must resolve inside it.
    await symlink('/etc/passwd', join(rootfs, 'escape'));
  });
  afterAll(async () => {
    await rm(rootfs, { recursive: true, force: true });
  });

  it('parses passwd-style files, first entry of a name wins', () => {
    const ids = parseIdFile('a:x:1:1\nb:x:2:2\na:x:3:3\n:x:4:4\nc:x:notnum:1\n');
    expect([...ids]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('resolves names through the image files first', async () => {
    expect(await resolveUser(rootfs, 'appcuser')).toBe(4242);
    expect(await resolveGroup(rootfs, 'appcgrp')).toBe(4343);
  });

  it('prefers an all-digit name in passwd over the number (ACE-USER-003)', async () => {
    expect(await resolveUser(rootfs, '1000')).toBe(4444);
  });

  it('takes unmatched all-digit values as numbers (ACE-USER-002)', async () => {
    expect(await resolveUser(rootfs, '1234')).toBe(1234);
    expect(await resolveGroup(rootfs, '5678')).toBe(5678);
  });

  it('uses the owner of a path inside the rootfs (ACE-USER-004)', async () => {
    expect(await resolveUser(rootfs, '/owned')).toBe(3333);
    expect(await resolveGroup(rootfs, '/owned')).toBe(4444);
    expect(await resolveUser(rootfs, '/link-to-owned')).toBe(3333);
  });

  it('refuses what cannot be resolved', async () => {
    await expect(resolveUser(rootfs, 'nobody-here')).rejects.toBeInstanceOf(RefusalError);
    await expect(resolveGroup(rootfs, '/missing')).rejects.toThrow(/no such file/);
    await expect(resolveUser(rootfs, '99999999999')).rejects.toThrow(/out of range/);
  });

  it('works without /etc/passwd', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ref-users-empty-'));
    try {
      expect(await resolveUser(empty, '0')).toBe(0);
      await expect(resolveUser(empty, 'root')).rejects.toBeInstanceOf(RefusalError);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
