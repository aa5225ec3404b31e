// The one-line command that reruns exactly one test with the same implementation, target and flags.
import { join } from 'node:path';
import { defaultConfig, type RunConfig } from '../run/config.js';
import type { TestRecord } from './result.js';

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The run's own flags (not its selection), as they were given. */
export function runFlags(config: RunConfig): string[] {
  const d = defaultConfig();
  const flags: string[] = [];
  const add = (flag: string, value: string | undefined) => {
    if (value !== undefined) flags.push(`--${flag}=${value}`);
  };
  if (config.impl !== d.impl) add('impl', config.impl);
  add('impl-path', config.implPath);
  add('impl-config', config.implConfig);
  add('flavor', config.flavor);
  if (config.target !== d.target) add('target', config.target);
  add('vm-image', config.vmImage);
  add('vm-profile', config.vmProfile);
  add('guest-release', config.guestRelease);
  if (config.podTimeoutMs !== d.podTimeoutMs) add('pod-timeout', String(config.podTimeoutMs / 1000));
  add('mutant', config.mutant);
  add('expectations', config.expectationsPath);
  return flags;
}

/** npm test with the run's flags, a report dir of its own, and exactly this test selected. */
export function reproCommand(config: RunConfig, t: Pick<TestRecord, 'file' | 'name'>): string {
  const args = [...runFlags(config), `--report-dir=${join(config.reportDir, 'rerun')}`, '-t', `^${escapeRegExp(t.name)}$`, t.file];
  return `npm test -- ${args.map(shellQuote).join(' ')}`;
}

/** npm test with the run's flags, rerunning every failed or errored test of this report dir. */
export function rerunFailedCommand(config: RunConfig): string {
  const args = [...runFlags(config), `--report-dir=${join(config.reportDir, 'rerun')}`, `--rerun-failed=${config.reportDir}`];
  return `npm test -- ${args.map(shellQuote).join(' ')}`;
}
