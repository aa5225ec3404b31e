import { defaultJobs } from '../schedule/jobs.js';
import { describe, expect, test } from 'vitest';
import { parseCli } from './config.js';
import { UsageError } from './errors.js';

describe('CLI flags', () => {
  test('defaults to ref on the host target with reports/', () => {
    const { config, selection, mode } = parseCli([]);
    expect(config).toMatchObject({ impl: 'ref', target: 'host', podTimeoutMs: 60_000, dryRun: false });
    expect(config.reportDir).toMatch(/\/reports$/);
    expect(selection).toEqual({ fileFilters: [], clauseGlobs: [], testNamePattern: undefined, level: undefined });
    expect(mode).toBe('run');
  });

  test('takes --impl, --impl-path, --report-dir in both spellings, and passes filters through', () => {
    const r = parseCli(['--impl=rkt', '--impl-path', '/usr/bin/rkt', '--report-dir=out', 'ace-exec', '-t', 'PATH']);
    expect(r.config.impl).toBe('rkt');
    expect(r.config.implPath).toBe('/usr/bin/rkt');
    expect(r.config.reportDir).toMatch(/\/out$/);
    expect(r.selection.fileFilters).toEqual(['ace-exec']);
    expect(r.selection.testNamePattern).toBe('PATH');
  });

  test('takes a stage1 --flavor, and leaves it unset by default', () => {
    expect(parseCli(['--impl=rkt', '--flavor=fly']).config.flavor).toBe('fly');
    expect(parseCli(['--impl=rkt', '--flavor', 'host']).config.flavor).toBe('host');
    expect(parseCli(['--impl=rkt']).config.flavor).toBeUndefined();
  });

  test('takes the qemu target with its guest options', () => {
    const c = parseCli(['--target=qemu', '--vm-profile=systemd', '--vm-image', 'guest']).config;
    expect(c).toMatchObject({ target: 'qemu', vmProfile: 'systemd' });
    expect(c.vmImage).toMatch(/\/guest$/);
    expect(parseCli(['--target=qemu', '--guest-release=bullseye']).config.guestRelease).toBe('bullseye');
    expect(parseCli(['--target=qemu']).config.guestRelease).toBeUndefined();
  });

  test('takes the vagrant target with its provider and --keep-vm', () => {
    expect(parseCli(['--target=vagrant', '--vagrant-provider=virtualbox', '--keep-vm']).config).toMatchObject({ target: 'vagrant', vagrantProvider: 'virtualbox', keepVm: true });
    const c = parseCli(['--target=vagrant']).config;
    expect(c.vagrantProvider).toBeUndefined();
    expect(c.keepVm).toBeUndefined();
  });

  test('takes selection by clause and level, and the list and explain modes', () => {
    const r = parseCli(['--clause', 'ACE-ISO-*', '--clause=POD-CTX-002', '--level=MUST', '--explain']);
    expect(r.selection).toMatchObject({ clauseGlobs: ['ACE-ISO-*', 'POD-CTX-002'], level: 'must' });
    expect(r.mode).toBe('explain');
    expect(r.config.dryRun).toBe(true);
    expect(parseCli(['--list']).mode).toBe('list');
  });

  test('takes --jobs, defaults it from the machine (one per guest vCPU on VM targets, at most one per core), and --no-host-changes', () => {
    expect(parseCli(['--jobs', '3']).config.jobs).toBe(3);
    expect(parseCli(['--jobs=1']).config.jobs).toBe(1);
    expect(parseCli([]).config.jobs).toBeGreaterThanOrEqual(1);
    expect(parseCli(['--target=qemu']).config.jobs).toBe(defaultJobs('qemu'));
    expect(parseCli(['--target=qemu', '--jobs=3']).config.jobs).toBe(3);
    expect(parseCli([]).config.hostChanges).toBe(true);
    expect(parseCli(['--no-host-changes']).config.hostChanges).toBe(false);
  });

  test('takes --rerun-failed with the earlier report dir', () => {
    expect(parseCli(['--rerun-failed', 'reports']).selection.rerunFailed).toMatch(/\/reports$/);
  });

  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--target=moon'], /unknown --target "moon"/],
    [['--flavor=src'], /unknown --flavor "src"/],
    [['--pod-timeout=-1'], /--pod-timeout/],
    [['--jobs=0'], /--jobs must be a whole number from 1 to 64/],
    [['--jobs=2.5'], /--jobs must be a whole number/],
    [['--jobs=many'], /--jobs must be a whole number/],
    [['--jobs=65'], /--jobs must be a whole number from 1 to 64/],
    [['--impl'], /--impl/],
    [['--level=often'], /unknown --level "often"/],
    [['-t', '('], /not a regular expression/],
    [['--list', '--explain'], /exclude each other/],
    [['--vm-image=x'], /apply to --target=qemu only/],
    [['--target=qemu', '--vm-profile=fat'], /unknown --vm-profile "fat"/],
    [['--target=qemu', '--guest-release=trixie'], /unknown --guest-release "trixie" \(known: bookworm, bullseye\)/],
    [['--guest-release=bullseye'], /apply to --target=qemu only/],
    [['--target=qemu', '--guest-release=bullseye', '--vm-image=x'], /--guest-release and --vm-image exclude each other/],
    [['--keep-vm'], /apply to --target=vagrant only/],
    [['--target=qemu', '--vagrant-provider=libvirt'], /apply to --target=vagrant only/],
    [['--target=vagrant', '--vagrant-provider=hyperv'], /unknown --vagrant-provider "hyperv"/],
  ])('refuses %j with one line', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    try {
      parseCli(argv);
    } catch (err) {
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
