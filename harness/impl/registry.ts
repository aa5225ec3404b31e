// Known implementations: name → adapter factory and a preflight check that runs before any test.
import { existsSync } from 'node:fs';
import type { RunConfig } from '../run/config.js';
import { UsageError } from '../run/errors.js';
import { REF_CLI } from '../run/paths.js';
import type { Target } from '../target/index.js';
import { GenericImplementation } from './generic/adapter.js';
import { genericPreflight } from './generic/preflight.js';
import type { Implementation } from './implementation.js';
import { RefImplementation } from './ref-implementation.js';

interface Entry {
  create(target: Target, config: RunConfig): Implementation;
  /** resolves with a one-line problem when the implementation cannot run here */
  preflight(target: Target, config: RunConfig): Promise<string | undefined>;
}

async function which(target: Target, cmd: string): Promise<boolean> {
  const res = await target.exec(['sh', '-c', `command -v ${cmd}`], { timeoutMs: 10_000 });
  return res.exitCode === 0;
}

const REGISTRY: Record<string, Entry> = {
  ref: {
    create: (target, config) => new RefImplementation(target, config),
    async preflight(target, config) {
      if (config.implPath !== undefined) return '--impl-path is not used by ref (it is embedded)';
      if (!existsSync(REF_CLI)) return `ref is not built (${REF_CLI} missing): run npm run build`;
      const id = await target.exec(['id', '-u'], { timeoutMs: 10_000 });
      if (id.stdout.trim() !== '0') return 'ref needs root on the target (it drives crun, mounts and namespaces)';
      for (const cmd of ['crun', 'unshare', 'ip']) {
        if (!(await which(target, cmd))) return `ref needs ${cmd} on the target: run npm run setup`;
      }
      if (config.mutant !== undefined) {
        const res = await target.exec([process.execPath, REF_CLI, 'mutants'], { timeoutMs: 10_000 });
        const names = (JSON.parse(res.stdout) as { name: string }[]).map((m) => m.name);
        if (!names.includes(config.mutant)) return `unknown --mutant ${JSON.stringify(config.mutant)} (known: ${names.join(', ')})`;
      }
      return undefined;
    },
  },
  generic: {
    create: (target, config) => new GenericImplementation(target, config),
    preflight: genericPreflight,
  },
};

export const IMPLEMENTATION_NAMES = Object.keys(REGISTRY);

function entry(name: string): Entry {
  const e = REGISTRY[name];
  if (!e) throw new UsageError(`unknown --impl ${JSON.stringify(name)} (known: ${IMPLEMENTATION_NAMES.join(', ')})`);
  return e;
}

export function createImplementation(target: Target, config: RunConfig): Implementation {
  if (config.mutant !== undefined && config.impl !== 'ref') throw new UsageError('--mutant applies to --impl=ref only');
  if (config.implConfig !== undefined && config.impl !== 'generic') throw new UsageError('--impl-config applies to --impl=generic only');
  return entry(config.impl).create(target, config);
}

export async function preflight(target: Target, config: RunConfig): Promise<void> {
  if (config.implConfig !== undefined && config.impl !== 'generic') throw new UsageError('--impl-config applies to --impl=generic only');
  const problem = await entry(config.impl).preflight(target, config);
  if (problem) throw new UsageError(`${config.impl}: ${problem}`);
}
