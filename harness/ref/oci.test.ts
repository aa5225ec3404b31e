import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PATH, type App } from '../aci/manifest.js';
import { RefusalError } from './errors.js';
import { setMutant } from './mutants.js';
import {
  appEnvironment,
  buildOciConfig,
  capabilities,
  DEFAULT_CAPABILITIES,
  effectiveIsolators,
  resources,
  seccompProfile,
  type AppRuntime,
} from './oci.js';

afterEach(() => setMutant(undefined));

const env = [
  { name: 'FOO', value: '$PATH ${HOME} $(id)' },
  { name: 'BAR', value: 'x' },
];

describe('environment (ACE-ENV-001/002/004/007/008)', () => {
  it('sets PATH, the app entries verbatim, AC_APP_NAME and container in order', () => {
    expect([...appEnvironment(env, 'web', 'example.com/web-image')]).toEqual([
      ['PATH', DEFAULT_PATH],
      ['FOO', '$PATH ${HOME} $(id)'],
      ['BAR', 'x'],
      ['AC_APP_NAME', 'web'],
      ['container', 'appc-ref'],
    ]);
  });

  it('lets the app override PATH in place, never twice', () => {
    const e = appEnvironment([{ name: 'PATH', value: '/opt/bin' }], 'a', 'i');
    expect(e.get('PATH')).toBe('/opt/bin');
    expect([...e.keys()]).toEqual(['PATH', 'AC_APP_NAME', 'container']);
  });

  it('keeps AC_APP_NAME and container as the executor says', () => {
    const e = appEnvironment([{ name: 'AC_APP_NAME', value: 'spoof' }], 'real', 'i');
    expect(e.get('AC_APP_NAME')).toBe('real');
  });

  it.each([
    ['no-path-default', (e: Map<string, string>) => expect(e.has('PATH')).toBe(false)],
    ['drop-env', (e: Map<string, string>) => expect(e.has('FOO')).toBe(false)],
    ['wrong-app-name', (e: Map<string, string>) => expect(e.get('AC_APP_NAME')).toBe('example.com/web-image')],
  ] as const)('mutant %s', (name, check) => {
    setMutant(name);
    check(appEnvironment(env, 'web', 'example.com/web-image'));
  });
});

describe('capabilities (ACE-ISO-CAPRM-*, ACE-ISO-CAPRT-*)', () => {
  it('defaults to the 14 appc capabilities', () => {
    expect(capabilities([])).toEqual([...DEFAULT_CAPABILITIES]);
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
  });

  it('retain-set is exactly the set, even beyond the default', () => {
    const set = ['CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN'];
    expect(capabilities([{ name: 'os/linux/capabilities-retain-set', value: { set } }])).toEqual([
      'CAP_NET_ADMIN',
      'CAP_NET_BIND_SERVICE',
    ]);
  });

  it('remove-set removes from the default; unknown removals change nothing', () => {
    const caps = capabilities([{ name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_MKNOD', 'CAP_SYS_ADMIN'] } }]);
    expect(caps).toEqual(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'));
  });

  it('refuses a bad value and the retain+remove combination', () => {
    expect(() => capabilities([{ name: 'os/linux/capabilities-retain-set', value: { set: [] } }])).toThrow(RefusalError);
    expect(() =>
      capabilities([
        { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } },
        { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_KILL'] } },
      ]),
    ).toThrow(/cannot be combined/);
  });
});

describe('isolators', () => {
  it('app-level isolators win over pod-level ones of the same name', () => {
    const app: App = { user: '0', group: '0', isolators: [{ name: 'resource/memory', value: { limit: '1G' } }] };
    const pod = [
      { name: 'resource/memory', value: { limit: '128Mi' } },
      { name: 'resource/cpu', value: { limit: '500m' } },
    ];
    expect(effectiveIsolators(pod, app)).toEqual([
      { name: 'resource/memory', value: { limit: '1G' } },
      { name: 'resource/cpu', value: { limit: '500m' } },
    ]);
  });

  it('maps memory, cpu and cpu-shares to cgroup values', () => {
    expect(
      resources([
        { name: 'resource/memory', value: { request: '1Mi', limit: '128Mi' } },
        { name: 'resource/cpu', value: { limit: '500m' } },
        { name: 'os/linux/cpu-shares', value: 512 },
      ]),
    ).toEqual({ memoryLimit: 134217728, cpuQuota: 50000, cpuShares: 512 });
    expect(resources([{ name: 'resource/cpu', value: { limit: '1m' } }]).cpuQuota).toBe(1000);
    // A request is a share (1024 per CPU); without a request the limit is the request.
    expect(resources([{ name: 'resource/cpu', value: { request: '1' } }])).toEqual({ cpuShares: 1024 });
    expect(resources([{ name: 'resource/cpu', value: { limit: '250m' } }])).toEqual({ cpuQuota: 25000, cpuShares: 256 });
    expect(resources([{ name: 'os/linux/cpu-shares', value: 7 }, { name: 'resource/cpu', value: { request: '2' } }]).cpuShares).toBe(7);
  });

  it('refuses malformed quantities', () => {
    expect(() => resources([{ name: 'resource/memory', value: { limit: 'lots' } }])).toThrow(RefusalError);
  });
});

/** The parts of config.json these tests look at. */
interface OciShape {
  process: {
    args: string[];
    cwd: string;
    env: string[];
    user: unknown;
    capabilities: Record<string, string[]>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: unknown;
  mounts: { destination: string; options?: string[] }[];
  linux: { namespaces: unknown[]; cgroupsPath: string; resources: { memory?: unknown; cpu?: unknown } };
}

describe('OCI config', () => {
  const rt: AppRuntime = {
    args: ['/usr/bin/probe', 'exit=1'],
    cwd: '/work',
    env: new Map([
      ['PATH', DEFAULT_PATH],
      ['AC_APP_NAME', 'a'],
    ]),
    uid: 0,
    gid: 0,
    additionalGids: [400, 500],
    capabilities: ['CAP_KILL'],
    noNewPrivileges: true,
    oomScoreAdj: 100,
    readonlyRootfs: true,
    sysctl: { 'net.ipv4.ip_default_ttl': '42' },
    security: {},
    volumes: [
      { target: '/data', source: '/host/data', readOnly: true, recursive: true },
      { target: '/flat', source: '/host/flat', readOnly: false, recursive: false },
    ],
    namespaces: { pid: '/proc/9/ns/pid', net: '/proc/9/ns/net', ipc: '/proc/9/ns/ipc', uts: '/proc/9/ns/uts' },
    cgroupsPath: '/appc-ref/u/a',
    resources: { memoryLimit: 1024, cpuQuota: 50000 },
  };

  it('carries process, root, mounts and linux settings', () => {
    const c = buildOciConfig(rt) as unknown as OciShape;
    expect(c.process.args).toEqual(['/usr/bin/probe', 'exit=1']);
    expect(c.process.cwd).toBe('/work');
    expect(c.process.env).toEqual([`PATH=${DEFAULT_PATH}`, 'AC_APP_NAME=a']);
    expect(c.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [400, 500] });
    expect(c.process.capabilities.bounding).toEqual(['CAP_KILL']);
    expect(c.process.capabilities.effective).toEqual(['CAP_KILL']);
    expect(c.process.noNewPrivileges).toBe(true);
    expect(c.process.oomScoreAdj).toBe(100);
    expect(c.root).toEqual({ path: 'rootfs', readonly: true });
    const byDest = Object.fromEntries(c.mounts.map((m) => [m.destination, m]));
    for (const std of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']) expect(byDest[std]).toBeDefined();
    expect(byDest['/dev/pts']!.options).toContain('newinstance');
    expect(byDest['/data']).toEqual({ destination: '/data', type: 'bind', source: '/host/data', options: ['rbind', 'ro'] });
    expect(byDest['/flat']!.options).toEqual(['bind', 'rw']);
    expect(c.linux.namespaces).toEqual([
      { type: 'pid', path: '/proc/9/ns/pid' },
      { type: 'network', path: '/proc/9/ns/net' },
      { type: 'ipc', path: '/proc/9/ns/ipc' },
      { type: 'uts', path: '/proc/9/ns/uts' },
      { type: 'mount' },
    ]);
    expect(c.linux.cgroupsPath).toBe('/appc-ref/u/a');
    expect(c.linux.resources.memory).toEqual({ limit: 1024 });
    expect(c.linux.resources.cpu).toEqual({ quota: 50000, period: 100000 });
  });

  it('gives a non-root app the bounding set only', () => {
    const c = buildOciConfig({ ...rt, uid: 1000 }) as { process: { capabilities: Record<string, string[]> } };
    expect(c.process.capabilities.bounding).toEqual(['CAP_KILL']);
    expect(c.process.capabilities.effective).toEqual([]);
    expect(c.process.capabilities.permitted).toEqual([]);
  });

  it('creates a new netns when none is given (separate-netns mutant)', () => {
    const { net: _net, ...ns } = rt.namespaces;
    const c = buildOciConfig({ ...rt, namespaces: ns }) as { linux: { namespaces: unknown[] } };
    expect(c.linux.namespaces).toContainEqual({ type: 'network' });
  });
});

describe('seccomp errno names', () => {
  const remove = (errno: string) => [{ name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir'], errno } }];
  it('takes POSIX and Linux-specific errno names (ACE-ISO-SECRM-010), numbered as Linux does', () => {
    expect(seccompProfile(remove('EXDEV'))).toMatchObject({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 }] });
    expect(seccompProfile(remove('ENOKEY'))).toMatchObject({ syscalls: [{ errnoRet: 126 }] });
    expect(seccompProfile(remove('EHWPOISON'))).toMatchObject({ syscalls: [{ errnoRet: 133 }] });
    expect(() => seccompProfile(remove('ENOSUCHERRNO'))).toThrow(RefusalError);
  });

  it('the posix-errno-only mutant refuses the Linux-specific ones', () => {
    setMutant('posix-errno-only');
    expect(() => seccompProfile(remove('ENOKEY'))).toThrow(/unknown errno/);
    expect(seccompProfile(remove('EXDEV'))).toBeDefined();
  });
});
