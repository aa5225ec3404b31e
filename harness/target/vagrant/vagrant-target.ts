// --target=vagrant: one Vagrant machine per run, in a private project directory (vagrant/Vagrantfile
// and its settings), brought up before the first pod and destroyed after the last, also on failure
// and Ctrl-C. Vagrant is used to bring the box up and down only: `vagrant ssh-config` once, then one
// ssh master (ControlMaster) copies in what ref needs, starts the same guest agent as the qemu
// target, and forwards 127.0.0.1:PORT to it; from then on every command, file and port goes through
// AgentTarget, as with --target=qemu.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { RunConfig } from '../../run/config.js';
import { HarnessError, UsageError } from '../../run/errors.js';
import { REPO_ROOT } from '../../run/paths.js';
import { whileStarting } from '../abort.js';
import { AgentClient, AgentTarget, type AgentEndpoint } from '../agent/client.js';
import type { GuestImage } from '../guest/guest-image.js';
import { defaultCacheDir } from '../guest/guest-image.js';
import type { StartedTarget } from '../lifecycle.js';
import { VM_CPUS } from '../target.js';
import { chooseAccel } from '../qemu/accel.js';
import { AGENT_SCRIPT } from '../qemu/qemu-target.js';
import { BootError } from '../qemu/vm.js';
import { BOX_NAME, installedBox, LIBVIRT_BOOT_DIR, poolVolumes, VAGRANT_ENV } from './box.js';
import { VAGRANT_PROVIDERS, type VagrantProvider } from './provider.js';

export const VAGRANT_DIR = join(REPO_ROOT, 'vagrant');
/** Every run's machine, libvirt domain, volume and network carry this prefix. */
export const RUN_PREFIX = 'appc-vagrant-';
const VIRSH = ['-c', 'qemu:///system'];
const AGENT_GUEST_PORT = 7000;
/** The public box the VirtualBox provider uses (no local box is built for it). */
const VIRTUALBOX_BOX = 'debian/bookworm64';
const UP_TIMEOUT_MS = 600_000;

async function has(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

async function vagrantPlugins(): Promise<string> {
  return String((await execa('vagrant', ['plugin', 'list'], { reject: false, env: VAGRANT_ENV })).stdout);
}

/** The provider to use, or a one-line UsageError saying what is missing (before any pod runs). */
export async function chooseProvider(wanted: VagrantProvider | undefined): Promise<VagrantProvider> {
  if (!(await has('vagrant'))) throw new UsageError('--target=vagrant needs vagrant: run npm run setup -- --vagrant');
  const plugins = await vagrantPlugins();
  const usable: Record<VagrantProvider, string | undefined> = {
    libvirt: !/^vagrant-libvirt /m.test(plugins) ? 'the vagrant-libvirt plugin' : !(await has('virsh')) ? 'virsh (libvirt-clients)' : undefined,
    virtualbox: !(await has('VBoxManage')) ? 'VirtualBox (VBoxManage)' : undefined,
  };
  if (wanted) {
    const missing = usable[wanted];
    if (missing) throw new UsageError(`--vagrant-provider=${wanted} needs ${missing}${wanted === 'libvirt' ? ': run npm run setup -- --vagrant' : ''}`);
    return wanted;
  }
  const found = VAGRANT_PROVIDERS.find((p) => !usable[p]);
  if (!found) throw new UsageError('--target=vagrant found no provider (vagrant-libvirt or VirtualBox): run npm run setup -- --vagrant');
  return found;
}

async function checkLibvirt(): Promise<void> {
  const uri = await execa('virsh', [...VIRSH, 'uri'], { reject: false, timeout: 20_000 });
  if (uri.exitCode !== 0) throw new UsageError('libvirtd does not answer on qemu:///system: run npm run setup -- --vagrant (it starts virtlogd and libvirtd)');
  const pool = await execa('virsh', [...VIRSH, 'pool-info', 'default'], { reject: false });
  if (pool.exitCode !== 0 || !/State:\s+running/.test(String(pool.stdout))) {
    throw new UsageError('libvirt has no running storage pool "default": run npm run setup -- --vagrant');
  }
  if (!installedBox()) throw new UsageError(`no Vagrant box ${BOX_NAME} for libvirt: run npm run vagrant-box`);
}

async function checkVirtualbox(): Promise<void> {
  const list = await execa('vagrant', ['box', 'list'], { reject: false, env: VAGRANT_ENV });
  if (!new RegExp(`^${VIRTUALBOX_BOX.replace('/', '\\/')}\\s+\\(virtualbox`, 'm').test(String(list.stdout))) {
    throw new UsageError(`no Vagrant box ${VIRTUALBOX_BOX} for virtualbox: vagrant box add ${VIRTUALBOX_BOX} --provider virtualbox`);
  }
}

/** A /24 for the run's isolated network that nothing on this machine uses. */
async function freeSubnet(): Promise<string> {
  const routes = String((await execa('ip', ['-4', 'route', 'show', 'table', 'all'], { reject: false })).stdout);
  const addrs = String((await execa('ip', ['-4', 'addr'], { reject: false })).stdout);
  const nets = routes + addrs;
  for (let attempt = 0; attempt < 50; attempt++) {
    const n = 200 + Math.floor(Math.random() * 50);
    if (!nets.includes(`192.168.${n}.`)) return `192.168.${n}`;
  }
  throw new HarnessError('no free 192.168.200-249.0/24 for the run\'s isolated network');
}

function freeLocalPort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** The npm packages `imports` need, with their dependencies (directories under node_modules). */
function packageClosure(names: Iterable<string>): string[] {
  const dirs = new Set<string>();
  const visit = (name: string, from: string) => {
    const candidates = [join(from, 'node_modules', name), join(REPO_ROOT, 'node_modules', name)];
    const dir = candidates.find((d) => existsSync(join(d, 'package.json')));
    if (!dir || dirs.has(dir)) return;
    dirs.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, dir);
  };
  for (const n of names) visit(n, REPO_ROOT);
  return [...dirs];
}

/** Bare imports reachable from the programs that run in the guest (ref's CLI and the agent). */
function runtimeImports(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    // require() too: packages loaded only when needed (ajv, when no compiled validator is cached).
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  entries.forEach(walk);
  return bare;
}

/** What the guest needs at this machine's own paths: the repository's runtime part (ref, the agent,
 *  their packages) and the directories of --impl-path and --impl-config. */
export function payloadFor(config: RunConfig): string[] {
  const ref = join(REPO_ROOT, 'dist', 'harness', 'ref', 'main.js');
  const paths = [join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'harness'), join(REPO_ROOT, 'dist'), ...packageClosure(runtimeImports([ref, AGENT_SCRIPT]))];
  for (const f of [config.implPath, config.implConfig]) {
    if (!f) continue;
    const d = dirname(f);
    if (relative(REPO_ROOT, d).startsWith('..')) paths.push(d);
  }
  return paths;
}

async function tail(file: string, lines = 15): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').slice(-lines).join('\n');
}

/** One run's Vagrant machine and everything it makes on this machine. */
export class VagrantMachine {
  readonly name: string;
  private running?: ResultPromise;
  private master?: ResultPromise;
  private network?: string;
  private stopped = false;
  upMs?: number;

  private constructor(
    readonly dir: string,
    readonly provider: VagrantProvider,
    private readonly log: (line: string) => void,
  ) {
    this.name = basename(dir);
  }

  static async create(provider: VagrantProvider, settings: { driver: 'qemu' | 'kvm' }, log: (line: string) => void): Promise<VagrantMachine> {
    const dir = await mkdtemp(join(tmpdir(), RUN_PREFIX));
    // libvirt's qemu user writes the console file here.
    await chmod(dir, 0o711);
    const m = new VagrantMachine(dir, provider, log);
    await copyFile(join(VAGRANT_DIR, 'Vagrantfile'), join(dir, 'Vagrantfile'));
    const subnet = provider === 'libvirt' ? await freeSubnet() : undefined;
    const s = {
      name: m.name,
      vagrantDir: VAGRANT_DIR,
      repo: REPO_ROOT,
      sync: false,
      driver: settings.driver,
      memoryMiB: 3072,
      cpus: VM_CPUS,
      console: join(dir, 'console.log'),
      ...(provider === 'virtualbox' ? { box: VIRTUALBOX_BOX } : {}),
      ...(subnet ? { network: { name: m.name, address: `${subnet}.0/24` } } : {}),
    };
    await writeFile(join(dir, 'appc-vagrant.json'), JSON.stringify(s, null, 2));
    if (subnet) await m.createNetwork(subnet);
    return m;
  }

  get consolePath(): string {
    return join(this.dir, 'console.log');
  }

  /** The run's isolated network, made here so its dnsmasq serves DHCP only (no DNS to forward). */
  private async createNetwork(subnet: string): Promise<void> {
    const xml = `<network>
  <name>${this.name}</name>
  <bridge name="vb-${this.name.slice(RUN_PREFIX.length)}" stp="on" delay="0"/>
  <dns enable="no"/>
  <ip address="${subnet}.1" netmask="255.255.255.0">
    <dhcp><range start="${subnet}.10" end="${subnet}.250"/></dhcp>
  </ip>
</network>\n`;
    const file = join(this.dir, 'network.xml');
    await writeFile(file, xml);
    const res = await execa('virsh', [...VIRSH, 'net-create', file], { reject: false, all: true });
    if (res.exitCode !== 0) throw new HarnessError(`cannot create the run's libvirt network: ${String(res.all).trim()}`);
    this.network = this.name;
  }

  /** Runs vagrant in the project directory, in its own process group (a terminal's Ctrl-C is ours to handle). */
  async vagrant(args: string[], timeoutMs: number): Promise<{ exitCode?: number; output: string }> {
    const p = execa('vagrant', args, { cwd: this.dir, env: VAGRANT_ENV, reject: false, all: true, stdin: 'ignore', detached: true, timeout: timeoutMs, killSignal: 'SIGKILL' });
    this.running = p;
    const r = await p;
    if (this.running === p) this.running = undefined;
    return { exitCode: r.exitCode, output: String(r.all ?? '') };
  }

  /** `vagrant up`, retried once after a failure (a destroy in between). */
  async up(log: (line: string) => void): Promise<void> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const r = await this.vagrant(['up', `--provider=${this.provider}`, ...(this.provider === 'libvirt' ? ['--no-provision'] : ['--provision-with', 'ref'])], UP_TIMEOUT_MS);
      if (this.stopped) throw new HarnessError('stopped while the box came up');
      if (r.exitCode === 0) break;
      const why = r.output.trim().split('\n').slice(-6).join(' | ');
      if (attempt === 2) {
        throw new BootError(`vagrant up failed twice: ${why}`, await readFile(this.consolePath, 'utf8').catch(() => ''));
      }
      log(`vagrant: vagrant up failed (${why}); destroying and trying once more`);
      await this.destroyMachine();
    }
    this.upMs = performance.now() - started;
  }

  /** ssh master with the agent's forward; then the payload, the token and the agent. */
  async startAgent(payload: string[]): Promise<AgentEndpoint> {
    const cfg = join(this.dir, 'ssh-config');
    const sc = await this.vagrant(['ssh-config'], 120_000);
    if (sc.exitCode !== 0) throw new HarnessError(`vagrant ssh-config failed: ${sc.output.trim().split('\n').slice(-3).join(' | ')}`);
    await writeFile(cfg, sc.output.replace(/^Host .*$/m, 'Host default'));
    const ctl = join(this.dir, 'ssh.ctl');
    const ssh = ['-F', cfg, '-o', `ControlPath=${ctl}`, '-o', 'BatchMode=yes'];
    const port = await freeLocalPort();
    this.master = execa(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'ssh', ...ssh, '-o', 'ControlMaster=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'ServerAliveInterval=10',
        '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${AGENT_GUEST_PORT}`, 'default'],
      // detached: a terminal's Ctrl-C reaches the harness alone; the agent's forward must outlive it.
      { reject: false, stdin: 'ignore', all: true, detached: true },
    );
    const master = this.master;
    for (let i = 0; ; i++) {
      if (master.exitCode !== null) throw new HarnessError(`ssh to the box failed: ${String((await master).all ?? '').trim().slice(-300)}`);
      if ((await execa('ssh', [...ssh, '-O', 'check', 'default'], { reject: false })).exitCode === 0) break;
      if (i > 240) throw new HarnessError('ssh to the box did not connect within 60 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const rel = payload.map((p) => relative('/', p));
    const list = join(this.dir, 'payload.list');
    await writeFile(list, rel.join('\n') + '\n');
    const push = await execa('bash', ['-o', 'pipefail', '-c', 'tar -C / -cf - -T "$1" | ssh "${@:2}" default "sudo tar -xf - -C /"', 'push', list, ...ssh], { reject: false, all: true });
    if (push.exitCode !== 0) throw new HarnessError(`copying the harness into the box failed: ${String(push.all).trim().slice(-300)}`);
    const token = randomBytes(24).toString('hex');
    const script =
      'set -e; mkdir -p /run/appc-agent; umask 077; cat >/run/appc-agent/token; ' +
      `setsid node ${AGENT_SCRIPT} --port ${AGENT_GUEST_PORT} --host 127.0.0.1 --token-file /run/appc-agent/token </dev/null >/run/appc-agent/agent.log 2>&1 &`;
    const start = await execa('ssh', [...ssh, 'default', `sudo sh -c '${script}'`], { input: token, reject: false, all: true, timeout: 60_000 });
    if (start.exitCode !== 0) throw new HarnessError(`starting the agent in the box failed: ${String(start.all).trim().slice(-300)}`);
    const endpoint: AgentEndpoint = { host: '127.0.0.1', port, token };
    const deadline = performance.now() + 120_000;
    for (;;) {
      const client = new AgentClient(endpoint);
      try {
        await client.call({ op: 'facts' }, 5_000);
        return endpoint;
      } catch {
        if (performance.now() > deadline) {
          const log = await execa('ssh', [...ssh, 'default', 'sudo cat /run/appc-agent/agent.log'], { reject: false, timeout: 20_000 });
          throw new HarnessError(`the agent in the box did not answer within 120 s: ${String(log.stdout).trim().slice(-300)}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        client.close();
      }
    }
  }

  /** `vagrant destroy -f`, then whatever a run cut short left in libvirt under the run's name. */
  private async destroyMachine(): Promise<void> {
    if (existsSync(join(this.dir, '.vagrant'))) {
      const r = await this.vagrant(['destroy', '-f'], 180_000);
      if (r.exitCode !== 0) this.log(`vagrant: vagrant destroy failed (${r.output.trim().split('\n').slice(-3).join(' | ')}); removing what is left with virsh`);
    }
    if (this.provider !== 'libvirt') return;
    const doms = await execa('virsh', [...VIRSH, 'list', '--all', '--name'], { reject: false });
    for (const d of String(doms.stdout).split('\n').map((l) => l.trim())) {
      if (!d.startsWith(`${this.name}-`)) continue;
      await execa('virsh', [...VIRSH, 'destroy', d], { reject: false });
      await execa('virsh', [...VIRSH, 'undefine', d, '--remove-all-storage', '--nvram'], { reject: false });
    }
    for (const v of await poolVolumes()) {
      if (v.startsWith(`${this.name}-`)) await execa('virsh', [...VIRSH, 'vol-delete', '--pool', 'default', v], { reject: false });
    }
  }

  private destroying?: Promise<void>;

  /** Ends the ssh master (and so the forward), destroys the machine and the run's network, removes the project. */
  destroy(): Promise<void> {
    this.stopped = true;
    this.destroying ??= this.destroyAll();
    return this.destroying;
  }

  private async destroyAll(): Promise<void> {
    this.running?.kill('SIGKILL');
    if (this.running?.pid) {
      try {
        process.kill(-this.running.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.running?.catch(() => undefined);
    await this.closeSsh();
    await this.destroyMachine();
    if (this.network) {
      await execa('virsh', [...VIRSH, 'net-destroy', this.network], { reject: false });
      this.network = undefined;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  async closeSsh(): Promise<void> {
    const m = this.master;
    this.master = undefined;
    if (m && m.exitCode === null) {
      m.kill('SIGTERM');
      await m.catch(() => undefined);
    }
  }

  /** How to reach a kept machine, and how to remove it. */
  keepNotice(): string {
    return [
      `vagrant: --keep-vm: the box stays up. Reach it with: cd ${this.dir} && vagrant ssh`,
      `vagrant: remove it with: (cd ${this.dir} && vagrant destroy -f)${this.network ? ` && virsh -c qemu:///system net-destroy ${this.network}` : ''} && rm -rf ${this.dir}`,
    ].join('\n');
  }
}

async function versions(provider: VagrantProvider): Promise<string> {
  const vagrant = String((await execa('vagrant', ['--version'], { reject: false, env: VAGRANT_ENV })).stdout).trim();
  if (provider === 'libvirt') {
    const plugin = /^vagrant-libvirt \(([^,)]+)/m.exec(await vagrantPlugins())?.[1] ?? 'unknown';
    return `libvirt (${vagrant}, vagrant-libvirt ${plugin})`;
  }
  const vbox = String((await execa('VBoxManage', ['--version'], { reject: false })).stdout).trim();
  return `virtualbox (${vagrant}, VirtualBox ${vbox})`;
}

export async function startVagrantTarget(config: RunConfig, log: (line: string) => void): Promise<StartedTarget> {
  const provider = await chooseProvider(config.vagrantProvider);
  if (provider === 'libvirt') await checkLibvirt();
  else await checkVirtualbox();
  if (!existsSync(AGENT_SCRIPT)) throw new UsageError(`the guest agent is not built (${AGENT_SCRIPT}): run npm run build`);
  const box = installedBox();
  if (provider === 'libvirt' && box?.node && box.node !== process.version) {
    log(`vagrant: the box has node ${box.node}, this harness runs ${process.version}: npm run vagrant-box rebuilds it`);
  }
  const provenance = await versions(provider);
  let accel: 'kvm' | 'tcg' = 'tcg';
  if (provider === 'libvirt' && box?.key) {
    const kernel = join(LIBVIRT_BOOT_DIR, `appc-box-${box.key}.vmlinux`);
    const initrd = join(LIBVIRT_BOOT_DIR, `appc-box-${box.key}.initrd`);
    accel = (await chooseAccel({ kernel, initrd } as GuestImage, join(defaultCacheDir(), 'accel.json'))).accel;
  }
  const machine = await VagrantMachine.create(provider, { driver: accel === 'kvm' ? 'kvm' : 'qemu' }, log);
  const undo = whileStarting(() => machine.destroy());
  let target: AgentTarget;
  let facts;
  try {
    log(`vagrant: bringing up ${machine.name} with ${provenance}, ${accel.toUpperCase()}`);
    const t0 = performance.now();
    await machine.up(log);
    const endpoint = await machine.startAgent(payloadFor(config));
    target = new AgentTarget('vagrant', endpoint);
    facts = await target.facts();
    const readyMs = performance.now() - t0;
    log(`vagrant: box ready in ${(readyMs / 1000).toFixed(1)} s (vagrant up ${((machine.upMs ?? 0) / 1000).toFixed(1)} s) (${facts.distribution}, kernel ${facts.kernel}, cgroup v${facts.cgroup}, init ${facts.init}; agent on 127.0.0.1:${endpoint.port})`);
    undo();
    return {
      target,
      handle: { kind: 'vagrant', agent: endpoint },
      description: { kind: 'vagrant', ...facts, provider: provenance, accel, guest: provider === 'libvirt' ? BOX_NAME : VIRTUALBOX_BOX, bootMs: Math.round(readyMs) },
      async saveConsole(to: string) {
        if (existsSync(machine.consolePath)) await copyFile(machine.consolePath, to).catch(() => undefined);
      },
      async stop() {
        await target.dispose();
        if (config.keepVm) {
          await machine.closeSsh();
          log(machine.keepNotice());
        } else {
          const t0 = performance.now();
          await machine.destroy();
          log(`vagrant: ${machine.name} destroyed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        }
      },
    };
  } catch (err) {
    undo();
    if (err instanceof BootError) {
      const tailLines = await tail(machine.consolePath);
      await machine.destroy();
      throw new BootError(`${err.message}${tailLines ? `\n--- last lines of the box's console ---\n${tailLines}` : ''}`, err.consoleLog);
    }
    await machine.destroy();
    throw err;
  }
}
