// --target=qemu: one VM per run, booted before the first pod and stopped after the last (also on
// failure and Ctrl-C). Every test worker reaches it through its agent (AgentTarget).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { RunConfig } from '../../run/config.js';
import { UsageError } from '../../run/errors.js';
import { REPO_ROOT } from '../../run/paths.js';
import { AgentTarget } from '../agent/client.js';
import { DEFAULT_RELEASE, defaultCacheDir, ensureGuest, userImage, type GuestProfileName } from '../guest/guest-image.js';
import { whileStarting } from '../abort.js';
import type { StartedTarget } from '../lifecycle.js';
import { VM_CPUS } from '../target.js';
import { chooseAccel } from './accel.js';
import { BootError, QemuVm } from './vm.js';

export const AGENT_SCRIPT = join(REPO_ROOT, 'dist', 'harness', 'target', 'agent', 'agent.js');

/** Host directories the guest must see at their own paths: the repository (ref, the agent, its
 *  node modules) and, outside it, the implementation's binary directory and adapter config. */
export function sharesFor(config: RunConfig): string[] {
  const dirs = [REPO_ROOT];
  for (const f of [config.implPath, config.implConfig]) {
    if (!f) continue;
    const d = dirname(f);
    if (!dirs.some((s) => !relative(s, d).startsWith('..'))) dirs.push(d);
  }
  return dirs;
}

/** What this machine lacks to start the qemu target, as one line; undefined when nothing. */
export function qemuPrerequisite(): string | undefined {
  for (const tool of ['qemu-system-x86_64', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) return `--target=qemu needs ${tool}: run npm run setup -- --vm`;
  }
  if (!existsSync(AGENT_SCRIPT)) return `the guest agent is not built (${AGENT_SCRIPT}): run npm run build`;
  return undefined;
}

export async function startQemuTarget(config: RunConfig, profile: GuestProfileName, log: (line: string) => void): Promise<StartedTarget> {
  const problem = qemuPrerequisite();
  if (problem) throw new UsageError(problem);
  const image = config.vmImage ? userImage(config.vmImage) : await ensureGuest({ profile, ...(config.guestRelease ? { release: config.guestRelease } : {}), progress: log });
  const accel = await chooseAccel(image, join(defaultCacheDir(), 'accel.json'));
  const vm = new QemuVm({
    image,
    accel: accel.accel,
    cpus: VM_CPUS,
    memoryMiB: 3072,
    shares: sharesFor(config),
    agentScript: AGENT_SCRIPT,
    bootTimeoutMs: (accel.accel === 'kvm' ? 60 : image.init === 'systemd' ? 300 : 120) * 1000,
  });
  log(`qemu: booting the ${image.label} guest with ${accel.accel.toUpperCase()} (${accel.reason})`);
  let endpoint;
  const started = whileStarting(() => vm.stop());
  try {
    endpoint = await vm.start();
  } catch (err) {
    if (err instanceof BootError) {
      // The console log goes with the error: the one place that says why a guest did not come up.
      await mkdir(config.reportDir, { recursive: true }).catch(() => undefined);
      const saved = join(config.reportDir, 'target-console.log');
      await writeFile(saved, err.consoleLog).catch(() => undefined);
      const tail = err.consoleLog.trim().split('\n').slice(-15).join('\n');
      throw new BootError(`${err.message}; console log: ${saved}${tail ? `\n--- last lines of the guest console ---\n${tail}` : ''}`, err.consoleLog);
    }
    throw err;
  } finally {
    started();
  }
  const target = new AgentTarget('qemu', endpoint);
  const facts = await target.facts().catch(async (err: Error) => {
    await vm.stop();
    throw err;
  });
  log(`qemu: guest ready in ${((vm.bootMs ?? 0) / 1000).toFixed(1)} s (${facts.distribution}, kernel ${facts.kernel}, cgroup v${facts.cgroup}, init ${facts.init}, ${accel.accel.toUpperCase()}; agent on 127.0.0.1:${endpoint.port})`);
  return {
    target,
    handle: { kind: 'qemu', agent: endpoint },
    description: { kind: 'qemu', ...facts, accel: accel.accel, guest: image.release && image.release !== DEFAULT_RELEASE ? `${image.label}/${image.release}` : image.label, bootMs: Math.round(vm.bootMs ?? 0) },
    async saveConsole(to: string) {
      if (vm.consolePath) await copyFile(vm.consolePath, to).catch(() => undefined);
    },
    async stop() {
      await target.dispose();
      await vm.stop();
    },
  };
}
