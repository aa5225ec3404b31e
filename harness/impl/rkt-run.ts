// Run-wide state of the rkt adapter on the target: a private data dir (never /var/lib/rkt), an
// empty local config dir, the resolved stage1 flavor, and for flavors with a metadata service
// `rkt metadata-service` behind firewall rules. `openRktRun` makes it once per run (main.ts), the
// adapters of all test files share it through RunConfig.runDir, and `close` releases everything:
// it also runs on failure, timeout and Ctrl-C.
import { dirname, join } from 'node:path';
import { probeImage } from '../../fixtures/images.js';
import { buildAci } from '../aci/index.js';
import type { Flavor, RunConfig } from '../run/config.js';
import { HarnessError, UsageError } from '../run/errors.js';
import { FIXTURE_BUILD_DIR } from '../run/paths.js';
import type { Target } from '../target/index.js';
import { flavorOfStage1Name, globalArgs, parseList, rktComplaint, RKT_FEATURES, stage1Args } from './rkt-output.js';

/** rkt 1.30 hard-codes both: pods get http://<host side IP>:18112/<token> (common.MetadataServicePort). */
export const MDS_PORT = 18112;
export const MDS_SOCKET = '/run/rkt/metadata-svc.sock';
/** Where pods come from: rkt's default and default-restricted networks. */
const POD_SUBNETS = ['172.16.28.0/24', '172.31.0.0/16'];

export interface RktPaths {
  bin: string;
  runDir: string;
  dataDir: string;
  configDir: string;
  flavor: Flavor;
  /** stage1-<flavor>.aci next to the binary, when there is one */
  stage1File?: string;
}

/** Paths of a run dir made by openRktRun. */
export async function rktPaths(target: Target, bin: string, runDir: string, flavor: Flavor): Promise<RktPaths> {
  return { bin, runDir, dataDir: `${runDir}/data`, configDir: `${runDir}/config`, flavor, stage1File: await stage1FileOf(target, bin, flavor) };
}

async function stage1FileOf(target: Target, bin: string, flavor: Flavor): Promise<string | undefined> {
  const file = join(dirname(bin), `stage1-${flavor}.aci`);
  return (await target.exec(['test', '-f', file], { timeoutMs: 10_000 })).exitCode === 0 ? file : undefined;
}

/** The rkt binary: --impl-path, else the one on PATH. */
export async function resolveRktBinary(target: Target, config: RunConfig): Promise<string | undefined> {
  if (config.implPath) {
    const ok = await target.exec(['test', '-x', config.implPath], { timeoutMs: 10_000 });
    return ok.exitCode === 0 ? config.implPath : undefined;
  }
  const res = await target.exec(['sh', '-c', 'command -v rkt'], { timeoutMs: 10_000 });
  return res.exitCode === 0 ? res.stdout.trim() : undefined;
}

export async function rktVersion(target: Target, bin: string): Promise<Record<string, string>> {
  const res = await target.exec([bin, 'version'], { timeoutMs: 10_000 });
  if (res.exitCode !== 0) throw new HarnessError(`rkt version failed: ${res.stderr.trim()}`);
  // "rkt Version: 1.30.0" / "appc Version: 0.8.11" / "Go Version: …" / "Features: …"
  const out: Record<string, string> = {};
  for (const line of res.stdout.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

export interface RktRun {
  config: RunConfig;
  close(): Promise<void>;
}

/** Sets up the run; a problem that makes rkt unusable here is a UsageError (one line, exit 2). */
export async function openRktRun(target: Target, config: RunConfig): Promise<RktRun> {
  const bin = await resolveRktBinary(target, config);
  if (!bin) throw new UsageError('rkt: no rkt binary (give --impl-path or put rkt on PATH)');
  const runDir = await target.makeTempDir('appc-rkt-run-');
  const undo: (() => Promise<void>)[] = [];
  const close = async () => {
    const errors: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    undo.length = 0;
    if (errors.length > 0) throw new HarnessError(`rkt clean-up: ${errors.join('; ')}`);
  };
  undo.push(() => removeRunDir(target, runDir));
  try {
    undo.push(await removeNewDirsLater(target));
    await target.exec(['mkdir', '-p', `${runDir}/data`, `${runDir}/config`], { timeoutMs: 10_000 });
    undo.push(() => collectGarbage(target, bin, runDir));
    const flavor = config.flavor ?? (await defaultFlavor(target, bin, runDir));
    const paths = await rktPaths(target, bin, runDir, flavor);
    await checkStage1(target, paths);
    if (RKT_FEATURES[flavor].has('metadata-service')) {
      undo.push(await firewallMds(target));
      undo.push(await startMds(target, bin, runDir));
    }
    return { config: { ...config, flavor, runDir, implPath: bin }, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The image the preflight prepares: a plain probe image of its own. Not "any .aci of the build
 *  dir": the suites leave hostile images (not a tar, bad manifests), images without an app and
 *  images whose dependencies are not in the store there, which rkt rightly refuses to prepare. */
async function preflightAci(): Promise<string> {
  try {
    return (await buildAci(await probeImage({ name: 'rkt-preflight' }), FIXTURE_BUILD_DIR)).path;
  } catch (err) {
    throw new UsageError(`rkt: cannot build the preflight image: ${(err as Error).message}`);
  }
}

/** Prepares (not runs) a pod with the given stage1 options, then removes it: proves rkt and the
 *  stage1 work here, and leaves the stage1 image in the store. Resolves with the stage1's name. */
async function prepareProbe(target: Target, bin: string, runDir: string, stage1: string[]): Promise<string> {
  const global = globalArgs(`${runDir}/data`, `${runDir}/config`);
  const aci = `${runDir}/preflight.aci`;
  await target.copyIn(await preflightAci(), aci);
  const res = await target.exec([bin, ...global, 'prepare', '--quiet', ...stage1, aci], { timeoutMs: 120_000 });
  if (res.exitCode !== 0) throw new UsageError(`rkt: cannot prepare a pod: ${rktComplaint(res.stderr) || `exit ${res.exitCode ?? res.signal}`}`);
  const uuid = res.stdout.trim().split('\n').at(-1)!;
  await target.exec([bin, ...global, 'rm', uuid], { timeoutMs: 60_000 });
  const images = await target.exec([bin, ...global, 'image', 'list', '--format=json'], { timeoutMs: 30_000 });
  const list = JSON.parse(images.stdout || '[]') as { name?: string }[];
  return list.map((i) => i.name ?? '').find((n) => flavorOfStage1Name(n) !== undefined) ?? '';
}

async function defaultFlavor(target: Target, bin: string, runDir: string): Promise<Flavor> {
  const name = await prepareProbe(target, bin, runDir, []);
  const flavor = flavorOfStage1Name(name);
  if (!flavor) throw new UsageError(`rkt: cannot tell the flavor of its default stage1 ${JSON.stringify(name)}: give --flavor`);
  return flavor;
}

async function checkStage1(target: Target, p: RktPaths): Promise<void> {
  const name = await prepareProbe(target, p.bin, p.runDir, stage1Args(p.flavor, p.stage1File));
  if (flavorOfStage1Name(name) === undefined) throw new UsageError(`rkt: no stage1 image of flavor ${p.flavor} found`);
}

/** rkt's metadata service listens on every address and has no option to change that. These rules
 *  keep its port reachable from loopback and the pod networks only; they are removed in close(). */
async function firewallMds(target: Target): Promise<() => Promise<void>> {
  const chain = `appc-mds-${process.pid}`;
  const run = async (tool: string, args: string[]) => {
    const res = await target.exec([tool, '-w', ...args], { timeoutMs: 30_000 });
    if (res.exitCode !== 0) throw new HarnessError(`${tool} ${args.join(' ')}: ${res.stderr.trim()}`);
  };
  const jump = ['INPUT', '-p', 'tcp', '--dport', String(MDS_PORT), '-j', chain];
  const made: (() => Promise<void>)[] = [];
  const remove = async () => {
    for (const step of made.reverse()) await step();
  };
  try {
    for (const tool of ['iptables', 'ip6tables']) {
      await run(tool, ['-N', chain]);
      made.push(() => run(tool, ['-X', chain]));
      made.push(() => run(tool, ['-F', chain]));
      await run(tool, ['-A', chain, '-i', 'lo', '-j', 'RETURN']);
      if (tool === 'iptables') for (const net of POD_SUBNETS) await run(tool, ['-A', chain, '-s', net, '-j', 'RETURN']);
      await run(tool, ['-A', chain, '-j', 'DROP']);
      await run(tool, ['-I', ...jump]);
      made.push(() => run(tool, ['-D', ...jump]));
    }
  } catch (err) {
    await remove().catch(() => undefined);
    throw err;
  }
  return remove;
}

async function startMds(target: Target, bin: string, runDir: string): Promise<() => Promise<void>> {
  const busy = await target.exec(['sh', '-c', `ss -Htln 'sport = :${MDS_PORT}'; ss -Hxl | grep -F ${MDS_SOCKET} || true`], { timeoutMs: 10_000 });
  if (busy.stdout.trim() !== '') {
    throw new UsageError(`rkt: port ${MDS_PORT} or ${MDS_SOCKET} is in use (another rkt metadata service runs here); stop it first`);
  }
  // A socket file left by a killed service would make the new one fail to listen.
  await target.exec(['rm', '-f', MDS_SOCKET], { timeoutMs: 10_000 });
  const log = `${runDir}/metadata-service.log`;
  // setsid: its own session, so a Ctrl-C on the terminal leaves it to close() to stop.
  const res = await target.exec(['sh', '-c', `setsid "$0" metadata-service </dev/null >"$1" 2>&1 & echo $!`, bin, log], { timeoutMs: 10_000 });
  const pid = res.stdout.trim();
  if (!/^\d+$/.test(pid)) throw new HarnessError(`rkt metadata-service did not start: ${res.stderr.trim()}`);
  const stop = async () => {
    await target.exec(['kill', pid], { timeoutMs: 10_000 });
    for (let i = 0; i < 50; i++) {
      if ((await target.exec(['kill', '-0', pid], { timeoutMs: 10_000 })).exitCode !== 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await target.exec(['kill', '-9', pid], { timeoutMs: 10_000 });
    await target.exec(['rm', '-f', MDS_SOCKET], { timeoutMs: 10_000 });
  };
  for (let i = 0; i < 100; i++) {
    const up = await target.exec(['sh', '-c', `ss -Htln 'sport = :${MDS_PORT}' | grep -q . && test -S ${MDS_SOCKET}`], { timeoutMs: 10_000 });
    if (up.exitCode === 0) return stop;
    if ((await target.exec(['kill', '-0', pid], { timeoutMs: 10_000 })).exitCode !== 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = await target.readFile(log).catch(() => '');
  await stop();
  throw new HarnessError(`rkt metadata-service did not come up: ${out.trim().slice(-500)}`);
}

/** Directories outside the run dir that rkt creates and leaves (empty) behind: CNI's lease dirs
 *  and the metadata service's socket dir. Those that did not exist before the run are removed
 *  at its end when empty (rmdir: never a directory someone else still uses). */
const RKT_HOST_DIRS = ['/var/lib/cni/networks/default-restricted', '/var/lib/cni/networks/default', '/var/lib/cni/networks', '/var/lib/cni', '/run/rkt'];

async function removeNewDirsLater(target: Target): Promise<() => Promise<void>> {
  const res = await target.exec(['sh', '-c', 'for d; do test -e "$d" || echo "$d"; done', 'sh', ...RKT_HOST_DIRS], { timeoutMs: 10_000 });
  const fresh = res.stdout.split('\n').filter((l) => l !== '');
  return async () => {
    if (fresh.length > 0) await target.exec(['sh', '-c', 'for d; do rmdir "$d" 2>/dev/null; done; true', 'sh', ...fresh], { timeoutMs: 10_000 });
  };
}

/** Each pod's work dir is ${runDir}/pod-*, with rkt's uuid file in it: close() finds every pod
 *  still there (e.g. after a Ctrl-C) through them. */
export const POD_DIR_PREFIX = 'pod-';

// A host-flavor pod is systemd in its own PID namespace under the cgroup machine-rkt\x2d<uuid>.scope.
// When rkt (systemd-nspawn) is killed, e.g. on our pod timeout, that systemd lives on as an orphan
// and rkt gc does not stop it: kill every process of the pod's cgroups, then remove the cgroups.
const KILL_POD = `
for scope; do
  for d in /sys/fs/cgroup/*/"$scope"; do
    [ -d "$d" ] || continue
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
  done
  for d in /sys/fs/cgroup/*/"$scope"; do
    [ -d "$d" ] || continue
    for i in 1 2 3 4 5 6 7 8 9 10; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; [ -d "$d" ] || break; sleep 0.2; done
  done
done
true`;

/** systemd's name of a pod's scope: machine-rkt\x2d<uuid with \x2d for each dash>.scope */
export function podScope(uuid: string): string {
  return `machine-${`rkt-${uuid}`.replaceAll('-', '\\x2d')}.scope`;
}

export async function killPods(target: Target, uuids: readonly string[]): Promise<void> {
  if (uuids.length > 0) await target.exec(['sh', '-c', KILL_POD, 'sh', ...uuids.map(podScope)], { timeoutMs: 60_000 });
}

/** Stops what still runs, then gc's pods and images of the run's data dir. */
export async function collectGarbage(target: Target, bin: string, runDir: string): Promise<void> {
  const global = globalArgs(`${runDir}/data`, `${runDir}/config`);
  const left = await target.exec(['sh', '-c', 'cat "$0"/pod-*/uuid 2>/dev/null; echo', runDir], { timeoutMs: 10_000 });
  await killPods(target, left.stdout.split(/\s+/).filter((l) => /^[0-9a-f-]{36}$/.test(l)));
  const list = await target.exec([bin, ...global, 'list', '--format=json'], { timeoutMs: 30_000 });
  const running = parseList(list.exitCode === 0 ? list.stdout : '[]').filter((p) => p.state === 'running');
  if (running.length > 0) await target.exec([bin, ...global, 'stop', '--force', ...running.map((p) => p.name)], { timeoutMs: 60_000 });
  const gc = await target.exec([bin, ...global, 'gc', '--grace-period=0s'], { timeoutMs: 120_000 });
  const igc = await target.exec([bin, ...global, 'image', 'gc', '--grace-period=0s'], { timeoutMs: 120_000 });
  if (gc.exitCode !== 0 || igc.exitCode !== 0) {
    throw new HarnessError(`rkt gc failed: ${rktComplaint(gc.stderr + igc.stderr)}`);
  }
}

/** Removes the run dir, but never through a mount: whatever rkt left mounted below it is unmounted
 *  first (a recursive delete through a host volume's bind mount would delete the source). */
async function removeRunDir(target: Target, runDir: string): Promise<void> {
  const mounted = async () => {
    const res = await target.exec(['sh', '-c', `awk -v d="$0/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo`, runDir], { timeoutMs: 10_000 });
    return res.stdout.split('\n').filter((l) => l !== '');
  };
  let left = await mounted();
  if (left.length > 0) {
    for (const m of left.sort((a, b) => b.length - a.length)) await target.exec(['umount', '-l', m], { timeoutMs: 10_000 });
    left = await mounted();
  }
  if (left.length > 0) throw new HarnessError(`left ${runDir} in place: still mounted below it: ${left.slice(0, 5).join(', ')}`);
  await target.remove(runDir);
}
