import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH } from '../aci/manifest.js';
import { lookupExec } from './exec.js';
import { setMutant } from './mutants.js';

describe('exec[0] lookup (ACE-EXEC-001..003)', () => {
  let rootfs: string;
  let volume: string;
  beforeAll(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'ref-exec-'));
    volume = await mkdtemp(join(tmpdir(), 'ref-exec-vol-'));
    for (const d of ['usr/bin', 'usr/local/bin', 'bin', 'opt/app']) await mkdir(join(rootfs, d), { recursive: true });
    const exe = async (p: string, mode = 0o755) => {
      await writeFile(join(rootfs, p), '');
      await chmod(join(rootfs, p), mode);
    };
    await exe('usr/bin/probe');
    await exe('usr/local/bin/notexec', 0o644);
    await exe('bin/notexec');
    await exe('opt/app/tool');
    await symlink('/usr/bin/probe', join(rootfs, 'usr/local/bin/linked'));
    await writeFile(join(volume, 'onvolume'), '');
    await chmod(join(volume, 'onvolume'), 0o755);
  });
  afterAll(async () => {
    await rm(rootfs, { recursive: true, force: true });
    await rm(volume, { recursive: true, force: true });
  });
  afterEach(() => setMutant(undefined));

  it('searches PATH in order, inside the rootfs', async () => {
    expect(await lookupExec({ rootfs }, 'probe', DEFAULT_PATH, '/')).toBe('/usr/bin/probe');
    expect(await lookupExec({ rootfs }, 'linked', DEFAULT_PATH, '/')).toBe('/usr/local/bin/linked');
  });

  it('skips non-executable files like execvp', async () => {
    expect(await lookupExec({ rootfs }, 'notexec', DEFAULT_PATH, '/')).toBe('/bin/notexec');
  });

  it('uses the PATH the app has, and the working directory for empty entries', async () => {
    expect(await lookupExec({ rootfs }, 'tool', DEFAULT_PATH, '/')).toBeUndefined();
    expect(await lookupExec({ rootfs }, 'tool', '/opt/app', '/')).toBe('/opt/app/tool');
    expect(await lookupExec({ rootfs }, 'tool', ':/usr/bin', '/opt/app')).toBe('/opt/app/tool');
  });

  it('falls back to confstr(_CS_PATH) without PATH (ACE-EXEC-002)', async () => {
    expect(await lookupExec({ rootfs }, 'notexec', undefined, '/')).toBe('/bin/notexec');
  });

  it('finds programs on volumes', async () => {
    const view = { rootfs, mounts: [{ target: '/vol', source: volume }] };
    expect(await lookupExec(view, 'onvolume', '/vol:/usr/bin', '/')).toBe('/vol/onvolume');
  });

  it('takes a name with a slash as it is (ACE-EXEC-003)', async () => {
    expect(await lookupExec({ rootfs }, '/opt/app/tool', DEFAULT_PATH, '/')).toBe('/opt/app/tool');
    expect(await lookupExec({ rootfs }, 'app/tool', DEFAULT_PATH, '/opt')).toBe('app/tool');
  });

  it('exec-no-path-lookup mutant resolves as /name', async () => {
    setMutant('exec-no-path-lookup');
    expect(await lookupExec({ rootfs }, 'probe', DEFAULT_PATH, '/')).toBe('/probe');
  });
});
