// The run's one configuration object, set from CLI flags. It crosses into vitest workers through
// `provide`, so it stays plain JSON.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TARGET_KINDS, type TargetKind } from '../target/index.js';
import { UsageError } from './errors.js';
import { REPO_ROOT } from './paths.js';

export interface RunConfig {
  impl: string;
  /** binary of the implementation under test, for adapters that need one */
  implPath?: string;
  target: TargetKind;
  /** absolute */
  reportDir: string;
  /** a pod that runs longer is killed and its test ends as a harness timeout */
  podTimeoutMs: number;
  /** ref only: break one clause on purpose (the suite's self-check) */
  mutant?: string;
}

export interface CliRequest {
  config: RunConfig;
  /** passed through to vitest: file filters and a test name pattern */
  fileFilters: string[];
  testNamePattern?: string;
  help: boolean;
}

export const USAGE = `usage: npm test -- [options] [file filter ...]

  --impl NAME          implementation under test (default: ref)
  --impl-path PATH     binary of the implementation, for adapters that need one
  --target KIND        where it runs: ${TARGET_KINDS.join(', ')} (default: host)
  --report-dir DIR     where junit.xml and results.json go (default: reports/)
  --pod-timeout SECS   kill a pod that runs longer (default: 60)
  --mutant NAME        (ref only) run a mutant of ref that breaks one clause
  -t, --test-name-pattern PATTERN   run only tests whose name matches
  -h, --help           this text`;

export function defaultConfig(): RunConfig {
  return { impl: 'ref', target: 'host', reportDir: resolve(REPO_ROOT, 'reports'), podTimeoutMs: 60_000 };
}

export function parseCli(argv: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        impl: { type: 'string' },
        'impl-path': { type: 'string' },
        target: { type: 'string' },
        'report-dir': { type: 'string' },
        'pod-timeout': { type: 'string' },
        mutant: { type: 'string' },
        'test-name-pattern': { type: 'string', short: 't' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // node's messages are one line already, e.g. "Unknown option '--foo'"
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
  const v = parsed.values;
  const config = defaultConfig();
  if (v.impl !== undefined) config.impl = v.impl;
  if (v['impl-path'] !== undefined) config.implPath = resolve(v['impl-path']);
  if (v.target !== undefined) {
    if (!(TARGET_KINDS as readonly string[]).includes(v.target)) {
      throw new UsageError(`unknown --target ${JSON.stringify(v.target)} (known: ${TARGET_KINDS.join(', ')})`);
    }
    config.target = v.target as TargetKind;
  }
  if (v['report-dir'] !== undefined) config.reportDir = resolve(v['report-dir']);
  if (v['pod-timeout'] !== undefined) {
    const secs = Number(v['pod-timeout']);
    if (!Number.isFinite(secs) || secs <= 0) throw new UsageError(`--pod-timeout must be a positive number of seconds`);
    config.podTimeoutMs = Math.round(secs * 1000);
  }
  if (v.mutant !== undefined) config.mutant = v.mutant;
  return {
    config,
    fileFilters: parsed.positionals,
    testNamePattern: v['test-name-pattern'],
    help: v.help ?? false,
  };
}
