// The shared resources pods declare, by name. Tests declare what the harness cannot see (a fixed
// port tried on the host, a host setting); what a pod manifest says (its host ports) is claimed
// for it; an implementation that cannot run pods side by side claims itself for every pod.
import type { PodManifest } from '../aci/index.js';
import type { Claim } from './scheduler.js';

/** A port on the target's host side that one pod at a time may forward or the harness may try. */
export function hostPort(port: number): Claim {
  return { name: `host-port:${port}`, mode: 'exclusive' };
}

/** The host ports a pod manifest forwards (whatever their hostIP: one pod at a time per port). */
export function manifestClaims(manifest: PodManifest | undefined): Claim[] {
  const ports = (manifest?.ports ?? []) as { hostPort?: unknown }[];
  return ports.filter((p) => Number.isInteger(p.hostPort)).map((p) => hostPort(p.hostPort as number));
}

/** Every pod shares the machine; a pod whose checks need it quiet (tight timings) claims it alone
 *  and runs while no other pod does. */
export const MACHINE = 'machine';
export const QUIET_MACHINE: Claim = { name: MACHINE, mode: 'exclusive' };
export const SHARED_MACHINE: Claim = { name: MACHINE, mode: 'shared' };

/** Claimed by every pod of an implementation that runs one pod at a time. */
export const WHOLE_IMPLEMENTATION: Claim = { name: 'implementation', mode: 'exclusive' };
