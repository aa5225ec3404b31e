// Before any test: the config file loads and every command it names can be found on the target,
// so a typo is one line and exit 2, not a hundred harness errors.
import type { RunConfig } from '../../run/config.js';
import type { Target } from '../../target/index.js';
import { binaryOf, substitute } from './adapter.js';
import { loadGenericConfig, type Argv } from './config.js';

export async function genericPreflight(target: Target, config: RunConfig): Promise<string | undefined> {
  if (config.implConfig === undefined) return 'needs --impl-config FILE (see README: the generic adapter)';
  const loaded = loadGenericConfig(config.implConfig); // throws UsageError "file: /field: problem"
  const c = loaded.config;
  const name = loaded.path.split('/').pop();
  const binary = binaryOf(loaded, config.implPath);
  const commands: [string, Argv | undefined][] = [
    ['/version/argv', c.version?.argv],
    ['/import', c.import],
    ['/run/images', c.run.images],
    ['/run/podManifest', c.run.podManifest],
    ['/result/argv', c.result?.argv],
    ['/stop', c.stop],
    ['/cleanup', c.cleanup],
    ...(['exitCode', 'signal', 'stdout', 'stderr'] as const).map((f): [string, Argv | undefined] => [`/apps/${f}/argv`, c.apps[f]?.argv]),
  ];
  const seen = new Set<string>();
  for (const [where, argv] of commands) {
    const first = argv?.[0];
    if (first === undefined) continue;
    if (Array.isArray(first) || /\{(?!binary\}|config\})[A-Za-z]+\}/.test(first)) continue; // known only per pod
    if (first.includes('{binary}') && binary === undefined) return `${name}: ${where}/0: uses {binary} but neither binary nor --impl-path is set`;
    const cmd = substitute(first, { config: loaded.dir, ...(binary !== undefined ? { binary } : {}) });
    if (seen.has(cmd)) continue;
    seen.add(cmd);
    if (!(await found(target, cmd))) return `${name}: ${where}/0: command not found: ${cmd}`;
  }
  // {binary} used as an argument (e.g. node {binary}) must exist too.
  if (binary !== undefined && binary.includes('/') && JSON.stringify(c).includes('{binary}') && !seen.has(binary)) {
    if (!(await found(target, binary, 'file'))) return `${name}: binary not found: ${binary}`;
  }
  return undefined;
}

async function found(target: Target, cmd: string, kind: 'command' | 'file' = 'command'): Promise<boolean> {
  const test = cmd.includes('/') ? ['test', kind === 'file' ? '-f' : '-x', cmd] : ['sh', '-c', 'command -v "$1"', 'sh', cmd];
  const res = await target.exec(test, { timeoutMs: 10_000 });
  return res.exitCode === 0;
}
