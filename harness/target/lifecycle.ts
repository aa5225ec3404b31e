// The life of a run's target: started once by the run's main process (start → ready), handed to
// test workers as plain JSON (attach), stopped at the end, also after a failure or a signal.
import type { RunConfig } from '../run/config.js';
import type { AgentEndpoint } from './agent/client.js';
import { AgentTarget } from './agent/client.js';
import type { GuestProfileName } from './guest/guest-image.js';
import { HostTarget } from './host-target.js';
import type { Target, TargetDescription, TargetKind } from './target.js';

/** What a worker needs to reach the run's target. */
export interface TargetHandle {
  kind: TargetKind;
  agent?: AgentEndpoint;
}

export interface StartedTarget {
  target: Target;
  handle: TargetHandle;
  description: TargetDescription;
  /** copies the target's console log, where it has one, to a local file (kept with the reports) */
  saveConsole?(to: string): Promise<void>;
  /** releases the target and everything it made on this machine; safe to call twice */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** the guest profile the implementation needs in a VM */
  guestProfile: GuestProfileName;
  log?: (line: string) => void;
}

export async function startTarget(config: RunConfig, opts: StartOptions): Promise<StartedTarget> {
  const log = opts.log ?? ((line: string) => console.error(line));
  switch (config.target) {
    case 'host': {
      const target = new HostTarget();
      return { target, handle: { kind: 'host' }, description: { kind: 'host', ...(await target.facts()) }, stop: () => target.dispose() };
    }
    // Loaded when asked for: test workers import this module too, and the container target's
    // engine client alone takes ~0.6 s of CPU to load.
    case 'qemu':
      return (await import('./qemu/qemu-target.js')).startQemuTarget(config, config.vmProfile ?? opts.guestProfile, log);
    case 'container':
      return (await import('./container/container-target.js')).startContainerTarget(config, opts.guestProfile, log);
    case 'vagrant':
      return (await import('./vagrant/vagrant-target.js')).startVagrantTarget(config, log);
  }
}

/** The run's target as a test worker reaches it (config.targetHandle, set by the main process). */
export function attachTarget(config: RunConfig): Target {
  const handle = config.targetHandle ?? { kind: config.target };
  if (handle.kind === 'host') return new HostTarget();
  if (!handle.agent) throw new Error(`--target=${handle.kind}: the run's target is not started (run through npm test)`);
  return new AgentTarget(handle.kind, handle.agent);
}
