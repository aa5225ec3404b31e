// --target=container: one privileged container per run, started through testcontainers on a
// Docker-API engine (DOCKER_HOST, else a Podman service of the run), running the guest agent; every
// test worker reaches it through the agent (AgentTarget), as for a VM. Stopped after the last pod,
// also on failure and Ctrl-C: the container, whatever else carries the run's testcontainers session
// label, Podman's monitors (conmon) of those containers, and the Podman service the run started.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { GenericContainer, getContainerRuntimeClient, getReaper, LABEL_TESTCONTAINERS_SESSION_ID, Wait, type StartedTestContainer } from 'testcontainers';
import type { RunConfig } from '../../run/config.js';
import { HarnessError, UsageError } from '../../run/errors.js';
import { whileStarting } from '../abort.js';
import { AgentClient, AgentTarget, type AgentEndpoint } from '../agent/client.js';
import type { GuestProfileName } from '../guest/guest-image.js';
import type { StartedTarget } from '../lifecycle.js';
import { AGENT_SCRIPT, sharesFor } from '../qemu/qemu-target.js';
import { openEngine, type Engine } from './engine.js';
import { checkProfile, ensureImage } from './image.js';

export const AGENT_CONTAINER_PORT = 7000;
const TOKEN_PATH = '/run/appc-agent-token';
const START_TIMEOUT_MS = 60_000;

/**
 * A privileged container shaped like crun's own CI containers: the host's cgroup namespace with
 * /sys/fs/cgroup writable (so the implementation makes its own cgroups), and published ports bound
 * to 127.0.0.1 only. testcontainers has no option for either, so its host config is edited.
 */
class PrivilegedContainer extends GenericContainer {
  protected override async beforeContainerCreated(): Promise<void> {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
      for (const b of bindings) b.HostIp = '127.0.0.1';
    }
    Object.assign(this.hostConfig, { CgroupnsMode: 'host' });
    this.hostConfig.Binds = [...(this.hostConfig.Binds ?? []), '/sys/fs/cgroup:/sys/fs/cgroup:rw,rslave'];
  }
}

/** Kills Podman's monitors left for containers that are gone (seen after exec'ing into them). */
async function killConmons(containerIds: readonly string[]): Promise<void> {
  if (containerIds.length === 0) return;
  const ps = await execa('pgrep', ['-a', 'conmon'], { reject: false });
  for (const line of ps.stdout.split('\n')) {
    const [pid, ...cmd] = line.trim().split(' ');
    if (pid && containerIds.some((id) => cmd.includes(id))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/**
 * The pods' cgroups are made in the host's hierarchies (the container shares its cgroup namespace):
 * a pod killed with the container leaves its empty /appc-ref/<pod> behind. Those made since `since`
 * and now empty go; rmdir never removes a cgroup with a process in it.
 */
async function removeEmptyPodCgroups(since: number): Promise<void> {
  const root = '/sys/fs/cgroup';
  for (const hierarchy of await readdir(root).catch(() => [] as string[])) {
    const parent = join(root, hierarchy, 'appc-ref');
    if (!existsSync(parent)) continue;
    for (const pod of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (!pod.isDirectory()) continue;
      const dir = join(parent, pod.name);
      const s = await stat(dir).catch(() => undefined);
      if (s && s.ctimeMs >= since) await rmdir(dir).catch(() => undefined);
    }
    await rmdir(parent).catch(() => undefined);
  }
}

export async function startContainerTarget(config: RunConfig, profile: GuestProfileName, log: (line: string) => void): Promise<StartedTarget> {
  checkProfile(profile);
  if (!existsSync(AGENT_SCRIPT)) throw new UsageError(`the guest agent is not built (${AGENT_SCRIPT}): run npm run build`);
  const since = Date.now() - 1_000;
  const runDir = await mkdtemp(join(tmpdir(), 'appc-container-'));
  let engine: Engine | undefined;
  let container: StartedTestContainer | undefined;
  let sessionId: string | undefined;
  let agent: AgentTarget | undefined;
  let stopping: Promise<void> | undefined;

  const stop = () =>
    (stopping ??= (async () => {
      await agent?.dispose();
      const ids: string[] = [];
      if (container) {
        ids.push(container.getId());
        await container.stop({ timeout: 5_000, remove: true, removeVolumes: true }).catch((e: Error) => log(`container: stop: ${e.message}`));
      }
      if (engine && sessionId) {
        // Whatever else carries this run's session label (a container whose start was cut short).
        const docker = (await getContainerRuntimeClient()).container.dockerode;
        const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_TESTCONTAINERS_SESSION_ID}=${sessionId}`] } }).catch(() => []);
        for (const c of left) {
          ids.push(c.Id);
          await docker.getContainer(c.Id).remove({ force: true, v: true }).catch((e: Error) => log(`container: removing ${c.Id.slice(0, 12)}: ${e.message}`));
        }
      }
      await killConmons(ids);
      await engine?.stop();
      await removeEmptyPodCgroups(since);
      await rm(runDir, { recursive: true, force: true });
    })());

  const started = whileStarting(stop);
  try {
    engine = await openEngine(runDir, log);
    const client = await getContainerRuntimeClient();
    // Ryuk is off: the reaper only hands out the session id that labels every container of the run.
    sessionId = (await getReaper(client)).sessionId;
    const image = await ensureImage(client.container.dockerode, runDir, log);
    const token = randomBytes(24).toString('hex');
    // The container runs on this machine's kernel: its modules (e.g. ifb for traffic shaping) are this machine's.
    const modules = existsSync('/lib/modules') ? ['/lib/modules'] : [];
    const binds = [...sharesFor(config), process.execPath, ...modules].map((p) => ({ source: p, target: p, mode: 'ro' as const }));
    const t0 = performance.now();
    container = await new PrivilegedContainer(image)
      .withPrivilegedMode()
      .withHostname('appc-guest')
      .withBindMounts(binds)
      .withCopyContentToContainer([{ content: token, target: TOKEN_PATH, mode: 0o600 }])
      .withExposedPorts(AGENT_CONTAINER_PORT)
      // The run dir's name: Podman's monitor (conmon) of the container carries it on its command line.
      .withName(basename(runDir))
      .withLabels({ 'appc-conformance.run': runDir })
      // The container's only link out is the agent's published port: no default route.
      .withEntrypoint(['/bin/sh', '-c', 'ip route del default 2>/dev/null; exec /usr/bin/tini -s -- "$@"', 'appc-agent-start'])
      .withCommand([process.execPath, AGENT_SCRIPT, '--port', String(AGENT_CONTAINER_PORT), '--token-file', TOKEN_PATH])
      .withWaitStrategy(Wait.forLogMessage(/appc-agent: listening/))
      .withStartupTimeout(START_TIMEOUT_MS)
      .start();
    const endpoint: AgentEndpoint = { host: '127.0.0.1', port: container.getMappedPort(AGENT_CONTAINER_PORT), token };
    await waitForAgent(endpoint);
    const readyMs = performance.now() - t0;
    agent = new AgentTarget('container', endpoint);
    const facts = await agent.facts();
    log(
      `container: ready in ${(readyMs / 1000).toFixed(1)} s on ${engine.description} (${facts.distribution}, kernel ${facts.kernel}, cgroup v${facts.cgroup}, init ${facts.init}; agent on 127.0.0.1:${endpoint.port})`,
    );
    started();
    return {
      target: agent,
      handle: { kind: 'container', agent: endpoint },
      description: { kind: 'container', ...facts, engine: engine.description, guest: 'lean', bootMs: Math.round(readyMs) },
      async saveConsole(to: string) {
        const logs = await container?.logs().catch(() => undefined);
        if (!logs) return;
        const { createWriteStream } = await import('node:fs');
        const out = createWriteStream(to);
        logs.pipe(out);
        // The log stream of a running container never ends: take what is there now.
        await new Promise((r) => setTimeout(r, 500));
        logs.destroy();
        out.end();
      },
      stop,
    };
  } catch (err) {
    started();
    await stop();
    if (err instanceof UsageError || err instanceof HarnessError) throw err;
    throw new HarnessError(`--target=container: the container did not come up: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function waitForAgent(endpoint: AgentEndpoint): Promise<void> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const client = new AgentClient(endpoint);
    try {
      await client.call({ op: 'facts' }, 3_000);
      return;
    } catch (err) {
      if (performance.now() > deadline) throw new HarnessError(`the container's agent did not answer on 127.0.0.1:${endpoint.port}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      client.close();
    }
  }
}
