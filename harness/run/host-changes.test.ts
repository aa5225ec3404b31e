import { describe, expect, test } from 'vitest';
import type { Target } from '../target/index.js';
import { hostChangesRefused, HostSettingsWatch, renderHostChanges, settingClaim, settingPath } from './host-changes.js';

/** A target whose files are a map; `sh -c 'printf … > "$2"' sh VALUE PATH` writes one. */
function fakeTarget(files: Record<string, string>, writable = true): Target {
  return {
    readFile: async (p: string) => {
      if (!(p in files)) throw new Error(`ENOENT: ${p}`);
      return files[p]!;
    },
    exec: async (argv: readonly string[]) => {
      const [value, path] = argv.slice(-2) as [string, string];
      if (writable) files[path] = `${value}\n`;
      return { exitCode: writable ? 0 : 1, signal: null, stdout: '', stderr: writable ? '' : 'Permission denied', timedOut: false, durationMs: 1 };
    },
  } as unknown as Target;
}

const OVERCOMMIT = { sysctl: 'vm.overcommit_ratio' };
const PATH = '/proc/sys/vm/overcommit_ratio';

describe('declared host changes', () => {
  test('name a kernel parameter by its /proc/sys file and claim it alone', () => {
    expect(settingPath(OVERCOMMIT)).toBe(PATH);
    expect(settingClaim(OVERCOMMIT)).toEqual({ name: 'host-setting:sysctl vm.overcommit_ratio', mode: 'exclusive' });
    expect(() => settingPath({ sysctl: '../../etc/passwd' })).toThrow(/not a sysctl name/);
  });

  test('are skipped (kind host) only on the host target with --no-host-changes', () => {
    expect(hostChangesRefused({ target: 'host', hostChanges: false }, [OVERCOMMIT])).toMatch(/^host: --no-host-changes: .*sysctl vm\.overcommit_ratio/);
    expect(hostChangesRefused({ target: 'host', hostChanges: true }, [OVERCOMMIT])).toBeUndefined();
    for (const target of ['qemu', 'container', 'vagrant'] as const) expect(hostChangesRefused({ target, hostChanges: false }, [OVERCOMMIT])).toBeUndefined();
    expect(hostChangesRefused({ target: 'host', hostChanges: false }, [])).toBeUndefined();
  });

  test('are read before and after the pod, and put back only when the test is done with them', async () => {
    const files = { [PATH]: '50\n' };
    const watch = await HostSettingsWatch.watch(fakeTarget(files), [OVERCOMMIT]);
    files[PATH] = '57\n'; // what a pod that breaks ACE-ISO-SYSCTL-005 does
    await watch.seen();
    expect(files[PATH]).toBe('57\n'); // the test still sees what the pod did
    await watch.restore();
    expect(files[PATH]).toBe('50\n');
    expect(watch.records).toEqual([{ setting: 'sysctl vm.overcommit_ratio', before: '50', after: '57', restored: true, final: '50' }]);
  });

  test('an unchanged setting is not written', async () => {
    const files = { [PATH]: '50\n' };
    const target = fakeTarget(files, false);
    const watch = await HostSettingsWatch.watch(target, [OVERCOMMIT]);
    await watch.seen();
    await watch.restore();
    expect(watch.records).toEqual([{ setting: 'sysctl vm.overcommit_ratio', before: '50', after: '50', restored: false, final: '50' }]);
  });

  test('a setting that cannot be put back says so', async () => {
    const files = { [PATH]: '50\n' };
    const watch = await HostSettingsWatch.watch(fakeTarget(files, false), [OVERCOMMIT]);
    files[PATH] = '57\n';
    await watch.seen();
    await watch.restore();
    expect(watch.records[0]).toMatchObject({ after: '57', restored: false, final: '57', error: 'could not write it back: Permission denied' });
  });

  test('the summary lists each setting with what was read before and after', () => {
    const lines = renderHostChanges([
      { setting: 'sysctl vm.overcommit_ratio', test: 'suites/a.test.ts > x', before: '50', after: '50', restored: false, final: '50' },
      { setting: 'sysctl vm.overcommit_ratio', before: '50', after: '57', restored: true, final: '50' },
      { setting: 'sysctl vm.overcommit_ratio', before: '50', after: '57', restored: false, final: '57', error: 'could not write it back: EPERM' },
    ]);
    expect(lines.slice(1)).toEqual([
      'Host changes (settings tests declared they may change; read before and after each pod):',
      '  - sysctl vm.overcommit_ratio: 50 before, unchanged after the pod — suites/a.test.ts > x',
      '  - sysctl vm.overcommit_ratio: 50 before, changed to 57 by the pod, put back',
      '  - sysctl vm.overcommit_ratio: 50 before, changed to 57 by the pod, NOT put back (now 57) (could not write it back: EPERM)',
    ]);
    expect(renderHostChanges([])).toEqual([]);
  });
});
