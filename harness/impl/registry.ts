// Known implementations: name → adapter factory and a preflight check that runs before any test.
import { existsSync } from 'node:fs';
import type { RunConfig } from '../run/config.js';
import { HarnessError, UsageError } from '../run/errors.js';
import { REF_CLI } from '../run/paths.js';
import type { GuestProfileName } from '../target/guest/guest-image.js';
import type { Target } from '../target/index.js';
import { GenericImplementation } from './generic/adapter.js';
import { genericPreflight } from './generic/preflight.js';
import type { Implementation } from './implementation.js';
import { RefImplementation } from './ref-implementation.js';
import { RktImplementation } from './rkt-implementation.js';
import { openRktRun, resolveRktBinary, rktVersion } from './rkt-run.js';

/** Run-wide state an adapter keeps on the target for the whole run (see RunConfig.runDir). */
export interface RunScope {
  /** the config the run's test files get */
  config: RunConfig;
  /** releases everything; also called on failure and on Ctrl-C */
  close(): Promise<void>;
}

interface Entry {
  create(target: Target, config: RunConfig): Implementation;
  /** the guest a VM target boots for it (default lean: our own init and agent) */
  guestProfile?(config: RunConfig): GuestProfileName;
  /** resolves with a one-line problem when the implementation cannot run here */
  preflight(target: Target, config: RunConfig): Promise<string | undefined>;
  /** sets up run-wide state after the preflight; throws UsageError when the implementation is unusable */
  openRun?(target: Target, config: RunConfig): Promise<RunScope>;
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
      if (config.flavor !== undefined) return '--flavor is not used by ref (it has no flavors)';
      if (!existsSync(REF_CLI)) return `ref is not built (${REF_CLI} missing): run npm run build`;
      const id = await target.exec(['id', '-u'], { timeoutMs: 10_000 });
      if (id.stdout.trim() !== '0') return 'ref needs root on the target (it drives crun, mounts and namespaces)';
      for (const cmd of ['node', 'crun', 'unshare', 'ip', 'socat']) {
        if (!(await which(target, cmd))) return `ref needs ${cmd} on the target: run npm run setup`;
      }
      if (config.mutant !== undefined) {
        // ref's CLI starts in seconds under emulation (a TCG guest on a busy machine): a generous bound.
        const res = await target.exec(['node', REF_CLI, 'mutants'], { timeoutMs: 120_000 });
        let names: string[];
        try {
          names = (JSON.parse(res.stdout) as { name: string }[]).map((m) => m.name);
        } catch {
          throw new HarnessError(`ref mutants gave no list (exit ${res.exitCode ?? res.signal}${res.timedOut ? ', timed out' : ''}): ${res.stderr.trim().slice(-300)}`);
        }
        if (!names.includes(config.mutant)) return `unknown --mutant ${JSON.stringify(config.mutant)} (known: ${names.join(', ')})`;
      }
      return undefined;
    },
  },
  generic: {
    create: (target, config) => new GenericImplementation(target, config),
    preflight: genericPreflight,
  },
  rkt: {
    create: (target, config) => new RktImplementation(target, config),
    async preflight(target, config) {
      const bin = await resolveRktBinary(target, config);
      if (!bin) return config.implPath ? `${config.implPath} is not an executable file` : 'no rkt on PATH (give --impl-path=/path/to/rkt)';
      const id = await target.exec(['id', '-u'], { timeoutMs: 10_000 });
      if (id.stdout.trim() !== '0') return 'rkt needs root on the target';
      let version: string | undefined;
      try {
        version = (await rktVersion(target, bin))['rkt Version'];
      } catch (err) {
        return `${bin} does not run: ${(err as Error).message.split('\n')[0]}`;
      }
      if (!version) return `${bin} does not look like rkt (no version from rkt version)`;
      // The default pod network needs iptables; the host flavor runs the host's systemd-nspawn.
      if (!(await which(target, 'iptables'))) return 'rkt needs iptables on the target for its pod network (apt-get install iptables)';
      if ((config.flavor ?? 'host') === 'host' && !(await which(target, 'systemd-nspawn'))) {
        return 'the host flavor needs systemd-nspawn on the target (apt-get install systemd-container)';
      }
      return undefined;
    },
    openRun: (target, config) => openRktRun(target, config),
    // The host flavor registers pods with machined: systemd must be PID 1.
    guestProfile: (config) => ((config.flavor ?? 'host') === 'host' ? 'systemd' : 'lean'),
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

export function guestProfileOf(config: RunConfig): GuestProfileName {
  return entry(config.impl).guestProfile?.(config) ?? 'lean';
}

/** Sets up the implementation's run-wide state, if it keeps any; the returned scope's config is the run's. */
export async function openRun(target: Target, config: RunConfig): Promise<RunScope> {
  const e = entry(config.impl);
  return e.openRun ? e.openRun(target, config) : { config, close: async () => undefined };
}
