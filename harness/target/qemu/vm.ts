// One QEMU VM: direct kernel boot of a guest image, a throw-away overlay over its root disk, the
// host directories the guest needs shared read-only at their own paths (9p), user-mode networking
// with restrict=on whose only link is one forward on 127.0.0.1 to the guest agent, and the
// console in a file. QEMU dies with the harness (setpriv --pdeathsig), a guest panic ends QEMU
// (panic=-1, -no-reboot), and stop() removes every file of the VM.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { HarnessError, UsageError } from '../../run/errors.js';
import { AgentClient, type AgentEndpoint } from '../agent/client.js';
import type { GuestImage } from '../guest/guest-image.js';

export const AGENT_GUEST_PORT = 7000;
/** Where the VM's own share (token, node) appears in the guest. */
const RUN_SHARE = '/run/appc-shares';

export interface VmOptions {
  image: GuestImage;
  accel: 'kvm' | 'tcg';
  cpus: number;
  memoryMiB: number;
  /** host directories the guest sees read-only at the same paths */
  shares: string[];
  /** the agent program (a path inside one of the shares) */
  agentScript: string;
  /** how long the guest may take to answer */
  bootTimeoutMs: number;
}

async function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class BootError extends HarnessError {
  override name = 'BootError';
  constructor(
    message: string,
    readonly consoleLog: string,
  ) {
    super(message);
  }
}

export class QemuVm {
  private qemu?: ResultPromise;
  private exited?: Promise<string>;
  private dir?: string;
  endpoint?: AgentEndpoint;
  bootMs?: number;

  constructor(readonly opts: VmOptions) {
    for (const s of opts.shares) {
      if (/[\s,]/.test(s)) throw new UsageError(`--target=qemu cannot share a path with a space or comma: ${s}`);
    }
  }

  get consolePath(): string | undefined {
    return this.dir && join(this.dir, 'console.log');
  }

  async consoleLog(): Promise<string> {
    return this.consolePath ? readFile(this.consolePath, 'utf8').catch(() => '') : '';
  }

  private args(hostPort: number): string[] {
    const o = this.opts;
    const shares = [this.dir! + '/share', ...o.shares];
    const cmdline = [
      'console=ttyS0',
      'panic=-1',
      'loglevel=4',
      'raid=noautodetect',
      // Under TCG every barrier and retpoline is emulated: a test VM needs no speculation defences.
      'mitigations=off',
      `appc.init=${o.image.init}`,
      `appc.shares=${[RUN_SHARE, ...o.shares].join(',')}`,
      `appc.node=${RUN_SHARE}/node`,
      `appc.agent=${o.agentScript}`,
      `appc.port=${AGENT_GUEST_PORT}`,
    ].join(' ');
    return [
      '-nodefaults',
      '-no-reboot',
      '-display', 'none',
      '-machine', o.accel === 'kvm' ? 'q35,accel=kvm' : 'q35,accel=tcg',
      '-cpu', o.accel === 'kvm' ? 'host' : 'max',
      '-smp', String(o.cpus),
      '-m', String(o.memoryMiB),
      '-kernel', o.image.kernel,
      '-initrd', o.image.initrd,
      '-append', cmdline,
      '-drive', `file=${o.image.rootfs},if=virtio,format=raw,snapshot=on`,
      ...shares.flatMap((path, i) => ['-virtfs', `local,path=${path},mount_tag=share${i},security_model=none,readonly=on`]),
      '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${hostPort}-:${AGENT_GUEST_PORT}`,
      '-device', 'virtio-net-pci,netdev=net0',
      '-device', 'virtio-rng-pci',
      '-serial', `file:${join(this.dir!, 'console.log')}`,
    ];
  }

  /** Boots the VM and waits for its agent; on any failure everything is released and a BootError says why. */
  async start(): Promise<AgentEndpoint> {
    this.dir = await mkdtemp(join(tmpdir(), 'appc-qemu-'));
    const share = join(this.dir, 'share');
    await mkdir(share, { mode: 0o700 });
    const token = randomBytes(24).toString('hex');
    await writeFile(join(share, 'token'), token, { mode: 0o600 });
    // The host's node runs ref and the agent in the guest: same version as the harness's.
    await link(process.execPath, join(share, 'node')).catch(() => copyFile(process.execPath, join(share, 'node')));
    const started = performance.now();
    try {
      const hostPort = await freeLocalPort();
      // detached: a terminal's Ctrl-C reaches the harness alone, which stops the guest's pods first.
      this.qemu = execa('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...this.args(hostPort)], {
        reject: false,
        stdin: 'ignore',
        all: true,
        detached: true,
      });
      this.exited = this.qemu.then((r) => `QEMU exited ${r.exitCode ?? r.signal}: ${String(r.all ?? '').trim().slice(-1000)}`);
      this.endpoint = { host: '127.0.0.1', port: hostPort, token };
      await this.waitForAgent(this.endpoint);
      this.bootMs = performance.now() - started;
      return this.endpoint;
    } catch (err) {
      const log = await this.consoleLog();
      await this.stop();
      if (err instanceof BootError) throw new BootError(err.message, log);
      throw err;
    }
  }

  private async waitForAgent(endpoint: AgentEndpoint): Promise<void> {
    const deadline = performance.now() + this.opts.bootTimeoutMs;
    let gone: string | undefined;
    void this.exited!.then((why) => (gone = why));
    while (performance.now() < deadline) {
      if (gone) throw new BootError(`the VM ended before its agent answered: ${gone}`, '');
      const client = new AgentClient(endpoint);
      try {
        await client.call({ op: 'facts' }, 3_000);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        client.close();
      }
    }
    throw new BootError(`the VM's agent did not answer within ${this.opts.bootTimeoutMs / 1000} s`, '');
  }

  /** Ends QEMU (the guest's disk is a throw-away overlay) and removes the VM's files. */
  async stop(): Promise<void> {
    const q = this.qemu;
    this.qemu = undefined;
    if (q && q.exitCode === null) {
      q.kill('SIGTERM');
      const killer = setTimeout(() => q.kill('SIGKILL'), 3_000);
      await q.catch(() => undefined);
      clearTimeout(killer);
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
