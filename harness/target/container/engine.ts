// The Docker-API engine --target=container talks to: the one DOCKER_HOST names, else a Podman
// service the harness starts for the run (and stops at its end). testcontainers reads its settings
// from the environment, so the harness sets them here, in its own process, and nowhere else.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { HarnessError, UsageError } from '../../run/errors.js';
import { needsLegacyView } from '../../ref/crun.js';

export interface Engine {
  /** a unix:// (or tcp://) URL */
  dockerHost: string;
  /** e.g. "podman 4.3.1", "docker 27.3.1" */
  description: string;
  /** true when the harness started it (a Podman service of the run) */
  ours: boolean;
  /** for the podman CLI where the harness must call it (its containers.conf) */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** GET `path` of the engine's API; rejects when it does not answer. */
export function apiGet(dockerHost: string, path: string, timeoutMs = 5_000): Promise<string> {
  const url = new URL(dockerHost);
  const where = url.protocol === 'unix:' ? { socketPath: url.pathname } : { host: url.hostname, port: Number(url.port || 2375) };
  return new Promise((resolve, reject) => {
    const req = request({ ...where, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

async function describeEngine(dockerHost: string): Promise<string> {
  const v = JSON.parse(await apiGet(dockerHost, '/version')) as { Version?: string; Components?: { Name: string; Version: string }[] };
  const podman = v.Components?.find((c) => /podman/i.test(c.Name));
  return podman ? `podman ${podman.Version}` : `docker ${v.Version ?? 'unknown'}`;
}

/** This process's hard limit of `name` (as /proc/self/limits spells it), or undefined when unlimited. */
function hardLimit(name: string): number | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard && /^\d+$/.test(hard) ? Number(hard) : undefined;
}

/**
 * The run's containers.conf. Podman asks the runtime for rlimits above what root may raise here
 * (no CAP_SYS_RESOURCE): nofile and nproc are kept below the hard limits. crun 1.8 refuses a hybrid
 * cgroup hierarchy whose cgroup2 part has controllers: it then runs in a mount namespace without
 * that mount (as ref's own crun does) and the container sees cgroup v1.
 */
async function writeContainersConf(dir: string): Promise<string> {
  const nofile = Math.min(16384, hardLimit('Max open files') ?? 16384);
  const nproc = Math.min(4096, hardLimit('Max processes') ?? 4096);
  let conf = `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n`;
  const crun = findOnPath('crun');
  if (needsLegacyView() && crun) {
    const wrapper = join(dir, 'crun-legacy');
    await writeFile(wrapper, `#!/bin/sh\nexec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec ${crun} "$@"' crun "$@"\n`);
    await chmod(wrapper, 0o755);
    conf += `[engine]\nruntime = "crun-legacy"\n[engine.runtimes]\ncrun-legacy = ["${wrapper}"]\n`;
  }
  const path = join(dir, 'containers.conf');
  await writeFile(path, conf);
  return path;
}

function setTestcontainersEnv(dockerHost: string): void {
  process.env.DOCKER_HOST = dockerHost;
  // Ryuk would need an image from a registry: the harness removes what it made itself.
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  // Published ports are bound to 127.0.0.1 and reached there.
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
}

async function stopService(service: ChildProcess): Promise<void> {
  if (service.exitCode !== null || service.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => service.once('exit', () => resolve()));
  service.kill('SIGTERM');
  const killer = setTimeout(() => service.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(killer);
}

/**
 * The engine of the run. DOCKER_HOST, when set, must answer (else a UsageError, before any pod);
 * otherwise `podman system service` is started on a socket in `runDir` and waited for.
 */
export async function openEngine(runDir: string, log: (line: string) => void): Promise<Engine> {
  const given = process.env.DOCKER_HOST;
  if (given) {
    if (!/^(unix|tcp|http):\/\//.test(given)) throw new UsageError(`--target=container: DOCKER_HOST must be a URL such as unix:///run/podman/podman.sock (it is ${given})`);
    let description;
    try {
      description = await describeEngine(given);
    } catch (err) {
      throw new UsageError(`--target=container: the engine at DOCKER_HOST=${given} does not answer (${(err as Error).message})`);
    }
    setTestcontainersEnv(given);
    return { dockerHost: given, description, ours: false, env: {}, stop: async () => undefined };
  }
  const podman = findOnPath('podman');
  if (!podman) {
    throw new UsageError('--target=container needs a Docker-API engine: set DOCKER_HOST to one, or install Podman (npm run setup -- --container)');
  }
  if (!findOnPath('setpriv')) throw new UsageError('--target=container needs setpriv (util-linux) to start the Podman service');
  const conf = await writeContainersConf(runDir);
  const socket = join(runDir, 'podman.sock');
  const dockerHost = `unix://${socket}`;
  const env = { CONTAINERS_CONF: conf };
  // --time=0: the service never ends on its own; the harness ends it. setpriv: it dies with the
  // harness. detached: a terminal's Ctrl-C reaches the harness alone, which still needs the service
  // to remove the run's container.
  const service = spawn('setpriv', ['--pdeathsig', 'TERM', '--', podman, 'system', 'service', '--time=0', dockerHost], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  service.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  const spawnFailed = new Promise<Error>((resolve) => service.once('error', resolve));
  const stop = () => stopService(service);
  const deadline = performance.now() + 30_000;
  let failure: Error | undefined;
  void spawnFailed.then((e) => (failure = e));
  for (;;) {
    if (failure) throw new UsageError(`--target=container: cannot start the Podman service: ${failure.message}`);
    if (service.exitCode !== null) throw new HarnessError(`the Podman service ended at once (exit ${service.exitCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    try {
      const description = await describeEngine(dockerHost);
      setTestcontainersEnv(dockerHost);
      log(`container: started ${description}'s service on ${socket}`);
      return { dockerHost, description, ours: true, env, stop };
    } catch {
      if (performance.now() > deadline) {
        await stop();
        throw new HarnessError(`the Podman service did not answer on ${socket} within 30 s: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
