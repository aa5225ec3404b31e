// The run's one configuration object, set from CLI flags. It crosses into vitest workers through
// `provide`, so it stays plain JSON.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GUEST_RELEASES, type GuestProfileName, type GuestRelease } from '../target/guest/guest-image.js';
import type { TargetHandle } from '../target/lifecycle.js';
import { VAGRANT_PROVIDERS, type VagrantProvider } from '../target/vagrant/provider.js';
import { TARGET_KINDS, type TargetKind } from '../target/target.js';
import { defaultJobs } from '../schedule/jobs.js';
import { UsageError } from './errors.js';
import { REPO_ROOT } from './paths.js';

export interface RunConfig {
  impl: string;
  /** binary of the implementation under test, for adapters that need one */
  implPath?: string;
  /** --impl=generic: the adapter's config file (JSON or YAML), absolute */
  implConfig?: string;
  target: TargetKind;
  /** --target=qemu: a directory holding the user's own guest (vmlinux or vmlinuz, initrd.img, rootfs.img) */
  vmImage?: string;
  /** --target=qemu: the guest profile; default: the one the implementation needs */
  vmProfile?: GuestProfileName;
  /** --target=qemu: the Debian release the harness builds the guest from; default: bookworm */
  guestRelease?: GuestRelease;
  /** --target=vagrant: the Vagrant provider; default: libvirt when vagrant-libvirt is installed, else virtualbox */
  vagrantProvider?: VagrantProvider;
  /** --target=vagrant: keep the machine after the run (and say how to reach and remove it) */
  keepVm?: boolean;
  /** set by the run (main.ts) once the target is up: how test workers reach it */
  targetHandle?: TargetHandle;
  /** absolute */
  reportDir: string;
  /** a pod that runs longer is killed and its test ends as a harness timeout */
  podTimeoutMs: number;
  /** stage1 flavor, for implementations that have flavors (rkt); default: the implementation's own */
  flavor?: Flavor;
  /** set by the run (main.ts) when the adapter keeps run-wide state on the target (e.g. rkt's data
   *  dir and metadata service): a private directory there; adapters made without one manage their own */
  runDir?: string;
  /** ref only: break one clause on purpose (the suite's self-check) */
  mutant?: string;
  /** expectation file; default: harness/impl/expectations/<impl>.json when it exists */
  expectationsPath?: string;
  /** --explain: walk the tests without running pods, to say which would run or skip */
  dryRun: boolean;
  /** --jobs: pods (of different tests) that may run at the same time; test files run side by side
   *  in one worker more (harness/schedule, main.ts) */
  jobs: number;
  /** false with --no-host-changes: tests whose pods may change host-wide state are skipped on the
   *  host target (harness/run/host-changes.ts) */
  hostChanges: boolean;
  /** set by the run (main.ts): the address of the run's scheduler, which all workers share */
  scheduler?: string;
}

export const FLAVORS = ['host', 'coreos', 'kvm', 'fly'] as const;
export type Flavor = (typeof FLAVORS)[number];

/** Which tests to run, decided before vitest starts. */
export interface Selection {
  /** vitest-style file filters: a test file runs when its path contains one of them */
  fileFilters: string[];
  testNamePattern?: string;
  /** clause ID globs (e.g. ACE-ISO-*): a test runs when it checks a matching clause */
  clauseGlobs: string[];
  /** lowest RFC 2119 level to run: must (MUST, MUST NOT), should (and SHOULD, SHOULD NOT), may (all) */
  level?: 'must' | 'should' | 'may';
  /** --rerun-failed DIR: an earlier run's report dir (absolute); its failed and errored tests run */
  rerunFailed?: string;
  /** test IDs to run (set from rerunFailed by the preflight) */
  testIds?: string[];
}

export interface CliRequest {
  config: RunConfig;
  selection: Selection;
  mode: 'run' | 'list' | 'explain' | 'help';
}

export const USAGE = `usage: npm test -- [options] [file filter ...]

  --impl NAME          implementation under test (default: ref)
  --impl-path PATH     binary of the implementation, for adapters that need one
  --impl-config FILE   (generic only) how to drive the implementation's CLI (JSON or YAML)
  --flavor FLAVOR      stage1 flavor of rkt: ${FLAVORS.join(', ')} (default: rkt's own default)
  --target KIND        where it runs: ${TARGET_KINDS.join(', ')} (default: host)
  --vm-image DIR       (qemu) boot your own guest: DIR holds vmlinux or vmlinuz, initrd.img,
                       rootfs.img (default: a Debian 12 guest the harness builds and caches)
  --vm-profile NAME    (qemu) lean (tini + our agent) or systemd (systemd as PID 1; rkt's host
                       flavor); default: the one the implementation needs
  --guest-release REL  (qemu) the Debian release the guest is built from: bookworm (Debian 12,
                       kernel 6.1) or bullseye (Debian 11, kernel 5.10); default: bookworm
  --vagrant-provider P (vagrant) libvirt or virtualbox (default: libvirt when vagrant-libvirt
                       is installed, else virtualbox)
  --keep-vm            (vagrant) keep the box after the run; prints how to reach and remove it
  --report-dir DIR     where the reports go: results.json, clauses.json, junit.xml, report.html,
                       summary.md (default: reports/)
  --pod-timeout SECS   kill a pod that runs longer (default: 60)
  --jobs N             run up to N pods (of different tests) at the same time, test files side by
                       side; pods that need the same resource take turns (default: from the
                       machine's cores and memory; on a VM target one per guest vCPU: see
                       harness/schedule/jobs.ts)
  --no-host-changes    (host target) skip the tests whose pods may change host-wide state (a
                       kernel parameter outside the pod): skip kind host
  --mutant NAME        (ref only) run a mutant of ref that breaks one clause
  --expectations FILE  expected failures and skips (default: harness/impl/expectations/<impl>.json,
                       or <impl>.<flavor>.json with a flavor)
  --clause ID          run only tests checking this clause; globs allowed (ACE-ISO-*); repeatable
  --level LEVEL        run only tests checking a clause at or above must, should or may
  -t, --test-name-pattern PATTERN   run only tests whose name matches
  --rerun-failed DIR   run the tests that failed, errored or passed unexpectedly in the run that
                       wrote its reports to DIR
  --list               print the selected tests with their clauses; run nothing
  --explain            say per test whether it would run or skip here, and why; run no pod
  -h, --help           this text`;

export function defaultConfig(): RunConfig {
  return { impl: 'ref', target: 'host', reportDir: resolve(REPO_ROOT, 'reports'), podTimeoutMs: 60_000, dryRun: false, jobs: defaultJobs('host'), hostChanges: true };
}

/** The most --jobs takes: beyond it the scheduler's queue only grows. */
export const MAX_JOBS = 64;

/** npm test's flags (the matrix reads them too: which take a value, to find the file filters). */
export const CLI_OPTIONS = {
  impl: { type: 'string' },
  'impl-path': { type: 'string' },
  'impl-config': { type: 'string' },
  flavor: { type: 'string' },
  target: { type: 'string' },
  'report-dir': { type: 'string' },
  'vm-image': { type: 'string' },
  'vm-profile': { type: 'string' },
  'guest-release': { type: 'string' },
  'vagrant-provider': { type: 'string' },
  'keep-vm': { type: 'boolean' },
  'pod-timeout': { type: 'string' },
  jobs: { type: 'string' },
  'no-host-changes': { type: 'boolean' },
  mutant: { type: 'string' },
  expectations: { type: 'string' },
  clause: { type: 'string', multiple: true },
  level: { type: 'string' },
  'rerun-failed': { type: 'string' },
  list: { type: 'boolean' },
  explain: { type: 'boolean' },
  'test-name-pattern': { type: 'string', short: 't' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCli(argv: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: CLI_OPTIONS,
    });
  } catch (err) {
    // node's messages are one line already, e.g. "Unknown option '--foo'"
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
  const v = parsed.values;
  const config = defaultConfig();
  if (v.impl !== undefined) config.impl = v.impl;
  if (v['impl-path'] !== undefined) config.implPath = resolve(v['impl-path']);
  if (v['impl-config'] !== undefined) config.implConfig = resolve(v['impl-config']);
  if (v.flavor !== undefined) {
    if (!(FLAVORS as readonly string[]).includes(v.flavor)) {
      throw new UsageError(`unknown --flavor ${JSON.stringify(v.flavor)} (known: ${FLAVORS.join(', ')})`);
    }
    config.flavor = v.flavor as Flavor;
  }
  if (v.target !== undefined) {
    if (!(TARGET_KINDS as readonly string[]).includes(v.target)) {
      throw new UsageError(`unknown --target ${JSON.stringify(v.target)} (known: ${TARGET_KINDS.join(', ')})`);
    }
    config.target = v.target as TargetKind;
  }
  if (v['vm-image'] !== undefined || v['vm-profile'] !== undefined || v['guest-release'] !== undefined) {
    if (config.target !== 'qemu') throw new UsageError('--vm-image, --vm-profile and --guest-release apply to --target=qemu only');
    if (v['vm-image'] !== undefined) config.vmImage = resolve(v['vm-image']);
    if (v['vm-profile'] !== undefined) {
      if (v['vm-profile'] !== 'lean' && v['vm-profile'] !== 'systemd') throw new UsageError(`unknown --vm-profile ${JSON.stringify(v['vm-profile'])} (lean or systemd)`);
      config.vmProfile = v['vm-profile'];
    }
    if (v['guest-release'] !== undefined) {
      if (!(GUEST_RELEASES as readonly string[]).includes(v['guest-release'])) {
        throw new UsageError(`unknown --guest-release ${JSON.stringify(v['guest-release'])} (known: ${GUEST_RELEASES.join(', ')})`);
      }
      // A user's image is of whatever release it is: the harness builds none.
      if (v['vm-image'] !== undefined) throw new UsageError('--guest-release and --vm-image exclude each other (your image has its own release)');
      config.guestRelease = v['guest-release'] as GuestRelease;
    }
  }
  if (v['vagrant-provider'] !== undefined || v['keep-vm'] !== undefined) {
    if (config.target !== 'vagrant') throw new UsageError('--vagrant-provider and --keep-vm apply to --target=vagrant only');
    if (v['vagrant-provider'] !== undefined) {
      if (!(VAGRANT_PROVIDERS as readonly string[]).includes(v['vagrant-provider'])) {
        throw new UsageError(`unknown --vagrant-provider ${JSON.stringify(v['vagrant-provider'])} (${VAGRANT_PROVIDERS.join(' or ')})`);
      }
      config.vagrantProvider = v['vagrant-provider'] as VagrantProvider;
    }
    if (v['keep-vm']) config.keepVm = true;
  }
  if (v['report-dir'] !== undefined) config.reportDir = resolve(v['report-dir']);
  if (v['pod-timeout'] !== undefined) {
    const secs = Number(v['pod-timeout']);
    if (!Number.isFinite(secs) || secs <= 0) throw new UsageError(`--pod-timeout must be a positive number of seconds`);
    config.podTimeoutMs = Math.round(secs * 1000);
  }
  config.jobs = defaultJobs(config.target);
  if (v.jobs !== undefined) {
    const jobs = Number(v.jobs);
    if (!/^\d+$/.test(v.jobs.trim()) || !Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS}`);
    config.jobs = jobs;
  }
  if (v['no-host-changes']) config.hostChanges = false;
  if (v.mutant !== undefined) config.mutant = v.mutant;
  if (v.expectations !== undefined) config.expectationsPath = resolve(v.expectations);
  const level = v.level?.toLowerCase();
  if (level !== undefined && level !== 'must' && level !== 'should' && level !== 'may') {
    throw new UsageError(`unknown --level ${JSON.stringify(v.level)} (must, should or may)`);
  }
  const pattern = v['test-name-pattern'];
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
    } catch {
      throw new UsageError(`-t: not a regular expression: ${pattern}`);
    }
  }
  if (v.list && v.explain) throw new UsageError('--list and --explain exclude each other');
  config.dryRun = v.explain ?? false;
  return {
    config,
    selection: {
      fileFilters: parsed.positionals,
      testNamePattern: pattern,
      clauseGlobs: v.clause ?? [],
      level,
      ...(v['rerun-failed'] !== undefined ? { rerunFailed: resolve(v['rerun-failed']) } : {}),
    },
    mode: v.help ? 'help' : v.list ? 'list' : v.explain ? 'explain' : 'run',
  };
}
