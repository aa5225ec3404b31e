// --target=qemu as a user meets it, through `npm test`'s own entry point: a guest that does not
// come up is a harness error with its console log; Ctrl-C and a pod timeout inside the guest leave
// no QEMU process, no forwarded port and no temp files on this machine. Needs QEMU and the lean
// guest (npm run setup -- --vm); boots real VMs under TCG, so each test takes tens of seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../run/paths.js';
import { ensureGuest, type GuestImage } from '../guest/guest-image.js';
import { agentPortOf, ctrlC, portOpen, runMain } from '../lifecycle-testkit.js';

const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64 && command -v debootstrap']).status === 0;

/** QEMU processes of VMs of this checkout (another checkout's run on the machine is not ours). */
function allQemu(): string[] {
  const r = spawnSync('pgrep', ['-af', 'qemu-system']);
  return r.stdout.toString().split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}
function qemuProcesses(): string[] {
  return allQemu().filter((l) => l.includes(`appc.agent=${REPO_ROOT}/`));
}

/** VM run directories that no running QEMU uses. */
function vmDirs(): string[] {
  const inUse = allQemu().join(' ');
  return readdirSync(tmpdir()).filter((d) => (d.startsWith('appc-qemu-') || d.startsWith('appc-kvmcheck-')) && !inUse.includes(join(tmpdir(), d)));
}

describe.runIf(hasQemu && process.getuid?.() === 0)('--target=qemu lifecycle', () => {
  let dir: string;
  let guest: GuestImage;

  beforeAll(async () => {
    guest = await ensureGuest({ profile: 'lean', progress: () => undefined });
    dir = await mkdtemp(join(tmpdir(), 'qemu-target-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a guest that cannot mount its root is a harness error with its console log, and nothing is left', async () => {
    const image = join(dir, 'broken');
    await rm(image, { recursive: true, force: true });
    await spawnSync('mkdir', ['-p', image]);
    await copyFile(guest.kernel, join(image, 'vmlinux'));
    await copyFile(guest.initrd, join(image, 'initrd.img'));
    await writeFile(join(image, 'rootfs.img'), Buffer.alloc(1 << 20));
    const reports = join(dir, 'reports-broken');
    const run = await runMain(['--target=qemu', `--vm-image=${image}`, `--report-dir=${reports}`, 'suites/ace-exit-status']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/harness error: the VM ended before its agent answered.*console log: .*target-console\.log/);
    expect(run.stderr).toContain('appc-initramfs: cannot mount /dev/vda');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(join(reports, 'target-console.log'), 'utf8')).toContain('appc-initramfs: cannot mount /dev/vda');
    expect(qemuProcesses()).toEqual([]);
    expect(vmDirs()).toEqual([]);
  });

  test('Ctrl-C while a pod that never ends runs in the guest stops the pod, then the VM, its forward and its files', async () => {
    let agentPort = 0;
    let sent = false;
    const started = performance.now();
    let signalledAt = 0;
    // ci/hang.yaml's pods never end: only the run's own stop, through the agent, ends them in order.
    const run = await runMain(['--target=qemu', '--impl=generic', '--impl-config=ci/hang.yaml', `--report-dir=${join(dir, 'reports-sigint')}`, 'suites/ace-exit-status'], { onLine: (line, child) => {
      agentPort ||= agentPortOf(line);
      // Once the guest is up, give the first pods a few seconds to be under way, then interrupt.
      if (agentPort && !sent) {
        sent = true;
        setTimeout(() => ((signalledAt = performance.now()), ctrlC(child)), 8_000);
      }
    } });
    expect(agentPort).toBeGreaterThan(0);
    expect(run.code, run.stderr).toBe(130);
    expect(performance.now() - signalledAt).toBeLessThan(30_000);
    expect(performance.now() - started).toBeGreaterThan(8_000);
    // Stopped in order: the pods in the guest ended when told, the VM was not killed under them.
    expect(run.stderr).not.toMatch(/forcing the exit/);
    expect(await portOpen(agentPort)).toBe(false);
    expect(qemuProcesses()).toEqual([]);
    expect(vmDirs()).toEqual([]);
  });

  test('a pod timeout inside the guest is a harness error, and the run still leaves nothing', async () => {
    let agentPort = 0;
    const reports = join(dir, 'reports-timeout');
    // Under emulation no pod of ref finishes within a second.
    const run = await runMain(['--target=qemu', '--pod-timeout=1', `--report-dir=${reports}`, 'suites/ace-exit-status', '-t', 'exit code 42'], { onLine: (line) => {
      agentPort ||= agentPortOf(line);
    } });
    expect(run.code).toBe(3);
    const results = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as { tests: { status: string; reason?: string }[]; targetInfo?: { kind: string } };
    expect(results.tests.map((t) => t.status)).toEqual(['error']);
    expect(results.tests[0]!.reason).toMatch(/timed out after 1s \(harness timeout/);
    expect(results.targetInfo?.kind).toBe('qemu');
    expect(await portOpen(agentPort)).toBe(false);
    expect(qemuProcesses()).toEqual([]);
    expect(vmDirs()).toEqual([]);
    expect(existsSync(guest.rootfs)).toBe(true);
  });
});
