import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { App, Port } from '../aci/manifest.js';
import { RefusalError } from './errors.js';
import { setMutant } from './mutants.js';
import { seccompProfile } from './oci.js';
import { activatedProcess, LISTEN_PID_SHIM, passedFiles, planActivation, SHIM_SYSCALLS } from './socket-activation.js';

afterEach(() => setMutant(undefined));

const app = (ports: Port[]): App => ({ exec: ['/probe'], user: '0', group: '0', ports });
const tcp = (name: string, port: number, extra: Partial<Port> = {}): Port => ({ name, protocol: 'tcp', port, socketActivated: true, ...extra });

describe('planActivation (ACE-PORT-003/004)', () => {
  it("gives each app its own activated ports, each port of a range, in the app's order", () => {
    const plan = planActivation([
      { name: 'a', app: app([tcp('web', 8080), { name: 'plain', protocol: 'tcp', port: 9000 }, tcp('dns', 53, { protocol: 'udp' })]) },
      { name: 'b', app: app([tcp('range', 7000, { count: 2 })]) },
      { name: 'c', app: app([{ name: 'off', protocol: 'tcp', port: 7100, socketActivated: false }]) },
    ]);
    expect(Object.fromEntries(plan)).toEqual({
      a: [
        { name: 'web', protocol: 'tcp', port: 8080 },
        { name: 'dns', protocol: 'udp', port: 53 },
      ],
      b: [
        { name: 'range', protocol: 'tcp', port: 7000 },
        { name: 'range', protocol: 'tcp', port: 7001 },
      ],
      c: [],
    });
  });

  it('refuses what it cannot listen on: another protocol, a range past 65535, one port activated twice', () => {
    expect(() => planActivation([{ name: 'a', app: app([tcp('x', 80, { protocol: 'sctp' })]) }])).toThrow(RefusalError);
    expect(() => planActivation([{ name: 'a', app: app([tcp('x', 65535, { count: 2 })]) }])).toThrow(RefusalError);
    expect(() => planActivation([{ name: 'a', app: app([tcp('x', 80)]) }, { name: 'b', app: app([tcp('y', 79, { count: 2 })]) }])).toThrow(/tcp\/80 is socket-activated twice/);
    // The same number on tcp and udp are two sockets.
    expect(planActivation([{ name: 'a', app: app([tcp('x', 80), tcp('y', 80, { protocol: 'udp' })]) }]).get('a')).toHaveLength(2);
  });

  it('mutants: no sockets at all; every socket to every app', () => {
    const apps = [
      { name: 'a', app: app([tcp('x', 80)]) },
      { name: 'b', app: app([]) },
    ];
    setMutant('no-socket-activation');
    expect(Object.fromEntries(planActivation(apps))).toEqual({ a: [], b: [] });
    setMutant('sockets-to-every-app');
    expect(Object.fromEntries(planActivation(apps))).toEqual({ a: [{ name: 'x', protocol: 'tcp', port: 80, shared: true }], b: [{ name: 'x', protocol: 'tcp', port: 80, shared: true }] });
  });
});

describe('the main process of an activated app', () => {
  const proc = { args: ['/bin/app', '-v'], env: new Map([['PATH', '/bin']]) };
  const sockets = [
    { name: 'web', protocol: 'tcp' as const, port: 80 },
    { name: 'dns', protocol: 'udp' as const, port: 53 },
  ];

  it('starts through the shim passed after the sockets; LISTEN_FDS and names in the environment, LISTEN_PID left to the shim', () => {
    const p = activatedProcess(proc, sockets);
    expect(p).toEqual({ args: ['/proc/self/fd/5', '/bin/app', '-v'], env: new Map([['PATH', '/bin'], ['LISTEN_FDS', '2'], ['LISTEN_FDNAMES', 'web:dns']]) });
    expect(proc.env.has('LISTEN_FDS')).toBe(false);
    if (existsSync(LISTEN_PID_SHIM)) {
      expect(passedFiles(sockets)).toEqual([{ socket: 'tcp', port: 80 }, { socket: 'udp', port: 53 }, { file: LISTEN_PID_SHIM }]);
    }
  });

  it('changes nothing without sockets', () => {
    expect(activatedProcess(proc, [])).toEqual({});
    expect(passedFiles([])).toEqual([]);
  });

  it('mutant listen-pid-one: LISTEN_PID=1 and no shim', () => {
    setMutant('listen-pid-one');
    expect(activatedProcess(proc, sockets)).toEqual({
      args: ['/bin/app', '-v'],
      env: new Map([['PATH', '/bin'], ['LISTEN_FDS', '2'], ['LISTEN_FDNAMES', 'web:dns'], ['LISTEN_PID', '1']]),
    });
    expect(passedFiles(sockets)).toEqual([{ socket: 'tcp', port: 80 }, { socket: 'udp', port: 53 }]);
  });
});

describe("the shim under the app's seccomp filter (crun loads it before exec)", () => {
  const sockets = [{ name: 'web', protocol: 'tcp' as const, port: 80 }];
  const proc = (seccomp?: Record<string, unknown>) => ({ args: ['/bin/app'], env: new Map<string, string>(), ...(seccomp ? { seccomp } : {}) });
  const retain = seccompProfile([{ name: 'os/linux/seccomp-retain-set', value: { set: ['read', 'write'] } }])!;
  const remove = (set: string[]) => seccompProfile([{ name: 'os/linux/seccomp-remove-set', value: { set } }])!;

  it('a retain-set also allows the calls of the shim; the app still gets nothing else', () => {
    const p = activatedProcess(proc(retain), sockets) as { seccomp: { defaultAction: string; syscalls: { names: string[]; action: string }[] } };
    expect(p.seccomp.defaultAction).toBe(retain.defaultAction);
    expect(p.seccomp.syscalls).toHaveLength(1);
    expect(p.seccomp.syscalls[0]!.names).toEqual(expect.arrayContaining(['read', 'write', ...SHIM_SYSCALLS]));
    expect(activatedProcess(proc(), sockets)).not.toHaveProperty('seccomp');
  });

  it('refuses a remove-set that blocks a call of the shim, and keeps other remove-sets as they are', () => {
    const app = { exec: ['/bin/app'], user: '0', group: '0', ports: [{ name: 'web', protocol: 'tcp', port: 80, socketActivated: true }] };
    expect(() => planActivation([{ name: 'a', app, seccomp: remove(['getpid']) }])).toThrow(/needs getpid, which its os\/linux\/seccomp-remove-set blocks/);
    expect(planActivation([{ name: 'a', app, seccomp: remove(['reboot']) }]).get('a')).toHaveLength(1);
    expect(activatedProcess(proc(remove(['reboot'])), sockets)).not.toHaveProperty('seccomp');
  });
});
