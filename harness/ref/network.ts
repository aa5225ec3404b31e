// The pod's one link to the host: a veth pair, `eth0` in the pod's network namespace and
// `appc-ref<slot>` on the host, with a /30 of 169.254.200.0/21 between them. No default route and
// no NAT: an app reaches the host end of its own veth and nothing beyond it. Host ports connect to
// the pod's address over this link, and resource/network-bandwidth shapes it (ACE-ISO-NETBW-*).
// The veth goes with the pod's network namespace; cleanup deletes it by name as well, in case the
// namespace outlives the run.
import { randomInt } from 'node:crypto';
import { InfraError } from './errors.js';
import { isMutant } from './mutants.js';
import { runCommand } from './procs.js';

export const LINK_PREFIX = 'appc-ref';
/** 512 slots of /30: 169.254.200.0 – 169.254.207.255. */
const SLOTS = 512;
/** the kernel's defaults for a new veth and for loopback */
const VETH_MTU = 1500;
const LOOPBACK_MTU = 65536;

export interface PodLink {
  /** the host end's interface name */
  hostIf: string;
  hostIP: string;
  podIP: string;
}

/** The addresses of a slot: host end .1, pod end .2 of its /30. */
export function slotAddresses(slot: number): { hostIP: string; podIP: string } {
  const third = 200 + (slot >> 6);
  const fourth = (slot & 63) * 4;
  return { hostIP: `169.254.${third}.${fourth + 1}`, podIP: `169.254.${third}.${fourth + 2}` };
}

/** Runs an iproute2 command on the host, or in network namespace `netns`; throws what it said. */
async function net(argv: [string, ...string[]], netns?: string): Promise<void> {
  const res = netns ? await runCommand('nsenter', [`--net=${netns}`, ...argv]) : await runCommand(argv[0], argv.slice(1));
  if (res.exitCode !== 0) throw new InfraError(`${argv.join(' ')}: ${res.stderr.trim()}`);
}

/**
 * Creates the pod's veth. The kernel refuses a second interface of the same name, which makes the
 * name a lock on its slot: concurrent pods never share an address. `record` runs once the host
 * end exists, before anything else can fail.
 */
export async function createPodLink(initPid: number, netns: string, record: (hostIf: string) => Promise<void>): Promise<PodLink> {
  const start = randomInt(SLOTS);
  for (let i = 0; i < SLOTS; i++) {
    const slot = (start + i) % SLOTS;
    const hostIf = `${LINK_PREFIX}${slot}`;
    const res = await runCommand('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(initPid)]);
    if (res.exitCode !== 0) {
      if (/File exists/i.test(res.stderr)) continue;
      throw new InfraError(`cannot create the pod's veth: ${res.stderr.trim()}`);
    }
    await record(hostIf);
    const { hostIP, podIP } = slotAddresses(slot);
    await net(['ip', 'addr', 'add', `${hostIP}/30`, 'dev', hostIf]);
    await net(['ip', 'link', 'set', hostIf, 'up']);
    await net(['ip', 'addr', 'add', `${podIP}/30`, 'dev', 'eth0'], netns);
    await net(['ip', 'link', 'set', 'eth0', 'up'], netns);
    return { hostIf, hostIP, podIP };
  }
  throw new InfraError(`no free pod link: ${SLOTS} interfaces named ${LINK_PREFIX}* exist`);
}

/** A token bucket of `bytesPerSecond` on one interface's egress. */
async function shape(dev: string, bytesPerSecond: number, netns: string | undefined, mtu: number): Promise<void> {
  // The bucket holds 1/20 s of traffic and at least two full-size packets (tbf drops bigger ones).
  const burst = Math.max(16 * 1024, 2 * mtu, Math.ceil(bytesPerSecond / 20));
  await net(['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${bytesPerSecond * 8}bit`, 'burst', String(burst), 'latency', '200ms'], netns);
}

/**
 * resource/network-bandwidth: the pod's traffic over its veth, both ways, at most `bytesPerSecond`
 * (ACE-ISO-NETBW-002). Loopback stays unshaped (ACE-ISO-NETBW-003). The apps of a pod share the
 * link, so an app-level limit bounds the whole link.
 */
export async function limitPodLink(link: PodLink, netns: string, bytesPerSecond: number): Promise<void> {
  if (isMutant('ignore-network-bandwidth')) return;
  await shape(link.hostIf, bytesPerSecond, undefined, VETH_MTU);
  await shape('eth0', bytesPerSecond, netns, VETH_MTU);
  if (isMutant('shape-loopback')) await shape('lo', bytesPerSecond, netns, LOOPBACK_MTU);
}

/** Deletes a pod's host interface if it is still there; returns a problem or undefined. */
export async function deletePodLink(hostIf: string): Promise<string | undefined> {
  const res = await runCommand('ip', ['link', 'del', hostIf]);
  // Gone with the pod's network namespace, possibly while this ran.
  if (res.exitCode === 0 || /Cannot find device|No such device|does not exist/i.test(res.stderr)) return undefined;
  return `ip link del ${hostIf}: ${res.stderr.trim()}`;
}
