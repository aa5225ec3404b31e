import { describe, expect, it } from 'vitest';
import { cellDirName, parseCell, parseCells } from './cell.js';
import { canStart, cellArgs, whyNotRunnable } from './targets.js';

const IMPLS = ['ref', 'rkt', 'generic'];

describe('cells: impl[:flavor]@target[/guest]', () => {
  it('reads implementation, flavor, target and guest', () => {
    expect(parseCell('ref@host', IMPLS)).toMatchObject({ label: 'ref@host', impl: 'ref', target: 'host', flavor: undefined, guest: undefined });
    expect(parseCell('rkt:fly@host', IMPLS)).toMatchObject({ impl: 'rkt', flavor: 'fly', target: 'host' });
    expect(parseCell(' rkt:host@qemu/systemd ', IMPLS)).toMatchObject({ label: 'rkt:host@qemu/systemd', impl: 'rkt', flavor: 'host', target: 'qemu', guest: 'systemd' });
    expect(parseCell('ref@vagrant/bookworm', IMPLS)).toMatchObject({ target: 'vagrant', guest: 'bookworm' });
    expect(parseCell('rkt:host@qemu/systemd/bullseye', IMPLS)).toMatchObject({ target: 'qemu', guest: 'systemd/bullseye' });
  });

  it('refuses a malformed cell, an unknown implementation or flavor with one line', () => {
    expect(() => parseCell('ref', IMPLS)).toThrow(/^cell "ref": expected impl\[:flavor\]@target\[\/guest\]/);
    expect(() => parseCell('ref@', IMPLS)).toThrow(/expected impl/);
    expect(() => parseCell('ref@host/a/b/c', IMPLS)).toThrow(/expected impl/);
    expect(() => parseCell('Ref@host', IMPLS)).toThrow(/expected impl/);
    expect(() => parseCell('runc@host', IMPLS)).toThrow('cell runc@host: unknown implementation runc (known: ref, rkt, generic)');
    expect(() => parseCell('rkt:stage2@host', IMPLS)).toThrow('cell rkt:stage2@host: unknown flavor stage2 (known: host, coreos, kvm, fly)');
  });

  it('takes a comma-separated list, each cell once', () => {
    expect(parseCells('ref@host,ref@qemu, rkt:fly@host', IMPLS).map((c) => c.label)).toEqual(['ref@host', 'ref@qemu', 'rkt:fly@host']);
    expect(() => parseCells('ref@host,,ref@qemu', IMPLS)).toThrow(/an empty cell/);
    expect(() => parseCells('ref@host,ref@host', IMPLS)).toThrow('cell ref@host is listed twice');
  });

  it('names its report directory without ":" or "/"', () => {
    expect(cellDirName('rkt:host@qemu/systemd')).toBe('rkt.host@qemu~systemd');
    expect(cellDirName('rkt:host@qemu/systemd/bullseye')).toBe('rkt.host@qemu~systemd~bullseye');
  });
});

describe('cells that cannot run here', () => {
  const known = ['host', 'qemu'];
  it('an unknown target or guest profile, with the reason', () => {
    expect(whyNotRunnable(parseCell('ref@container', IMPLS), known)).toBe('unknown target container in this harness (known: host, qemu)');
    expect(whyNotRunnable(parseCell('ref@qemu/trixie', IMPLS), known)).toBe('target qemu has no guest profile or release trixie (profiles: lean, systemd, vagrant; releases: bookworm, bullseye)');
    expect(whyNotRunnable(parseCell('ref@qemu/bookworm/bullseye', IMPLS), known)).toBe('guest bookworm/bullseye: at most one profile and one release');
    expect(whyNotRunnable(parseCell('ref@qemu/lean/systemd', IMPLS), known)).toBe('guest lean/systemd: at most one profile and one release');
    expect(whyNotRunnable(parseCell('ref@host/lean', IMPLS), known)).toBe('target host has no guest profiles');
  });

  it('rkt without a binary', () => {
    const cell = { ...parseCell('rkt:fly@host', IMPLS), implPath: '/nonexistent/rkt' };
    expect(whyNotRunnable(cell, known)).toBe('no rkt binary: /nonexistent/rkt is not an executable file');
  });

  it('a runnable cell gets its flags: implementation, target, guest, report dir, then the common ones', () => {
    const cell = { ...parseCell('rkt:host@qemu/systemd', IMPLS), implPath: '/opt/rkt' };
    expect(cellArgs(cell, '/r/x', ['-t', 'Exit'])).toEqual(['--impl=rkt', '--target=qemu', '--report-dir=/r/x', '--flavor=host', '--vm-profile=systemd', '--impl-path=/opt/rkt', '-t', 'Exit']);
  });

  it('a guest release selects the Debian release the guest is built from, alone or with a profile', () => {
    expect(cellArgs(parseCell('ref@qemu/bullseye', IMPLS), '/r/x', [])).toEqual(['--impl=ref', '--target=qemu', '--report-dir=/r/x', '--guest-release=bullseye']);
    expect(cellArgs(parseCell('rkt:host@qemu/systemd/bullseye', IMPLS), '/r/x', [])).toContain('--guest-release=bullseye');
    expect(cellArgs(parseCell('rkt:host@qemu/systemd/bullseye', IMPLS), '/r/x', [])).toContain('--vm-profile=systemd');
    expect(whyNotRunnable(parseCell('ref@qemu/lean/bullseye', IMPLS), ['qemu'])).toBeUndefined();
  });
});

describe('which cells run at once', () => {
  const host = parseCell('ref@host', IMPLS);
  const host2 = parseCell('rkt:fly@host', IMPLS);
  const vm = parseCell('ref@qemu', IMPLS);
  const vm2 = parseCell('rkt:host@qemu', IMPLS);
  it('never two suites on this machine at once: two host cells wait for each other', () => {
    expect(canStart(host2, [host], 4)).toBe(false);
    expect(canStart(parseCell('ref@container', IMPLS), [host], 4)).toBe(false);
  });
  it('cells in VMs of their own run beside each other and beside one host cell, up to --jobs', () => {
    expect(canStart(vm2, [vm, host], 4)).toBe(true);
    expect(canStart(host, [vm, vm2], 4)).toBe(true);
    expect(canStart(vm2, [vm], 1)).toBe(false);
  });
  it('an unknown target counts as not isolated', () => {
    expect(canStart(parseCell('ref@mars', IMPLS), [host], 4)).toBe(false);
  });
});
